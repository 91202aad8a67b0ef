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
