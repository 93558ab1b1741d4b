package omniflow

import (
	"cmp"
	"encoding/json"
	"slices"
)

// Limits that keep Stats small when a whole batch is resent.
const (
	maxDuplicateSamples      = 1000
	maxKeysPerDuplicateEntry = 16
)

// Stats is a snapshot of what a StandIn received since start or the last
// reset. Import requests that failed validation count in Requests and
// StatusCounts only.
type Stats struct {
	// Requests counts import requests, including malformed ones and
	// injected failures.
	Requests int64 `json:"requests"`
	// Records counts records in requests that got a 200 response, resends
	// included.
	Records int64 `json:"records"`
	// StatusCounts maps each status the import endpoint responded with to
	// its count. 499 counts requests whose client went away during the latency.
	StatusCounts map[int]int64 `json:"statusCounts"`
	// InFlight is the number of import requests being handled now.
	InFlight int `json:"inFlight"`
	// MaxConcurrent is the largest InFlight seen.
	MaxConcurrent int `json:"maxConcurrent"`
	// IdempotencyReplays counts requests with a 200 response whose
	// Idempotency-Key already had a 200 response before. The stand-in processes them
	// again like OmniFlow's contract allows, and only counts them.
	IdempotencyReplays int64 `json:"idempotencyReplays"`
	// Batches maps each batch id to its counters.
	Batches map[string]BatchStats `json:"batches"`
}

// BatchStats are the counters of one batch.
type BatchStats struct {
	BatchID string `json:"batchId"`
	// Requests counts well-formed requests for the batch, including injected
	// failures, so that retries show here.
	Requests int64 `json:"requests"`
	// RecordsReceived counts records in requests with a 200 response,
	// resends included.
	RecordsReceived int64 `json:"recordsReceived"`
	// RecordsAccepted and RecordsRejected split RecordsReceived by the
	// per-record outcome.
	RecordsAccepted int64 `json:"recordsAccepted"`
	RecordsRejected int64 `json:"recordsRejected"`
	// DistinctSequences is the number of different sequences received.
	DistinctSequences int64 `json:"distinctSequences"`
	// DuplicateSequenceCount is the number of sequences received more than
	// once.
	DuplicateSequenceCount int64 `json:"duplicateSequenceCount"`
	// DuplicateSequences lists up to 1000 of the duplicated sequences, lowest
	// first.
	DuplicateSequences []DuplicateSequence `json:"duplicateSequences"`
	// IdempotencyReplays counts this batch's replayed Idempotency-Keys, see
	// Stats.IdempotencyReplays.
	IdempotencyReplays int64 `json:"idempotencyReplays"`
	// Chunks lists every distinct chunk, by chunk id, then offset.
	Chunks []ChunkStats `json:"chunks"`
	// MaxConcurrent is the largest number of this batch's requests handled
	// at the same time.
	MaxConcurrent int `json:"maxConcurrent"`
}

// ChunkStats are the counters of one chunk. Requests that differ in chunk id,
// offset, size or Idempotency-Key count as different chunks, so a resend
// that changed its shape shows up as a second entry.
type ChunkStats struct {
	ChunkID        int    `json:"chunkId"`
	Offset         int64  `json:"offset"`
	Size           int    `json:"size"`
	IdempotencyKey string `json:"idempotencyKey"`
	// Requests counts requests for the chunk, including injected failures.
	Requests int64 `json:"requests"`
	// TimesReceived counts requests for the chunk with a 200 response.
	TimesReceived int64 `json:"timesReceived"`
}

// DuplicateSequence is a sequence received more than once.
type DuplicateSequence struct {
	Sequence int64 `json:"sequence"`
	// Times is how often the sequence was received.
	Times int64 `json:"times"`
	// IdempotencyKeys lists the distinct keys it came with, in the order
	// first seen, at most 16.
	IdempotencyKeys []string `json:"idempotencyKeys"`
}

// StoredRecord is a record kept by a StandIn with KeepRecords.
type StoredRecord struct {
	Sequence int64           `json:"sequence"`
	Record   json.RawMessage `json:"record"`
}

type standInCounters struct {
	requests      int64
	records       int64
	statusCounts  map[int]int64
	inFlight      int
	maxConcurrent int
	replays       int64
	batches       map[string]*batchCounters
}

type batchCounters struct {
	requests        int64
	recordsReceived int64
	recordsAccepted int64
	recordsRejected int64
	replays         int64
	inFlight        int
	maxConcurrent   int
	// sequences stores how often each sequence arrived and its first key.
	sequences  map[int64]sequenceCounter
	duplicates map[int64][]string
	chunks     map[chunkKey]*ChunkStats
	// completedKeys contains Idempotency-Keys that already had a 200 response.
	completedKeys map[string]struct{}
	records       map[int64]json.RawMessage
}

type sequenceCounter struct {
	times    int64
	firstKey string
}

type chunkKey struct {
	chunkID int
	offset  int64
	size    int
	key     string
}

func newStandInCounters() standInCounters {
	return standInCounters{statusCounts: map[int]int64{}, batches: map[string]*batchCounters{}}
}

func (s *StandIn) beginRequest() {
	s.mu.Lock()
	defer s.mu.Unlock()

	s.counters.requests++
	s.counters.inFlight++
	s.counters.maxConcurrent = max(s.counters.maxConcurrent, s.counters.inFlight)
}

func (s *StandIn) endRequest(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()

	s.counters.inFlight--
	s.counters.statusCounts[status]++
}

// batch returns the counters of batchID, creating them. Callers hold s.mu.
func (s *StandIn) batch(batchID string) *batchCounters {
	batch := s.counters.batches[batchID]
	if batch == nil {
		batch = &batchCounters{
			sequences:     map[int64]sequenceCounter{},
			duplicates:    map[int64][]string{},
			chunks:        map[chunkKey]*ChunkStats{},
			completedKeys: map[string]struct{}{},
			records:       map[int64]json.RawMessage{},
		}
		s.counters.batches[batchID] = batch
	}

	return batch
}

// chunk returns the counters of a request's chunk, creating them. Callers
// hold s.mu.
func (b *batchCounters) chunk(request chunkRequest) *ChunkStats {
	key := chunkKey{chunkID: request.chunkID, offset: request.offset, size: len(request.items), key: request.idempotencyKey}
	stats := b.chunks[key]
	if stats == nil {
		stats = &ChunkStats{ChunkID: key.chunkID, Offset: key.offset, Size: key.size, IdempotencyKey: key.key}
		b.chunks[key] = stats
	}

	return stats
}

func (s *StandIn) beginBatchRequest(request chunkRequest) {
	s.mu.Lock()
	defer s.mu.Unlock()

	batch := s.batch(request.batchID)
	batch.requests++
	batch.inFlight++
	batch.maxConcurrent = max(batch.maxConcurrent, batch.inFlight)
	batch.chunk(request).Requests++
}

func (s *StandIn) endBatchRequest(batchID string) {
	s.mu.Lock()
	defer s.mu.Unlock()

	// A reset during the request removes the batch, and a new entry must
	// not start with a negative count.
	if batch := s.counters.batches[batchID]; batch != nil && batch.inFlight > 0 {
		batch.inFlight--
	}
}

// recordChunk counts a chunk with a 200 response and keeps its accepted records
// when KeepRecords is on.
func (s *StandIn) recordChunk(request chunkRequest, results []importResult) {
	s.mu.Lock()
	defer s.mu.Unlock()

	batch := s.batch(request.batchID)
	batch.chunk(request).TimesReceived++
	batch.recordsReceived += int64(len(results))
	s.counters.records += int64(len(results))

	if request.idempotencyKey != "" {
		if _, seen := batch.completedKeys[request.idempotencyKey]; seen {
			batch.replays++
			s.counters.replays++
		}
		batch.completedKeys[request.idempotencyKey] = struct{}{}
	}

	for i, result := range results {
		batch.countSequence(result.Sequence, request.idempotencyKey)
		if !result.Success {
			batch.recordsRejected++
			continue
		}
		batch.recordsAccepted++
		if s.cfg.KeepRecords {
			batch.records[result.Sequence] = request.items[i]
		}
	}
}

func (b *batchCounters) countSequence(sequence int64, key string) {
	counter, seen := b.sequences[sequence]
	if !seen {
		b.sequences[sequence] = sequenceCounter{times: 1, firstKey: key}
		return
	}

	counter.times++
	b.sequences[sequence] = counter

	keys, duplicated := b.duplicates[sequence]
	if !duplicated {
		keys = []string{counter.firstKey}
	}
	if !slices.Contains(keys, key) && len(keys) < maxKeysPerDuplicateEntry {
		keys = append(keys, key)
	}
	b.duplicates[sequence] = keys
}

// Stats returns a copy of the counters.
func (s *StandIn) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()

	stats := Stats{
		Requests:           s.counters.requests,
		Records:            s.counters.records,
		StatusCounts:       make(map[int]int64, len(s.counters.statusCounts)),
		InFlight:           s.counters.inFlight,
		MaxConcurrent:      s.counters.maxConcurrent,
		IdempotencyReplays: s.counters.replays,
		Batches:            make(map[string]BatchStats, len(s.counters.batches)),
	}
	for status, count := range s.counters.statusCounts {
		stats.StatusCounts[status] = count
	}
	for batchID, batch := range s.counters.batches {
		stats.Batches[batchID] = batch.snapshot(batchID)
	}

	return stats
}

func (b *batchCounters) snapshot(batchID string) BatchStats {
	stats := BatchStats{
		BatchID:                batchID,
		Requests:               b.requests,
		RecordsReceived:        b.recordsReceived,
		RecordsAccepted:        b.recordsAccepted,
		RecordsRejected:        b.recordsRejected,
		DistinctSequences:      int64(len(b.sequences)),
		DuplicateSequenceCount: int64(len(b.duplicates)),
		DuplicateSequences:     []DuplicateSequence{},
		IdempotencyReplays:     b.replays,
		Chunks:                 make([]ChunkStats, 0, len(b.chunks)),
		MaxConcurrent:          b.maxConcurrent,
	}

	sequences := make([]int64, 0, len(b.duplicates))
	for sequence := range b.duplicates {
		sequences = append(sequences, sequence)
	}
	slices.Sort(sequences)
	for _, sequence := range sequences[:min(len(sequences), maxDuplicateSamples)] {
		stats.DuplicateSequences = append(stats.DuplicateSequences, DuplicateSequence{
			Sequence:        sequence,
			Times:           b.sequences[sequence].times,
			IdempotencyKeys: slices.Clone(b.duplicates[sequence]),
		})
	}

	for _, chunk := range b.chunks {
		stats.Chunks = append(stats.Chunks, *chunk)
	}
	slices.SortFunc(stats.Chunks, func(a, b ChunkStats) int {
		return cmp.Or(cmp.Compare(a.ChunkID, b.ChunkID), cmp.Compare(a.Offset, b.Offset),
			cmp.Compare(a.Size, b.Size), cmp.Compare(a.IdempotencyKey, b.IdempotencyKey))
	})

	return stats
}

// Records returns the kept records of batchID sorted by sequence. It is
// empty unless KeepRecords is on, and only records that were imported
// successfully are kept, each as its last received copy.
func (s *StandIn) Records(batchID string) []StoredRecord {
	records, _ := s.batchRecords(batchID)
	return records
}

// batchRecords also reports whether the batch was seen at all.
func (s *StandIn) batchRecords(batchID string) ([]StoredRecord, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()

	batch := s.counters.batches[batchID]
	if batch == nil {
		return []StoredRecord{}, false
	}

	records := make([]StoredRecord, 0, len(batch.records))
	for sequence, record := range batch.records {
		records = append(records, StoredRecord{Sequence: sequence, Record: record})
	}
	slices.SortFunc(records, func(a, b StoredRecord) int { return cmp.Compare(a.Sequence, b.Sequence) })

	return records, true
}

// Reset clears all counters and kept records, and restarts the FailFirst
// count. Requests in flight finish normally, still count as in flight, and
// count toward the new totals when they end.
func (s *StandIn) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()

	inFlight := s.counters.inFlight
	s.counters = newStandInCounters()
	s.counters.inFlight = inFlight
	s.served = 0
	s.failFirstFrom = 0
}
