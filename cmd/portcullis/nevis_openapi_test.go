package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// specChecker validates real exchanges with the server against a face's
// OpenAPI document: every response's status must be documented for its
// route, and its headers and body must match the schema.
type specChecker struct {
	t      testing.TB
	c      *client
	router routers.Router
	base   string          // the face's base path, which the document's paths are under
	seen   map[string]bool // "METHOD template status" checked
}

func newSpecChecker(t testing.TB, m *testMain) *specChecker {
	t.Helper()
	return newFaceSpecChecker(t, m, "nevisidm.yaml", nevisPath)
}

// newFaceSpecChecker checks against docs/openapi/<file>, whose paths are
// under base.
func newFaceSpecChecker(t testing.TB, m *testMain, file, base string) *specChecker {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile("../../docs/openapi/" + file)
	if err != nil {
		t.Fatalf("load docs/openapi/%s: %v", file, err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("docs/openapi/%s is not a valid OpenAPI document: %v", file, err)
	}
	// The document names a relative server; the router matches absolute
	// URLs, so point it at this test's server.
	doc.Servers = openapi3.Servers{{URL: "http://" + m.HTTP.Addr() + base}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &specChecker{t: t, c: m.c, router: router, base: base, seen: map[string]bool{}}
}

// do sends one request with c (the checker's client when nil) and checks
// the response against the document; it returns the response.
func (s *specChecker) do(c *client, method, path string, body any, headers ...string) response {
	s.t.Helper()
	if c == nil {
		c = s.c
	}
	r := c.do(s.t, method, s.base+path, body, headers...)
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	default:
		raw, _ = json.Marshal(b)
	}
	req, err := http.NewRequest(method, "http://"+strings.TrimPrefix(c.base, "http://")+s.base+path, bytes.NewReader(raw))
	if err != nil {
		s.t.Fatal(err)
	}
	if raw != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	route, params, err := s.router.FindRoute(req)
	if err != nil {
		s.t.Fatalf("%s %s: no route in the OpenAPI document: %v", method, path, err)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}},
		Status: r.status, Header: r.header, Body: io.NopCloser(bytes.NewReader(r.body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		s.t.Fatalf("%s %s → %d does not match the OpenAPI document: %v\nbody: %s", method, path, r.status, err, clip(r.body))
	}
	s.seen[fmt.Sprintf("%s %s %d", method, route.Path, r.status)] = true
	return r
}

// Every route of the nevisIDM face, with its successes and its refusals,
// answers as docs/openapi/nevisidm.yaml says.
func TestNevisResponsesMatchOpenAPI(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	s := newSpecChecker(t, m)
	requireStatus(t, m.c.do(t, "POST", "/api/v1/tenants", map[string]any{"ext_id": "acme", "display_name": "Acme"}), http.StatusCreated)
	_, viewerTok := mustServiceUser(t, m.c, "spec-viewer", "viewer", time.Hour)
	viewer := as(m.c, viewerTok.Token)
	anon := as(m.c, "pcat_unknown")

	// Users.
	body := userBody("spec-user", "Ada", "Lovelace", "ada@spec.test")
	body["loginId"] = "ada"
	r := s.do(nil, "POST", "/default/users", body)
	requireStatus(t, r, http.StatusCreated)
	tok := r.header.Get("X-Consistency-Token")
	s.do(nil, "POST", "/default/users", userBody("spec-user", "Ada", "Again", ""))
	s.do(nil, "POST", "/default/users", `{"name":`)
	s.do(nil, "POST", "/acme/users", body)
	s.do(nil, "POST", "/nowhere/users", body)
	s.do(viewer, "POST", "/default/users", body)
	s.do(anon, "POST", "/default/users", body)
	r = s.do(nil, "GET", "/default/users/spec-user", nil, "X-Consistency-Token", tok)
	requireStatus(t, r, http.StatusOK)
	s.do(nil, "GET", "/default/users/nobody", nil)
	s.do(nil, "GET", "/default/users/spec-user?consistency_token=x", nil)
	pr := s.do(nil, "PATCH", "/default/users/spec-user", map[string]any{"userState": "locked", "contacts": map[string]any{"mobile": "+41 79"}},
		"If-Match", r.header.Get("ETag"))
	requireStatus(t, pr, http.StatusOK)
	s.do(nil, "PATCH", "/default/users/spec-user", map[string]any{"userState": "active"}, "If-Match", r.header.Get("ETag"))
	s.do(nil, "PATCH", "/default/users/spec-user", map[string]any{"extId": "other"})

	// Dispatch targets.
	r = s.do(nil, "POST", "/default/users/spec-user/dispatch-targets", targetBody("dt-1", true))
	requireStatus(t, r, http.StatusCreated)
	s.do(nil, "POST", "/default/users/spec-user/dispatch-targets", targetBody("dt-2", false))
	s.do(nil, "POST", "/default/users/spec-user/dispatch-targets", targetBody("dt-1", false))
	s.do(nil, "POST", "/default/users/spec-user/dispatch-targets", map[string]any{"name": "no device"})
	s.do(nil, "POST", "/default/users/nobody/dispatch-targets", targetBody("dt-1", false))
	tok = s.do(nil, "POST", "/default/users/spec-user/dispatch-targets", map[string]any{"deviceId": "d", "name": "generated extId"}).
		header.Get("X-Consistency-Token")
	page := s.do(nil, "GET", "/default/users/spec-user/dispatch-targets?limit=2", nil, "X-Consistency-Token", tok)
	next := decode[nevisPage[nevisDispatchTarget]](t, page).Pagination.ContinuationToken
	if next == nil {
		t.Fatal("no continuationToken on a first page of two out of three")
	}
	s.do(nil, "GET", "/default/users/spec-user/dispatch-targets?continuationToken="+*next, nil)
	s.do(nil, "GET", "/default/users/spec-user/dispatch-targets?limit=5000", nil)
	s.do(viewer, "GET", "/default/users/spec-user/dispatch-targets", nil)
	s.do(nil, "GET", "/default/users/spec-user/dispatch-targets/dt-1", nil)
	s.do(nil, "GET", "/default/users/spec-user/dispatch-targets/dt-404", nil)
	s.do(nil, "GET", "/acme/users/spec-user/dispatch-targets/dt-1", nil)

	// FIDO UAF credentials.
	s.do(nil, "POST", "/default/users/spec-user/fido-uaf-credentials", credentialBody("c1", "a2V5LTE", "dt-1", "dt-2"))
	s.do(nil, "POST", "/default/users/spec-user/fido-uaf-credentials", map[string]any{"aaid": "F1D0#0001", "keyId": "a2V5LTI",
		"authVersion": "1.0", "publicKeyAlgorithm": "ALG_KEY_COSE", "publicKey": testPublicKey})
	s.do(nil, "POST", "/default/users/spec-user/fido-uaf-credentials", credentialBody("c3", "a2V5LTE"))
	s.do(nil, "POST", "/default/users/spec-user/fido-uaf-credentials", credentialBody("c4", "a2V5LTQ", "dt-404"))
	s.do(nil, "POST", "/default/users/spec-user/fido-uaf-credentials", credentialBody("c5", "not base64!"))
	tok = s.do(nil, "GET", "/default/users/spec-user/fido-uaf-credentials/c1", nil).header.Get("ETag")
	s.do(nil, "GET", "/default/users/spec-user/fido-uaf-credentials?limit=1", nil, "X-Consistency-Token", strings.Trim(tok, `"`))
	s.do(nil, "GET", "/default/users/spec-user/fido-uaf-credentials/c404", nil)
	s.do(viewer, "DELETE", "/default/users/spec-user/fido-uaf-credentials/c1", nil)

	// The DELETE of the seed, with every status it lists.
	s.do(nil, "DELETE", "/client-123/users/spec-user/dispatch-targets/dt-1", nil)
	s.do(nil, "DELETE", "/default/users/user-123/dispatch-targets/dt-1", nil)
	s.do(nil, "DELETE", "/default/users/spec-user/dispatch-targets/dt-123", nil)
	s.do(viewer, "DELETE", "/default/users/spec-user/dispatch-targets/dt-1", nil)
	s.do(nil, "DELETE", "/acme/users/spec-user/dispatch-targets/dt-1", nil)
	s.do(anon, "DELETE", "/default/users/spec-user/dispatch-targets/dt-1", nil)
	s.do(as(m.c, ""), "DELETE", "/default/users/spec-user/dispatch-targets/dt-1", nil, "Authorization", "", "X-Token", "not-a-jwt")
	s.do(nil, "DELETE", "/default/users/spec-user/dispatch-targets/dt-1", nil, "If-Match", `"1"`)
	requireStatus(t, s.do(nil, "DELETE", "/default/users/spec-user/dispatch-targets/dt-1", nil), http.StatusNoContent)
	del := s.do(nil, "DELETE", "/default/users/spec-user/fido-uaf-credentials/c1", nil)
	requireStatus(t, del, http.StatusNoContent)

	// History, read at least as new as the last delete.
	r = s.do(nil, "GET", "/history/dispatch-targets?clientExtId=default&limit=3", nil,
		"X-Consistency-Token", del.header.Get("X-Consistency-Token"))
	requireStatus(t, r, http.StatusOK)
	cont := decode[nevisPage[nevisHistoryRow]](t, r).Pagination.ContinuationToken
	if cont == nil {
		t.Fatal("a first history page of 3 has no continuation token")
	}
	s.do(nil, "GET", "/history/dispatch-targets?clientExtId=default&continuationToken="+*cont, nil)
	s.do(nil, "GET", "/history/dispatch-targets", nil)
	s.do(nil, "GET", "/history/dispatch-targets?clientExtId=acme", nil)
	s.do(nil, "GET", "/history/dispatch-targets?clientExtId=nowhere", nil)
	s.do(viewer, "GET", "/history/dispatch-targets?clientExtId=default", nil)

	// The user goes, with everything it had.
	requireStatus(t, s.do(nil, "DELETE", "/default/users/spec-user", nil), http.StatusNoContent)
	s.do(nil, "DELETE", "/default/users/spec-user", nil)

	for _, want := range []string{
		"POST /{clientExtId}/users 201", "POST /{clientExtId}/users 400", "POST /{clientExtId}/users 401",
		"POST /{clientExtId}/users 403", "POST /{clientExtId}/users 404", "POST /{clientExtId}/users 409",
		"GET /{clientExtId}/users/{userExtId} 200", "PATCH /{clientExtId}/users/{userExtId} 412",
		"DELETE /{clientExtId}/users/{userExtId} 204", "DELETE /{clientExtId}/users/{userExtId} 404",
		"GET /{clientExtId}/users/{userExtId}/dispatch-targets 200",
		"DELETE /{clientExtId}/users/{userExtId}/dispatch-targets/{dispatchTargetExtId} 204",
		"DELETE /{clientExtId}/users/{userExtId}/dispatch-targets/{dispatchTargetExtId} 403",
		"DELETE /{clientExtId}/users/{userExtId}/dispatch-targets/{dispatchTargetExtId} 404",
		"DELETE /{clientExtId}/users/{userExtId}/dispatch-targets/{dispatchTargetExtId} 412",
		"DELETE /{clientExtId}/users/{userExtId}/dispatch-targets/{dispatchTargetExtId} 422",
		"POST /{clientExtId}/users/{userExtId}/fido-uaf-credentials 409",
		"GET /history/dispatch-targets 200", "GET /history/dispatch-targets 400",
	} {
		if !s.seen[want] {
			t.Errorf("the scenario never checked %s", want)
		}
	}
}
