package webhooks

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dataflow/dataflow/platform/database/dbtest"
)

// BenchmarkDelivery measures delivering queued events to a local receiver
// that responds with 204 at once: claim, load, sign, send and record, with the
// default 8 requests in flight.
//
//	go test ./modules/webhooks -run '^$' -bench Delivery -benchtime 2000x
func BenchmarkDelivery(b *testing.B) {
	for _, eng := range dbtest.Engines() {
		b.Run(eng.Name, func(b *testing.B) {
			f := newFixture(b, eng)
			rcv := newReceiver(b, nil)
			f.subscribe(b, rcv.URL)
			for range b.N {
				f.finish(b, "Completed")
			}
			d := f.deliverer(DelivererConfig{AllowInsecure: true})

			b.ResetTimer()
			n, err := d.RunOnce(context.Background())
			b.StopTimer()
			require.NoError(b, err)
			require.Equal(b, b.N, n)
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
		})
	}
}
