package imports

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/dataflow/dataflow/platform/database"
	"github.com/dataflow/dataflow/platform/metrics"
)

// clientLoad is the state of one client that fair ordering uses.
type clientLoad struct {
	processing int
	// lastStart is when a batch of the client last started; zero when none
	// did.
	lastStart time.Time
}

// clientLoads returns the running batches and the last start of each of
// the clients.
func (s *store) clientLoads(ctx context.Context, clientIDs []database.UUID) (map[database.UUID]clientLoad, error) {
	type row struct {
		ClientID   database.UUID `gorm:"column:ClientId"`
		Processing int           `gorm:"column:Processing"`
	}

	var rows []row
	err := s.db.WithContext(ctx).Raw(s.db.Render(
		"SELECT {ClientId}, COUNT(*) AS {Processing} FROM {ImportBatches} WHERE {ClientId} IN ? AND {Status} = ? GROUP BY {ClientId}"),
		clientIDs, StatusProcessing).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("reading the clients' running batches: %w", err)
	}

	loads := make(map[database.UUID]clientLoad, len(clientIDs))
	for _, r := range rows {
		loads[r.ClientID] = clientLoad{processing: r.Processing}
	}

	// One indexed query per client: SQLite returns MAX() of a time column
	// as text, so the latest start is read as a row instead.
	for _, id := range clientIDs {
		var latest []Batch
		err := s.db.WithContext(ctx).Select(s.db.Render("{StartedAt}")).
			Where(s.db.Render("{ClientId} = ? AND {StartedAt} IS NOT NULL"), id).
			Order(s.db.Render("{StartedAt} DESC")).Limit(1).Find(&latest).Error
		if err != nil {
			return nil, fmt.Errorf("reading a client's last batch start: %w", err)
		}

		if len(latest) == 1 && latest[0].StartedAt != nil {
			load := loads[id]
			load.lastStart = latest[0].StartedAt.UTC()
			loads[id] = load
		}
	}

	return loads, nil
}

// fairOrder orders ready batches so that the next one comes from the
// client that has waited longest: the one whose last batch started
// earliest, a client never served first. Within a client, batches keep
// their upload order. Clients already running maxPerClient batches (when
// above 0) are left out, so one client's stream of uploads cannot hold
// every slot.
func fairOrder(candidates []Batch, loads map[database.UUID]clientLoad, maxPerClient int) []Batch {
	byClient := map[database.UUID][]Batch{}
	var clientsInOrder []database.UUID
	for _, b := range candidates {
		if maxPerClient > 0 && loads[b.ClientID].processing >= maxPerClient {
			continue
		}

		if _, seen := byClient[b.ClientID]; !seen {
			clientsInOrder = append(clientsInOrder, b.ClientID)
		}

		byClient[b.ClientID] = append(byClient[b.ClientID], b)
	}

	// Stable, so clients that tie keep the order of their oldest batch.
	slices.SortStableFunc(clientsInOrder, func(a, b database.UUID) int {
		return loads[a].lastStart.Compare(loads[b].lastStart)
	})

	// One batch per client per round, so after the first choice the next
	// clients still come before the first client's second batch.
	var out []Batch
	for round := 0; len(out) < len(candidates); round++ {
		added := false
		for _, id := range clientsInOrder {
			if round < len(byClient[id]) {
				out = append(out, byClient[id][round])
				added = true
			}
		}

		if !added {
			break
		}
	}

	return out
}

// clientIdentifier returns the client's identifier for metrics labels, or
// its id when the lookup fails, since a label must never stop a batch.
func (s *store) clientIdentifier(ctx context.Context, clientID database.UUID) string {
	var identifier string
	err := s.db.WithContext(ctx).Raw(s.db.Render("SELECT {ClientIdentifier} FROM {Clients} WHERE {Id} = ?"), clientID).Scan(&identifier).Error
	if err != nil || identifier == "" {
		return clientID.String()
	}

	return identifier
}

// batchStats reads the batch counts by status and the wait of the oldest
// batch ready to run, for the metrics.
func (s *store) batchStats(ctx context.Context) (metrics.BatchStats, error) {
	type row struct {
		Status string `gorm:"column:Status"`
		Count  int    `gorm:"column:Count"`
	}

	var rows []row
	err := s.db.WithContext(ctx).Raw(s.db.Render("SELECT {Status}, COUNT(*) AS {Count} FROM {ImportBatches} GROUP BY {Status}")).Scan(&rows).Error
	if err != nil {
		return metrics.BatchStats{}, fmt.Errorf("counting batches by status: %w", err)
	}

	stats := metrics.BatchStats{ByStatus: make(map[string]int, len(rows))}
	for _, r := range rows {
		stats.ByStatus[r.Status] = r.Count
	}

	oldest, err := s.candidates(ctx, 1, 1)
	if err != nil {
		return stats, err
	}

	if len(oldest) == 1 {
		since := oldest[0].CreatedAt
		if oldest[0].ScheduledFor != nil && oldest[0].ScheduledFor.After(since) {
			since = *oldest[0].ScheduledFor
		}

		stats.OldestPendingAge = max(s.utcNow().Sub(since), 0)
	}

	return stats, nil
}
