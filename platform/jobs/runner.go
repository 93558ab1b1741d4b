// Package jobs runs a process's long-lived background loops.
package jobs

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Job is a background loop. Run blocks until ctx ends; an error or a panic
// restarts it after a pause.
type Job interface {
	Name() string
	Run(ctx context.Context) error
}

// Func adapts a function to Job.
type Func struct {
	JobName string
	Fn      func(ctx context.Context) error
}

// Name returns the job's name.
func (f Func) Name() string { return f.JobName }

// Run calls the function.
func (f Func) Run(ctx context.Context) error { return f.Fn(ctx) }

// Runner runs jobs until their context ends.
type Runner struct {
	Log zerolog.Logger
	// RestartDelay is the first pause before a failed job restarts; it
	// doubles up to a minute (default 1s).
	RestartDelay time.Duration
}

// Run starts every job and blocks until ctx ends and all jobs returned.
func (r *Runner) Run(ctx context.Context, jobs ...Job) {
	var wg sync.WaitGroup
	for _, job := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.supervise(ctx, job)
		}()
	}

	wg.Wait()
}

func (r *Runner) supervise(ctx context.Context, job Job) {
	delay := r.RestartDelay
	if delay <= 0 {
		delay = time.Second
	}

	for {
		err := runSafely(ctx, job)
		if ctx.Err() != nil {
			return
		}

		r.Log.Error().Err(err).Str("job", job.Name()).Dur("restart_in", delay).Msg("jobs: job stopped, restarting")

		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}

		delay = min(delay*2, time.Minute)
	}
}

func runSafely(ctx context.Context, job Job) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
		}
	}()

	if err := job.Run(ctx); err != nil {
		return err
	}

	return fmt.Errorf("job returned before its context ended")
}
