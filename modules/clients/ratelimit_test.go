package clients_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dataflow/dataflow/modules/clients"
	"github.com/dataflow/dataflow/platform/clock"
	"github.com/dataflow/dataflow/platform/database/dbtest"
)

func TestCounter(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			conn := engine.Open(t)
			dbtest.Migrate(t, conn, clients.Migrations())
			clk := clock.NewManual(time.Date(2026, 12, 4, 10, 0, 30, 0, time.UTC))
			counter := clients.NewCounter(conn, clk.Now)
			ctx := context.Background()

			var wg sync.WaitGroup
			for range 20 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, _, err := counter.Hit(ctx, "upload:a", time.Minute)
					require.NoError(t, err)
				}()
			}
			wg.Wait()

			count, end, err := counter.Count(ctx, "upload:a", time.Minute)
			require.NoError(t, err)
			require.Equal(t, 20, count, "concurrent hits must all count")
			require.Equal(t, time.Date(2026, 12, 4, 10, 1, 0, 0, time.UTC), end)

			count, _, err = counter.Hit(ctx, "upload:b", time.Minute)
			require.NoError(t, err)
			require.Equal(t, 1, count, "keys count apart")

			clk.Advance(time.Minute)
			count, _, err = counter.Hit(ctx, "upload:a", time.Minute)
			require.NoError(t, err)
			require.Equal(t, 1, count, "a new window starts from zero")
		})
	}
}

func TestCounterSQLServerStatement(t *testing.T) {
	conn, rec := dbtest.OpenSQLServerDryRun(t)
	counter := clients.NewCounter(conn, time.Now)
	_, _, _ = counter.Hit(context.Background(), "upload:a", time.Minute)
	_, _, _ = counter.Count(context.Background(), "upload:a", time.Minute)

	dbtest.CheckSQL(t, filepath.Join("testdata", "sqlserver_ratelimit.sql"), rec.Statements())
}
