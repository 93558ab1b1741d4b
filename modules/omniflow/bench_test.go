package omniflow

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// BenchmarkSendChunk measures a full round trip against the stand-in on
// 127.0.0.1 with records of about 230 bytes. The stand-in runs in the same
// process, so the result includes its JSON decoding and lead id generation.
func BenchmarkSendChunk(b *testing.B) {
	for _, size := range []int{100, 1000} {
		b.Run(fmt.Sprintf("records=%d", size), func(b *testing.B) {
			_, server := startStandIn(b, StandInConfig{KeepRecords: false})
			client, _ := newTestClient(b, server.URL, func(cfg *ClientConfig) { cfg.MaxRetries = 0 })

			chunk := Chunk{BatchID: "bench", ChunkID: 1, Items: makeRecords(size)}
			b.SetBytes(int64(len(buildRequestBody(chunk))))
			ctx := context.Background()

			sent := 0
			for b.Loop() {
				result, err := client.SendChunk(ctx, chunk)
				if err != nil {
					b.Fatalf("sending chunk: %v", err)
				}
				if len(result.Items) != size || !result.Items[size-1].Success {
					b.Fatalf("got %d results, last success %v", len(result.Items), result.Items[size-1].Success)
				}
				sent += size
			}

			b.ReportMetric(float64(sent)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

func TestMakeRecords(t *testing.T) {
	t.Run("builds records of about 230 bytes", func(t *testing.T) {
		for _, record := range makeRecords(3) {
			require.InDelta(t, 230, len(record), 10)
		}
	})
}
