package http

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/portcullis/portcullis/domain"
)

// nativeStatus is the one table that turns a domain code into a status on
// the native face.
var nativeStatus = map[domain.Code]int{
	domain.CodeInvalid:                 http.StatusBadRequest,
	domain.CodeUnauthorized:            http.StatusUnauthorized,
	domain.CodeForbidden:               http.StatusForbidden,
	domain.CodeInsufficientPermissions: http.StatusForbidden,
	domain.CodeNotFound:                http.StatusNotFound,
	domain.CodeConflict:                http.StatusConflict,
	domain.CodeDeleteProtected:         http.StatusConflict,
	domain.CodeDisabled:                http.StatusConflict,
	domain.CodeExpired:                 http.StatusGone,
	domain.CodePreconditionFailed:      http.StatusPreconditionFailed,
	domain.CodeTooManyRequests:         http.StatusTooManyRequests,
	domain.CodeUnavailable:             http.StatusServiceUnavailable,
	domain.CodeInternal:                http.StatusInternalServerError,
}

// nevisStatus is the one table that turns a domain code into a status on
// the nevisIDM face, with the nevisIDM code a client sees when the error
// carries no finer one of its own (domain.Error.Detail, e.g.
// "errors.credentialFidoUaf.notUnique"). Codes nevisIDM does not define are
// marked; nevisIDM leaves authentication and throttling to its proxy, so it
// has none for 401, 429 and 503.
var nevisStatus = map[domain.Code]struct {
	status int
	code   string
}{
	domain.CodeInvalid:                 {http.StatusBadRequest, "errors.invalidParameter"},
	domain.CodeUnauthorized:            {http.StatusUnauthorized, "errors.unauthorized"}, // ours
	domain.CodeForbidden:               {http.StatusForbidden, "errors.combinedDataroomDenied"},
	domain.CodeInsufficientPermissions: {http.StatusForbidden, "errors.insufficientRightsFunction"},
	domain.CodeNotFound:                {http.StatusNotFound, "errors.noRecord"},
	domain.CodeConflict:                {http.StatusConflict, "errors.duplicateValue"},
	domain.CodeDeleteProtected:         {http.StatusConflict, "errors.undeletedDependencies"},
	domain.CodeDisabled:                {http.StatusConflict, "errors.credentialNotActive"},
	domain.CodeExpired:                 {http.StatusUnauthorized, "errors.unauthorized"}, // ours: an expired token is no login
	domain.CodePreconditionFailed:      {http.StatusPreconditionFailed, "errors.optimisticLockingFailure"},
	domain.CodeTooManyRequests:         {http.StatusTooManyRequests, "errors.tooManyRequests"},       // ours
	domain.CodeUnavailable:             {http.StatusServiceUnavailable, "errors.serviceUnavailable"}, // ours
	domain.CodeInternal:                {http.StatusInternalServerError, "errors.fatalError"},
}

// nevisDetailStatus gives the few nevisIDM codes whose status is not their
// domain code's: a bad X-Token is an authentication failure in the domain,
// and nevisIDM answers it 422.
var nevisDetailStatus = map[string]int{
	"errors.invalidJWTToken": http.StatusUnprocessableEntity,
}

type nevisErrorBody struct {
	Errors []nevisErrorMessage `json:"errors"`
}

type nevisErrorMessage struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// writeNevisError answers with the nevisIDM error envelope. A message the
// domain wrote for this face (it has a Detail) is complete; any other names
// its field in front. An internal error is logged, never shown.
func (s *Server) writeNevisError(w http.ResponseWriter, r *http.Request, err error) {
	code := domain.ErrorCode(err)
	entry := nevisStatus[code]
	nc, msg := domain.ErrorDetail(err), domain.ErrorMessage(err)
	if nc == "" {
		nc = entry.code
		if field := domain.ErrorField(err); field != "" {
			msg = field + ": " + msg
		}
	}
	if code == domain.CodeInternal {
		if errors.Is(err, r.Context().Err()) {
			msg = "the request was cancelled or timed out"
		}
		s.logger.ErrorContext(r.Context(), "internal error", slog.String("req_id", requestID(r.Context())), slog.Any("err", err))
	}
	if (code == domain.CodeTooManyRequests || code == domain.CodeUnavailable) && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", "1")
	}
	status := entry.status
	if st, ok := nevisDetailStatus[nc]; ok {
		status = st
	}
	writeJSON(w, status, nevisErrorBody{Errors: []nevisErrorMessage{{Code: nc, Message: msg}}})
}

// esystemsStatus is the one table that turns a domain code into a status on
// the eSystems face, with the error Type and Title its clients know. The
// reference defines 400, 401, 403, 404 and 500 (and spells its 403 Title
// "Bad Request"); the statuses the contract adds for every face get Types
// of the same form, marked "ours".
var esystemsStatus = map[domain.Code]struct {
	status     int
	typ, title string
}{
	domain.CodeInvalid:                 {http.StatusBadRequest, "/Errors/Bad Input", "Bad Request"},
	domain.CodeUnauthorized:            {http.StatusUnauthorized, "/Errors/Unauthorized", "Unauthorized"},
	domain.CodeExpired:                 {http.StatusUnauthorized, "/Errors/Unauthorized", "Unauthorized"}, // an expired token is no login
	domain.CodeForbidden:               {http.StatusForbidden, "/Errors/Permission", "Bad Request"},
	domain.CodeInsufficientPermissions: {http.StatusForbidden, "/Errors/Permission", "Bad Request"},
	domain.CodeNotFound:                {http.StatusNotFound, "/Errors/Not Found", "Not Found"},
	domain.CodeConflict:                {http.StatusConflict, "/Errors/Conflict", "Conflict"},                                 // ours
	domain.CodeDeleteProtected:         {http.StatusConflict, "/Errors/Conflict", "Conflict"},                                 // ours
	domain.CodeDisabled:                {http.StatusConflict, "/Errors/Conflict", "Conflict"},                                 // ours
	domain.CodePreconditionFailed:      {http.StatusPreconditionFailed, "/Errors/Precondition Failed", "Precondition Failed"}, // ours
	domain.CodeTooManyRequests:         {http.StatusTooManyRequests, "/Errors/Too Many Requests", "Too Many Requests"},        // ours
	domain.CodeUnavailable:             {http.StatusServiceUnavailable, "/Errors/Service Unavailable", "Service Unavailable"}, // ours
	domain.CodeInternal:                {http.StatusInternalServerError, "/Errors/Internal Server Error", "Internal Server Error"},
}

// esMultipleRowsType is the Type of a value that matched several records
// (domain.DetailMultipleRows), spelled as the reference spells it.
const esMultipleRowsType = "/Errors/Multible Rows"

type esErrorBody struct {
	Errors     []string `json:"Errors"`
	Type       string   `json:"Type"`
	Title      string   `json:"Title"`
	StatusCode int      `json:"StatusCode"`
	Instance   string   `json:"Instance"`
	RequestKey string   `json:"RequestKey"`
}

// writeESystemsError answers with the eSystems error envelope: the message
// names its field in front; Instance is the request path and RequestKey
// the request id. An internal error is logged, never shown.
func (s *Server) writeESystemsError(w http.ResponseWriter, r *http.Request, err error) {
	code := domain.ErrorCode(err)
	entry := esystemsStatus[code]
	if domain.ErrorDetail(err) == domain.DetailMultipleRows {
		entry.typ = esMultipleRowsType
	}
	msg := domain.ErrorMessage(err)
	if field := domain.ErrorField(err); field != "" {
		msg = field + ": " + msg
	}
	if code == domain.CodeInternal {
		msg = "An internal server error is an error on the web server you're trying to access."
		if errors.Is(err, r.Context().Err()) {
			msg = "The request was cancelled or timed out."
		}
		s.logger.ErrorContext(r.Context(), "internal error", slog.String("req_id", requestID(r.Context())), slog.Any("err", err))
	}
	if (code == domain.CodeTooManyRequests || code == domain.CodeUnavailable) && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, entry.status, esErrorBody{Errors: []string{msg}, Type: entry.typ, Title: entry.title,
		StatusCode: entry.status, Instance: r.URL.Path, RequestKey: requestID(r.Context())})
}

type nativeErrorBody struct {
	Msg   string          `json:"msg"`
	Error nativeErrorInfo `json:"error"`
}

type nativeErrorInfo struct {
	Code  domain.Code `json:"code"`
	Field string      `json:"field,omitempty"`
	Docs  string      `json:"docs"`
	ReqID string      `json:"req_id"`
}

// writeNativeError answers with the native error envelope. An internal error
// is logged with its detail; the client sees only a generic message.
func (s *Server) writeNativeError(w http.ResponseWriter, r *http.Request, err error) {
	if isNevisRequest(r) { // middleware shared by the faces writes through here
		s.writeNevisError(w, r, err)
		return
	}
	if isESystemsRequest(r) {
		s.writeESystemsError(w, r, err)
		return
	}
	code := domain.ErrorCode(err)
	msg := domain.ErrorMessage(err)
	if field := domain.ErrorField(err); field != "" {
		msg = field + ": " + msg
	}
	if code == domain.CodeInternal {
		if errors.Is(err, r.Context().Err()) {
			msg = "the request was cancelled or timed out"
		}
		s.logger.ErrorContext(r.Context(), "internal error", slog.String("req_id", requestID(r.Context())), slog.Any("err", err))
	}
	if (code == domain.CodeTooManyRequests || code == domain.CodeUnavailable) && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, nativeStatus[code], nativeErrorBody{Msg: msg, Error: nativeErrorInfo{
		Code: code, Field: domain.ErrorField(err), Docs: "/docs/errors/" + string(code), ReqID: requestID(r.Context()),
	}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
