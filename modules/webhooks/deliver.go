package webhooks

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/dataflow/dataflow/platform/database"
	"github.com/dataflow/dataflow/platform/metrics"
)

// DelivererConfig tunes the delivery job.
type DelivererConfig struct {
	// Schedule lists the pauses before each retry. A delivery fails for
	// good once the list is used up.
	Schedule []time.Duration
	// Timeout bounds one request.
	Timeout time.Duration
	// DisableAfter disables a subscription that has failed this long
	// without a success.
	DisableAfter time.Duration
	// PollInterval is the pause between looks for due deliveries.
	PollInterval time.Duration
	// AllowInsecure allows http and private, loopback and link-local
	// targets.
	AllowInsecure bool
	// Parallel bounds the requests in flight (default 8).
	Parallel int
	// PruneAfter is the age after which finished events are deleted. 0
	// keeps them.
	PruneAfter time.Duration
	// UserAgent is sent with every request.
	UserAgent string
}

// maxRetryAfter caps how far a Retry-After header can push an attempt.
const maxRetryAfter = 24 * time.Hour

// perSubscription bounds the requests in flight to one subscription, so
// one slow endpoint cannot take every slot of its client.
const perSubscription = 2

// dueBatch is how many due deliveries one look reads.
const dueBatch = 200

// Deliverer is the job that sends due deliveries. Several workers can run
// it, because each delivery is claimed before it is sent. A worker that
// dies while sending leaves a claim that expires, and the delivery is sent
// again with the same webhook-id, so receivers can drop the repeat.
type Deliverer struct {
	store  *Store
	cfg    DelivererConfig
	client *http.Client
	log    zerolog.Logger
	id     string
	// jitter returns a random factor near 1 for a delay. Tests fix it at 1.
	jitter func() float64

	mu       sync.Mutex
	running  int
	inFlight map[database.UUID]int // requests in flight per subscription
	byClient map[database.UUID]int // requests in flight per client
	wg       sync.WaitGroup
	// done receives a signal whenever a send ends, so the next due
	// delivery starts without waiting for the poll interval.
	done chan struct{}
}

// NewDeliverer returns the delivery job.
func NewDeliverer(store *Store, cfg DelivererConfig, log zerolog.Logger) *Deliverer {
	if cfg.Parallel <= 0 {
		cfg.Parallel = 8
	}

	return &Deliverer{
		store: store, cfg: cfg, client: newHTTPClient(cfg.Timeout, cfg.AllowInsecure), log: log,
		id:       "webhooks-" + randomHex(8),
		jitter:   func() float64 { return 0.8 + 0.4*mrand.Float64() },
		inFlight: map[database.UUID]int{},
		byClient: map[database.UUID]int{},
		done:     make(chan struct{}, 1),
	}
}

// Name returns "webhook-deliverer".
func (*Deliverer) Name() string { return "webhook-deliverer" }

// Run sends due deliveries until ctx ends, then waits for the requests in
// flight.
func (d *Deliverer) Run(ctx context.Context) error {
	defer d.wg.Wait()

	lastPrune := time.Time{}
	for {
		if _, err := d.dispatch(ctx); err != nil && ctx.Err() == nil {
			d.log.Warn().Err(err).Msg("webhooks: looking for due deliveries failed; retrying at the next poll")
		}

		if d.cfg.PruneAfter > 0 && time.Since(lastPrune) > time.Hour {
			lastPrune = time.Now()
			if n, err := d.store.prune(ctx, d.store.now().Add(-d.cfg.PruneAfter), 1000); err != nil {
				d.log.Warn().Err(err).Msg("webhooks: pruning old events failed")
			} else if n > 0 {
				d.log.Info().Int("events", n).Msg("webhooks: pruned old events and their deliveries")
			}
		}

		select {
		case <-ctx.Done():
			return nil
		case <-time.After(d.cfg.PollInterval):
		case <-d.done:
		}
	}
}

// RunOnce sends every delivery that is due now, waits for the sends to
// end and returns how many it started.
func (d *Deliverer) RunOnce(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := d.dispatch(ctx)
		total += n
		if err != nil {
			d.wg.Wait()

			return total, err
		}

		if n == 0 && d.idle() {
			return total, nil
		}

		select {
		case <-d.done:
		case <-ctx.Done():
			d.wg.Wait()

			return total, nil
		}
	}
}

// dispatch claims due deliveries while slots are free and sends each in
// its own goroutine. It returns how many it started.
func (d *Deliverer) dispatch(ctx context.Context) (int, error) {
	rows, err := d.store.due(ctx, dueBatch, perSubscription)
	if err != nil {
		return 0, err
	}

	started := 0
	for _, r := range rows {
		if !d.reserve(r) {
			if d.full() {
				break
			}

			continue
		}

		ok, err := d.store.claim(ctx, r.ID, d.id, d.store.now().Add(d.claimFor()))
		if err != nil || !ok {
			d.release(r)
			if err != nil {
				return started, err
			}

			continue
		}

		started++
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			defer d.release(r)
			d.deliver(ctx, r.ID)
		}()
	}

	return started, nil
}

// perClient bounds the requests in flight for one client to half the
// slots, so the other clients always find some free.
func (d *Deliverer) perClient() int { return max(1, d.cfg.Parallel/2) }

// reserve takes a slot for a send, if the limits allow one.
func (d *Deliverer) reserve(r dueRow) bool {
	d.mu.Lock()
	defer d.mu.Unlock()

	if d.running >= d.cfg.Parallel || d.inFlight[r.SubscriptionID] >= perSubscription || d.byClient[r.ClientID] >= d.perClient() {
		return false
	}

	d.running++
	d.inFlight[r.SubscriptionID]++
	d.byClient[r.ClientID]++

	return true
}

// release gives a slot back and wakes the loop.
func (d *Deliverer) release(r dueRow) {
	d.mu.Lock()
	d.running--
	decrement(d.inFlight, r.SubscriptionID)
	decrement(d.byClient, r.ClientID)
	d.mu.Unlock()

	select {
	case d.done <- struct{}{}:
	default:
	}
}

func decrement(m map[database.UUID]int, key database.UUID) {
	m[key]--
	if m[key] <= 0 {
		delete(m, key)
	}
}

func (d *Deliverer) full() bool {
	d.mu.Lock()
	defer d.mu.Unlock()

	return d.running >= d.cfg.Parallel
}

func (d *Deliverer) idle() bool {
	d.mu.Lock()
	defer d.mu.Unlock()

	return d.running == 0
}

// claimFor is how long a claim lasts: twice the request timeout plus a
// margin for the writes around it. A live worker normally keeps its claim,
// and a dead one's claim expires soon.
func (d *Deliverer) claimFor() time.Duration { return 2*d.cfg.Timeout + 5*time.Second }

// deliver sends one claimed delivery and records the result.
func (d *Deliverer) deliver(ctx context.Context, uid database.UUID) {
	j, err := d.store.load(ctx, uid)
	log := d.log.With().Str("delivery_id", uid.String()).Logger()
	if err != nil {
		log.Warn().Err(err).Msg("webhooks: cannot load a claimed delivery; it is retried when its claim expires")
		return
	}

	log = log.With().Str("subscription_id", j.SubscriptionID.String()).Str("batch_id", j.Event.BatchID.String()).
		Str("client_id", j.Event.ClientID.String()).Str("client_identifier", j.ClientIdentifier).
		Str("event", j.Event.Type).Int("attempt", j.Attempts+1).Logger()

	if j.Subscription.ID != j.SubscriptionID || !j.Subscription.IsActive {
		_, _, err := d.store.record(ctx, j, d.id, outcomeDropped, attempt{Err: "the subscription was disabled or deleted"}, time.Time{}, d.cfg.DisableAfter)
		if err != nil {
			log.Warn().Err(err).Msg("webhooks: cannot drop a delivery of a disabled subscription")
		}
		return
	}

	a, retryAfter := d.send(ctx, j)
	if ctx.Err() != nil && a.StatusCode == 0 {
		// Stopping: leave the claim to expire so the attempt does not count.
		return
	}

	kind, next := d.classify(j, a, retryAfter)
	disabled, reason, err := d.store.record(context.WithoutCancel(ctx), j, d.id, kind, a, next, d.cfg.DisableAfter)
	if err != nil {
		log.Error().Err(err).Msg("webhooks: cannot record a delivery attempt; it is sent again when its claim expires")
		return
	}

	d.observe(j, kind, a, log, next)
	if disabled {
		log.Warn().Str("host", hostOf(j.Subscription.URL)).Str("reason", reason).Msg("webhooks: subscription disabled; its waiting deliveries are cancelled")
	}
}

// classify decides what an attempt means and when the next one is due.
func (d *Deliverer) classify(j job, a attempt, retryAfter time.Duration) (outcomeKind, time.Time) {
	switch {
	case a.StatusCode >= 200 && a.StatusCode < 300:
		return outcomeDelivered, time.Time{}
	case a.StatusCode == http.StatusGone:
		return outcomeGone, time.Time{}
	}

	done := j.Attempts + 1
	if done > len(d.cfg.Schedule) {
		return outcomeExhausted, time.Time{}
	}

	delay := time.Duration(float64(d.cfg.Schedule[done-1]) * d.jitter())
	if retryAfter > delay {
		delay = min(retryAfter, maxRetryAfter)
	}

	return outcomeRetry, a.At.Add(delay)
}

func (d *Deliverer) observe(j job, kind outcomeKind, a attempt, log zerolog.Logger, next time.Time) {
	result := map[outcomeKind]string{outcomeDelivered: "delivered", outcomeRetry: "retry", outcomeExhausted: "failed", outcomeGone: "gone"}[kind]
	if kind == outcomeRetry && a.Failure == "refused" {
		result = "refused"
	}
	metrics.WebhookDeliveries.WithLabelValues(j.Event.Type, result, j.ClientIdentifier).Inc()
	metrics.WebhookDuration.Observe(a.Duration.Seconds())

	if kind == outcomeDelivered {
		log.Info().Int("status", a.StatusCode).Int64("duration_ms", a.Duration.Milliseconds()).Msg("webhooks: delivered")
		return
	}

	reason := a.Failure
	if a.StatusCode != 0 {
		reason = strconv.Itoa(a.StatusCode)
	}
	metrics.WebhookFailures.WithLabelValues(reason, j.ClientIdentifier).Inc()

	ev := log.Warn().Str("reason", reason).Str("error", a.Err).Int64("duration_ms", a.Duration.Milliseconds())
	if kind == outcomeRetry {
		ev.Time("next_attempt_at", next).Msg("webhooks: delivery failed; retrying later")
		return
	}
	ev.Msg("webhooks: delivery failed for good")
}

// send makes one attempt. It returns the attempt and the Retry-After of
// the response, if any.
func (d *Deliverer) send(ctx context.Context, j job) (attempt, time.Duration) {
	start := time.Now()
	a := attempt{At: d.store.utcNow()}
	finish := func(msg string, code int) attempt {
		a.Err, a.StatusCode, a.Duration = msg, code, time.Since(start)
		return a
	}
	failed := func(msg string, err error) attempt {
		a.Failure = failureOf(err)
		return finish(msg, 0)
	}

	u, err := url.Parse(j.Subscription.URL)
	if err != nil {
		return failed("the subscription URL cannot be parsed", err), 0
	}
	if err := checkScheme(u, d.cfg.AllowInsecure); err != nil {
		return failed(err.Error(), err), 0
	}

	req, err := d.request(ctx, j, u)
	if err != nil {
		return failed(err.Error(), err), 0
	}

	resp, err := d.client.Do(req)
	if err != nil {
		return failed(describe(err, d.cfg.Timeout), err), 0
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))

	retryAfter := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	msg := ""
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		msg = fmt.Sprintf("the endpoint responded with %d; redirects are not followed, so subscribe the final URL", resp.StatusCode)
	case resp.StatusCode >= 400:
		msg = fmt.Sprintf("the endpoint responded with %d", resp.StatusCode)
	}

	return finish(msg, resp.StatusCode), retryAfter
}

// request builds the signed request of a delivery.
func (d *Deliverer) request(ctx context.Context, j job, u *url.URL) (*http.Request, error) {
	signer, err := NewSigner(j.Subscription.Secret)
	if err != nil {
		return nil, fmt.Errorf("the subscription secret cannot sign: %w", err)
	}

	body := []byte(j.Event.PayloadJSON)
	msgID := j.Event.ID.String()
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	sig, err := signer.Sign(msgID, ts, body)
	if err != nil {
		return nil, err
	}
	legacy, err := signer.SignLegacy(ts, body)
	if err != nil {
		return nil, err
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("building the request: %w", err)
	}

	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", d.cfg.UserAgent)
	h.Set("webhook-id", msgID)
	h.Set("webhook-timestamp", ts)
	h.Set("webhook-signature", sig)
	h.Set("X-DataFlow-Signature", legacy)
	h.Set("X-DataFlow-Timestamp", ts)
	h.Set("X-DataFlow-Event", j.Event.Type)
	h.Set("X-DataFlow-Delivery", j.ID.String())
	if j.Event.TraceID != nil && traceIDPattern.MatchString(*j.Event.TraceID) {
		h.Set("traceparent", "00-"+*j.Event.TraceID+"-"+randomHex(8)+"-01")
		h.Set("x-trace-id", *j.Event.TraceID)
	}

	return req, nil
}

var traceIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// parseRetryAfter reads seconds or an HTTP date. It returns 0 when the
// header is missing or invalid.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}

	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}

		return min(time.Duration(n)*time.Second, maxRetryAfter)
	}

	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), maxRetryAfter)
	}

	return 0
}

// describe turns a transport error into a message without the URL, whose
// query string may hold a token.
func describe(err error, timeout time.Duration) string {
	switch {
	case errors.Is(err, errTargetRefused):
		// The innermost error that names the address, without the dial
		// details around it.
		for e := err; e != nil; e = errors.Unwrap(e) {
			if strings.HasPrefix(e.Error(), errTargetRefused.Error()) {
				return e.Error()
			}
		}

		return errTargetRefused.Error()
	case isTimeout(err):
		return fmt.Sprintf("timed out: no response within %s (Webhooks:TimeoutSeconds)", timeout)
	}

	var ue *url.Error
	if errors.As(err, &ue) {
		return "request failed: " + ue.Err.Error()
	}

	return "request failed: " + err.Error()
}

// failureOf returns the metric reason of an attempt that got no response.
func failureOf(err error) string {
	switch {
	case errors.Is(err, errTargetRefused):
		return "refused"
	case isTimeout(err):
		return "timeout"
	default:
		return "error"
	}
}

func isTimeout(err error) bool {
	var ne net.Error

	return (errors.As(err, &ne) && ne.Timeout()) || errors.Is(err, context.DeadlineExceeded)
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}

	return u.Host
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)

	return hex.EncodeToString(b)
}
