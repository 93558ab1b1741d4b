//go:build faults

package cmd_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dataflow/dataflow/modules/imports/importtest"
	"github.com/dataflow/dataflow/modules/omniflow"
)

// The fault tests kill, freeze and cut off the processes of a running stack.
// Then they check what reached the stand-in and the database: every record
// delivered, one ImportItems row per record, and resends limited to the one
// chunk whose outcome was not committed. Run them with
// `go test -tags faults -run Fault -count=1 -timeout 30m ./cmd/`.

// faultReportVariable names the variable whose file path receives the
// summary table of every fault test that ran.
const faultReportVariable = "FAULT_REPORT"

// Bounds of the fault tests.
const (
	// faultChunkSize is ImportBatch:ChunkSize in every fault test, and so
	// the maximum number of records that one lost chunk outcome may resend.
	faultChunkSize = 100
	// faultPhasePoll is the poll interval while a test waits for the moment
	// to inject a fault. It is short because some phases last only a few
	// milliseconds.
	faultPhasePoll = 2 * time.Millisecond
	// faultBatchTimeout bounds the wait for one batch to reach a final
	// status after a fault, which includes a lock timeout and pauses.
	faultBatchTimeout = 2 * time.Minute
	// faultLockTimeout is ImportBatch:LockTimeout in faultSettings.
	faultLockTimeout = 4 * time.Second
)

// faultSettings returns the settings that make a fault heal within seconds:
// a 4s lock timeout checked every second, and short retry delays. extra
// settings come last, so they win.
func faultSettings(extra ...string) []string {
	return append([]string{
		"ImportBatch__LockTimeout=" + faultLockTimeout.String(),
		"ImportBatch__HeartbeatInterval=1s",
		"ImportBatch__WatchdogInterval=1s",
		"ImportBatch__PollIntervalSeconds=0.2",
		"OmniFlow__RetryBaseDelay=50ms",
		"ImportBatch__UnavailableDelay=300ms",
		"ImportBatch__ShutdownTimeout=5s",
	}, extra...)
}

// faultFigure is one row of the summary table.
type faultFigure struct {
	// test is the top-level test name, followed by "/" and the variant for
	// tests with several.
	test   string
	engine string
	run    string
	phase  string
	// records is the number of records in the batch (or batches).
	records int
	// duplicates is the number of sequences the stand-in received more
	// than once.
	duplicates int64
	// allowed is the largest duplicates value the test accepts.
	allowed int
	// recovery is the time from the end of the fault to the final status,
	// or 0 when there was nothing to recover.
	recovery time.Duration
	note     string
}

// faultFigures collects the figures of every fault test in this test binary.
var faultFigures struct {
	mu   sync.Mutex
	rows []faultFigure
}

func recordFaultFigure(figure faultFigure) {
	faultFigures.mu.Lock()
	defer faultFigures.mu.Unlock()

	faultFigures.rows = append(faultFigures.rows, figure)
}

// reportFaultFigures logs the figures of the top-level test t when it ends,
// and rewrites the FAULT_REPORT file with every figure recorded so far. The
// tests run in parallel, so the last one to end writes the whole table.
func reportFaultFigures(t *testing.T) {
	t.Helper()

	name := t.Name()
	t.Cleanup(func() {
		faultFigures.mu.Lock()
		defer faultFigures.mu.Unlock()

		var own []faultFigure
		for _, row := range faultFigures.rows {
			if row.test == name || strings.HasPrefix(row.test, name+"/") {
				own = append(own, row)
			}
		}

		t.Logf("fault figures of %s:\n%s\n%s", name, faultSummaryTable(own), faultRunTable(own))

		path := os.Getenv(faultReportVariable)
		if path == "" {
			return
		}

		report := "## Summary\n\n" + faultSummaryTable(faultFigures.rows) + "\n## Runs\n\n" + faultRunTable(faultFigures.rows)
		if err := os.WriteFile(path, []byte(report), 0o644); err != nil {
			t.Errorf("writing the fault report to %s (%s): %v", path, faultReportVariable, err)
		}
	})
}

// faultSummaryTable returns one Markdown row per test and engine.
func faultSummaryTable(rows []faultFigure) string {
	type key struct{ test, engine string }

	var order []key
	groups := map[key][]faultFigure{}
	for _, row := range rows {
		k := key{row.test, row.engine}
		if _, seen := groups[k]; !seen {
			order = append(order, k)
		}

		groups[k] = append(groups[k], row)
	}

	sort.SliceStable(order, func(i, j int) bool {
		if order[i].test != order[j].test {
			return order[i].test < order[j].test
		}

		return order[i].engine < order[j].engine
	})

	var out strings.Builder
	out.WriteString("| test | engine | runs | records per run | duplicates seen (total / max per run) | duplicates allowed per run | recovery min / median / max |\n")
	out.WriteString("|---|---|---|---|---|---|---|\n")
	for _, k := range order {
		group := groups[k]
		var total, most int64
		var recoveries []time.Duration
		for _, row := range group {
			total += row.duplicates
			most = max(most, row.duplicates)
			if row.recovery > 0 {
				recoveries = append(recoveries, row.recovery)
			}
		}

		recovery := "n/a"
		if len(recoveries) > 0 {
			slices.Sort(recoveries)
			recovery = fmt.Sprintf("%s / %s / %s", formatSeconds(recoveries[0]),
				formatSeconds(recoveries[len(recoveries)/2]), formatSeconds(recoveries[len(recoveries)-1]))
		}

		fmt.Fprintf(&out, "| %s | %s | %d | %d | %d / %d | %d | %s |\n",
			k.test, k.engine, len(group), group[0].records, total, most, group[0].allowed, recovery)
	}

	return out.String()
}

// faultRunTable returns one Markdown row per recorded run.
func faultRunTable(rows []faultFigure) string {
	sorted := slices.Clone(rows)
	sort.SliceStable(sorted, func(i, j int) bool {
		if sorted[i].test != sorted[j].test {
			return sorted[i].test < sorted[j].test
		}

		return sorted[i].engine < sorted[j].engine
	})

	var out strings.Builder
	out.WriteString("| test | engine | run | phase | records | duplicates seen | duplicates allowed | recovery | note |\n")
	out.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	for _, row := range sorted {
		recovery := "n/a"
		if row.recovery > 0 {
			recovery = formatSeconds(row.recovery)
		}

		fmt.Fprintf(&out, "| %s | %s | %s | %s | %d | %d | %d | %s | %s |\n",
			row.test, row.engine, row.run, row.phase, row.records, row.duplicates, row.allowed, recovery, row.note)
	}

	return out.String()
}

func formatSeconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) + " s"
}

// startNamedWorker starts one more `work` process with its own log, the
// stack's settings and extra settings, and waits until its loop runs.
func (s *stack) startNamedWorker(t *testing.T, name string, extra ...string) *process {
	t.Helper()

	env := append(slices.Clone(s.env), extra...)
	p := startProcess(t, name, s.workDir, env, "--config-dir", s.configDir, "work")
	p.waitForOutput(t, "worker started", readyTimeout)

	return p
}

// killProcess sends SIGKILL and waits until the process is gone.
func killProcess(t *testing.T, p *process) {
	t.Helper()

	require.NoError(t, p.cmd.Process.Signal(syscall.SIGKILL), "killing %s", p.name)
	require.True(t, p.waitExit(stopTimeout), "%s did not exit within %s of SIGKILL", p.name, stopTimeout)
}

// signalProcess sends sig (SIGSTOP, SIGCONT) to a running process.
func signalProcess(t *testing.T, p *process, sig syscall.Signal) {
	t.Helper()

	require.False(t, p.hasExited(), "%s exited before it could get %s", p.name, sig)
	require.NoError(t, p.cmd.Process.Signal(sig), "sending %s to %s", sig, p.name)
}

// batchState is the part of an ImportBatches row that shows where a worker is.
type batchState struct {
	status     string
	staged     bool
	total      int
	processed  int
	pauseCount int
}

func (st batchState) final() bool { return slices.Contains(finalStatuses, st.status) }

func (s *stack) batchState(t *testing.T, batchID string) batchState {
	t.Helper()

	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()

	var st batchState
	err := s.sqlDB.QueryRowContext(ctx, s.rebind(
		`SELECT "Status", "StagedAt" IS NOT NULL, "TotalRecords", "ProcessedRecords", "PauseCount" FROM "ImportBatches" WHERE "Id" = ?`),
		batchID).Scan(&st.status, &st.staged, &st.total, &st.processed, &st.pauseCount)
	require.NoError(t, err, "loading the state of batch %s", batchID)

	return st
}

// pollFor calls condition every interval until it returns true, failing the
// test after timeout.
func pollFor(t *testing.T, what string, interval, timeout time.Duration, condition func() bool) {
	t.Helper()

	if !pollUntil(interval, timeout, condition) {
		t.Fatalf("timed out after %s waiting for %s", timeout, what)
	}
}

// pollUntil calls condition every interval until it returns true or timeout
// passes, and reports whether it returned true.
func pollUntil(interval, timeout time.Duration, condition func() bool) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()

	ticker := time.NewTicker(interval)
	defer ticker.Stop()

	for !condition() {
		select {
		case <-deadline.C:
			return condition()
		case <-ticker.C:
		}
	}

	return true
}

// waitFinal polls the batch row until it reaches a final status, failing
// the test when one of watched exits first, and returns the API's view.
func (s *stack) waitFinal(t *testing.T, batchID string, watched ...*process) batchStatus {
	t.Helper()

	deadline := time.NewTimer(faultBatchTimeout)
	defer deadline.Stop()

	ticker := time.NewTicker(25 * time.Millisecond)
	defer ticker.Stop()

	for {
		st := s.batchState(t, batchID)
		if st.final() {
			return s.batchStatus(t, clientAlpha, batchID)
		}

		for _, p := range watched {
			if p.hasExited() {
				t.Fatalf("%s exited with %v while batch %s was %s", p.name, p.waitErr, batchID, st.status)
			}
		}

		select {
		case <-deadline.C:
			t.Fatalf("batch %s is still %s after %s (%d of %d records processed)",
				batchID, st.status, faultBatchTimeout, st.processed, st.total)
		case <-ticker.C:
		}
	}
}

// configureStandIn sends PUT /__standin/config.
func (s *stack) configureStandIn(t *testing.T, switches omniflow.StandInSwitches) {
	t.Helper()

	body, err := json.Marshal(switches)
	require.NoError(t, err)

	request, err := http.NewRequest(http.MethodPut, s.standInURL+"/__standin/config", bytes.NewReader(body))
	require.NoError(t, err)
	request.Header.Set("Content-Type", "application/json")

	response := s.send(t, request, nil)
	require.Equal(t, http.StatusOK, response.status, "PUT /__standin/config answered %s", response.body)
}

func (s *stack) setStandInLatency(t *testing.T, latency time.Duration) {
	t.Helper()

	ms := latency.Milliseconds()
	s.configureStandIn(t, omniflow.StandInSwitches{LatencyMs: &ms})
}

// itemCounts summarizes the ImportItems rows of a batch.
type itemCounts struct {
	rows     int64
	distinct int64
	imported int64
	failed   int64
}

func (s *stack) itemCounts(t *testing.T, batchID string) itemCounts {
	t.Helper()

	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()

	var counts itemCounts
	err := s.sqlDB.QueryRowContext(ctx, s.rebind(
		`SELECT COUNT(*), COUNT(DISTINCT "Sequence"),
			COALESCE(SUM(CASE WHEN "Status" = 'Imported' THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN "Status" = 'Error' THEN 1 ELSE 0 END), 0)
		FROM "ImportItems" WHERE "BatchId" = ?`), batchID).
		Scan(&counts.rows, &counts.distinct, &counts.imported, &counts.failed)
	require.NoError(t, err, "counting the items of batch %s", batchID)

	return counts
}

// Values of resendChunk for checkDelivered.
const (
	// noResend allows no sequence to arrive twice.
	noResend = 0
	// anyOneChunkResend allows the sequences of any single chunk to arrive
	// twice, for faults where the test cannot tell which chunk was in
	// flight.
	anyOneChunkResend = -1
)

// checkDelivered checks a Completed batch end to end and returns how many
// sequences the stand-in received more than once. resendChunk is the id of
// the only chunk that may have been received twice (the chunk whose outcome
// a fault kept from being committed), or noResend, or anyOneChunkResend.
func (s *stack) checkDelivered(t *testing.T, batchID string, total, resendChunk int) int64 {
	t.Helper()

	final := s.batchStatus(t, clientAlpha, batchID)
	require.Equal(t, "Completed", final.Status, "errorSummary: %v", final.ErrorSummary)
	require.Equal(t, total, final.TotalRecords)
	require.Equal(t, total, final.ProcessedRecords, "processedRecords must count each record once, resends included")
	require.Equal(t, total, final.ImportedRecords)
	require.Equal(t, 0, final.FailedRecords)

	counts := s.itemCounts(t, batchID)
	require.Equal(t, int64(total), counts.rows, "ImportItems must have one row per record")
	require.Equal(t, int64(total), counts.distinct, "ImportItems must have each sequence once")
	require.Equal(t, int64(total), counts.imported, "every item must be Imported")
	require.Equal(t, int64(0), counts.failed, "no item may be Error")

	status, records := s.standInRecords(t, batchID)
	require.Equal(t, http.StatusOK, status, "the stand-in has no records of batch %s", batchID)
	require.Len(t, records, total, "the stand-in must have received every sequence")
	for i, stored := range records {
		require.Equal(t, int64(i), stored.Sequence, "sequence %d never reached the stand-in", i)
	}

	batch := s.standInStats(t).Batches[batchID]
	require.Equal(t, int64(total), batch.DistinctSequences)

	chunks := (total + faultChunkSize - 1) / faultChunkSize
	require.Len(t, batch.Chunks, chunks, "a resent chunk must keep its id, offset, size and key: %+v", batch.Chunks)

	var resent []int
	for _, chunk := range batch.Chunks {
		require.Equal(t, fmt.Sprintf("%s:%d", batchID, chunk.ChunkID), chunk.IdempotencyKey)
		require.Equal(t, int64((chunk.ChunkID-1)*faultChunkSize), chunk.Offset, "chunk %d", chunk.ChunkID)
		require.Positive(t, chunk.TimesReceived, "chunk %d never got a 200", chunk.ChunkID)
		if chunk.TimesReceived > 1 {
			require.Equal(t, int64(2), chunk.TimesReceived, "chunk %d was received more than twice", chunk.ChunkID)
			resent = append(resent, chunk.ChunkID)
		}
	}

	switch resendChunk {
	case noResend:
		require.Empty(t, resent, "no chunk may be received twice")
		require.Zero(t, batch.DuplicateSequenceCount, "duplicates: %+v", batch.DuplicateSequences)
	case anyOneChunkResend:
		require.LessOrEqual(t, len(resent), 1, "at most one chunk may be received twice, got chunks %v", resent)
	default:
		if len(resent) > 0 {
			require.Equal(t, []int{resendChunk}, resent, "only chunk %d, whose outcome was not committed, may be received twice", resendChunk)
		}
	}

	require.LessOrEqual(t, batch.DuplicateSequenceCount, int64(faultChunkSize), "more duplicates than one chunk")
	require.Len(t, batch.DuplicateSequences, int(batch.DuplicateSequenceCount))
	for _, duplicate := range batch.DuplicateSequences {
		require.Len(t, duplicate.IdempotencyKeys, 1, "sequence %d arrived with different keys", duplicate.Sequence)
		require.Equal(t, int64(2), duplicate.Times, "sequence %d", duplicate.Sequence)
		require.Len(t, resent, 1, "sequence %d is duplicated outside a resent chunk", duplicate.Sequence)

		chunk := resent[0]
		require.Equal(t, fmt.Sprintf("%s:%d", batchID, chunk), duplicate.IdempotencyKeys[0], "sequence %d", duplicate.Sequence)
		require.GreaterOrEqual(t, duplicate.Sequence, int64((chunk-1)*faultChunkSize), "sequence %d is outside chunk %d", duplicate.Sequence, chunk)
		require.Less(t, duplicate.Sequence, int64(chunk*faultChunkSize), "sequence %d is outside chunk %d", duplicate.Sequence, chunk)
	}

	return batch.DuplicateSequenceCount
}

// killPhase is the moment of a batch at which TestFaultKillWorker kills the
// worker.
type killPhase string

const (
	// phaseStaging is after the claim and before TotalRecords is set.
	phaseStaging killPhase = "staging"
	// phaseBetweenChunks is right after ProcessedRecords grew.
	phaseBetweenChunks killPhase = "between chunks"
	// phaseInFlight is while the stand-in handles a chunk request.
	phaseInFlight killPhase = "request in flight"
	// phaseFinalWrite is once at most one chunk is left, up to the final
	// status write.
	phaseFinalWrite killPhase = "near final status"
	// phaseAfterCompletion means the kill came too late: the batch was
	// already Completed.
	phaseAfterCompletion killPhase = "after completion"
)

var killPhases = []killPhase{phaseStaging, phaseBetweenChunks, phaseInFlight, phaseFinalWrite}

// killOutcome is what one kill of TestFaultKillWorker did.
type killOutcome struct {
	batchID    string
	phase      killPhase
	duplicates int64
	recovery   time.Duration
	// resendChunk is the chunk that may have been received without its
	// outcome being committed.
	resendChunk int
}

// TestFaultKillWorker kills `work` with SIGKILL at different moments of a
// batch and starts a new one. The batch must complete with every record
// delivered and one ImportItems row per record. Only the chunk whose outcome
// the killed worker had not committed may be resent.
func TestFaultKillWorker(t *testing.T) {
	skipUnlessEndToEnd(t)
	t.Parallel()
	reportFaultFigures(t)

	forEachDatabase(t, func(t *testing.T, db testDatabase) {
		const (
			total = 3000
			runs  = 20
			// maxAttempts bounds the tries per run, because a phase of a few
			// milliseconds can end before the kill lands.
			maxAttempts = 3
		)

		seed := uint64(time.Now().UnixNano())
		t.Logf("random seed %d chooses the kill moments", seed)
		rng := rand.New(rand.NewPCG(seed, 0))

		s := newStack(t, db, stackOptions{
			chunkSize:   faultChunkSize,
			standInArgs: []string{"--latency", "5ms"},
			env:         faultSettings(),
			deferWorker: true,
		})
		content, _ := generateLeads(t, total, importtest.GenerateOptions{Seed: 31})

		hits := map[killPhase]int{}
		for run := 1; run <= runs; run++ {
			target := killPhases[(run-1)%len(killPhases)]
			ok := t.Run(fmt.Sprintf("run %02d %s", run, target), func(t *testing.T) {
				for attempt := 1; attempt <= maxAttempts; attempt++ {
					outcome := killWorkerOnce(t, s, content, total, target, rng, fmt.Sprintf("run%02d-%d", run, attempt))

					note := fmt.Sprintf("batch %s", outcome.batchID)
					if outcome.phase != target {
						note = fmt.Sprintf("aimed at %s, missed; %s", target, note)
					}

					recordFaultFigure(faultFigure{
						test: "TestFaultKillWorker", engine: db.name, run: fmt.Sprintf("%02d.%d", run, attempt),
						phase: string(outcome.phase), records: total, duplicates: outcome.duplicates,
						allowed: faultChunkSize, recovery: outcome.recovery, note: note,
					})
					t.Logf("attempt %d: killed %s, %d duplicates, recovered in %s",
						attempt, outcome.phase, outcome.duplicates, outcome.recovery.Round(time.Millisecond))

					if outcome.phase == target {
						hits[target]++

						return
					}
				}

				t.Fatalf("none of %d attempts killed the worker %s", maxAttempts, target)
			})
			if !ok {
				break
			}
		}

		for _, phase := range killPhases {
			require.GreaterOrEqual(t, hits[phase], 4, "the worker must be killed %s at least 4 times", phase)
		}
	})
}

// killWorkerOnce uploads a batch, starts a worker, kills it with SIGKILL
// when the batch reaches target, starts another worker and checks the
// completed batch.
func killWorkerOnce(t *testing.T, s *stack, content []byte, total int, target killPhase, rng *rand.Rand, label string) killOutcome {
	t.Helper()

	latency := 5 * time.Millisecond
	if target == phaseInFlight {
		// A long request makes it likely that the kill lands while the
		// stand-in still holds it.
		latency = 300 * time.Millisecond
	}

	s.setStandInLatency(t, latency)

	batchID := s.upload(t, clientAlpha, "leads.json", content, allowRepeat).BatchID
	victim := s.startNamedWorker(t, "work-"+label+"-killed")

	var aborted499 int64
	switch target {
	case phaseStaging:
		pollFor(t, "the batch to be claimed", faultPhasePoll, readyTimeout, func() bool {
			return s.batchState(t, batchID).status != "Pending"
		})
	case phaseBetweenChunks:
		threshold := (1 + rng.IntN(25)) * faultChunkSize
		pollFor(t, fmt.Sprintf("%d records processed", threshold), faultPhasePoll, faultBatchTimeout, func() bool {
			st := s.batchState(t, batchID)
			return st.processed >= threshold || st.final()
		})
	case phaseInFlight:
		threshold := (1 + rng.IntN(6)) * faultChunkSize
		pollFor(t, fmt.Sprintf("%d records processed", threshold), faultPhasePoll, faultBatchTimeout, func() bool {
			st := s.batchState(t, batchID)
			return st.processed >= threshold || st.final()
		})
		pollFor(t, "a chunk request in flight", faultPhasePoll, readyTimeout, func() bool {
			stats := s.standInStats(t)
			aborted499 = stats.StatusCounts[499]

			return stats.InFlight > 0
		})
	case phaseFinalWrite:
		pollFor(t, "the last chunk", faultPhasePoll, faultBatchTimeout, func() bool {
			st := s.batchState(t, batchID)
			return st.processed >= total-faultChunkSize || st.final()
		})
	}

	killProcess(t, victim)

	// The killed worker cannot write any more, and a chunk's outcome is
	// committed before the next chunk is sent, so the only chunk that may
	// have been received without a committed outcome is the next one.
	st := s.batchState(t, batchID)
	outcome := killOutcome{batchID: batchID, resendChunk: st.processed/faultChunkSize + 1}

	switch {
	case st.final():
		outcome.phase = phaseAfterCompletion
	case !st.staged:
		outcome.phase = phaseStaging
	case target == phaseInFlight && standInAborted(t, s, aborted499):
		outcome.phase = phaseInFlight
	case st.processed >= total-faultChunkSize:
		outcome.phase = phaseFinalWrite
	default:
		outcome.phase = phaseBetweenChunks
	}

	if target == phaseInFlight {
		s.setStandInLatency(t, 5*time.Millisecond)
	}

	if outcome.phase != phaseAfterCompletion {
		restarted := time.Now()
		successor := s.startNamedWorker(t, "work-"+label+"-successor")
		s.waitFinal(t, batchID, successor)
		outcome.recovery = time.Since(restarted)

		successor.stop(t)
	}

	outcome.duplicates = s.checkDelivered(t, batchID, total, outcome.resendChunk)

	return outcome
}

// standInAborted reports whether the stand-in's count of status 499 (the
// client went away during the latency) rises above before within 3 seconds.
// A rise shows that the kill cut a request short.
func standInAborted(t *testing.T, s *stack, before int64) bool {
	t.Helper()

	return pollUntil(10*time.Millisecond, 3*time.Second, func() bool {
		return s.standInStats(t).StatusCounts[499] > before
	})
}

// requestInLatency reports whether the stand-in has read the whole body of
// a request of the batch and not yet answered it. The stand-in counts a
// request for its chunk once it has read the body, and counts a 200 just
// before it answers. This only holds while no request fails.
func requestInLatency(stats omniflow.Stats, batchID string) bool {
	batch := stats.Batches[batchID]

	var answered int64
	for _, chunk := range batch.Chunks {
		answered += chunk.TimesReceived
	}

	return stats.InFlight > 0 && batch.Requests > answered
}

// concurrencySample is what sampleConcurrency saw.
type concurrencySample struct {
	samples       int
	maxProcessing int
	maxLocked     int
	errs          []error
}

// sampleConcurrency counts Processing batches and held slots every interval
// until stop is closed, and sends the maxima on the returned channel.
func (s *stack) sampleConcurrency(interval time.Duration, stop <-chan struct{}) <-chan concurrencySample {
	result := make(chan concurrencySample, 1)
	processingSQL := s.rebind(`SELECT COUNT(*) FROM "ImportBatches" WHERE "Status" = 'Processing'`)
	lockedSQL := s.rebind(`SELECT COUNT(*) FROM "BatchLocks" WHERE "IsLocked" = ?`)

	go func() {
		var sample concurrencySample
		defer func() { result <- sample }()

		ticker := time.NewTicker(interval)
		defer ticker.Stop()

		for {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			var processing, locked int
			err := s.sqlDB.QueryRowContext(ctx, processingSQL).Scan(&processing)
			if err == nil {
				err = s.sqlDB.QueryRowContext(ctx, lockedSQL, true).Scan(&locked)
			}
			cancel()

			if err != nil {
				sample.errs = append(sample.errs, err)
			} else {
				sample.samples++
				sample.maxProcessing = max(sample.maxProcessing, processing)
				sample.maxLocked = max(sample.maxLocked, locked)
			}

			select {
			case <-stop:
				return
			case <-ticker.C:
			}
		}
	}()

	return result
}

// TestFaultThreeWorkersTwoSlots runs three workers that share two processing
// slots on ten batches at once: every batch must complete with each record
// delivered once, and never more than two batches may be processed at once.
func TestFaultThreeWorkersTwoSlots(t *testing.T) {
	skipUnlessEndToEnd(t)
	t.Parallel()
	reportFaultFigures(t)

	forEachDatabase(t, func(t *testing.T, db testDatabase) {
		const (
			batches = 10
			leads   = 2000
			slots   = 2
		)

		s := newStack(t, db, stackOptions{
			chunkSize:   faultChunkSize,
			standInArgs: []string{"--latency", "20ms"},
			env:         faultSettings("ImportBatch__MaxConcurrentBatches=" + strconv.Itoa(slots)),
			deferWorker: true,
		})
		content, _ := generateLeads(t, leads, importtest.GenerateOptions{Seed: 32})

		stopSampling := make(chan struct{})
		sampled := s.sampleConcurrency(50*time.Millisecond, stopSampling)

		workers := make([]*process, 3)
		for i := range workers {
			workers[i] = s.startNamedWorker(t, fmt.Sprintf("work-%d", i+1))
		}

		start := time.Now()
		ids := make([]string, batches)
		for i := range ids {
			ids[i] = s.upload(t, clientAlpha, fmt.Sprintf("leads-%02d.json", i+1), content, allowRepeat).BatchID
		}

		for _, id := range ids {
			s.waitFinal(t, id, workers...)
		}

		elapsed := time.Since(start)
		close(stopSampling)
		sample := <-sampled

		t.Logf("%d batches of %d leads completed in %s; %d samples saw at most %d Processing batches and %d held slots",
			batches, leads, elapsed.Round(time.Millisecond), sample.samples, sample.maxProcessing, sample.maxLocked)
		require.Empty(t, sample.errs, "sampling the database failed")
		require.Positive(t, sample.samples)
		require.LessOrEqual(t, sample.maxProcessing, slots, "more batches were Processing than there are slots")
		require.LessOrEqual(t, sample.maxLocked, slots, "more slots were held than configured")

		stats := s.standInStats(t)
		require.LessOrEqual(t, stats.MaxConcurrent, slots, "the stand-in handled more requests at once than there are slots")

		var duplicates int64
		for _, id := range ids {
			duplicates += s.checkDelivered(t, id, leads, noResend)
			require.Equal(t, 1, stats.Batches[id].MaxConcurrent, "batch %s had requests in flight at once", id)
			require.Equal(t, int64(leads), stats.Batches[id].RecordsReceived, "batch %s: each record must arrive once", id)
		}

		pollFor(t, "every slot to be released", pollInterval, readyTimeout, func() bool {
			return s.countRows(t, `SELECT COUNT(*) FROM "BatchLocks" WHERE "IsLocked" = ?`, true) == 0
		})

		var claims []string
		claimed := 0
		for _, worker := range workers {
			n := strings.Count(worker.output.String(), "worker: claimed batch")
			claims = append(claims, fmt.Sprintf("%s: %d", worker.name, n))
			if n > 0 {
				claimed++
			}
		}

		// Which worker wins a claim is up to timing, so a worker that got
		// nothing is logged but is not a failure.
		t.Logf("claims per worker: %s", strings.Join(claims, ", "))

		recordFaultFigure(faultFigure{
			test: "TestFaultThreeWorkersTwoSlots", engine: db.name, run: "1", phase: "3 workers, 2 slots, 10 batches",
			records: batches * leads, duplicates: duplicates, allowed: 0,
			note: fmt.Sprintf("all done in %s; max Processing %d, max held slots %d, stand-in max concurrency %d; %d of 3 workers claimed (%s)",
				formatSeconds(elapsed), sample.maxProcessing, sample.maxLocked, stats.MaxConcurrent, claimed, strings.Join(claims, ", ")),
		})
	})
}

// countRows runs a COUNT query and returns its value.
func (s *stack) countRows(t *testing.T, query string, args ...any) int {
	t.Helper()

	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()

	var n int
	require.NoError(t, s.sqlDB.QueryRowContext(ctx, s.rebind(query), args...).Scan(&n), "running %s", query)

	return n
}

// TestFaultFrozenWorker freezes a worker with SIGSTOP for longer than the
// lock timeout, lets a second worker take the batch over, and resumes the
// first: it must notice that it lost the lease and send nothing more.
func TestFaultFrozenWorker(t *testing.T) {
	skipUnlessEndToEnd(t)
	t.Parallel()
	reportFaultFigures(t)

	forEachDatabase(t, func(t *testing.T, db testDatabase) {
		const (
			total  = 5000
			freeze = 8 * time.Second
		)

		s := newStack(t, db, stackOptions{
			chunkSize:   faultChunkSize,
			standInArgs: []string{"--latency", "50ms"},
			env:         faultSettings(),
			deferWorker: true,
		})
		content, _ := generateLeads(t, total, importtest.GenerateOptions{Seed: 33})

		batchID := s.upload(t, clientAlpha, "leads.json", content, allowRepeat).BatchID
		frozen := s.startNamedWorker(t, "work-a")

		pollFor(t, "the first committed chunk", faultPhasePoll, faultBatchTimeout, func() bool {
			return s.batchState(t, batchID).processed > 0
		})

		// Freezing work-a while the stand-in holds a request whose body it
		// has read means that the request was written in full. Anything
		// work-a sends after SIGCONT then comes from a step that ran after
		// the freeze.
		pollFor(t, "a chunk request in the stand-in's latency", faultPhasePoll, readyTimeout, func() bool {
			return requestInLatency(s.standInStats(t), batchID)
		})

		signalProcess(t, frozen, syscall.SIGSTOP)
		frozenAt := time.Now()

		// A stopped process writes nothing, so the next chunk is the only
		// one that can have been received without a committed outcome.
		atFreeze := s.batchState(t, batchID)
		resendChunk := atFreeze.processed/faultChunkSize + 1

		successor := s.startNamedWorker(t, "work-b")
		successor.waitForOutput(t, "worker: claimed batch", faultLockTimeout+readyTimeout)
		takeover := time.Since(frozenAt)
		require.Contains(t, successor.output.String(), batchID, "work-b must log the batch it claimed")

		remaining := time.Until(frozenAt.Add(freeze))
		if remaining > 0 {
			<-time.After(remaining)
		}

		before := s.standInStats(t).Batches[batchID]
		logBefore := len(frozen.output.String())
		signalProcess(t, frozen, syscall.SIGCONT)

		s.waitFinal(t, batchID, successor, frozen)
		completed := time.Since(frozenAt)

		// work-a notices the lost lease at its next heartbeat or guarded
		// write. The checks below look at what it did until then.
		frozen.waitForOutput(t, "worker: lease lost", readyTimeout)
		afterResume := frozen.output.String()[logBefore:]
		after := s.standInStats(t).Batches[batchID]

		t.Run("resumed worker logs lease lost", func(t *testing.T) {
			require.Contains(t, afterResume, "lease lost", "work-a must log that it lost the lease after SIGCONT")
		})

		t.Run("resumed worker commits nothing", func(t *testing.T) {
			require.NotContains(t, afterResume, "worker: chunk committed", "work-a committed a chunk after it lost the lease")
		})

		t.Run("resumed worker sends nothing", func(t *testing.T) {
			firstNew := 0
			for _, chunk := range before.Chunks {
				firstNew = max(firstNew, chunk.ChunkID+1)
			}

			for _, chunk := range after.Chunks {
				i := slices.IndexFunc(before.Chunks, func(c omniflow.ChunkStats) bool {
					return c.ChunkID == chunk.ChunkID && c.IdempotencyKey == chunk.IdempotencyKey
				})
				if i < 0 {
					require.GreaterOrEqual(t, chunk.ChunkID, firstNew,
						"chunk %d was first sent after SIGCONT although later chunks were sent before", chunk.ChunkID)

					continue
				}

				require.Equal(t, before.Chunks[i].Requests, chunk.Requests,
					"chunk %d was sent again after work-a resumed", chunk.ChunkID)
			}
		})

		t.Run("batch is delivered exactly", func(t *testing.T) {
			s.checkDelivered(t, batchID, total, resendChunk)
		})

		require.False(t, frozen.hasExited(), "work-a must keep running after it lost the lease")
		require.False(t, successor.hasExited(), "work-b must keep running")

		final := s.batchState(t, batchID)
		duplicates := after.DuplicateSequenceCount
		recordFaultFigure(faultFigure{
			test: "TestFaultFrozenWorker", engine: db.name, run: "1", phase: fmt.Sprintf("SIGSTOP %s after %d records", freeze, atFreeze.processed),
			records: total, duplicates: duplicates, allowed: faultChunkSize, recovery: takeover,
			note: fmt.Sprintf("recovery is SIGSTOP to work-b's claim; Completed %s after SIGSTOP; %d chunks sent before SIGCONT; final processedRecords %d",
				formatSeconds(completed), len(before.Chunks), final.processed),
		})
	})
}

// privateCluster is a PostgreSQL server that only this test uses, so the
// test can stop it without harming other tests.
type privateCluster struct {
	pgCtl   string
	dir     string
	dataDir string
	port    int
}

// startPrivateCluster creates and starts a throwaway cluster as the postgres
// OS user, and stops it when the test ends. It skips the test when the
// machine cannot run one.
func startPrivateCluster(t *testing.T) *privateCluster {
	t.Helper()

	initdbs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(initdbs) == 0 {
		t.Skip("no /usr/lib/postgresql/*/bin/initdb: install the PostgreSQL server package to run this test")
	}

	slices.Sort(initdbs)
	initdb := initdbs[len(initdbs)-1]
	pgCtl := filepath.Join(filepath.Dir(initdb), "pg_ctl")
	if _, err := os.Stat(pgCtl); err != nil {
		t.Skipf("no pg_ctl next to %s: %v", initdb, err)
	}

	if os.Geteuid() != 0 {
		t.Skip("the private cluster runs as the postgres OS user through runuser, which needs root")
	}

	if _, err := exec.LookPath("runuser"); err != nil {
		t.Skipf("runuser not found: %v", err)
	}

	account, err := user.Lookup("postgres")
	if err != nil {
		t.Skipf("no postgres OS user to run the private cluster: %v", err)
	}

	uid, err := strconv.Atoi(account.Uid)
	require.NoError(t, err)
	gid, err := strconv.Atoi(account.Gid)
	require.NoError(t, err)

	// t.TempDir lives under a root-only folder, which the postgres user
	// cannot enter.
	dir, err := os.MkdirTemp("", "dataflow-pg-*")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	require.NoError(t, os.Chown(dir, uid, gid))

	c := &privateCluster{pgCtl: pgCtl, dir: dir, dataDir: filepath.Join(dir, "pg"), port: freePort(t)}

	if output, err := c.run("true"); err != nil {
		t.Skipf("cannot run commands as the postgres OS user: %v\n%s", err, output)
	}

	if output, err := c.run(initdb, "-D", c.dataDir, "-U", "postgres", "--auth=trust", "--no-sync"); err != nil {
		t.Skipf("initdb failed, so this machine cannot run a private cluster: %v\n%s", err, output)
	}

	c.start(t)
	t.Cleanup(func() {
		if output, err := c.run(c.pgCtl, "-D", c.dataDir, "-m", "immediate", "-w", "stop"); err != nil {
			t.Logf("stopping the private cluster: %v\n%s", err, output)
		}
	})

	return c
}

// run runs a command as the postgres OS user.
func (c *privateCluster) run(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()

	cmd := exec.CommandContext(ctx, "runuser", append([]string{"-u", "postgres", "--"}, args...)...)
	cmd.Dir = c.dir
	cmd.WaitDelay = processWaitDelay
	output, err := cmd.CombinedOutput()

	return string(output), err
}

// start starts the server and waits until it accepts connections. Its log
// goes to a file, so pg_ctl does not leave the server holding its output.
func (c *privateCluster) start(t *testing.T) {
	t.Helper()

	// fsync=off keeps the test fast on slow disks. A fast shutdown still
	// writes a checkpoint, so no data is lost in this test.
	options := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", c.port, c.dir)
	output, err := c.run(c.pgCtl, "-D", c.dataDir, "-l", filepath.Join(c.dir, "server.log"), "-o", options, "-w", "-t", "60", "start")
	require.NoError(t, err, "starting the private cluster:\n%s\n%s", output, c.serverLog())
}

// stop shuts the server down with the fast mode: sessions are
// disconnected at once.
func (c *privateCluster) stop(t *testing.T) {
	t.Helper()

	output, err := c.run(c.pgCtl, "-D", c.dataDir, "-m", "fast", "-w", "-t", "60", "stop")
	require.NoError(t, err, "stopping the private cluster:\n%s\n%s", output, c.serverLog())
}

func (c *privateCluster) serverLog() string {
	data, err := os.ReadFile(filepath.Join(c.dir, "server.log"))
	if err != nil {
		return fmt.Sprintf("(no server log: %v)", err)
	}

	return string(data)
}

func (c *privateCluster) url() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}

// readyStatus returns the status of GET /ready, or 0 when serve did not
// respond.
func readyStatus(apiURL string) int {
	client := &http.Client{Timeout: 5 * time.Second}
	response, err := client.Get(apiURL + "/ready")
	if err != nil {
		return 0
	}

	_ = response.Body.Close()

	return response.StatusCode
}

// TestFaultDatabaseRestart stops a private PostgreSQL server in the middle
// of a batch and starts it again 5 seconds later: serve and work must keep
// running, serve must report 503 on /ready meanwhile, and the batch must
// complete with exact counts.
func TestFaultDatabaseRestart(t *testing.T) {
	skipUnlessEndToEnd(t)
	t.Parallel()
	reportFaultFigures(t)

	if os.Getenv(postgresURLVariable) == "" {
		t.Skipf("set %s to run the PostgreSQL fault tests", postgresURLVariable)
	}

	const (
		total    = 10000
		downtime = 5 * time.Second
	)

	cluster := startPrivateCluster(t)
	db := newPostgresDatabase(t, cluster.url())
	s := newStack(t, db, stackOptions{
		chunkSize:   faultChunkSize,
		standInArgs: []string{"--latency", "10ms"},
		env:         faultSettings(),
	})
	content, _ := generateLeads(t, total, importtest.GenerateOptions{Seed: 34})

	batchID := s.upload(t, clientAlpha, "leads.json", content, allowRepeat).BatchID

	var beforeStop batchState
	pollFor(t, "the first committed chunk", faultPhasePoll, faultBatchTimeout, func() bool {
		beforeStop = s.batchState(t, batchID)
		return beforeStop.processed > 0
	})

	cluster.stop(t)
	stoppedAt := time.Now()

	// serve's readiness is polled through the whole downtime.
	statuses := map[int]int{}
	ticker := time.NewTicker(200 * time.Millisecond)
	for time.Since(stoppedAt) < downtime {
		statuses[readyStatus(s.apiURL)]++
		<-ticker.C
	}
	ticker.Stop()

	cluster.start(t)
	restartedAt := time.Now()
	t.Logf("the database was down for %s; /ready statuses meanwhile: %v", restartedAt.Sub(stoppedAt).Round(time.Millisecond), statuses)
	require.Positive(t, statuses[http.StatusServiceUnavailable], "serve must answer 503 on /ready while the database is down")
	require.Zero(t, statuses[http.StatusOK], "serve must not report ready while the database is down")

	pollFor(t, "/ready to return 200 again", pollInterval, readyTimeout, func() bool {
		return readyStatus(s.apiURL) == http.StatusOK
	})

	s.waitFinal(t, batchID, s.worker, s.serve)
	recovery := time.Since(restartedAt)

	// The chunk in flight at the stop may be resent, but no chunk that was
	// committed before the stop.
	duplicates := s.checkDelivered(t, batchID, total, anyOneChunkResend)
	batch := s.standInStats(t).Batches[batchID]
	for _, chunk := range batch.Chunks {
		if chunk.TimesReceived > 1 {
			require.Greater(t, chunk.ChunkID, beforeStop.processed/faultChunkSize,
				"chunk %d was committed before the database stopped and must not be resent", chunk.ChunkID)
		}
	}

	require.False(t, s.worker.hasExited(), "work must survive the database restart")
	require.False(t, s.serve.hasExited(), "serve must survive the database restart")

	recordFaultFigure(faultFigure{
		test: "TestFaultDatabaseRestart", engine: db.name, run: "1", phase: fmt.Sprintf("pg_ctl stop -m fast after %d records, start %s later", beforeStop.processed, downtime),
		records: total, duplicates: duplicates, allowed: faultChunkSize, recovery: recovery,
		note: fmt.Sprintf("recovery is pg_ctl start to Completed; /ready during the downtime: %v", statuses),
	})
}

// TestFaultOmniFlowOutage cuts OmniFlow off in the middle of delivery, once
// with 503 responses and once by killing the stand-in: the batch must pause,
// resume when OmniFlow is back, and complete without failed records.
func TestFaultOmniFlowOutage(t *testing.T) {
	skipUnlessEndToEnd(t)
	t.Parallel()
	reportFaultFigures(t)

	const total = 2000

	t.Run("503 for 15s", func(t *testing.T) {
		t.Parallel()

		forEachDatabase(t, func(t *testing.T, db testDatabase) {
			const outage = 15 * time.Second

			// The stand-in starts inside newStack, so the outage ends a little
			// after outageEnd and the recovery below is an upper bound.
			outageEnd := time.Now().Add(outage)
			s := newStack(t, db, stackOptions{
				chunkSize:   faultChunkSize,
				standInArgs: []string{"--latency", "5ms", "--unavailable-for", outage.String()},
				env:         faultSettings("ImportBatch__MaxRetries=2"),
			})
			content, _ := generateLeads(t, total, importtest.GenerateOptions{Seed: 35})

			batchID := s.upload(t, clientAlpha, "leads.json", content, allowRepeat).BatchID
			s.waitFinal(t, batchID, s.worker)
			recovery := time.Since(outageEnd)

			st := s.batchState(t, batchID)
			require.Positive(t, st.pauseCount, "the batch must have been paused")
			s.worker.waitForOutput(t, "batch paused", readyTimeout)
			require.Positive(t, s.standInStats(t).StatusCounts[http.StatusServiceUnavailable], "the stand-in must have answered 503")

			duplicates := s.checkDelivered(t, batchID, total, noResend)

			recordFaultFigure(faultFigure{
				test: "TestFaultOmniFlowOutage/503 for 15s", engine: db.name, run: "1", phase: "503 for the first 15 s",
				records: total, duplicates: duplicates, allowed: 0, recovery: recovery,
				note: fmt.Sprintf("paused %d times; recovery is outage end to Completed", st.pauseCount),
			})
		})
	})

	t.Run("stand-in killed for 10s", func(t *testing.T) {
		t.Parallel()

		forEachDatabase(t, func(t *testing.T, db testDatabase) {
			const downtime = 10 * time.Second

			// Enough chunks that the batch is still running when the poll
			// below, slowed by the other fault tests, catches up with it.
			const total = 6000

			// 50ms per request leaves the poll below enough chunks to catch
			// before the batch ends, even on a loaded machine.
			standInArgs := []string{"--latency", "50ms"}
			s := newStack(t, db, stackOptions{
				chunkSize:   faultChunkSize,
				standInArgs: standInArgs,
				env:         faultSettings("ImportBatch__MaxRetries=2"),
			})
			content, _ := generateLeads(t, total, importtest.GenerateOptions{Seed: 36})

			batchID := s.upload(t, clientAlpha, "leads.json", content, allowRepeat).BatchID
			pollFor(t, "500 records processed", faultPhasePoll, faultBatchTimeout, func() bool {
				st := s.batchState(t, batchID)
				return st.processed >= 500 || st.final()
			})
			require.False(t, s.batchState(t, batchID).final(), "the batch ended before the stand-in could be killed")

			// A request that takes a minute cannot finish between the records
			// snapshot and the kill, so the snapshot holds every record the
			// killed stand-in accepted.
			hold := time.Minute.Milliseconds()
			s.configureStandIn(t, omniflow.StandInSwitches{LatencyMs: &hold})
			// Requests count only once they end, so a held one shows as in
			// flight. Any request still in flight 500ms after the switch
			// started after it: without the hold a request takes about 50ms.
			heldFrom := time.Now().Add(500 * time.Millisecond)
			pollFor(t, "a held chunk request", faultPhasePoll, readyTimeout, func() bool {
				return time.Now().After(heldFrom) && s.standInStats(t).InFlight > 0
			})

			status, beforeKill := s.standInRecords(t, batchID)
			require.Equal(t, http.StatusOK, status)
			killProcess(t, s.standIn)
			killedAt := time.Now()

			<-time.After(downtime)
			address := strings.TrimPrefix(s.standInURL, "http://")
			restarted := startProcess(t, "omniflow-standin-restarted", s.workDir, nil,
				append([]string{"omniflow-standin", "--listen", address, "--log-level", "Debug"}, standInArgs...)...)
			waitHealthy(t, restarted, s.standInURL)
			restartedAt := time.Now()

			s.waitFinal(t, batchID, s.worker)
			recovery := time.Since(restartedAt)

			final := s.batchStatus(t, clientAlpha, batchID)
			require.Equal(t, "Completed", final.Status, "errorSummary: %v", final.ErrorSummary)
			require.Equal(t, total, final.ProcessedRecords)
			require.Equal(t, total, final.ImportedRecords)
			require.Equal(t, 0, final.FailedRecords)

			st := s.batchState(t, batchID)
			require.Positive(t, st.pauseCount, "the batch must have been paused while the stand-in was down")

			counts := s.itemCounts(t, batchID)
			require.Equal(t, int64(total), counts.rows)
			require.Equal(t, int64(total), counts.distinct)
			require.Equal(t, int64(total), counts.imported)
			require.Equal(t, int64(0), counts.failed, "no item may be Error")

			status, afterRestart := s.standInRecords(t, batchID)
			require.Equal(t, http.StatusOK, status)

			seen := make([]int, total)
			for _, stored := range slices.Concat(beforeKill, afterRestart) {
				require.GreaterOrEqual(t, stored.Sequence, int64(0))
				require.Less(t, stored.Sequence, int64(total))
				seen[stored.Sequence]++
			}

			for sequence, times := range seen {
				require.Equal(t, 1, times, "sequence %d must reach one of the two stand-ins exactly once", sequence)
			}

			batch := s.standInStats(t).Batches[batchID]
			require.Zero(t, batch.DuplicateSequenceCount, "the restarted stand-in got duplicates: %+v", batch.DuplicateSequences)
			for _, chunk := range batch.Chunks {
				require.Equal(t, fmt.Sprintf("%s:%d", batchID, chunk.ChunkID), chunk.IdempotencyKey)
			}

			recordFaultFigure(faultFigure{
				test: "TestFaultOmniFlowOutage/stand-in killed for 10s", engine: db.name, run: "1", phase: "stand-in killed mid-request, restarted after 10 s",
				records: total, duplicates: batch.DuplicateSequenceCount, allowed: 0, recovery: recovery,
				note: fmt.Sprintf("paused %d times; %d records before the kill; down %s; recovery is restart to Completed",
					st.pauseCount, len(beforeKill), formatSeconds(restartedAt.Sub(killedAt))),
			})
		})
	})
}

// allowRepeat lets a fault test upload the same leads again, which the
// duplicate-upload check would otherwise reject with 409.
var allowRepeat = formPart{name: "allowDuplicate", content: []byte("true")}
