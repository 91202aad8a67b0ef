package http

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/portcullis/portcullis/domain"
)

// The nevisIDM face: nevisIDM REST core v1 under nevisBase, camelCase JSON,
// errors as {"errors":[{"code","message"}]} (writeNevisError in error.go).
// Its routes name the tenant in the path (clientExtId); the caller's token
// names the tenant it acts in, and the two must agree.

// nevisBase is where the nevisIDM face lives.
const nevisBase = "/nevisidm/api/core/v1"

// isNevisRequest reports whether r is on the nevisIDM face, so that errors
// raised by middleware shared with other faces take this face's envelope.
func isNevisRequest(r *http.Request) bool {
	return r.URL.Path == nevisBase || strings.HasPrefix(r.URL.Path, nevisBase+"/")
}

// registerNevisRoutes mounts the nevisIDM face on the root router.
func (s *Server) registerNevisRoutes(root *mux.Router) {
	r := root.PathPrefix(nevisBase).Subrouter()
	r.Use(s.withBodyLimit, s.withNevisAuth, s.withCallerLimit, s.withConsistency, s.withIdempotency)
	s.registerNevisUserRoutes(r)
	s.registerNevisDispatchTargetRoutes(r)
	s.registerNevisFidoUafRoutes(r)
}

// nevisIDM function rights, by the names its clients know.
const (
	rightUserView             = "AccessControl.UserView"
	rightUserCreate           = "AccessControl.UserCreate"
	rightUserModify           = "AccessControl.UserModify"
	rightUserDelete           = "AccessControl.UserDelete"
	rightCredentialView       = "AccessControl.CredentialView"
	rightCredentialCreate     = "AccessControl.CredentialCreate"
	rightCredentialDelete     = "AccessControl.CredentialDelete"
	rightDispatchTargetView   = "AccessControl.DispatchTargetView"
	rightDispatchTargetCreate = "AccessControl.DispatchTargetCreate"
	rightDispatchTargetDelete = "AccessControl.DispatchTargetDelete"
	rightHistoryView          = "AccessControl.HistoryView"
)

// nevisIDM error codes the face raises itself; the domain's are in
// domain/nevisuser.go.
const (
	nevisErrInsufficientRights    = "errors.insufficientRightsFunction"
	nevisErrDataroomDenied        = "errors.combinedDataroomDenied"
	nevisErrJSONProcessing        = "errors.jsonProcessingError"
	nevisErrNullRequestBody       = "errors.nullRequestBody"
	nevisErrModifyExtID           = "errors.modifyExtId"
	nevisErrUserFirstNameNull     = "errors.userFirstNameNull"
	nevisErrUserNameNull          = "errors.userNameNull"
	nevisErrUserEmailFormat       = "errors.userEmailFormat"
	nevisErrDuplicateEmail        = "errors.duplicateEmail"
	nevisErrUndeletedDependencies = "errors.undeletedDependencies"
	nevisErrMandatoryParamMissed  = domain.NevisErrMandatoryParameterMissing
	nevisErrInvalidJWTToken       = "errors.invalidJWTToken"
)

// withNevisAuth authenticates every nevisIDM request with the same schemes
// as the other faces (s.authenticate); a failure is 401 in this face's
// envelope.
func (s *Server) withNevisAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p principal
		var err error
		if r.Header.Get("Authorization") == "" && r.Header.Get("X-Token") != "" {
			p, err = s.authenticateSelfAdmin(r)
		} else {
			p, err = s.authenticate(r)
		}
		if err != nil {
			s.writeNevisError(w, r, err)
			return
		}
		next.ServeHTTP(w, withPrincipal(r, p))
	})
}

// authenticateSelfAdmin resolves nevisIDM SelfAdmin: an individual acting
// on their own records with `X-Token: <JWT>` from
// POST /api/v1/individuals/{id}/otp/verify. A token that cannot be used
// answers as nevisIDM does: 422 errors.invalidJWTToken "Invalid JWT token.".
// Which routes admit such a caller is decided per route (nevisSelfAdmin).
func (s *Server) authenticateSelfAdmin(r *http.Request) (principal, error) {
	p, err := s.authenticateSelf(r.Header.Get("X-Token"))
	if errors.Is(err, errInvalidSelfToken) {
		return principal{}, &domain.Error{Code: domain.CodeUnauthorized, Field: "X-Token", Detail: nevisErrInvalidJWTToken,
			Message: "Invalid JWT token."}
	}
	return p, err
}

// nevisCall is what a nevisIDM handler learns before it runs: the client
// (tenant) the request names, which is the caller's own.
type nevisCall struct {
	ClientExtID string
	ClientName  string
}

type nevisHandlerFunc func(w http.ResponseWriter, r *http.Request, c nevisCall) error

// nevis adapts a handler to the nevisIDM face. The caller must hold one of
// rights (a missing right names the first, as nevisIDM does); the client
// named by the path's {clientExtId}, or else the query's clientExtId, must
// exist and be the caller's tenant. The checks run in that order, so a
// caller without the right learns nothing about which clients exist. A
// SelfAdmin caller (X-Token) holds no rights and is refused.
func (s *Server) nevis(rights []string, h nevisHandlerFunc) http.HandlerFunc {
	return s.nevisRoute(rights, false, h)
}

// nevisSelfAdmin is nevis for routes that also admit SelfAdmin: the user of
// the path's {userExtId} acting on their own records with an X-Token. Such
// a caller naming another user is refused as lacking the right, whether or
// not that user exists.
func (s *Server) nevisSelfAdmin(rights []string, h nevisHandlerFunc) http.HandlerFunc {
	return s.nevisRoute(rights, true, h)
}

func (s *Server) nevisRoute(rights []string, selfAdmin bool, h nevisHandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := s.nevisAuthorize(r, rights, selfAdmin)
		if err == nil {
			err = h(w, r, c)
		}
		if err != nil {
			s.writeNevisError(w, r, err)
		}
	}
}

func errMissingRight(right string) error {
	return &domain.Error{Code: domain.CodeInsufficientPermissions, Detail: nevisErrInsufficientRights,
		Message: fmt.Sprintf("Permission denied: Caller does not have the required right '%s' to perform this action", right)}
}

func (s *Server) nevisAuthorize(r *http.Request, rights []string, selfAdmin bool) (nevisCall, error) {
	p := caller(r.Context())
	self := p.Self != ""
	if (self && !selfAdmin) || (!self && !domain.Can(p.Permissions, rights...)) {
		return nevisCall{}, errMissingRight(rights[0])
	}
	extID, inPath := mux.Vars(r)["clientExtId"]
	if !inPath {
		q := r.URL.Query()
		if len(q["clientExtId"]) > 1 {
			return nevisCall{}, nevisInvalid("clientExtId", "given more than once")
		}
		extID = q.Get("clientExtId")
		if extID == "" {
			return nevisCall{}, &domain.Error{Code: domain.CodeInvalid, Field: "clientExtId", Detail: nevisErrMandatoryParamMissed,
				Message: "Mandatory parameter 'clientExtId' is missing"}
		}
	}
	t, ok, err := s.cmd.Tenant(r.Context(), extID)
	if err != nil {
		return nevisCall{}, err
	}
	if !ok {
		return nevisCall{}, &domain.Error{Code: domain.CodeNotFound, Detail: domain.NevisErrNoRecord,
			Message: fmt.Sprintf("Client doesn't exist with extId '%s'", extID)}
	}
	if t.ExtID != p.Tenant {
		return nevisCall{}, &domain.Error{Code: domain.CodeForbidden, Detail: nevisErrDataroomDenied,
			Message: "Permission denied: " + rights[0]}
	}
	if self {
		ind, ok, err := s.db.Individual(p.Tenant, p.Self)
		if err != nil {
			return nevisCall{}, err
		}
		if !ok || ind.ExtID != mux.Vars(r)["userExtId"] {
			return nevisCall{}, errMissingRight(rights[0])
		}
	}
	return nevisCall{ClientExtID: t.ExtID, ClientName: t.DisplayName}, nil
}

// userNotFound is nevisIDM's sentence for a user the client does not have.
func (c nevisCall) userNotFound(userExtID string) error {
	return &domain.Error{Code: domain.CodeNotFound, Detail: domain.NevisErrNoRecord,
		Message: fmt.Sprintf("A user with extId '%s' doesn't exist on client with name %s", userExtID, c.ClientName)}
}

// complete finishes the not-found sentences that the domain and the
// commands start ("No DispatchTarget found with extId '…'"), with the user
// and the client only the face knows. Other errors pass unchanged.
func (c nevisCall) complete(err error, userExtID string) error {
	var e *domain.Error
	if !errors.As(err, &e) || e.Code != domain.CodeNotFound {
		return err
	}
	if e.Field == "userExtId" {
		return c.userNotFound(userExtID)
	}
	out := *e
	out.Message = fmt.Sprintf("%s for user with extId '%s' on client with name '%s'", e.Message, userExtID, c.ClientName)
	return &out
}

// nevisInvalid is bad input for one field with nevisIDM's generic code; the
// message names the field.
func nevisInvalid(field, format string, args ...any) *domain.Error {
	return &domain.Error{Code: domain.CodeInvalid, Field: field, Detail: domain.NevisErrInvalidParameter,
		Message: fmt.Sprintf("Invalid value for '%s': %s", field, fmt.Sprintf(format, args...))}
}

// nevisBadInput gives a bad-input error from the shared decoding helpers
// this face's codes: a body that is not JSON is a processing error, an
// empty one a null body, and a field the message names in nevisIDM's words.
// prefix places a field inside a nested object ("name.").
func nevisBadInput(err error, prefix string) error {
	var e *domain.Error
	if !errors.As(err, &e) || e.Code != domain.CodeInvalid || e.Detail != "" {
		return err
	}
	switch {
	case e.Field == "body" && strings.Contains(e.Message, "required"):
		return &domain.Error{Code: domain.CodeInvalid, Field: "body", Detail: nevisErrNullRequestBody,
			Message: "The request body is missing: " + e.Message}
	case e.Field == "body":
		return &domain.Error{Code: domain.CodeInvalid, Field: "body", Detail: nevisErrJSONProcessing,
			Message: "Could not process the request body: " + e.Message}
	case e.Field != "":
		return nevisInvalid(prefix+e.Field, "%s", e.Message)
	}
	return err
}

// nevisBody reads a request body as one JSON object whose fields are among
// allowed.
func nevisBody(r *http.Request, allowed ...string) (object, error) {
	obj, err := decodeObject(r)
	if err != nil {
		return nil, nevisBadInput(err, "")
	}
	if obj == nil {
		return nil, nevisBadInput(domain.Invalid("body", "a JSON object is required"), "")
	}
	if err := obj.only(allowed...); err != nil {
		return nil, nevisBadInput(err, "")
	}
	return obj, nil
}

// nested reads an optional JSON object field; null counts as absent.
func nested(o object, field string, allowed ...string) (object, bool, error) {
	raw, ok := o[field]
	if !ok || string(raw) == "null" {
		return nil, false, nil
	}
	var sub object
	if err := json.Unmarshal(raw, &sub); err != nil || sub == nil {
		return nil, true, nevisInvalid(field, "must be a JSON object, not %s", jsonKind(raw))
	}
	if err := sub.only(allowed...); err != nil {
		return nil, true, nevisBadInput(err, field+".")
	}
	return sub, true, nil
}

// nevisStr reads a string field of o (a nested one under prefix).
func nevisStr(o object, prefix, field string, nullable bool) (string, bool, error) {
	v, present, err := o.str(field, nullable)
	return v, present, nevisBadInput(err, prefix)
}

// nevisStrPtr is nevisStr for patches: nil when absent.
func nevisStrPtr(o object, prefix, field string, nullable bool) (*string, error) {
	v, err := o.strPtr(field, nullable)
	return v, nevisBadInput(err, prefix)
}

// nevisInt reads a whole-number field.
func nevisInt(o object, prefix, field string) (int64, bool, error) {
	raw, ok := o[field]
	if !ok {
		return 0, false, nil
	}
	var n int64
	if err := json.Unmarshal(raw, &n); err != nil {
		return 0, true, nevisInvalid(prefix+field, "must be a whole number, not %s", jsonKind(raw))
	}
	return n, true, nil
}

// nevisStrings reads an optional array of strings; null counts as empty.
func nevisStrings(o object, field string) ([]string, error) {
	raw, ok := o[field]
	if !ok || string(raw) == "null" {
		return nil, nil
	}
	var out []string
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, nevisInvalid(field, "must be an array of strings")
	}
	return out, nil
}

// nevisPathVar reads a path variable. An extId that could not exist is not
// refused as bad input: it names a record that is not there, and the answer
// is the not-found sentence nevisIDM gives for it.
func nevisPathVar(r *http.Request, name string) string { return mux.Vars(r)[name] }

// Lists on this face page with continuation tokens: the token is opaque to
// the client and names the log position after which the next page starts,
// so a page never repeats or skips a record that was there all along,
// whatever is created or deleted between two calls.
const (
	nevisDefaultLimit = 100
	nevisMaxLimit     = 1000
)

type nevisPage struct {
	After uint64
	Limit int
}

// parseNevisPage reads continuationToken and limit and refuses any query
// parameter not in extra or the common ones.
func parseNevisPage(r *http.Request, extra ...string) (nevisPage, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nevisPage{}, nevisInvalid("query", "is not a valid query string: %v", err)
	}
	allowed := append([]string{"continuationToken", "limit", "consistency_token"}, extra...)
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Contains(allowed, k) {
			return nevisPage{}, nevisInvalid(k, "unknown query parameter (allowed: %s)", strings.Join(allowed, ", "))
		}
		if len(q[k]) > 1 {
			return nevisPage{}, nevisInvalid(k, "given more than once")
		}
	}
	p := nevisPage{Limit: nevisDefaultLimit}
	if v, ok := q["limit"]; ok {
		n, err := strconv.Atoi(v[0])
		if err != nil || n < 1 || n > nevisMaxLimit {
			return p, nevisInvalid("limit", "must be a whole number from 1 to %d", nevisMaxLimit)
		}
		p.Limit = n
	}
	if v, ok := q["continuationToken"]; ok {
		b, err := base64.RawURLEncoding.DecodeString(v[0])
		n, perr := strconv.ParseUint(strings.TrimPrefix(string(b), "after:"), 10, 64)
		if err != nil || perr != nil || !strings.HasPrefix(string(b), "after:") || n == 0 {
			return p, nevisInvalid("continuationToken", "must be a continuationToken from a previous page")
		}
		p.After = n
	}
	return p, nil
}

func continuationToken(after uint64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("after:" + strconv.FormatUint(after, 10)))
}

// nevisList is the list envelope of this face. ContinuationToken is null
// when the list ends with this page.
type nevisList[T any] struct {
	Items      []T             `json:"items"`
	Pagination nevisPagination `json:"_pagination"`
}

type nevisPagination struct {
	ContinuationToken *string `json:"continuationToken"`
	Limit             int     `json:"limit"`
}

// writeNevisList answers one page; last is the position to continue after
// when more follow.
func writeNevisList[T any](w http.ResponseWriter, items []T, p nevisPage, more bool, last uint64) {
	if items == nil {
		items = []T{}
	}
	var tok *string
	if more {
		t := continuationToken(last)
		tok = &t
	}
	writeJSON(w, http.StatusOK, nevisList[T]{Items: items, Pagination: nevisPagination{ContinuationToken: tok, Limit: p.Limit}})
}

// nevisVersionHeaders sets the positions of a mutation: ETag for the
// record's version (when it has one) and the consistency token.
func nevisVersionHeaders(w http.ResponseWriter, version, position uint64) {
	if version > 0 {
		w.Header().Set("ETag", etag(version))
	}
	w.Header().Set("X-Consistency-Token", strconv.FormatUint(position, 10))
}

// nevisTime renders a time as nevisIDM does: RFC 3339 in UTC.
func nevisTime(t time.Time) time.Time { return t.UTC() }
