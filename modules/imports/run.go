package imports

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/attribute"

	"github.com/dataflow/dataflow/modules/omniflow"
	"github.com/dataflow/dataflow/platform/metrics"
)

var (
	errStopRequested = errors.New("stop requested")
	errMissingFile   = errors.New("the uploaded file is missing")
	// errCancelled ends a run whose batch the client cancelled.
	errCancelled = errors.New("cancelled by the client")
)

// traceIDPattern matches a W3C trace id, which a traceparent can carry.
var traceIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// stageBatchSize is the number of records staged per transaction.
const stageBatchSize = 1000

// batchRun is one claim of a batch.
type batchRun struct {
	w         *Worker
	b         Batch
	token     int64
	chunkSize int
	log       zerolog.Logger
	// client is the client identifier, the metrics label of the batch.
	client string
	// redaction decides which payloads are masked after their chunk.
	redaction RedactionConfig
	// confirmed is when the lease was last known to be ours (Unix
	// nanoseconds): a renewed heartbeat or a committed chunk.
	confirmed atomic.Int64
}

// countRejected records the staged items that will not be sent.
func (r *batchRun) countRejected(items []Item) {
	for _, it := range items {
		if it.Status == ItemError || it.Status == ItemSkipped {
			metrics.RecordsTotal.WithLabelValues(it.Status, r.client).Inc()
		}
	}
}

// countFinished records a batch's final status in the metrics.
func (r *batchRun) countFinished(status string, b Batch) {
	metrics.BatchTotal.WithLabelValues(status, r.client).Inc()
	if b.StartedAt != nil {
		metrics.BatchDuration.WithLabelValues(r.client).Observe(r.w.now().Sub(*b.StartedAt).Seconds())
	}
}

// confirmLease checks the lease with a guarded heartbeat when it was not
// confirmed within a heartbeat interval. A worker that was frozen (SIGSTOP,
// a long GC pause, a suspended VM) past the lock timeout thus finds its
// batch taken before it sends another chunk, not after.
func (r *batchRun) confirmLease(work context.Context) error {
	if time.Since(time.Unix(0, r.confirmed.Load())) < r.w.cfg.HeartbeatInterval {
		return nil
	}

	if err := r.w.store.heartbeat(work, r.b.ID, r.token); err != nil {
		return err
	}

	r.confirmed.Store(time.Now().UnixNano())

	return nil
}

// retry runs a database step until it succeeds, the lease is lost, work
// ends, or a lock timeout has passed, waiting 250ms, 500ms ... up to 5s
// between tries. It carries a batch through a database restart without
// giving the batch up. Every step it wraps is safe to repeat.
func (r *batchRun) retry(work context.Context, what string, step func() error) error {
	deadline := time.Now().Add(r.w.cfg.LockTimeout)
	delay := 250 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := step()
		if err == nil || errors.Is(err, ErrLeaseLost) || work.Err() != nil || time.Now().After(deadline) {
			return err
		}

		r.log.Warn().Err(err).Int("attempt", attempt).Dur("retry_in", delay).Msg("worker: " + what + " failed, retrying")

		select {
		case <-work.Done():
			return err
		case <-time.After(delay):
		}

		delay = min(delay*2, 5*time.Second)
	}
}

// checkCancel returns errCancelled once the client has asked to cancel
// the batch. It runs before each chunk is sent, so no chunk leaves after
// the request is seen.
func (r *batchRun) checkCancel(work context.Context) error {
	var cancelled bool
	err := r.retry(work, "checking for a cancellation", func() (err error) {
		cancelled, err = r.w.store.cancelRequested(work, r.b.ID)

		return err
	})
	if err != nil {
		return err
	}

	if cancelled {
		return errCancelled
	}

	return nil
}

// execute stages the file if needed, then delivers chunk by chunk and sets
// the final status. When stop ends, it returns between two chunks. When
// work ends, it aborts at once.
func (r *batchRun) execute(stop, work context.Context) error {
	if err := r.checkCancel(work); err != nil {
		return err
	}

	if r.b.StagedAt == nil {
		if err := r.stage(work); err != nil {
			return err
		}
	}

	// The records are all in the database now; the file is not needed again.
	r.w.removeFile(r.b, r.log)

	return r.deliverAll(stop, work)
}

// chunkLoad is the result of reading one chunk from the database.
type chunkLoad struct {
	items []pendingItem
	err   error
}

// deliverAll sends the chunks in order, from the first one with a pending
// record. While a chunk is in flight, the next one is read from the
// database, so the worker's read and OmniFlow's work overlap. The read is
// safe to run early because a commit only touches its own chunk's rows.
func (r *batchRun) deliverAll(stop, work context.Context) error {
	var first int
	var ok bool
	err := r.retry(work, "finding the next chunk", func() (err error) {
		first, ok, err = r.w.store.firstPending(work, r.b.ID)

		return err
	})
	if err != nil {
		return err
	}

	if !ok {
		return r.finish(work)
	}

	loaded := make(chan chunkLoad, 1)
	load := func(index int) {
		go func() {
			var items []pendingItem
			err := r.retry(work, "loading a chunk", func() (err error) {
				items, err = r.w.store.loadChunk(work, r.b.ID, index, r.chunkSize)

				return err
			})
			loaded <- chunkLoad{items: items, err: err}
		}()
	}

	index := first / r.chunkSize
	load(index)
	for {
		next := <-loaded
		if next.err != nil {
			return next.err
		}

		if stop.Err() != nil {
			return errStopRequested
		}

		more := (index+1)*r.chunkSize < r.b.TotalRecords
		if more {
			load(index + 1)
		}

		if len(next.items) > 0 {
			if err := r.deliver(work, next.items, index); err != nil {
				if more {
					<-loaded
				}

				return err
			}
		}

		if !more {
			break
		}

		index++
	}

	// Every chunk was visited; a record still pending would mean a chunk
	// was skipped, so look again rather than finish too early.
	err = r.retry(work, "checking for pending records", func() (err error) {
		_, ok, err = r.w.store.firstPending(work, r.b.ID)

		return err
	})
	if err != nil || ok {
		if err == nil {
			err = fmt.Errorf("records still pending after the last chunk")
		}

		return err
	}

	return r.finish(work)
}

// stage reads the whole file and stores every record as an item: Pending
// when it is to be sent, Error or Skipped when it breaks a limit, lacks a
// required field or repeats an earlier record's key. It resumes after the
// records an earlier claim already committed, so a record is never staged
// twice, and it reads those again to rebuild the duplicate check. Nothing
// is sent before the whole file has been read, so a syntax error anywhere
// fails the batch with nothing delivered.
func (r *batchRun) stage(work context.Context) error {
	f, err := os.Open(r.b.UploadPath)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%w: %s was deleted before its records were read; upload the file again", errMissingFile, r.b.FileName)
	}

	if err != nil {
		return fmt.Errorf("opening uploaded file: %w", err)
	}
	defer f.Close()

	if err := verifyChecksum(f, r.b.Checksum); err != nil {
		return err
	}

	start := time.Now()
	staged := r.b.StagedRecords
	pending := make([]Item, 0, stageBatchSize)
	seq, err := r.w.cfg.Reading.scan(f, r.b, r.w.store.utcNow(), func(item Item) error {
		if item.Sequence < staged {
			return nil
		}

		pending = append(pending, item)
		if len(pending) < stageBatchSize {
			return nil
		}

		if err := r.checkCancel(work); err != nil {
			return err
		}

		stagedAfter := item.Sequence + 1
		if err := r.retry(work, "staging records", func() error {
			return r.w.store.stageItems(work, r.b.ID, r.token, pending, stagedAfter)
		}); err != nil {
			return err
		}

		r.countRejected(pending)
		pending = pending[:0]

		return nil
	})
	if err != nil {
		return err
	}

	total := max(seq, staged)

	if len(pending) > 0 {
		if err := r.retry(work, "staging records", func() error {
			return r.w.store.stageItems(work, r.b.ID, r.token, pending, total)
		}); err != nil {
			return err
		}

		r.countRejected(pending)
	}

	if err := r.retry(work, "finishing staging", func() error {
		return r.w.store.finishStaging(work, r.b.ID, r.token, total)
	}); err != nil {
		return err
	}

	r.b.TotalRecords = total
	r.log.Info().Int("records", total).Str("file_type", r.b.FileType).Int64("duration_ms", time.Since(start).Milliseconds()).
		Msg("worker: staged batch")

	return nil
}

// verifyChecksum fails when the file's SHA-256 is not the one computed at
// upload: the file changed on disk, and reading it would import records
// the client never sent. It leaves f at its start.
func verifyChecksum(f *os.File, want string) error {
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("reading uploaded file: %w", err)
	}

	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("rewinding uploaded file: %w", err)
	}

	if got := hex.EncodeToString(h.Sum(nil)); want != "" && !strings.EqualFold(got, want) {
		return &FileError{Record: -1, Offset: -1, Reason: fmt.Sprintf(
			"the stored file changed after upload: its SHA-256 is %s, not %s as uploaded; upload the file again", got, want)}
	}

	return nil
}

// deliver sends one chunk and commits its outcome.
func (r *batchRun) deliver(work context.Context, items []pendingItem, index int) error {
	// work carries the chunk's span from here on.
	work, span := startChunkSpan(work, index+1, len(items))
	defer span.End()

	chunk := omniflow.Chunk{
		BatchID:  r.b.ID.String(),
		ClientID: r.b.ClientID.String(),
		ChunkID:  index + 1,
		Offset:   int64(items[0].Sequence),
		Items:    make([]json.RawMessage, len(items)),
	}
	if r.b.TraceID != nil {
		chunk.TraceID = *r.b.TraceID
		if traceIDPattern.MatchString(chunk.TraceID) {
			// Each chunk is a span of the batch's trace.
			chunk.TraceParent = chunkTraceParent(span, chunk.TraceID)
		}
	} else {
		chunk.TraceID = r.b.ID.String()
	}

	for i, it := range items {
		chunk.Items[i] = it.Payload
	}

	if err := r.confirmLease(work); err != nil {
		return err
	}

	if err := r.checkCancel(work); err != nil {
		return err
	}

	start := time.Now()
	res, err := r.w.sender.SendChunk(work, chunk)
	recordChunkResult(span, res, err)
	if err != nil {
		return err
	}

	outcomes := make([]itemOutcome, len(items))
	failed := 0
	for i, it := range items {
		o := itemOutcome{Sequence: it.Sequence, Status: ItemImported}
		if i < len(res.Items) {
			o.LeadID = res.Items[i].LeadID
			if !res.Items[i].Success {
				o.Status = ItemError
				o.Error = res.Items[i].Error
				failed++
			}
		}

		if r.redaction.redacts(o.Status) {
			o.Mask = r.redaction.mask(it.Payload)
		}

		outcomes[i] = o
	}

	if err := r.retry(work, "storing a chunk's outcomes", func() error {
		return r.w.store.commitChunk(work, r.b.ID, r.token, outcomes)
	}); err != nil {
		return err
	}

	r.confirmed.Store(time.Now().UnixNano())
	span.SetAttributes(attribute.Int("chunk.records_failed", failed))
	metrics.ChunkTotal.WithLabelValues(r.client).Inc()
	metrics.RecordsTotal.WithLabelValues(ItemImported, r.client).Add(float64(len(items) - failed))
	if failed > 0 {
		metrics.ChunkErrors.WithLabelValues(r.client).Inc()
		metrics.RecordsTotal.WithLabelValues(ItemError, r.client).Add(float64(failed))
	}

	r.log.Debug().Int("chunk_id", chunk.ChunkID).Int("records", len(items)).Int("failed", failed).
		Int("attempts", res.Attempts).Int64("duration_ms", time.Since(start).Milliseconds()).Msg("worker: chunk committed")

	if r.w.afterChunk != nil {
		r.w.afterChunk(r.b.ID, chunk.ChunkID)
	}

	return nil
}

// finish sets the final status once no record is pending.
func (r *batchRun) finish(work context.Context) error {
	var b Batch
	err := r.retry(work, "loading the batch", func() (err error) {
		b, err = r.w.store.batch(work, r.b.ID)

		return err
	})
	if err != nil {
		return err
	}

	status := StatusCompleted
	summary := ""
	if b.FailedRecords > 0 {
		status = StatusCompletedWithErrors
		seq, msg, err := r.w.store.firstError(work, b.ID)
		if err != nil {
			return err
		}

		summary = fmt.Sprintf("%d of %d records failed; first failure at sequence %d: %s", b.FailedRecords, b.TotalRecords, seq, msg)
	}

	if err := r.retry(work, "setting the final status", func() error {
		return r.w.store.finish(work, b.ID, r.token, status, summary)
	}); err != nil {
		return err
	}

	r.countFinished(status, b)
	setRunOutcome(work, status, "")
	r.log.Info().Str("status", status).Int("total", b.TotalRecords).Int("failed", b.FailedRecords).
		Int("skipped", b.SkippedRecords).Msg("worker: batch finished")

	return nil
}
