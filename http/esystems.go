package http

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/portcullis/portcullis/domain"
)

// The eSystems face: AccessHub REST under esBase, PascalCase JSON, errors as
// {"Errors":[…],"Type","Title","StatusCode","Instance","RequestKey"}
// (writeESystemsError in error.go). The tenant is the caller's, from its
// token; another tenant's records are simply not there (404).

// esBase is where the eSystems face lives.
const esBase = "/Endpoint/rest/api/v1"

// isESystemsRequest reports whether r is on the eSystems face, so that
// errors raised by middleware shared with other faces take its envelope.
func isESystemsRequest(r *http.Request) bool {
	return r.URL.Path == esBase || strings.HasPrefix(r.URL.Path, esBase+"/")
}

// registerESystemsRoutes mounts the eSystems face on the root router. Its
// routes match the escaped path, so that an id with an escaped "/" (%2F,
// as base64 ids may carry) stays one path segment; esPathValue unescapes.
func (s *Server) registerESystemsRoutes(root *mux.Router) {
	r := root.PathPrefix(esBase).Subrouter()
	r.UseEncodedPath()
	r.Use(s.withBodyLimit, s.withESystemsAuth, s.withCallerLimit, s.withConsistency, s.withIdempotency)
	s.registerESystemsAccessGroupRoutes(r)
	s.registerESystemsPermissionRoutes(r)
}

// eSystems scopes by operation: either family (AccessManager, AccessUser)
// grants it.
var (
	esRead   = []string{"AccessManager:Read", "AccessUser:Read"}
	esCreate = []string{"AccessManager:Create", "AccessUser:Create"}
	esUpdate = []string{"AccessManager:Update", "AccessUser:Update"}
	esDelete = []string{"AccessManager:Delete", "AccessUser:Delete"}
)

// withESystemsAuth authenticates every eSystems request with the schemes
// every face shares (Bearer access tokens, PATs); a failure is 401 in this
// face's envelope. X-Token alone is refused: it names a person acting on
// their own records, and this face has none.
func (s *Server) withESystemsAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			s.writeESystemsError(w, r, domain.Errorf(domain.CodeUnauthorized,
				"The session Id or OAuth token used has expired or is invalid: send Authorization: Bearer <access token from /oAuth/rest/v2/Token>"))
			return
		}
		p, err := s.authenticate(r)
		if err != nil {
			s.writeESystemsError(w, r, err)
			return
		}
		next.ServeHTTP(w, withPrincipal(r, p))
	})
}

// esystems adapts a handler to the eSystems face: the caller must hold one
// of scopes, and the handler's error becomes this face's envelope.
func (s *Server) esystems(scopes []string, h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var err error
		if !domain.Can(caller(r.Context()).Permissions, scopes...) {
			err = domain.Errorf(domain.CodeInsufficientPermissions,
				"The user does not have access to execute operation: it needs the scope %s", strings.Join(scopes, " or "))
		} else {
			err = h(w, r)
		}
		if err != nil {
			s.writeESystemsError(w, r, err)
		}
	}
}

// esPathValue reads the path variable name. A value "base64|<standard
// base64>" is decoded, so that any text can name a record in a path.
func esPathValue(r *http.Request, name string) (string, error) {
	raw := mux.Vars(r)[name]
	v, err := url.PathUnescape(raw)
	if err != nil {
		return "", domain.Invalid(name, "is not a valid path segment")
	}
	if rest, ok := strings.CutPrefix(v, "base64|"); ok {
		b, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			if b, err = base64.RawStdEncoding.DecodeString(rest); err != nil {
				return "", domain.Invalid(name, "base64|… must carry standard base64, e.g. base64|bmFtZUBkb21haW4uY29t")
			}
		}
		v = string(b)
	}
	if v == "" {
		return "", domain.Invalid(name, "must not be empty")
	}
	return v, nil
}

// esMatchField reads the query parameter param (Name or SubName): the field
// a path id is matched on, Id when empty, one of allowed (any case).
func esMatchField(r *http.Request, param string, allowed []string) (string, error) {
	q := r.URL.Query()
	if len(q[param]) > 1 {
		return "", domain.Invalid(param, "given more than once")
	}
	v := strings.TrimSpace(q.Get(param))
	if v == "" {
		return "Id", nil
	}
	for _, a := range allowed {
		if strings.EqualFold(a, v) {
			return a, nil
		}
	}
	return "", domain.Invalid(param, "cannot match on %q (allowed: %s)", v, strings.Join(allowed, ", "))
}

// esEquals is the filter "field = value", checked against schema: a value
// that cannot be a value of the field (an Id that is no number) is bad
// input naming param.
func esEquals(schema domain.Schema, field, value, param string) (domain.Query, error) {
	q := domain.Query{Filter: &domain.Comparison{Path: domain.SplitFieldPath(field), Op: domain.OpEq, Values: []string{value}}}
	if err := q.Validate(schema); err != nil {
		return q, domain.Invalid(param, "%q cannot be a value of %s", value, field)
	}
	return q, nil
}

// esCheckQuery refuses query parameters other than allowed (and the
// consistency token every read takes), and repeated ones.
func esCheckQuery(r *http.Request, allowed ...string) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, domain.Invalid("query", "is not a valid query string")
	}
	allowed = append(allowed, "consistency_token")
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Contains(allowed, k) {
			return nil, domain.Invalid(k, "unknown query parameter (allowed: %s)", strings.Join(allowed, ", "))
		}
		if len(q[k]) > 1 {
			return nil, domain.Invalid(k, "given more than once")
		}
	}
	return q, nil
}

// Lists on this face: CurrentPage from 1, PageSize 1–1000 (default 50).
const (
	esDefaultPageSize = 50
	esMaxPageSize     = 1000
	esMaxPage         = 1_000_000
)

// esListParams are a list request's page and query.
type esListParams struct {
	page  domain.Page
	query domain.Query
}

// parseESystemsList reads CurrentPage, PageSize, Filters, Orders and Fields,
// checks the query against schema, and refuses any other parameter but
// extra.
func parseESystemsList(r *http.Request, schema domain.Schema, extra ...string) (esListParams, error) {
	q, err := esCheckQuery(r, append([]string{"CurrentPage", "PageSize", "Filters", "Orders", "Fields"}, extra...)...)
	if err != nil {
		return esListParams{}, err
	}
	p := esListParams{page: domain.Page{Page: 1, Limit: esDefaultPageSize}}
	if v, ok := q["CurrentPage"]; ok {
		if p.page.Page, err = strconv.Atoi(v[0]); err != nil || p.page.Page < 1 || p.page.Page > esMaxPage {
			return p, domain.Invalid("CurrentPage", "must be a whole number from 1 to %d", esMaxPage)
		}
	}
	if v, ok := q["PageSize"]; ok {
		if p.page.Limit, err = strconv.Atoi(v[0]); err != nil || p.page.Limit < 1 || p.page.Limit > esMaxPageSize {
			return p, domain.Invalid("PageSize", "must be a whole number from 1 to %d", esMaxPageSize)
		}
	}
	if p.query, err = parseESystemsQuery(q.Get("Filters"), q.Get("Orders"), q.Get("Fields")); err != nil {
		return p, err
	}
	return p, p.query.Validate(schema)
}

type esListMeta struct {
	TotalItems  int    `json:"TotalItems"`
	CurrentPage int    `json:"CurrentPage"`
	PageSize    int    `json:"PageSize"`
	Type        string `json:"Type"`
}

type esList struct {
	Meta esListMeta `json:"Meta"`
	Data []any      `json:"Data"`
}

// writeESystemsList answers one page of a list of typ, each item cut down
// to the query's Fields when it names any.
func writeESystemsList[T any](w http.ResponseWriter, typ string, items []T, p esListParams, total int) error {
	data := make([]any, len(items))
	for i, it := range items {
		if p.query.Fields == nil {
			data[i] = it
			continue
		}
		v, err := esProject(it, p.query.Fields)
		if err != nil {
			return err
		}
		data[i] = v
	}
	writeJSON(w, http.StatusOK, esList{Meta: esListMeta{TotalItems: total, CurrentPage: p.page.Page,
		PageSize: p.page.Limit, Type: typ}, Data: data})
	return nil
}

// esProject keeps only the fields of item that paths name; a path into a
// nested object keeps that part of it.
func esProject(item any, paths []domain.FieldPath) (map[string]any, error) {
	b, err := json.Marshal(item)
	if err != nil {
		return nil, err
	}
	var full map[string]any
	if err := json.Unmarshal(b, &full); err != nil {
		return nil, err
	}
	out := map[string]any{}
	for _, p := range paths {
		src, dst := full, out
		for i, seg := range p {
			v, ok := src[seg]
			if !ok {
				break
			}
			if i == len(p)-1 {
				dst[seg] = v
				break
			}
			sub, ok := v.(map[string]any)
			if !ok {
				dst[seg] = v
				break
			}
			next, ok := dst[seg].(map[string]any)
			if !ok {
				next = map[string]any{}
				dst[seg] = next
			}
			src, dst = sub, next
		}
	}
	return out, nil
}

// esBody reads a request body as one JSON object whose fields are among
// allowed.
func esBody(r *http.Request, allowed ...string) (object, error) {
	obj, err := decodeObject(r)
	if err != nil {
		return nil, err
	}
	return obj, obj.only(allowed...)
}

// esArray reads a request body as a JSON array of objects.
func esArray(r *http.Request) ([]object, error) {
	data, err := io.ReadAll(r.Body)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, domain.Invalid("body", "request body exceeds %d bytes", tooBig.Limit)
	}
	if err != nil {
		return nil, domain.Invalid("body", "could not read the request body")
	}
	var raw []json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&raw); err != nil || raw == nil {
		return nil, domain.Invalid("body", "must be a JSON array of Permission records")
	}
	if dec.More() {
		return nil, domain.Invalid("body", "unexpected data after the JSON array")
	}
	out := make([]object, len(raw))
	for i, item := range raw {
		if err := json.Unmarshal(item, &out[i]); err != nil || out[i] == nil {
			return nil, domain.Invalid(fmt.Sprintf("[%d]", i), "must be a JSON object, not %s", jsonKind(item))
		}
	}
	return out, nil
}

// esBool reads an optional boolean field; null counts as absent.
func esBool(o object, field string) (*bool, error) {
	raw, ok := o[field]
	if !ok || string(raw) == "null" {
		return nil, nil
	}
	var b bool
	if err := json.Unmarshal(raw, &b); err != nil {
		return nil, domain.Invalid(field, "must be true or false, not %s", jsonKind(raw))
	}
	return &b, nil
}

// esMutation sets the positions of a mutation's answer: ETag for the
// record's version and the consistency token.
func esMutation(w http.ResponseWriter, version, position uint64) {
	if version > 0 {
		w.Header().Set("ETag", etag(version))
	}
	w.Header().Set("X-Consistency-Token", strconv.FormatUint(position, 10))
}

// esText renders an optional text as null when blank.
func esText(s string) *string { return nullable(s) }

// esTime renders a time as the face does: RFC 3339 in UTC.
func esTime(t time.Time) time.Time { return t.UTC() }

// esInvalidItem places a bad-input error of a list item under its index.
func esInvalidItem(err error, prefix string) error {
	var e *domain.Error
	if prefix == "" || !errors.As(err, &e) || e.Field == "" {
		return err
	}
	out := *e
	out.Field = prefix + "." + e.Field
	return &out
}
