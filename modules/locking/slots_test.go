package locking_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/dataflow/dataflow/platform/clock"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/dataflow/dataflow/db"
	"github.com/dataflow/dataflow/modules/locking"
	"github.com/dataflow/dataflow/platform/database"
	"github.com/dataflow/dataflow/platform/database/dbtest"
)

func setup(t *testing.T, open func(testing.TB) *database.DB) (*locking.Slots, *clock.Manual) {
	t.Helper()

	conn := open(t)
	dbtest.Migrate(t, conn, db.Migrations())
	clk := clock.NewManual(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))

	return locking.NewSlots(conn, zerolog.Nop(), clk.Now), clk
}

func TestSlots(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			t.Run("concurrent acquire never exceeds the slot count", func(t *testing.T) {
				slots, _ := setup(t, engine.Open)
				ctx := context.Background()
				require.NoError(t, slots.Ensure(ctx, 2))

				var (
					wg     sync.WaitGroup
					mu     sync.Mutex
					leases []locking.Lease
					busy   int
				)
				for i := range 16 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						lease, err := slots.Acquire(ctx, 2, "worker-"+string(rune('a'+i)))
						mu.Lock()
						defer mu.Unlock()
						switch {
						case err == nil:
							leases = append(leases, lease)
						case errors.Is(err, locking.ErrNoFreeSlot):
							busy++
						default:
							t.Errorf("acquire: %v", err)
						}
					}()
				}
				wg.Wait()

				require.Len(t, leases, 2)
				require.Equal(t, 14, busy)
				require.NotEqual(t, leases[0].Slot, leases[1].Slot)

				held, err := slots.HeldCount(ctx)
				require.NoError(t, err)
				require.EqualValues(t, 2, held)
			})

			t.Run("release frees the slot once", func(t *testing.T) {
				slots, _ := setup(t, engine.Open)
				ctx := context.Background()
				require.NoError(t, slots.Ensure(ctx, 1))

				lease, err := slots.Acquire(ctx, 1, "w1")
				require.NoError(t, err)
				require.Equal(t, 1, lease.Slot)

				require.NoError(t, slots.Release(ctx, lease))
				require.ErrorIs(t, slots.Release(ctx, lease), locking.ErrLeaseLost)

				again, err := slots.Acquire(ctx, 1, "w2")
				require.NoError(t, err)
				require.Greater(t, again.Token, lease.Token)
				require.ErrorIs(t, slots.Heartbeat(ctx, lease), locking.ErrLeaseLost, "an old token must not renew")
			})

			t.Run("watchdog frees only expired slots", func(t *testing.T) {
				slots, clk := setup(t, engine.Open)
				ctx := context.Background()
				require.NoError(t, slots.Ensure(ctx, 2))

				stale, err := slots.Acquire(ctx, 2, "frozen")
				require.NoError(t, err)
				batch := database.NewUUID()
				require.NoError(t, slots.Assign(ctx, stale, batch))

				clk.Advance(40 * time.Second)
				fresh, err := slots.Acquire(ctx, 2, "alive")
				require.NoError(t, err)

				clk.Advance(30 * time.Second)
				require.NoError(t, slots.Heartbeat(ctx, fresh))

				expired, err := slots.ExpireStale(ctx, time.Minute)
				require.NoError(t, err)
				require.Len(t, expired, 1)
				require.Equal(t, stale.Slot, expired[0].Slot)
				require.Equal(t, batch, *expired[0].BatchID)
				require.Equal(t, "frozen", expired[0].Holder)

				require.ErrorIs(t, slots.Heartbeat(ctx, stale), locking.ErrLeaseLost)
				require.NoError(t, slots.Heartbeat(ctx, fresh))

				again, err := slots.ExpireStale(ctx, time.Minute)
				require.NoError(t, err)
				require.Empty(t, again)
			})

			t.Run("ensure is idempotent and concurrent-safe", func(t *testing.T) {
				slots, _ := setup(t, engine.Open)
				ctx := context.Background()
				var wg sync.WaitGroup
				for range 4 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						if err := slots.Ensure(ctx, 3); err != nil {
							t.Errorf("ensure: %v", err)
						}
					}()
				}
				wg.Wait()

				for range 3 {
					_, err := slots.Acquire(ctx, 3, "w")
					require.NoError(t, err)
				}

				_, err := slots.Acquire(ctx, 3, "w")
				require.ErrorIs(t, err, locking.ErrNoFreeSlot)
			})
		})
	}
}
