package main

import (
	"net/http"
	"strings"
	"testing"
)

// Every native code the contract names has its Problem/Solution page at the
// address the error envelope links to, as a page and as JSON, with the
// status the envelope is sent with; an unknown code is a native 404.
func TestErrorDocs(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	anon := &client{base: m.c.base, hc: m.c.hc}
	statuses := map[string]int{
		"BAD_REQUEST": 400, "UNAUTHORIZED": 401, "FORBIDDEN": 403, "INSUFFICIENT_PERMISSIONS": 403,
		"NOT_FOUND": 404, "CONFLICT": 409, "DELETE_PROTECTED": 409, "DISABLED": 409, "EXPIRED": 410,
		"PRECONDITION_FAILED": 412, "TOO_MANY_REQUESTS": 429, "SERVICE_UNAVAILABLE": 503, "INTERNAL_SERVER_ERROR": 500,
	}
	type doc struct {
		Code     string `json:"code"`
		Status   int    `json:"status"`
		Title    string `json:"title"`
		Problem  string `json:"problem"`
		Solution string `json:"solution"`
	}
	for code, status := range statuses {
		r := anon.do(t, "GET", "/docs/errors/"+code, nil)
		requireStatus(t, r, http.StatusOK)
		page := string(r.body)
		if !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") || !strings.Contains(page, "<h2>Problem</h2>") ||
			!strings.Contains(page, "<h2>Solution</h2>") || !strings.Contains(page, code) {
			t.Fatalf("%s: not a Problem/Solution page: %s", code, clip(r.body))
		}
		d := decode[item[doc]](t, anon.do(t, "GET", "/docs/errors/"+code, nil, "Accept", "application/json")).Data
		if d.Code != code || d.Status != status || d.Problem == "" || d.Solution == "" || d.Title == "" {
			t.Fatalf("%s: got %+v, want status %d and every text", code, d, status)
		}
	}
	all := decode[item[[]doc]](t, anon.do(t, "GET", "/docs/errors?format=json", nil)).Data
	requireEqual(t, "codes on the index", len(all), len(statuses))

	requireNativeError(t, anon.do(t, "GET", "/docs/errors/NO_SUCH_CODE", nil), http.StatusNotFound, "NOT_FOUND", "NO_SUCH_CODE")

	// The link in a real envelope leads to its page.
	r := anon.do(t, "GET", "/api/v1/individuals", nil)
	e := decode[nativeError](t, r)
	requireStatus(t, anon.do(t, "GET", e.Error.Docs, nil), http.StatusOK)
}
