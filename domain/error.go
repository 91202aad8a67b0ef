package domain

import (
	"errors"
	"fmt"
)

// Code classifies a failure so that every face can translate it into its own
// status and envelope. The domain never speaks HTTP; http/error.go is the one
// place where a Code becomes a status.
type Code string

// The codes are stable: clients and the faces' tables depend on them, so a
// code is never renamed or reused for another meaning.
const (
	CodeInvalid                 Code = "BAD_REQUEST"
	CodeUnauthorized            Code = "UNAUTHORIZED"
	CodeForbidden               Code = "FORBIDDEN"
	CodeInsufficientPermissions Code = "INSUFFICIENT_PERMISSIONS"
	CodeNotFound                Code = "NOT_FOUND"
	CodeConflict                Code = "CONFLICT"
	CodeDeleteProtected         Code = "DELETE_PROTECTED"
	CodeDisabled                Code = "DISABLED"
	CodeExpired                 Code = "EXPIRED"
	CodePreconditionFailed      Code = "PRECONDITION_FAILED"
	CodeTooManyRequests         Code = "TOO_MANY_REQUESTS"
	CodeUnavailable             Code = "SERVICE_UNAVAILABLE"
	CodeInternal                Code = "INTERNAL_SERVER_ERROR"
)

// Error is the one error type that crosses package boundaries. Message is safe
// to show to a client; Field names the offending input where there is one, so
// that every face can point the client at it.
type Error struct {
	Code    Code
	Field   string
	Message string
	// Detail, when set, refines Code with the finer code a face's clients
	// already know, such as nevisIDM's
	// "errors.credentialFidoUaf.invalidAaidFormat". It is still no HTTP: a
	// face that has no use for it ignores it and answers from Code alone.
	Detail string
}

func (e *Error) Error() string {
	if e.Detail != "" {
		if e.Field != "" {
			return fmt.Sprintf("%s: %s: %s: %s", e.Code, e.Detail, e.Field, e.Message)
		}
		return fmt.Sprintf("%s: %s: %s", e.Code, e.Detail, e.Message)
	}
	if e.Field != "" {
		return fmt.Sprintf("%s: %s: %s", e.Code, e.Field, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Errorf builds an *Error with a formatted client-facing message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid reports bad input for one named field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: CodeInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err, or CodeInternal for anything that is not
// an *Error: an unexpected failure must never be shown as a client mistake.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if err == nil {
		return ""
	}
	return CodeInternal
}

// ErrorMessage returns the client-facing message of err; internal failures
// get a generic text so that no detail leaks.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// ErrorField returns the offending field of err, if it names one.
func ErrorField(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}

// ErrorDetail returns the face-specific refinement of err's code, if any.
func ErrorDetail(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Detail
	}
	return ""
}
