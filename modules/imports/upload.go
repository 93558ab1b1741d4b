package imports

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/dataflow/dataflow/modules/clients"
	"github.com/dataflow/dataflow/modules/imports/records"
	"github.com/dataflow/dataflow/platform/database"
	"github.com/dataflow/dataflow/platform/httpserver"
	"github.com/dataflow/dataflow/platform/metrics"
	"github.com/dataflow/dataflow/platform/storage"
)

// maxFieldBytes bounds each text field of the upload form.
const maxFieldBytes = 64 << 10

// uploadForm is the multipart form of POST /imports, minus the file.
type uploadForm struct {
	FileName      string
	ContentType   string
	OriginDefault string
	RequestedBy   string
	Metadata      string
	Options       ImportOptions
	// AllowDuplicate skips the check for an earlier upload of the same file.
	AllowDuplicate bool
	// DryRun reads and checks the file, then keeps nothing.
	DryRun bool
	// badFlag names a true/false field whose value is neither, so the
	// upload is rejected instead of guessing, say, that "yes" is not a dry
	// run and importing the file for real.
	badFlag string
	// The raw text of requiredFields and dedupKey, checked like the
	// other fields before it is used.
	requiredFieldsText string
	dedupKeyText       string
}

func (f *uploadForm) set(name, value string) {
	switch name {
	case "dryRun":
		f.DryRun, f.badFlag = parseFlag(value, "dryRun", f.badFlag)
	case "allowDuplicate":
		f.AllowDuplicate, f.badFlag = parseFlag(value, "allowDuplicate", f.badFlag)
	case "delimiter":
		f.Options.Delimiter = value
	case "encoding":
		f.Options.Encoding = strings.TrimSpace(value)
	case "sheet":
		f.Options.Sheet = value
	case "requiredFields":
		f.requiredFieldsText = value
		fields := splitList(value)
		f.Options.RequiredFields = &fields
	case "dedupKey":
		f.dedupKeyText = value
		key := strings.TrimSpace(value)
		f.Options.DedupKey = &key
	case "fileName":
		f.FileName = value
	case "contentType":
		f.ContentType = value
	case "originDefault":
		f.OriginDefault = value
	case "requestedBy":
		f.RequestedBy = value
	case "metadata":
		f.Metadata = value
	}
}

func (f *uploadForm) validate() error {
	for _, field := range []struct {
		name  string
		value string
		max   int
	}{
		{"fileName", f.FileName, 260}, {"contentType", f.ContentType, 255}, {"originDefault", f.OriginDefault, 120},
		{"requestedBy", f.RequestedBy, 120}, {"metadata", f.Metadata, maxFieldBytes},
		{"delimiter", f.Options.Delimiter, 16}, {"encoding", f.Options.Encoding, 64}, {"sheet", f.Options.Sheet, 31},
		{"requiredFields", f.requiredFieldsText, maxFieldBytes}, {"dedupKey", f.dedupKeyText, 200},
	} {
		// Every engine but SQLite rejects these bytes, which would surface
		// as a database error instead of a clear 400.
		if !utf8.ValidString(field.value) || strings.ContainsRune(field.value, 0) {
			return errInvalidField.With("field", field.name)
		}

		if utf8.RuneCountInString(field.value) > field.max {
			return errFieldTooLong.With("field", field.name).With("maxLength", field.max)
		}
	}

	if strings.TrimSpace(f.Metadata) != "" && !json.Valid([]byte(f.Metadata)) {
		return errInvalidMetadata
	}

	if f.badFlag != "" {
		return errInvalidFlag.With("field", f.badFlag)
	}

	return f.Options.validate()
}

// uploadResponse is the 202 body of POST /imports.
type uploadResponse struct {
	BatchID        string  `json:"batchId"`
	Status         string  `json:"status"`
	PolicyDecision string  `json:"policyDecision"`
	ScheduledFor   *string `json:"scheduledFor"`
	Location       string  `json:"location"`
}

// upload streams the file to storage while hashing it, then records the
// batch. The file is never held in memory.
func (h *handlers) upload(c echo.Context) (err error) {
	id, _ := clients.IdentityFrom(c)
	req := c.Request()

	// The batch id comes first, because the upload span's id is derived from it.
	batchID := database.NewUUID()
	traceID, parent := callerTrace(req.Header)
	_, span := startRequestSpan(req.Context(), "import.upload", batchID, id.ClientID, traceID, parent)
	defer func() { endRequestSpan(span, c, err) }()

	clientID, err := database.ParseUUID(id.ClientID)
	if err != nil {
		return fmt.Errorf("parsing client id: %w", err)
	}

	limits, err := h.clientLimits(req.Context(), clientID)
	if err != nil {
		return err
	}

	if err := h.rateLimit(c, clientID, limits.RateLimitPerMinute); err != nil {
		return err
	}

	mediaType, _, err := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
	if err != nil || mediaType != "multipart/form-data" {
		return errNotMultipart
	}

	maxMb := limits.MaxFileSizeMb
	maxBytes := maxMb << 20
	if req.ContentLength > maxBytes+1<<20 {
		// The declared body cannot fit, so respond before reading any of it.
		return errTooLarge.With("maxFileSizeMb", maxMb)
	}

	req.Body = http.MaxBytesReader(c.Response(), idleTimeoutReader(c.Response(), req.Body, h.uploadIdleTimeout), maxBytes+1<<20)

	reader, err := req.MultipartReader()
	if err != nil {
		return errNotMultipart.WithCause(err)
	}

	form, saved, err := h.readForm(reader, batchID, maxMb)
	if err != nil {
		_ = h.storage.RemoveBatch(batchID.String())

		return err
	}

	batch, err := h.newBatch(id, batchID, form, saved, traceID)
	validate := strings.ToLower(strings.TrimSpace(c.QueryParam("validate")))
	if err == nil && validate != "" && validate != "only" {
		err = errInvalidValidate.With("validate", c.QueryParam("validate"))
	}

	if err == nil && (form.DryRun || validate == "only") {
		defer func() { _ = h.storage.RemoveBatch(batchID.String()) }()

		return h.dryRun(c, batch)
	}

	if err == nil && !form.AllowDuplicate {
		err = h.checkDuplicate(req.Context(), batch, id.ClientIdentifier)
	}

	if err == nil {
		err = h.decideAndCreate(c, limits, &batch)
	}

	if err != nil {
		_ = h.storage.RemoveBatch(batchID.String())

		return err
	}

	location := "/imports/" + batch.ID.String()
	c.Response().Header().Set(echo.HeaderLocation, location)
	h.log.Info().Str("batch_id", batch.ID.String()).Str("client_id", id.ClientID).Str("client_identifier", id.ClientIdentifier).
		Int64("size_bytes", batch.FileSizeBytes).Str("file_type", batch.FileType).Msg("api: batch accepted")

	resp := uploadResponse{BatchID: batch.ID.String(), Status: batch.Status, PolicyDecision: batch.PolicyDecision, Location: location}
	if batch.ScheduledFor != nil {
		at := batch.ScheduledFor.UTC().Format(time.RFC3339)
		resp.ScheduledFor = &at
	}

	return c.JSON(http.StatusAccepted, resp)
}

// readForm reads every part: text fields into the form, the file part into
// storage. Fields may come before or after the file.
func (h *handlers) readForm(reader *multipart.Reader, batchID database.UUID, maxMb int64) (uploadForm, *storage.SavedFile, error) {
	maxBytes := maxMb << 20
	var form uploadForm
	var saved *storage.SavedFile
	var partFileName string
	for {
		part, err := reader.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}

		if err != nil {
			return form, nil, classifyBodyError(err)
		}

		name := part.FormName()
		if name == "file" && saved == nil {
			partFileName = part.FileName()
			file, err := h.storage.Save(batchID.String(), nameOr(partFileName, "upload"), part, maxBytes)
			if errors.Is(err, storage.ErrTooLarge) {
				return form, nil, errTooLarge.With("maxFileSizeMb", maxMb)
			}

			if err != nil {
				return form, nil, classifyBodyError(err)
			}

			saved = &file

			continue
		}

		value, err := io.ReadAll(io.LimitReader(part, maxFieldBytes+1))
		if err != nil {
			return form, nil, classifyBodyError(err)
		}

		if len(value) > maxFieldBytes {
			return form, nil, errFieldTooLong.With("field", name).With("maxLength", maxFieldBytes)
		}

		form.set(name, string(value))
	}

	if saved == nil {
		return form, nil, errMissingFileField
	}

	if form.FileName == "" {
		// The client did not choose this name, so cut it rather than
		// reject it; the stored name is shortened further anyway.
		form.FileName = truncateRunes(partFileName, 260)
	}

	if err := form.validate(); err != nil {
		return form, nil, err
	}

	return form, saved, nil
}

type idleReader struct {
	body    io.ReadCloser
	rc      *http.ResponseController
	timeout time.Duration
}

// idleTimeoutReader makes each read of body fail after timeout without
// data, so a stalled client does not hold a connection and a temporary file
// for ever. A total read timeout would cut off large uploads on slow links,
// so the deadline moves with every read instead.
func idleTimeoutReader(w http.ResponseWriter, body io.ReadCloser, timeout time.Duration) io.ReadCloser {
	return &idleReader{body: body, rc: http.NewResponseController(w), timeout: timeout}
}

func (r *idleReader) Read(p []byte) (int, error) {
	if r.timeout > 0 {
		_ = r.rc.SetReadDeadline(time.Now().Add(r.timeout))
	}

	return r.body.Read(p)
}

func (r *idleReader) Close() error { return r.body.Close() }

// classifyBodyError maps a failure to read the request body to an API error.
func classifyBodyError(err error) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return errTooLarge.WithCause(err)
	}

	return errUploadInterrupted.WithCause(err)
}

func nameOr(name, fallback string) string {
	if strings.TrimSpace(name) == "" {
		return fallback
	}

	return name
}

// newBatch checks the stored file and builds the batch row. traceID is the
// batch's W3C trace id, from callerTrace.
func (h *handlers) newBatch(id clients.Identity, batchID database.UUID, form uploadForm, saved *storage.SavedFile, traceID string) (Batch, error) {
	if saved.SizeBytes == 0 {
		return Batch{}, errEmptyFile
	}

	fileType, err := detectFileType(form, saved)
	if err != nil {
		return Batch{}, err
	}

	options, err := form.Options.encode()
	if err != nil {
		return Batch{}, err
	}

	clientID, err := database.ParseUUID(id.ClientID)
	if err != nil {
		return Batch{}, fmt.Errorf("parsing client id: %w", err)
	}

	b := Batch{
		ID:             batchID,
		ClientID:       clientID,
		Status:         StatusPending,
		FileType:       fileType,
		FileName:       truncate(storage.SafeName(nameOr(form.FileName, saved.Name)), 260),
		FileSizeBytes:  saved.SizeBytes,
		Checksum:       saved.SHA256,
		UploadPath:     saved.Path,
		PolicyDecision: DecisionImmediate,
		OriginDefault:  nullable(strings.TrimSpace(form.OriginDefault)),
		RequestedBy:    nullable(strings.TrimSpace(form.RequestedBy)),
		MetadataJSON:   nullable(strings.TrimSpace(form.Metadata)),
		CreatedAt:      h.now().UTC(),

		ImportOptionsJSON: options,
	}

	// Every request of the batch to OmniFlow shares this W3C trace.
	b.TraceID = &traceID

	return b, nil
}

// detectFileType decides the file type from the first bytes, with the
// name only as a hint. It rejects what is cheap to reject now: empty and
// binary files, the old .xls format, and files whose name promises JSON or
// XLSX while their content is something else.
func detectFileType(form uploadForm, saved *storage.SavedFile) (string, error) {
	head, err := readHead(saved.Path)
	if err != nil {
		return "", err
	}

	name := nameOr(form.FileName, saved.Name)
	format, err := records.Detect(head, name, form.Options.Encoding)
	var detectErr *records.DetectError
	if !errors.As(err, &detectErr) {
		return format, err
	}

	switch detectErr.Code {
	case records.DetectEmpty:
		return "", errEmptyFile
	case records.DetectXLS:
		return "", errOldExcel
	case records.DetectUTF16NoBOM:
		return "", errNotUTF8
	case records.DetectUnknownEncoding:
		return "", errUnknownEncoding.With("encoding", form.Options.Encoding)
	case records.DetectMismatch:
		if detectErr.Format == records.Excel {
			return "", errNotWorkbook
		}

		return "", errInvalidJSONFile
	default:
		return "", errUnsupportedType.With("fileName", storage.SafeName(name))
	}
}

// readHead returns the first bytes of the stored upload.
func readHead(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading stored upload: %w", err)
	}
	defer f.Close()

	head := make([]byte, records.HeadSize)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("reading stored upload: %w", err)
	}

	return head[:n], nil
}

// truncateRunes cuts s to at most n characters.
func truncateRunes(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}

		n--
	}

	return s
}

// checkDuplicate rejects a second upload of the same file by the same
// client while the first one runs or finished within the duplicate
// window, which is usually a client retrying a request whose response it
// lost.
func (h *handlers) checkDuplicate(ctx context.Context, b Batch, clientIdentifier string) error {
	since := b.CreatedAt.Add(-h.duplicateWindow)
	earlier, found, err := h.store.duplicateOf(ctx, b.ClientID, b.Checksum, since)
	if err != nil {
		return httpserver.ErrUnavailable.WithCause(err)
	}

	if !found {
		return nil
	}

	h.log.Info().Str("batch_id", earlier.ID.String()).Str("client_id", b.ClientID.String()).Str("status", earlier.Status).
		Msg("api: duplicate upload rejected")
	metrics.DedupHits.WithLabelValues(clientIdentifier).Inc()

	return errDuplicateUpload.With("batchId", earlier.ID.String()).With("status", earlier.Status)
}

// parseFlag reads a true/false form field. An invalid value keeps the
// flag false and records the field's name in bad, unless an earlier field
// was already invalid.
func parseFlag(value, field, bad string) (bool, string) {
	v, err := strconv.ParseBool(strings.TrimSpace(value))
	if err != nil && bad == "" {
		return false, field
	}

	return v, bad
}
