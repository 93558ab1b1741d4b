package httpserver

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"
	"golang.org/x/text/language"
)

// APIError is an error response: a stable machine code and a human message
// in English and Brazilian Portuguese. Cause is logged, never sent.
type APIError struct {
	Status    int
	Code      string
	MessageEN string
	MessagePT string
	// Details are extra JSON fields of the response (e.g. a limit).
	Details map[string]any
	Cause   error
}

// Error returns the code and the English message.
func (e *APIError) Error() string {
	if e.Cause != nil {
		return e.Code + ": " + e.MessageEN + ": " + e.Cause.Error()
	}

	return e.Code + ": " + e.MessageEN
}

// Unwrap returns the internal cause.
func (e *APIError) Unwrap() error { return e.Cause }

// NewError builds an APIError.
func NewError(status int, code, en, pt string) *APIError {
	return &APIError{Status: status, Code: code, MessageEN: en, MessagePT: pt}
}

// WithCause returns a copy of e carrying an internal cause for the log.
func (e *APIError) WithCause(err error) *APIError {
	c := *e
	c.Cause = err

	return &c
}

// With returns a copy of e with one more detail field.
func (e *APIError) With(key string, value any) *APIError {
	c := *e
	c.Details = make(map[string]any, len(e.Details)+1)
	for k, v := range e.Details {
		c.Details[k] = v
	}

	c.Details[key] = value

	return &c
}

var languages = language.NewMatcher([]language.Tag{language.English, language.BrazilianPortuguese})

// PrefersPortuguese reports whether the Accept-Language header prefers
// Portuguese to English.
func PrefersPortuguese(r *http.Request) bool {
	tags, _, err := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	if err != nil || len(tags) == 0 {
		return false
	}

	_, index, _ := languages.Match(tags...)

	return index == 1
}

// errorBody is the JSON of an error response.
func errorBody(e *APIError, portuguese bool) map[string]any {
	msg := e.MessageEN
	if portuguese && e.MessagePT != "" {
		msg = e.MessagePT
	}

	body := map[string]any{"code": e.Code, "message": msg}
	for k, v := range e.Details {
		body[k] = v
	}

	return body
}

// Common errors of every endpoint.
var (
	ErrInternal = NewError(http.StatusInternalServerError, "internal_error",
		"The server failed to process the request. Try again later.",
		"O servidor não conseguiu processar a requisição. Tente novamente mais tarde.")
	ErrNotFound = NewError(http.StatusNotFound, "not_found",
		"The requested resource does not exist.",
		"O recurso solicitado não existe.")
	ErrMethodNotAllowed = NewError(http.StatusMethodNotAllowed, "method_not_allowed",
		"This method is not allowed on this resource.",
		"Este método não é permitido neste recurso.")
	ErrUnavailable = NewError(http.StatusServiceUnavailable, "service_unavailable",
		"The service cannot reach its database right now. Try again shortly.",
		"O serviço não consegue acessar o banco de dados agora. Tente novamente em instantes.")
	ErrBodyTooLarge = NewError(http.StatusRequestEntityTooLarge, "request_too_large",
		"The request body is larger than allowed.",
		"O corpo da requisição é maior que o permitido.")
)

// handleError renders every error returned by a handler as JSON: APIErrors
// as they are, echo's own errors mapped to codes, anything else as a 500
// whose cause is logged and not sent.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}

	var apiErr *APIError
	var httpErr *echo.HTTPError
	switch {
	case errors.As(err, &apiErr):
	case errors.As(err, &httpErr):
		switch httpErr.Code {
		case http.StatusNotFound:
			apiErr = ErrNotFound
		case http.StatusMethodNotAllowed:
			apiErr = ErrMethodNotAllowed
		case http.StatusRequestEntityTooLarge:
			apiErr = ErrBodyTooLarge
		default:
			apiErr = NewError(httpErr.Code, "http_error", http.StatusText(httpErr.Code), http.StatusText(httpErr.Code))
		}
	default:
		apiErr = ErrInternal.WithCause(err)
	}

	event := s.log.Info()
	if apiErr.Status >= 500 {
		event = s.log.Error()
	}

	event.Err(apiErr.Cause).Str("code", apiErr.Code).Int("status", apiErr.Status).
		Str("method", c.Request().Method).Str("path", c.Path()).Msg("http: request failed")

	portuguese := PrefersPortuguese(c.Request())
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(apiErr.Status)

		return
	}

	c.Response().Header().Set("Content-Language", map[bool]string{true: "pt-BR", false: "en"}[portuguese])
	_ = c.JSON(apiErr.Status, errorBody(apiErr, portuguese))
}
