package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// The native face is proven against docs/openapi/native.yaml by every
// end-to-end test: client.try hands each answer to a /api/v1/… or
// /docs/errors… request to checkNativeResponse, which validates it when the
// document has a route for it (and that a request it refuses did not
// succeed). TestNativeOpenAPICoversEveryRoute keeps the
// document and the router in step, so no route escapes the check for long.

// nativeSpecFile is the document, relative to this package.
const nativeSpecFile = "../../docs/openapi/native.yaml"

// nativeSpec is the loaded document and its router.
type nativeSpec struct {
	doc    *openapi3.T
	router routers.Router
}

// loadNativeSpec is loaded once per test binary: every response of every
// test is checked against the same router.
var loadNativeSpec = sync.OnceValues(func() (*nativeSpec, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(nativeSpecFile)
	if err != nil {
		return nil, fmt.Errorf("load docs/openapi/native.yaml: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("docs/openapi/native.yaml is not a valid OpenAPI document: %w", err)
	}
	// An NDJSON body is checked line by line, as the array of its lines; a
	// stream of events (of which the client keeps the first line) as text.
	if openapi3filter.RegisteredBodyDecoder(ndjson) == nil {
		openapi3filter.RegisterBodyDecoder(ndjson, decodeNDJSON)
	}
	if openapi3filter.RegisteredBodyDecoder(eventStream) == nil {
		openapi3filter.RegisterBodyDecoder(eventStream, openapi3filter.PlainBodyDecoder)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("docs/openapi/native.yaml: %w", err)
	}
	return &nativeSpec{doc: doc, router: router}, nil
})

const (
	ndjson      = "application/x-ndjson"
	eventStream = "text/event-stream"
)

// decodeNDJSON reads newline-delimited JSON as the array of its values.
func decodeNDJSON(body io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
	out := []any{}
	dec := json.NewDecoder(body)
	dec.UseNumber()
	for {
		var v any
		if err := dec.Decode(&v); err == io.EOF {
			return out, nil
		} else if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
}

// isNativePath reports whether a request path belongs to the native face.
func isNativePath(path string) bool {
	return strings.HasPrefix(path, "/api/v1/") || path == "/docs/errors" || strings.HasPrefix(path, "/docs/errors/")
}

// nativeCodeStatus is the contract's status of each native error code.
var nativeCodeStatus = map[string]int{
	"BAD_REQUEST": 400, "UNAUTHORIZED": 401, "FORBIDDEN": 403, "INSUFFICIENT_PERMISSIONS": 403,
	"NOT_FOUND": 404, "CONFLICT": 409, "DELETE_PROTECTED": 409, "DISABLED": 409, "EXPIRED": 410,
	"PRECONDITION_FAILED": 412, "TOO_MANY_REQUESTS": 429, "SERVICE_UNAVAILABLE": 503, "INTERNAL_SERVER_ERROR": 500,
}

// checkNativeResponse validates one answer of the native face against
// docs/openapi/native.yaml, and the rules of the contract no schema can
// say: every answer has X-Request-Id, an error's req_id is it, its docs link
// and status are its code's, 429 and 503 say when to retry. A request the
// document has no route for (or not with this method) is checked only if it
// was refused: every refusal of the face is the native error envelope,
// whatever the route. The error says what differs, with the body.
func checkNativeResponse(req *http.Request, body []byte, r response) error {
	if !isNativePath(req.URL.Path) || req.Method == http.MethodHead {
		return nil
	}
	spec, err := loadNativeSpec()
	if err != nil {
		return err
	}
	route, params, routeErr := spec.router.FindRoute(req)
	if routeErr != nil && r.status < 400 {
		return nil
	}
	where := "no documented route"
	if routeErr == nil {
		where = route.Method + " " + route.Path
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%s %s → %d does not match docs/openapi/native.yaml (%s): %s\nbody: %s",
			req.Method, req.URL.RequestURI(), r.status, where, fmt.Sprintf(format, args...), clip(r.body))
	}
	if routeErr == nil {
		in := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
				Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}},
			Status: r.status, Header: r.header, Body: io.NopCloser(bytes.NewReader(r.body)),
			Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
		}
		if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
			return fail("%v", err)
		}
		// A request the document calls invalid must not succeed: either the
		// document is too strict or the server too lenient.
		if r.status/100 == 2 {
			sent := req.Clone(context.Background())
			sent.Body = io.NopCloser(bytes.NewReader(body))
			in := &openapi3filter.RequestValidationInput{Request: sent, PathParams: params, Route: route,
				Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true, SkipSettingDefaults: true}}
			if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
				return fail("the server accepted a request the document refuses: %v\nrequest body: %s", err, clip(body))
			}
		}
	} else {
		var body any
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			return fail("an error sent as %q, not the native JSON envelope", ct)
		}
		if err := json.Unmarshal(r.body, &body); err != nil {
			return fail("an error that is not JSON: %v", err)
		}
		if err := spec.doc.Components.Schemas["Error"].Value.VisitJSON(body, openapi3.MultiErrors()); err != nil {
			return fail("an error that is not the native envelope (#/components/schemas/Error): %v", err)
		}
	}
	reqID := r.header.Get("X-Request-Id")
	if reqID == "" {
		return fail("no X-Request-Id")
	}
	if (r.status == http.StatusTooManyRequests || r.status == http.StatusServiceUnavailable) && r.header.Get("Retry-After") == "" {
		return fail("no Retry-After")
	}
	if r.status < 400 {
		return nil
	}
	var e nativeError
	if err := json.Unmarshal(r.body, &e); err != nil {
		return fail("an error that is not the native envelope: %v", err)
	}
	switch {
	case nativeCodeStatus[e.Error.Code] != r.status:
		return fail("code %s is sent with %d, not %d", e.Error.Code, nativeCodeStatus[e.Error.Code], r.status)
	case e.Error.Docs != "/docs/errors/"+e.Error.Code:
		return fail("error.docs %q is not /docs/errors/%s", e.Error.Docs, e.Error.Code)
	case e.Error.ReqID != reqID && r.header.Get("Idempotent-Replayed") != "true": // a replay is the first answer, verbatim
		return fail("error.req_id %q is not the X-Request-Id %q", e.Error.ReqID, reqID)
	}
	return nil
}

// templateParams matches the {name} or {name:pattern} of a path template.
var templateParams = regexp.MustCompile(`\{[^{}]*\}`)

// A request the document refuses (a field it does not have, a value
// outside its enum, a required field missing) must not be answered with
// success, and a valid one may be.
func TestNativeRequestCheckRefusesAcceptedMismatches(t *testing.T) {
	t.Parallel()
	ind := `{"id":"a","ext_id":"a","first_name":"Ada","last_name":"L","email":null,"mobile_phone":null,` +
		`"department":null,"status":"active","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}`
	created := response{status: 201, body: []byte(`{"msg":"individual created","data":` + ind + `}`), header: http.Header{
		"Content-Type": {"application/json"}, "X-Request-Id": {"req_1"}, "Location": {"/api/v1/individuals/a"},
		"Etag": {`"3"`}, "X-Consistency-Token": {"3"}}}
	for _, c := range []struct {
		name, body string
		ok         bool
	}{
		{"a valid body", `{"first_name":"Ada","last_name":"L","status":"suspended"}`, true},
		{"an unknown field", `{"first_name":"Ada","last_name":"L","colour":"red"}`, false},
		{"a value outside the enum", `{"first_name":"Ada","last_name":"L","status":"asleep"}`, false},
		{"a required field missing", `{"first_name":"Ada"}`, false},
	} {
		req, err := http.NewRequest("POST", "http://127.0.0.1:1/api/v1/individuals", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		err = checkNativeResponse(req, []byte(c.body), created)
		if (err == nil) != c.ok {
			t.Errorf("%s: got %v, want ok=%v", c.name, err, c.ok)
		}
	}
}

// Every native route the server answers is in docs/openapi/native.yaml, and
// every route there is one the server answers, so the response check in
// client.try cannot silently skip a route for long.
func TestNativeOpenAPICoversEveryRoute(t *testing.T) {
	t.Parallel()
	spec, err := loadNativeSpec()
	if err != nil {
		t.Fatal(err)
	}
	m := mustRunFresh(t)
	normal := func(method, path string) string { return method + " " + templateParams.ReplaceAllString(path, "{}") }

	served := map[string]string{}
	for _, r := range m.HTTP.Routes() {
		if isNativePath(r.Path) {
			served[normal(r.Method, r.Path)] = r.Method + " " + r.Path
		}
	}
	documented := map[string]string{}
	for path, item := range spec.doc.Paths.Map() {
		base := strings.TrimSuffix(spec.doc.Servers[0].URL, "/")
		if len(item.Servers) > 0 {
			base = strings.TrimSuffix(item.Servers[0].URL, "/")
		}
		for method := range item.Operations() {
			documented[normal(method, base+path)] = method + " " + base + path
		}
	}
	var missing, stale []string
	for k, route := range served {
		if _, ok := documented[k]; !ok {
			missing = append(missing, route)
		}
	}
	for k, route := range documented {
		if _, ok := served[k]; !ok {
			stale = append(stale, route)
		}
	}
	slices.Sort(missing)
	slices.Sort(stale)
	if len(missing) > 0 {
		t.Errorf("%d native routes are not in docs/openapi/native.yaml (so no test checks their answers); document them:\n  %s",
			len(missing), strings.Join(missing, "\n  "))
	}
	if len(stale) > 0 {
		t.Errorf("%d routes of docs/openapi/native.yaml are not served; remove or fix them:\n  %s",
			len(stale), strings.Join(stale, "\n  "))
	}
	if len(served) == 0 {
		t.Fatal("the server lists no native route")
	}
}

// The check in client.try catches what it is there for: a body that is not
// the documented shape, a list without its pagination, an error outside the
// envelope or with a req_id of another request, a missing header. Routes
// the document does not have are left alone.
func TestNativeResponseCheckRefusesMismatches(t *testing.T) {
	t.Parallel()
	json := http.Header{"Content-Type": {"application/json; charset=utf-8"}, "X-Request-Id": {"req_1"}}
	with := func(h http.Header, kv ...string) http.Header {
		h = h.Clone()
		for i := 0; i+1 < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	ind := `{"id":"a","ext_id":"a","first_name":"Ada","last_name":"L","email":null,"mobile_phone":null,` +
		`"department":null,"status":"active","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}`
	page := `{"current_count":1,"current_page":1,"per_page":10,"total_pages":1,"total_items":1}`
	errBody := func(code, reqID string) string {
		return `{"msg":"x","error":{"code":"` + code + `","docs":"/docs/errors/` + code + `","req_id":"` + reqID + `"}}`
	}
	for _, c := range []struct {
		name, method, path string
		status             int
		header             http.Header
		body               string
		ok                 bool
	}{
		{"an item", "GET", "/api/v1/individuals/a", 200, with(json, "ETag", `"3"`), `{"msg":"individual","data":` + ind + `}`, true},
		{"an item without its ETag", "GET", "/api/v1/individuals/a", 200, json, `{"msg":"individual","data":` + ind + `}`, false},
		{"a field too many", "GET", "/api/v1/individuals/a", 200, with(json, "ETag", `"3"`),
			`{"msg":"individual","data":` + strings.Replace(ind, `"id"`, `"colour":"red","id"`, 1) + `}`, false},
		{"null where no null is documented", "GET", "/api/v1/individuals/a", 200, with(json, "ETag", `"3"`),
			`{"msg":"individual","data":` + strings.Replace(ind, `"Ada"`, `null`, 1) + `}`, false},
		{"a list", "GET", "/api/v1/individuals?page=2", 200, json, `{"msg":"individuals","data":[` + ind + `],"meta":{"pagination":` + page + `}}`, true},
		{"a list without pagination", "GET", "/api/v1/individuals", 200, json, `{"msg":"individuals","data":[` + ind + `]}`, false},
		{"an error", "DELETE", "/api/v1/individuals/a", 404, json, errBody("NOT_FOUND", "req_1"), true},
		{"an error of another request", "DELETE", "/api/v1/individuals/a", 404, json, errBody("NOT_FOUND", "req_2"), false},
		{"an error with the wrong status", "DELETE", "/api/v1/individuals/a", 400, json, errBody("NOT_FOUND", "req_1"), false},
		{"an error outside the envelope", "GET", "/api/v1/individuals", 401, json, `{"errors":[{"code":"x","message":"y"}]}`, false},
		{"a throttle without Retry-After", "GET", "/api/v1/individuals", 429, json, errBody("TOO_MANY_REQUESTS", "req_1"), false},
		{"no X-Request-Id", "GET", "/docs/errors/NOT_FOUND", 200, http.Header{"Content-Type": {"text/html"}}, "<p>", false},
		{"an error page", "GET", "/docs/errors/NOT_FOUND", 200, with(json, "Content-Type", "text/html; charset=utf-8"), "<p>", true},
		{"a route the document lacks", "GET", "/api/v1/no-such-things", 200, json, `{}`, true},
		{"a refusal on a route the document lacks", "GET", "/api/v1/no-such-things", 404, json, errBody("NOT_FOUND", "req_1"), true},
		{"a refusal outside the envelope on a route the document lacks", "POST", "/api/v1/no-such-things", 400, json, `{"error":"bad"}`, false},
		{"a refusal of a method the document lacks", "PUT", "/api/v1/individuals/a", 400, json, `{"msg":"x"}`, false},
		{"another face", "GET", "/nevisidm/api/core/v1/default/users/a", 200, json, `{}`, true},
	} {
		req, err := http.NewRequest(c.method, "http://127.0.0.1:1"+c.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		err = checkNativeResponse(req, nil, response{status: c.status, header: c.header, body: []byte(c.body)})
		if (err == nil) != c.ok {
			t.Errorf("%s: got %v, want ok=%v", c.name, err, c.ok)
		}
	}
}

// The answers no other test asks for match the document too: built-in and
// custom roles, a service user's new role, an OAuth client read back, a
// taken tenant, an individual's own view through X-Token, the live feed's
// opening, the error pages, a page beyond the last.
func TestNativeResponsesMatchOpenAPI(t *testing.T) {
	t.Parallel()
	m, mb := runWithMailbox(t)
	c := m.c
	requireStatus(t, c.do(t, "GET", "/api/v1/roles/admin", nil), http.StatusOK)
	r := c.do(t, "POST", "/api/v1/roles", map[string]any{"name": "door-keeper", "permissions": []string{"spaces:read"}})
	requireStatus(t, r, http.StatusCreated)
	requireStatus(t, c.do(t, "GET", "/api/v1/roles/door-keeper", nil, "X-Consistency-Token", r.header.Get("X-Consistency-Token")), http.StatusOK)
	u, _ := mustServiceUser(t, c, "spec", "viewer", time.Hour)
	r = c.do(t, "PATCH", "/api/v1/service-users/"+u.ID, map[string]any{"role": "door-keeper"})
	requireStatus(t, r, http.StatusOK)
	requireStatus(t, c.do(t, "GET", "/api/v1/service-users/"+u.ID, nil, "X-Consistency-Token", r.header.Get("X-Consistency-Token")), http.StatusOK)
	r = c.do(t, "POST", "/api/v1/oauth-clients", map[string]any{"name": "spec", "role": "viewer", "scopes": []string{"spaces:read"}})
	requireStatus(t, r, http.StatusCreated)
	oc := decode[item[oauthClientCreated]](t, r).Data
	requireStatus(t, c.do(t, "GET", "/api/v1/oauth-clients/"+oc.ClientID, nil, "X-Consistency-Token", r.header.Get("X-Consistency-Token")), http.StatusOK)
	requireStatus(t, c.do(t, "POST", "/api/v1/tenants", map[string]any{"ext_id": "acme", "display_name": "Acme"}), http.StatusCreated)
	requireNativeError(t, c.do(t, "POST", "/api/v1/tenants", map[string]any{"ext_id": "acme", "display_name": "Acme"}),
		http.StatusConflict, "CONFLICT", "")

	ind, r := mustCreate(t, c, newIndividual("Ada", "Lovelace", "ada@spec.test"))
	waitFor(t, m, r.header.Get("X-Consistency-Token"))
	otp := "/api/v1/individuals/" + ind.ID + "/otp"
	requireStatus(t, c.do(t, "POST", otp, nil), http.StatusAccepted)
	r = c.do(t, "POST", otp+"/verify", map[string]any{"code": mb.nextCode(t)})
	requireStatus(t, r, http.StatusOK)
	tok := decode[item[struct {
		Token     string `json:"token"`
		TokenType string `json:"token_type"`
		ExpiresIn int    `json:"expires_in"`
	}]](t, r).Data.Token
	self := as(c, "")
	xs := func(method, path string) response {
		return self.do(t, method, path, nil, "Authorization", "", "X-Token", tok)
	}
	requireStatus(t, xs("GET", "/api/v1/permissions"), http.StatusOK)
	requireStatus(t, xs("GET", "/api/v1/individuals/"+ind.ID), http.StatusOK)
	requireStatus(t, xs("GET", "/api/v1/individuals/"+ind.ID+"/history"), http.StatusOK)
	requireNativeError(t, xs("GET", "/api/v1/individuals"), http.StatusForbidden, "INSUFFICIENT_PERMISSIONS", "")

	requireStatus(t, c.do(t, "GET", "/api/v1/events", nil), http.StatusOK)
	anon := as(c, "")
	requireStatus(t, anon.do(t, "GET", "/docs/errors", nil), http.StatusOK)
	requireStatus(t, anon.do(t, "GET", "/docs/errors/CONFLICT?format=json", nil), http.StatusOK)
	requireStatus(t, c.do(t, "GET", "/api/v1/individuals?page=9&limit=100", nil), http.StatusOK)
	requireNativeError(t, c.do(t, "GET", "/api/v1/individuals?consistency_token=999999999", nil), http.StatusBadRequest, "BAD_REQUEST", "consistency_token")
}

// BenchmarkCheckNativeResponse is what the check costs every request of the
// end-to-end tests: a list of ten individuals, found and validated.
func BenchmarkCheckNativeResponse(b *testing.B) {
	ind := `{"id":"a","ext_id":"a","first_name":"Ada","last_name":"L","email":null,"mobile_phone":null,` +
		`"department":null,"status":"active","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}`
	body := `{"msg":"individuals","data":[` + strings.Repeat(ind+",", 9) + ind + `],"meta":{"pagination":` +
		`{"current_count":10,"current_page":1,"per_page":10,"total_pages":1,"total_items":10}}}`
	r := response{status: 200, body: []byte(body), header: http.Header{
		"Content-Type": {"application/json"}, "X-Request-Id": {"req_1"}}}
	req, err := http.NewRequest("GET", "http://127.0.0.1:1/api/v1/individuals?limit=10", nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := checkNativeResponse(req, nil, r); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := checkNativeResponse(req, nil, r); err != nil {
			b.Fatal(err)
		}
	}
}
