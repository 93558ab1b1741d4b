package webhooks

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/dataflow/dataflow/modules/clients"
	"github.com/dataflow/dataflow/platform/database"
	"github.com/dataflow/dataflow/platform/httpserver"
)

// Limits of the webhook API.
const (
	// MaxSubscriptionsPerClient bounds a client's subscriptions, and so the
	// requests one batch event causes.
	MaxSubscriptionsPerClient = 10
	maxSubscriptionsPerClient = MaxSubscriptionsPerClient
	maxBodyBytes              = 16 << 10
	defaultDeliveriesLimit    = 50
	maxDeliveriesLimit        = 200
)

type handlers struct {
	store         *Store
	allowInsecure bool
}

// subscriptionResponse is a subscription as the API shows it. The secret
// appears only in the response to its creation.
type subscriptionResponse struct {
	ID             string     `json:"id"`
	URL            string     `json:"url"`
	Events         []string   `json:"events"`
	IsActive       bool       `json:"isActive"`
	CreatedAt      time.Time  `json:"createdAt"`
	FailingSince   *time.Time `json:"failingSince"`
	DisabledAt     *time.Time `json:"disabledAt"`
	DisabledReason *string    `json:"disabledReason"`
	Secret         string     `json:"secret,omitempty"`
}

func newSubscriptionResponse(s Subscription) subscriptionResponse {
	events := EventTypes
	if s.Events != nil && *s.Events != "" {
		events = splitEvents(*s.Events)
	}

	return subscriptionResponse{
		ID: s.ID.String(), URL: s.URL, Events: events, IsActive: s.IsActive, CreatedAt: s.CreatedAt.UTC(),
		FailingSince: utcPtr(s.FailingSince), DisabledAt: utcPtr(s.DisabledAt), DisabledReason: s.DisabledReason,
	}
}

type createRequest struct {
	URL    string   `json:"url"`
	Events []string `json:"events"`
}

// create adds a subscription and returns it with its secret, shown once.
func (h *handlers) create(c echo.Context) error {
	clientID, err := clientOf(c)
	if err != nil {
		return err
	}

	body, err := io.ReadAll(io.LimitReader(c.Request().Body, maxBodyBytes+1))
	if err != nil {
		return errInvalidBody.With("problem", err.Error())
	}
	if len(body) > maxBodyBytes {
		return httpserver.ErrBodyTooLarge.With("maxBytes", maxBodyBytes)
	}

	var req createRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return errInvalidBody.With("problem", jsonProblem(err))
	}
	if dec.More() {
		return errInvalidBody.With("problem", "the body has more data after the JSON object")
	}

	canonical, err := ValidateURL(req.URL, h.allowInsecure)
	if err != nil {
		return invalidURL(err)
	}

	events, bad := normalizeEvents(req.Events)
	if bad != "" {
		return errInvalidEvent.With("event", bad).With("allowed", EventTypes)
	}

	sub, err := h.store.CreateSubscription(c.Request().Context(), clientID, canonical, events, maxSubscriptionsPerClient)
	switch {
	case errors.Is(err, ErrDuplicateURL):
		return errDuplicateURL
	case errors.Is(err, ErrTooManySubscriptions):
		return errTooManySubscriptions.With("maxSubscriptions", maxSubscriptionsPerClient)
	case err != nil:
		return httpserver.ErrUnavailable.WithCause(err)
	}

	resp := newSubscriptionResponse(sub)
	resp.Secret = sub.Secret
	c.Response().Header().Set("Cache-Control", "no-store")
	c.Response().Header().Set("Location", "/webhooks/"+sub.ID.String())

	return c.JSON(http.StatusCreated, resp)
}

// list returns the caller's subscriptions.
func (h *handlers) list(c echo.Context) error {
	clientID, err := clientOf(c)
	if err != nil {
		return err
	}

	subs, err := h.store.Subscriptions(c.Request().Context(), clientID)
	if err != nil {
		return httpserver.ErrUnavailable.WithCause(err)
	}

	items := make([]subscriptionResponse, 0, len(subs))
	for _, s := range subs {
		items = append(items, newSubscriptionResponse(s))
	}

	return c.JSON(http.StatusOK, map[string]any{"items": items})
}

// get returns one subscription of the caller.
func (h *handlers) get(c echo.Context) error {
	sub, err := h.subscription(c)
	if err != nil {
		return err
	}

	return c.JSON(http.StatusOK, newSubscriptionResponse(sub))
}

// remove deletes a subscription of the caller with its delivery log.
func (h *handlers) remove(c echo.Context) error {
	clientID, err := clientOf(c)
	if err != nil {
		return err
	}

	id, err := database.ParseUUID(c.Param("webhookId"))
	if err != nil {
		return errSubscriptionNotFound
	}

	switch err := h.store.DeleteSubscription(c.Request().Context(), clientID, id); {
	case errors.Is(err, ErrNotFound):
		return errSubscriptionNotFound
	case err != nil:
		return httpserver.ErrUnavailable.WithCause(err)
	}

	return c.NoContent(http.StatusNoContent)
}

// deliveryResponse is one row of the delivery log.
type deliveryResponse struct {
	ID             string     `json:"id"`
	EventID        string     `json:"eventId"`
	EventType      string     `json:"eventType"`
	BatchID        string     `json:"batchId"`
	Status         string     `json:"status"`
	Attempts       int        `json:"attempts"`
	NextAttemptAt  *time.Time `json:"nextAttemptAt"`
	LastAttemptAt  *time.Time `json:"lastAttemptAt"`
	LastStatusCode *int       `json:"lastStatusCode"`
	LastError      *string    `json:"lastError"`
	LastDurationMs *int       `json:"lastDurationMs"`
	DeliveredAt    *time.Time `json:"deliveredAt"`
	CreatedAt      time.Time  `json:"createdAt"`
}

func newDeliveryResponse(d DeliveryView) deliveryResponse {
	return deliveryResponse{
		ID: d.ID.String(), EventID: d.EventID.String(), EventType: d.EventType, BatchID: d.BatchID.String(),
		Status: d.Status, Attempts: d.Attempts, NextAttemptAt: utcPtr(d.NextAttemptAt), LastAttemptAt: utcPtr(d.LastAttemptAt),
		LastStatusCode: d.LastStatusCode, LastError: d.LastError, LastDurationMs: d.LastDurationMs,
		DeliveredAt: utcPtr(d.DeliveredAt), CreatedAt: d.CreatedAt.UTC(),
	}
}

var deliveryStatuses = map[string]string{
	"pending": DeliveryPending, "delivered": DeliveryDelivered, "failed": DeliveryFailed, "cancelled": DeliveryCancelled,
}

// deliveries returns a subscription's delivery log, newest first.
func (h *handlers) deliveries(c echo.Context) error {
	sub, err := h.subscription(c)
	if err != nil {
		return err
	}

	var statuses []string
	for _, raw := range c.QueryParams()["status"] {
		for part := range strings.SplitSeq(raw, ",") {
			if part = strings.TrimSpace(part); part == "" {
				continue
			}

			status, ok := deliveryStatuses[strings.ToLower(part)]
			if !ok {
				return errInvalidStatus.With("status", part)
			}
			statuses = append(statuses, status)
		}
	}

	limit := defaultDeliveriesLimit
	if raw := c.QueryParam("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > maxDeliveriesLimit {
			return errInvalidLimit.With("limit", raw).With("maxLimit", maxDeliveriesLimit)
		}
		limit = n
	}

	var before *DeliveryCursor
	if raw := c.QueryParam("cursor"); raw != "" {
		cur, ok := decodeCursor(raw)
		if !ok {
			return errInvalidCursor
		}
		before = &cur
	}

	rows, err := h.store.Deliveries(c.Request().Context(), sub.ID, statuses, limit+1, before)
	if err != nil {
		return httpserver.ErrUnavailable.WithCause(err)
	}

	resp := struct {
		Items      []deliveryResponse `json:"items"`
		NextCursor *string            `json:"nextCursor"`
	}{Items: make([]deliveryResponse, 0, min(len(rows), limit))}
	for i, d := range rows {
		if i == limit {
			last := rows[i-1]
			next := encodeCursor(DeliveryCursor{CreatedAt: last.CreatedAt, ID: last.ID})
			resp.NextCursor = &next

			break
		}
		resp.Items = append(resp.Items, newDeliveryResponse(d))
	}

	return c.JSON(http.StatusOK, resp)
}

// redeliver queues an event of the log again.
func (h *handlers) redeliver(c echo.Context) error {
	sub, err := h.subscription(c)
	if err != nil {
		return err
	}

	if !sub.IsActive {
		apiErr := errSubscriptionDisabled
		if sub.DisabledReason != nil {
			apiErr = apiErr.With("disabledReason", *sub.DisabledReason)
		}

		return apiErr
	}

	deliveryID, err := database.ParseUUID(c.Param("deliveryId"))
	if err != nil {
		return errDeliveryNotFound
	}

	d, err := h.store.Redeliver(c.Request().Context(), sub.ID, deliveryID)
	if errors.Is(err, ErrNotFound) {
		return errDeliveryNotFound
	}
	if errors.Is(err, ErrRedeliveryPending) {
		return errRedeliveryPending
	}
	if err != nil {
		return httpserver.ErrUnavailable.WithCause(err)
	}

	return c.JSON(http.StatusAccepted, map[string]any{
		"id": d.ID.String(), "eventId": d.EventID.String(), "status": d.Status, "nextAttemptAt": utcPtr(d.NextAttemptAt),
	})
}

// subscription loads the subscription of the path for the caller.
func (h *handlers) subscription(c echo.Context) (Subscription, error) {
	clientID, err := clientOf(c)
	if err != nil {
		return Subscription{}, err
	}

	id, err := database.ParseUUID(c.Param("webhookId"))
	if err != nil {
		return Subscription{}, errSubscriptionNotFound
	}

	sub, err := h.store.Subscription(c.Request().Context(), clientID, id)
	if errors.Is(err, ErrNotFound) {
		return Subscription{}, errSubscriptionNotFound
	}
	if err != nil {
		return Subscription{}, httpserver.ErrUnavailable.WithCause(err)
	}

	return sub, nil
}

func clientOf(c echo.Context) (database.UUID, error) {
	id, ok := clients.IdentityFrom(c)
	if !ok {
		return database.UUID{}, httpserver.ErrInternal.WithCause(errors.New("webhook route without authentication"))
	}

	return database.ParseUUID(id.ClientID)
}

// normalizeEvents checks event types and drops repeats. It returns the
// first unknown type, if any.
func normalizeEvents(events []string) ([]string, string) {
	var out []string
	for _, e := range events {
		e = strings.ToLower(strings.TrimSpace(e))
		if !slices.Contains(EventTypes, e) {
			return nil, e
		}
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}

	if len(out) == len(EventTypes) {
		return nil, "" // all of them: store NULL, so new types are included
	}

	return out, ""
}

func splitEvents(s string) []string {
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}

	return out
}

func encodeCursor(c DeliveryCursor) string { return c.Encode("d") }

func decodeCursor(cursor string) (DeliveryCursor, bool) { return database.DecodeCursor("d", cursor) }

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}

	u := t.UTC()

	return &u
}

// invalidURL turns a URL problem into the API error, with the reason in
// the language of the response.
func invalidURL(err error) *httpserver.APIError {
	var p *URLProblem
	if !errors.As(err, &p) {
		p = &URLProblem{EN: err.Error(), PT: err.Error()}
	}

	return httpserver.NewError(http.StatusBadRequest, errInvalidURL.Code,
		errInvalidURL.MessageEN+" "+p.EN+".", errInvalidURL.MessagePT+" "+p.PT+".")
}

// jsonProblem describes a decoding error without Go type names.
func jsonProblem(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf("invalid JSON at byte %d", syntax.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("the field %q must be %s, not a JSON %s", typ.Field, jsonKind(typ.Type.Kind().String()), typ.Value)
	case errors.Is(err, io.EOF):
		return "the body is empty"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the JSON ends too early"
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	default:
		return "invalid JSON"
	}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "slice":
		return "a list of strings"
	case "string":
		return "a string"
	default:
		return "of another type"
	}
}
