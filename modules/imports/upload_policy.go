package imports

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/dataflow/dataflow/modules/clients"
	"github.com/dataflow/dataflow/modules/imports/policy"
	"github.com/dataflow/dataflow/platform/database"
	"github.com/dataflow/dataflow/platform/httpserver"
	"github.com/dataflow/dataflow/platform/metrics"
)

// clientLimits returns the client's effective policy: its own
// ClientPolicies row, then the global row, then the settings.
func (h *handlers) clientLimits(ctx context.Context, clientID database.UUID) (policy.Limits, error) {
	own, global, err := h.store.policies(ctx, clientID)
	if err != nil {
		return policy.Limits{}, httpserver.ErrUnavailable.WithCause(err)
	}

	limits := policy.Merge(own, global, policy.Defaults{MaxFileSizeMb: h.maxFileSizeMb, RateLimitPerMinute: h.rateLimitPerMinute})
	if err := limits.Validate(); err != nil {
		// A policy row an operator wrote by hand can be inconsistent. The
		// client cannot fix it, so it is a server error with the reason in
		// the log.
		h.log.Error().Err(err).Str("client_id", clientID.String()).Msg("api: client policy is invalid")

		return policy.Limits{}, errInvalidPolicy
	}

	return limits, nil
}

// decideAndCreate applies the policy to the batch and records it, under
// the client's lock so that the daily quota counts every batch.
func (h *handlers) decideAndCreate(c echo.Context, limits policy.Limits, b *Batch) error {
	var apiErr error
	err := h.store.withClientLock(c.Request().Context(), b.ClientID, func(tx *store) error {
		if apiErr = h.applyPolicy(c, tx, limits, b); apiErr != nil {
			return nil
		}

		return tx.createBatch(c.Request().Context(), b)
	})
	if err != nil {
		return httpserver.ErrUnavailable.WithCause(err)
	}

	return apiErr
}

// applyPolicy decides whether the batch runs now or is scheduled, and
// rejects it when it is too large or over the daily quota.
func (h *handlers) applyPolicy(c echo.Context, st *store, limits policy.Limits, b *Batch) error {
	ctx := c.Request().Context()
	decision, err := policy.Evaluate(limits, policy.Input{
		Now:             b.CreatedAt,
		Location:        h.scheduling.Location(),
		FileSizeBytes:   b.FileSizeBytes,
		RejectOverQuota: h.scheduling.RejectOverQuota,
		CountOnDay: func(start, end time.Time) (int, error) {
			return st.countOnDay(ctx, b.ClientID, start, end)
		},
	})
	if err != nil {
		return httpserver.ErrUnavailable.WithCause(err)
	}

	reason := decision.Reason
	b.PolicyReason = nullable(truncate(reason, 200))
	switch decision.Outcome {
	case policy.OutcomeScheduled:
		at := decision.ScheduledFor.UTC()
		b.Status = StatusScheduled
		b.PolicyDecision = DecisionScheduled
		b.ScheduledFor = &at
	case policy.OutcomeRejectTooLarge:
		return errTooLarge.With("maxFileSizeMb", limits.MaxFileSizeMb)
	case policy.OutcomeRejectOverQuota:
		seconds := int(math.Ceil(decision.RetryAfter.Seconds()))
		if id, ok := clients.IdentityFrom(c); ok {
			metrics.RateLimited.WithLabelValues(id.ClientIdentifier, "quota_exceeded").Inc()
		}

		c.Response().Header().Set("Retry-After", strconv.Itoa(max(seconds, 1)))

		return errOverQuota.With("maxBatchPerDay", limits.MaxBatchPerDay).With("retryAfterSeconds", max(seconds, 1))
	}

	return nil
}

// rateLimit counts the upload against the client's uploads per minute,
// in the database so the limit holds across serve replicas, and sets the
// X-RateLimit headers of every upload response.
func (h *handlers) rateLimit(c echo.Context, clientID database.UUID, limit int) error {
	count, end, err := h.counter.Hit(c.Request().Context(), "upload:"+clientID.String(), time.Minute)
	if err != nil {
		return httpserver.ErrUnavailable.WithCause(err)
	}

	header := c.Response().Header()
	header.Set("X-RateLimit-Limit", strconv.Itoa(limit))
	header.Set("X-RateLimit-Remaining", strconv.Itoa(max(limit-count, 0)))
	header.Set("X-RateLimit-Reset", strconv.FormatInt(end.Unix(), 10))
	if count <= limit {
		return nil
	}

	wait := max(int(math.Ceil(end.Sub(h.now()).Seconds())), 1)
	header.Set("Retry-After", strconv.Itoa(wait))
	h.log.Info().Str("client_id", clientID.String()).Int("limit", limit).Msg("api: upload rate limit reached")
	if id, ok := clients.IdentityFrom(c); ok {
		metrics.RateLimited.WithLabelValues(id.ClientIdentifier, "rate_limited").Inc()
	}

	return errRateLimited.With("rateLimitPerMinute", limit).With("retryAfterSeconds", wait)
}

// errInvalidPolicy and errOverQuota are the policy rejections.
var (
	errInvalidPolicy = httpserver.NewError(http.StatusInternalServerError, "invalid_policy",
		"The upload policy of this client is not valid, so uploads are refused. Ask the DataFlow operators to check it with dataflow client policy show.",
		"A política de upload deste cliente não é válida, então os uploads são recusados. Peça aos operadores do DataFlow para conferi-la com dataflow client policy show.")
	errRateLimited = httpserver.NewError(http.StatusTooManyRequests, "rate_limited",
		"Too many uploads in this minute; see \"rateLimitPerMinute\". Upload again after \"retryAfterSeconds\" seconds, as the Retry-After header says.",
		"Muitos uploads neste minuto; veja \"rateLimitPerMinute\". Envie de novo depois de \"retryAfterSeconds\" segundos, como indica o cabeçalho Retry-After.")
	errOverQuota = httpserver.NewError(http.StatusTooManyRequests, "quota_exceeded",
		"The client reached its quota of batches for the day; see \"maxBatchPerDay\". Upload again after \"retryAfterSeconds\" seconds.",
		"O cliente atingiu a cota de lotes do dia; veja \"maxBatchPerDay\". Envie de novo depois de \"retryAfterSeconds\" segundos.")
)
