package imports

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/rs/zerolog"

	"github.com/dataflow/dataflow/platform/database"
	"github.com/dataflow/dataflow/platform/httpserver"
)

// API errors of POST /admin/purge.
var (
	errPurgeBody = httpserver.NewError(http.StatusBadRequest, "invalid_body",
		`The body must be one JSON object, either {"batchIds": ["<uuid>", ...]} or {"olderThanDays": 30, "maxBatches": 100}; see "field" for the part that is wrong.`,
		`O corpo deve ser um único objeto JSON, {"batchIds": ["<uuid>", ...]} ou {"olderThanDays": 30, "maxBatches": 100}; veja "field" para a parte errada.`)
	errPurgeMode = httpserver.NewError(http.StatusBadRequest, "invalid_purge_mode",
		`Send exactly one of "batchIds" (the batches to delete) or "olderThanDays" (delete the batches that ended more days ago than this); see "field".`,
		`Envie exatamente um entre "batchIds" (os lotes a apagar) e "olderThanDays" (apagar os lotes que terminaram há mais dias que isso); veja "field".`)
	errPurgeBatchIDs = httpserver.NewError(http.StatusBadRequest, "invalid_batch_ids",
		`The field "batchIds" must list from 1 to 1000 batch ids, each a UUID such as 3f2b8c1e-9a4d-4e7b-8c2a-1d5e6f7a8b9c; see "value".`,
		`O campo "batchIds" deve listar de 1 a 1000 ids de lote, cada um um UUID como 3f2b8c1e-9a4d-4e7b-8c2a-1d5e6f7a8b9c; veja "value".`)
	errPurgeDays = httpserver.NewError(http.StatusBadRequest, "invalid_older_than_days",
		`The field "olderThanDays" must be a whole number from 0 to 36500.`,
		`O campo "olderThanDays" deve ser um número inteiro de 0 a 36500.`)
	errPurgeMaxBatches = httpserver.NewError(http.StatusBadRequest, "invalid_max_batches",
		`The field "maxBatches" must be a whole number from 1 to 10000. Leave it out to delete at most 100 batches.`,
		`O campo "maxBatches" deve ser um número inteiro de 1 a 10000. Omita-o para apagar no máximo 100 lotes.`)
	errPurgeMaxWithIDs = httpserver.NewError(http.StatusBadRequest, "invalid_purge_mode",
		`The field "maxBatches" applies only with "olderThanDays". Remove it: "batchIds" already lists the batches.`,
		`O campo "maxBatches" vale só com "olderThanDays". Remova-o: "batchIds" já lista os lotes.`)
	errPurgeTooLarge = httpserver.NewError(http.StatusRequestEntityTooLarge, "request_too_large",
		`The body is larger than 1 MiB (1048576 bytes); see "maxBytes". List at most 1000 batch ids per request.`,
		`O corpo é maior que 1 MiB (1048576 bytes); veja "maxBytes". Liste no máximo 1000 ids de lote por requisição.`).
		With("maxBytes", maxPurgeBody)
)

// purgeFieldErrors are the errors of values of the wrong JSON type, by field.
var purgeFieldErrors = map[string]*httpserver.APIError{
	"batchIds": errPurgeBatchIDs, "olderThanDays": errPurgeDays, "maxBatches": errPurgeMaxBatches,
}

// skipMessages explains each skip reason in English and Portuguese.
var skipMessages = map[string][2]string{
	SkipNotFound: {"No batch has this id.", "Nenhum lote tem este id."},
	SkipNotFinished: {
		"The batch has not finished, so it cannot be purged; see \"status\". Cancel it or wait until it ends, then purge it again.",
		"O lote ainda não terminou e não pode ser apagado; veja \"status\". Cancele-o ou espere que termine e tente de novo.",
	},
	SkipFolderNotRemoved: {
		"The batch's upload folder could not be removed, so the batch was kept; the server log names the cause. Purge it again once the folder can be removed.",
		"A pasta de upload do lote não pôde ser removida, então o lote foi mantido; o log do servidor mostra a causa. Apague-o de novo quando a pasta puder ser removida.",
	},
}

// maxPurgeBody bounds the request body; 1000 ids take about 40 KB.
const maxPurgeBody = 1 << 20

// maxEchoedValue bounds the JSON text of a wrong value that an error
// response sends back in "value".
const maxEchoedValue = 200

// purgeBody is the JSON body of POST /admin/purge.
type purgeBody struct {
	BatchIDs      []string `json:"batchIds"`
	OlderThanDays *int     `json:"olderThanDays"`
	MaxBatches    *int     `json:"maxBatches"`
}

// purgeSkipResponse is one skipped batch in the response.
type purgeSkipResponse struct {
	PurgeSkip
	Message string `json:"message"`
}

// purgeResponse is the 200 body of POST /admin/purge.
type purgeResponse struct {
	DeletedBatches int                 `json:"deletedBatches"`
	DeletedItems   int64               `json:"deletedItems"`
	DeletedFolders int                 `json:"deletedFolders"`
	Skipped        []purgeSkipResponse `json:"skipped"`
	KeptFiles      []KeptFile          `json:"keptFiles"`
}

// purgeHandler serves POST /admin/purge.
type purgeHandler struct {
	purger *Purger
	log    zerolog.Logger
}

// purge deletes the finished batches the body selects and returns the
// counts. KeyAuth in front of it checks X-Admin-Key.
func (h *purgeHandler) purge(c echo.Context) error {
	req, err := readPurgeRequest(c)
	if err != nil {
		return err
	}

	result, err := h.purger.Purge(c.Request().Context(), req)
	log := h.log.Info()
	if err != nil {
		log = h.log.Error().Err(err)
	}

	log.Int("batch_ids", len(req.BatchIDs)).Bool("by_age", req.OlderThanDays != nil).
		Int("deleted_batches", result.DeletedBatches).Int64("deleted_items", result.DeletedItems).
		Int("deleted_folders", result.DeletedFolders).Int("skipped", len(result.Skipped)).
		Int("kept_files", len(result.KeptFiles)).Msg("admin: purge finished")
	if err != nil {
		return httpserver.ErrUnavailable.WithCause(err)
	}

	portuguese := httpserver.PrefersPortuguese(c.Request())
	resp := purgeResponse{
		DeletedBatches: result.DeletedBatches, DeletedItems: result.DeletedItems, DeletedFolders: result.DeletedFolders,
		Skipped: make([]purgeSkipResponse, 0, len(result.Skipped)), KeptFiles: result.KeptFiles,
	}
	for _, s := range result.Skipped {
		messages := skipMessages[s.Reason]
		message := messages[0]
		if portuguese {
			message = messages[1]
		}

		resp.Skipped = append(resp.Skipped, purgeSkipResponse{PurgeSkip: s, Message: message})
	}

	c.Response().Header().Set("Content-Language", map[bool]string{true: "pt-BR", false: "en"}[portuguese])

	return c.JSON(http.StatusOK, resp)
}

// readPurgeRequest decodes and checks the body.
func readPurgeRequest(c echo.Context) (PurgeRequest, error) {
	raw, err := io.ReadAll(http.MaxBytesReader(c.Response(), c.Request().Body, maxPurgeBody))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return PurgeRequest{}, errPurgeTooLarge
	}

	if err != nil {
		return PurgeRequest{}, errPurgeBody.WithCause(err)
	}

	var body purgeBody
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		field := jsonErrorField(err)
		if fieldErr, ok := purgeFieldErrors[field]; ok {
			// A value of the wrong JSON type, such as "30" or 1.5 for a number.
			return PurgeRequest{}, fieldErr.With("field", field).With("value", sentValue(raw, field)).WithCause(err)
		}

		return PurgeRequest{}, errPurgeBody.With("field", field).WithCause(err)
	}

	if dec.More() {
		return PurgeRequest{}, errPurgeBody.With("field", "(after the object)")
	}

	switch {
	case body.BatchIDs != nil && body.OlderThanDays != nil, body.BatchIDs == nil && body.OlderThanDays == nil:
		return PurgeRequest{}, errPurgeMode.With("field", "(body)")
	case body.OlderThanDays != nil:
		return olderThanRequest(body)
	case body.MaxBatches != nil:
		return PurgeRequest{}, errPurgeMaxWithIDs.With("field", "maxBatches")
	}

	if len(body.BatchIDs) == 0 || len(body.BatchIDs) > MaxPurgeBatchIDs {
		return PurgeRequest{}, errPurgeBatchIDs.With("field", "batchIds").With("value", len(body.BatchIDs))
	}

	req := PurgeRequest{BatchIDs: make([]database.UUID, 0, len(body.BatchIDs))}
	for _, raw := range body.BatchIDs {
		id, err := database.ParseUUID(strings.TrimSpace(raw))
		if err != nil {
			return PurgeRequest{}, errPurgeBatchIDs.With("field", "batchIds").With("value", raw)
		}

		req.BatchIDs = append(req.BatchIDs, id)
	}

	return req, nil
}

func olderThanRequest(body purgeBody) (PurgeRequest, error) {
	days := *body.OlderThanDays
	if days < 0 || days > MaxPurgeDays {
		return PurgeRequest{}, errPurgeDays.With("field", "olderThanDays").With("value", days)
	}

	req := PurgeRequest{OlderThanDays: &days}
	if body.MaxBatches != nil {
		if *body.MaxBatches < 1 || *body.MaxBatches > MaxPurgeBatches {
			return PurgeRequest{}, errPurgeMaxBatches.With("field", "maxBatches").With("value", *body.MaxBatches)
		}

		req.MaxBatches = *body.MaxBatches
	}

	return req, nil
}

// sentValue returns the value that the JSON body raw sent for field, to
// show in an error about its type. For batchIds it is the first entry that
// is not a string. A value whose JSON text is longer than maxEchoedValue
// bytes is returned as the start of that text, ending in "...".
func sentValue(raw []byte, field string) any {
	var object map[string]json.RawMessage
	if err := json.Unmarshal(raw, &object); err != nil {
		return nil
	}

	// encoding/json matches keys case-insensitively, so "BatchIds" fills
	// the field batchIds.
	value, ok := object[field]
	for key, v := range object {
		if !ok && strings.EqualFold(key, field) {
			value, ok = v, true
		}
	}

	var entries []json.RawMessage
	if field == "batchIds" && json.Unmarshal(value, &entries) == nil {
		for _, entry := range entries {
			var text string
			if json.Unmarshal(entry, &text) != nil {
				value = entry

				break
			}
		}
	}

	if len(value) > maxEchoedValue {
		return strings.ToValidUTF8(string(value[:maxEchoedValue]), "") + "..."
	}

	var decoded any
	if err := json.Unmarshal(value, &decoded); err != nil {
		return nil
	}

	return decoded
}

// jsonErrorField names the part of the body a decoding error is about.
func jsonErrorField(err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Field != "" {
		return typeErr.Field
	}

	// encoding/json reports unknown fields only in the message:
	// json: unknown field "name".
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return strings.Trim(name, `"`)
	}

	return "(body)"
}
