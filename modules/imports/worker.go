package imports

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"time"

	"github.com/rs/zerolog"

	"github.com/dataflow/dataflow/modules/locking"
	"github.com/dataflow/dataflow/modules/omniflow"
	"github.com/dataflow/dataflow/platform/database"
	"github.com/dataflow/dataflow/platform/metrics"
	"github.com/dataflow/dataflow/platform/storage"
)

// Sender delivers one chunk to OmniFlow.
type Sender interface {
	SendChunk(ctx context.Context, chunk omniflow.Chunk) (omniflow.Result, error)
}

// Slots hands out processing slots.
type Slots interface {
	Ensure(ctx context.Context, count int) error
	Acquire(ctx context.Context, count int, holder string) (locking.Lease, error)
	Assign(ctx context.Context, lease locking.Lease, batchID database.UUID) error
	Heartbeat(ctx context.Context, lease locking.Lease) error
	Release(ctx context.Context, lease locking.Lease) error
	ExpireStale(ctx context.Context, timeout time.Duration) ([]locking.ExpiredSlot, error)
}

// WorkerConfig tunes the worker; zero values take the defaults in brackets.
type WorkerConfig struct {
	// ID names this worker in BatchLocks and logs (host name and pid).
	ID string
	// ChunkSize is the number of records per OmniFlow request for batches
	// claimed for the first time [100].
	ChunkSize int
	// PollInterval is the pause when there is nothing to do [30s].
	PollInterval time.Duration
	// LockTimeout is the heartbeat age after which a slot is abandoned [30m].
	LockTimeout time.Duration
	// HeartbeatInterval is how often the holder renews its slot [LockTimeout/3].
	HeartbeatInterval time.Duration
	// Slots is the number of processing slots [1].
	Slots int
	// MaxAttempts is the number of claims a batch gets [5].
	MaxAttempts int
	// UnavailableDelay is the first pause after OmniFlow stayed unavailable;
	// it doubles with each pause of the batch, up to 30 minutes [1m].
	UnavailableDelay time.Duration
	// ShutdownTimeout bounds how long a stop waits for the chunk in flight [30s].
	ShutdownTimeout time.Duration
	// Reading decides how files are read and records checked.
	Reading ReadingConfig
	// MaxPerClient is the most batches of one client processed at once
	// across all workers [0: no limit beyond the slots].
	MaxPerClient int
	// Redaction is SensitiveData from the settings [nothing redacted].
	Redaction RedactionConfig
}

// Worker claims batches and processes them chunk by chunk.
type Worker struct {
	cfg     WorkerConfig
	store   *store
	slots   Slots
	sender  Sender
	storage *storage.Store
	log     zerolog.Logger
	now     func() time.Time
	// afterChunk, when set by tests, runs after each committed chunk.
	afterChunk func(batchID database.UUID, chunkID int)
}

// Name returns "import-worker".
func (w *Worker) Name() string { return "import-worker" }

// Run polls for work until ctx ends. When ctx ends during a batch, the chunk
// in flight finishes and commits (bounded by ShutdownTimeout), then the
// batch goes back to Pending and the slot is freed.
func (w *Worker) Run(ctx context.Context) error {
	w.log.Info().Str("worker_id", w.cfg.ID).Int("chunk_size", w.cfg.ChunkSize).Int("slots", w.cfg.Slots).
		Dur("poll_interval", w.cfg.PollInterval).Dur("lock_timeout", w.cfg.LockTimeout).
		Int("max_attempts", w.cfg.MaxAttempts).Msg("worker started")

	if err := w.slots.Ensure(ctx, w.cfg.Slots); err != nil {
		return err
	}

	failures := 0
	for {
		worked, err := w.RunOnce(ctx)
		if ctx.Err() != nil {
			w.log.Info().Str("worker_id", w.cfg.ID).Msg("worker stopped")

			return nil
		}

		wait := w.cfg.PollInterval
		switch {
		case err != nil:
			// While the database is away every pass fails: wait longer each
			// time, up to a minute, instead of logging an error per poll.
			failures++
			wait = max(wait, min(time.Second<<min(failures, 6), time.Minute))
			w.log.Error().Err(err).Str("worker_id", w.cfg.ID).Int("failures", failures).Dur("retry_in", wait).
				Msg("worker: processing pass failed")
		case worked:
			failures = 0

			continue
		default:
			failures = 0
			w.log.Debug().Msg("worker: nothing to do")
		}

		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
}

// RunOnce claims and processes at most one batch. It reports whether it
// found one.
func (w *Worker) RunOnce(ctx context.Context) (bool, error) {
	candidates, err := w.store.candidates(ctx, candidateLimit, candidatesPerClient)
	if err != nil || len(candidates) == 0 {
		return false, err
	}

	candidates, err = w.fairCandidates(ctx, candidates)
	if err != nil || len(candidates) == 0 {
		return false, err
	}

	lease, err := w.slots.Acquire(ctx, w.cfg.Slots, w.cfg.ID)
	if errors.Is(err, locking.ErrNoFreeSlot) {
		return false, nil
	}

	if err != nil {
		return false, err
	}

	for _, b := range candidates {
		token, ok, err := w.store.claim(ctx, b, w.cfg.ID, w.cfg.ChunkSize)
		if err != nil {
			w.releaseSlot(lease, w.log)

			return false, err
		}

		if !ok {
			continue
		}

		claimedLog := w.log.With().Str("batch_id", b.ID.String()).Str("client_id", b.ClientID.String()).Logger()
		b, err = w.store.batch(ctx, b.ID)
		if err != nil {
			w.releaseSlot(lease, claimedLog)

			return true, err
		}

		if err := w.slots.Assign(ctx, lease, b.ID); err != nil {
			w.releaseSlot(lease, claimedLog)

			return true, err
		}

		w.process(ctx, b, token, lease)

		return true, nil
	}

	w.releaseSlot(lease, w.log)

	return false, nil
}

// A worker chooses fairly among the candidateLimit oldest ready batches,
// taking at most candidatesPerClient of each client.
const (
	candidateLimit      = 200
	candidatesPerClient = 3
)

// fairCandidates orders the ready batches with fairOrder.
func (w *Worker) fairCandidates(ctx context.Context, candidates []Batch) ([]Batch, error) {
	var ids []database.UUID
	seen := map[database.UUID]bool{}
	for _, b := range candidates {
		if !seen[b.ClientID] {
			seen[b.ClientID] = true
			ids = append(ids, b.ClientID)
		}
	}

	loads, err := w.store.clientLoads(ctx, ids)
	if err != nil {
		return nil, err
	}

	// NOTE: two workers that choose at the same moment can both start a
	// batch of one client, so the per-client limit can be passed by one
	// batch per extra worker for a while.
	return fairOrder(candidates, loads, w.cfg.MaxPerClient), nil
}

// releaseSlot frees the slot. log carries the ids of the batch the slot
// held, if any.
func (w *Worker) releaseSlot(lease locking.Lease, log zerolog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	if err := w.slots.Release(ctx, lease); err != nil {
		log.Warn().Err(err).Int("slot", lease.Slot).Msg("worker: releasing slot failed")
	}
}

// process runs one claimed batch to its end, or until it is paused, stopped
// or taken away.
func (w *Worker) process(ctx context.Context, b Batch, token int64, lease locking.Lease) {
	log := w.log.With().Str("batch_id", b.ID.String()).Str("client_id", b.ClientID.String()).
		Str("worker_id", w.cfg.ID).Int("slot", lease.Slot).Int("attempt", b.AttemptCount).Logger()
	log.Info().Msg("worker: claimed batch")

	ctx, span := startBatchSpan(ctx, b)
	defer span.End()

	// work is cancelled when the lease is lost, or ShutdownTimeout after a
	// stop was requested. ctx ending by itself only stops the run between
	// two chunks.
	work, cancelWork := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancelWork(nil)

	run := &batchRun{w: w, b: b, token: token, log: log, client: w.store.clientIdentifier(ctx, b.ClientID),
		redaction: w.redactionFor(ctx, b.ClientID)}
	run.confirmed.Store(time.Now().UnixNano())
	metrics.BatchesProcessing.Inc()
	defer metrics.BatchesProcessing.Dec()

	stopWatch := make(chan struct{})
	defer close(stopWatch)
	go w.watchShutdown(ctx, stopWatch, cancelWork)
	go w.keepAlive(work, run, lease, cancelWork)

	defer w.releaseSlot(lease, log)

	if b.AttemptCount > w.cfg.MaxAttempts {
		if err := w.store.failExhausted(work, b, token, w.cfg.MaxAttempts); err != nil {
			log.Error().Err(err).Msg("worker: failing exhausted batch failed")

			return
		}

		run.countFinished(StatusFailed, b)
		setRunOutcome(work, StatusFailed, stopAttemptsExhausted)
		log.Warn().Int("max_attempts", w.cfg.MaxAttempts).Msg("worker: batch ran out of attempts")
		w.removeFile(b, log)

		return
	}

	run.chunkSize = *b.ChunkSize
	err := run.execute(ctx, work)
	w.afterRun(ctx, work, run, err, log)
}

// afterRun turns how a run ended into the batch's next state. Its writes use
// their own short deadline, because work may already be cancelled (a stop
// that outlived ShutdownTimeout); the lease token still guards them.
func (w *Worker) afterRun(stop, work context.Context, run *batchRun, err error, log zerolog.Logger) {
	if err == nil {
		return
	}

	ctx, cancel := context.WithTimeout(context.WithoutCancel(work), 15*time.Second)
	defer cancel()

	var fileErr *FileError
	switch {
	case errors.Is(err, ErrLeaseLost), errors.Is(context.Cause(work), ErrLeaseLost):
		setRunOutcome(work, "", stopLeaseLost)
		log.Warn().Msg("worker: lease lost, another worker owns the batch now; stopping")
	case errors.As(err, &fileErr), errors.Is(err, errMissingFile):
		if ferr := w.store.failStaging(ctx, run.b.ID, run.token, err.Error()); ferr != nil {
			log.Error().Err(ferr).Msg("worker: failing batch failed")

			return
		}

		run.countFinished(StatusFailed, run.b)
		setRunOutcome(work, StatusFailed, stopFileUnreadable)

		// The reason may quote the file's content (a header name, which in a
		// file without a header row is a lead's value). So the log keeps
		// only where the problem is, and errorSummary has the whole message.
		event := log.Info()
		if fileErr != nil {
			event = event.Int("record", fileErr.Record+1).Int("line", fileErr.Line).Int64("offset", fileErr.Offset)
		} else {
			event = event.Str("reason", "the uploaded file is missing")
		}

		event.Msg("worker: batch failed, the file cannot be read")
		w.removeFile(run.b, log)
	case errors.Is(err, errCancelled):
		b, lerr := w.store.batch(ctx, run.b.ID)
		summary := "cancelled by the client"
		if lerr == nil {
			summary = fmt.Sprintf("cancelled by the client after %d of %d records were processed", b.ProcessedRecords, b.TotalRecords)
		}

		if ferr := w.store.finishCancelled(ctx, run.b.ID, run.token, summary); ferr != nil {
			log.Error().Err(ferr).Msg("worker: cancelling batch failed")

			return
		}

		run.countFinished(StatusCancelled, b)
		setRunOutcome(work, StatusCancelled, stopCancelled)
		log.Info().Msg("worker: batch cancelled by the client")
		w.removeFile(run.b, log)
	case errors.Is(err, omniflow.ErrUnavailable):
		delay := min(w.cfg.UnavailableDelay<<min(run.b.PauseCount, 10), 30*time.Minute)
		delay += time.Duration(rand.Int64N(int64(delay)/10 + 1))
		until := w.now().UTC().Add(delay)
		if rerr := w.store.release(ctx, run.b.ID, run.token, releasePause, &until); rerr != nil {
			log.Error().Err(rerr).Msg("worker: pausing batch failed")

			return
		}

		setRunOutcome(work, StatusPending, stopOmniFlowDown)
		log.Warn().Err(err).Dur("pause", delay).Msg("worker: omniflow unavailable, batch paused")
	case stop.Err() != nil, errors.Is(err, errStopRequested):
		// A stop, clean or cut short by ShutdownTimeout: only a chunk whose
		// outcome was not committed is sent again, with the same key.
		if rerr := w.store.release(ctx, run.b.ID, run.token, releaseStop, nil); rerr != nil {
			log.Error().Err(rerr).Msg("worker: releasing batch on stop failed")

			return
		}

		setRunOutcome(work, StatusPending, stopRequested)
		log.Info().Msg("worker: stop requested, batch released for another worker")
	default:
		// A database or file system error. The attempt counts, and the next
		// claim waits 2s, 4s, 8s ... (at most 10 minutes), so a lasting error
		// does not use up every attempt at once. If the database is not
		// reachable now, the watchdog puts the batch back once its heartbeat
		// is older than the lock timeout.
		delay := min(time.Second<<min(run.b.AttemptCount, 10), 10*time.Minute)
		until := w.now().UTC().Add(delay)
		setRunOutcome(work, StatusPending, stopError)
		log.Error().Err(err).Dur("retry_in", delay).Msg("worker: processing failed; the batch will be resumed")
		if rerr := w.store.release(ctx, run.b.ID, run.token, releaseFailure, &until); rerr != nil {
			log.Warn().Err(rerr).Msg("worker: releasing batch after a failure failed; the watchdog will recover it")
		}
	}
}

// watchShutdown cancels work ShutdownTimeout after stop ends.
func (w *Worker) watchShutdown(stop context.Context, done <-chan struct{}, cancel context.CancelCauseFunc) {
	select {
	case <-done:
		return
	case <-stop.Done():
	}

	select {
	case <-done:
	case <-time.After(w.cfg.ShutdownTimeout):
		cancel(errors.New("shutdown timeout passed"))
	}
}

// keepAlive renews the slot and the batch heartbeat. It cancels work when
// either lease is gone, or when no renewal succeeded for a whole lock
// timeout (the watchdog may have freed the slot by then).
func (w *Worker) keepAlive(work context.Context, run *batchRun, lease locking.Lease, cancel context.CancelCauseFunc) {
	batchID, token, log := run.b.ID, run.token, run.log

	ticker := time.NewTicker(w.cfg.HeartbeatInterval)
	defer ticker.Stop()

	lastRenewed := time.Now()
	for {
		select {
		case <-work.Done():
			return
		case <-ticker.C:
		}

		err := w.slots.Heartbeat(work, lease)
		if err == nil {
			err = w.store.heartbeat(work, batchID, token)
		}

		switch {
		case err == nil:
			lastRenewed = time.Now()
			run.confirmed.Store(lastRenewed.UnixNano())
		case errors.Is(err, locking.ErrLeaseLost), errors.Is(err, ErrLeaseLost):
			cancel(ErrLeaseLost)

			return
		case time.Since(lastRenewed) > w.cfg.LockTimeout:
			log.Error().Err(err).Msg("worker: heartbeat failed for a whole lock timeout; giving up the batch")
			cancel(ErrLeaseLost)

			return
		default:
			log.Warn().Err(err).Msg("worker: heartbeat failed, retrying")
		}
	}
}

// removeFile deletes the batch's upload file when it is inside the batch's
// own folder. A path elsewhere, from a row written by hand or by an older
// layout, may belong to someone else, so it is logged and left in place.
func (w *Worker) removeFile(b Batch, log zerolog.Logger) {
	if b.UploadPath == "" {
		return
	}

	dir := w.storage.BatchDir(b.ID.String())
	if inside, err := pathInside(dir, b.UploadPath); !inside {
		if !fileMissing(b.UploadPath) {
			log.Warn().Err(err).Str("upload_path", b.UploadPath).Str("batch_folder", dir).
				Msg("worker: the uploaded file is outside its batch folder, so it is kept; delete it by hand once it is not needed")
		}

		return
	}

	if err := w.storage.RemoveFile(b.UploadPath); err != nil {
		log.Warn().Err(err).Msg("worker: removing uploaded file failed")
	}
}

// Watchdog frees abandoned slots and puts their batches back.
type Watchdog struct {
	slots    Slots
	store    *store
	timeout  time.Duration
	interval time.Duration
	log      zerolog.Logger
}

// Name returns "watchdog".
func (*Watchdog) Name() string { return "watchdog" }

// Run checks every interval until ctx ends.
func (wd *Watchdog) Run(ctx context.Context) error {
	ticker := time.NewTicker(wd.interval)
	defer ticker.Stop()

	for {
		if _, err := wd.RunOnce(ctx); err != nil && ctx.Err() == nil {
			wd.log.Error().Err(err).Msg("watchdog: pass failed")
		}

		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

// RunOnce frees expired slots and recovers stale batches; it returns how
// many batches went back to Pending.
func (wd *Watchdog) RunOnce(ctx context.Context) (int64, error) {
	expired, err := wd.slots.ExpireStale(ctx, wd.timeout)
	for _, e := range expired {
		event := wd.log.Warn().Int("slot", e.Slot).Str("worker_id", e.Holder)
		if e.BatchID != nil {
			event = event.Str("batch_id", e.BatchID.String())
			// The slot does not store the client. A slot rarely expires, so
			// reading the batch for it costs little.
			if b, berr := wd.store.batch(ctx, *e.BatchID); berr == nil {
				event = event.Str("client_id", b.ClientID.String())
			}
		}

		event.Msg("watchdog: freed a slot whose heartbeat expired")
	}

	if err != nil {
		return 0, err
	}

	cutoff := wd.store.utcNow().Add(-wd.timeout)
	n, err := wd.store.recoverStale(ctx, cutoff)
	if n > 0 {
		wd.log.Warn().Int64("batches", n).Msg("watchdog: put stale batches back to be resumed")
	}

	return n, err
}

// DefaultWorkerID names a worker after its host and process.
func DefaultWorkerID() string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}

	return fmt.Sprintf("%s:%d", host, os.Getpid())
}
