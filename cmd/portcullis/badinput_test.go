package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/domain"
)

// Every kind of bad input gets the native error envelope with the right
// status and code and a msg that names the field, never a 500, and appends
// nothing to the log.
func TestBadInputAppendsNothing(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	ind, _ := mustCreate(t, m.c, newIndividual("Grace", "Hopper", "grace@example.test"))
	other, _ := mustCreate(t, m.c, newIndividual("Alan", "Turing", "alan@example.test"))
	one := "/api/v1/individuals/" + ind.ID
	huge := `{"first_name":"` + strings.Repeat("a", 1<<20) + `","last_name":"B"}`

	type badCase struct {
		name         string
		method, path string
		body         any
		headers      []string
		status       int
		code, field  string
	}
	bad := func(name, method, path string, body any, field string, headers ...string) badCase {
		return badCase{name, method, path, body, headers, http.StatusBadRequest, "BAD_REQUEST", field}
	}
	missing := func(name, method, path string, field string) badCase {
		return badCase{name, method, path, nil, nil, http.StatusNotFound, "NOT_FOUND", field}
	}
	cases := []badCase{
		// Create bodies.
		bad("malformed JSON", "POST", "/api/v1/individuals", `{"first_name": "A",`, "body"),
		bad("not JSON at all", "POST", "/api/v1/individuals", `first_name=A`, "body"),
		bad("array body", "POST", "/api/v1/individuals", `[{"first_name":"A"}]`, "body"),
		bad("null body", "POST", "/api/v1/individuals", `null`, "body"),
		bad("empty body", "POST", "/api/v1/individuals", ``, "body"),
		bad("trailing data", "POST", "/api/v1/individuals", `{"first_name":"A","last_name":"B"} {}`, "body"),
		bad("number for a string", "POST", "/api/v1/individuals", `{"first_name":5,"last_name":"B"}`, "first_name"),
		bad("boolean for email", "POST", "/api/v1/individuals", `{"first_name":"A","last_name":"B","email":true}`, "email"),
		bad("object for a string", "POST", "/api/v1/individuals", `{"first_name":{"x":1},"last_name":"B"}`, "first_name"),
		bad("unknown field", "POST", "/api/v1/individuals", `{"first_name":"A","last_name":"B","nickname":"C"}`, "nickname"),
		bad("unknown status", "POST", "/api/v1/individuals", `{"first_name":"A","last_name":"B","status":"zombie"}`, "status"),
		bad("null for a required field", "POST", "/api/v1/individuals", `{"first_name":null,"last_name":"B"}`, "first_name"),
		bad("missing last_name", "POST", "/api/v1/individuals", `{"first_name":"A"}`, "last_name"),
		bad("blank first_name", "POST", "/api/v1/individuals", `{"first_name":"   ","last_name":"B"}`, "first_name"),
		bad("too long first_name", "POST", "/api/v1/individuals", `{"first_name":"`+strings.Repeat("x", 101)+`","last_name":"B"}`, "first_name"),
		bad("invalid email", "POST", "/api/v1/individuals", `{"first_name":"A","last_name":"B","email":"not-an-email"}`, "email"),
		bad("invalid ext_id", "POST", "/api/v1/individuals", `{"first_name":"A","last_name":"B","ext_id":"a.b c"}`, "ext_id"),
		bad("oversize body", "POST", "/api/v1/individuals", huge, "body"),
		bad("oversize body with an idempotency key", "POST", "/api/v1/individuals", huge, "body", "Idempotency-Key", "big-1"),
		bad("oversize idempotency key", "POST", "/api/v1/individuals", newIndividual("A", "B", ""), "Idempotency-Key",
			"Idempotency-Key", strings.Repeat("k", 256)),

		// List parameters.
		bad("page zero", "GET", "/api/v1/individuals?page=0", nil, "page"),
		bad("page not a number", "GET", "/api/v1/individuals?page=two", nil, "page"),
		bad("page given twice", "GET", "/api/v1/individuals?page=1&page=2", nil, "page"),
		bad("limit zero", "GET", "/api/v1/individuals?limit=0", nil, "limit"),
		bad("limit over 100", "GET", "/api/v1/individuals?limit=101", nil, "limit"),
		bad("order by unknown field", "GET", "/api/v1/individuals?order=shoe_size.asc", nil, "order"),
		bad("order without direction", "GET", "/api/v1/individuals?order=first_name", nil, "order"),
		bad("order with bad direction", "GET", "/api/v1/individuals?order=first_name.up", nil, "order"),
		bad("order naming a field twice", "GET", "/api/v1/individuals?order=first_name.asc,first_name.desc", nil, "order"),
		bad("unknown query parameter", "GET", "/api/v1/individuals?colour=red", nil, "colour"),
		bad("unknown status filter", "GET", "/api/v1/individuals?status=zombie", nil, "status"),
		bad("history page zero", "GET", one+"/history?page=0", nil, "page"),
		bad("history order", "GET", one+"/history?order=created_at.asc", nil, "order"),

		// Consistency tokens.
		bad("consistency token not a number", "GET", "/api/v1/individuals?consistency_token=abc", nil, "consistency_token"),
		bad("negative consistency token header", "GET", one, nil, "X-Consistency-Token", "X-Consistency-Token", "-1"),
		bad("consistency token beyond the log", "GET", "/api/v1/individuals?consistency_token=987654321", nil, "consistency_token"),
		bad("consistency token header beyond the log", "GET", one+"/history", nil, "X-Consistency-Token",
			"X-Consistency-Token", "18446744073709551615"),

		// Ids.
		bad("id with a dot", "GET", "/api/v1/individuals/bad.id", nil, "id"),
		bad("id too long", "GET", "/api/v1/individuals/"+strings.Repeat("a", 65), nil, "id"),
		bad("id with a wildcard on PATCH", "PATCH", "/api/v1/individuals/a*b", `{"department":"x"}`, "id"),
		bad("id with a space on DELETE", "DELETE", "/api/v1/individuals/a%20b", nil, "id"),
		bad("history of a bad id", "GET", "/api/v1/individuals/a.b/history", nil, "id"),
		missing("unknown id", "GET", "/api/v1/individuals/no-such-individual", "no-such-individual"),
		{"PATCH of an unknown id", "PATCH", "/api/v1/individuals/no-such-individual", `{"department":"x"}`, nil,
			http.StatusNotFound, "NOT_FOUND", "no-such-individual"},
		missing("DELETE of an unknown id", "DELETE", "/api/v1/individuals/no-such-individual", "no-such-individual"),
		missing("history of an unknown id", "GET", "/api/v1/individuals/no-such-individual/history", "no-such-individual"),
		missing("unknown route", "GET", "/api/v1/no-such-resource", "/api/v1/no-such-resource"),

		// Patches.
		bad("PATCH malformed JSON", "PATCH", one, `{"department":`, "body"),
		bad("PATCH ext_id", "PATCH", one, `{"ext_id":"new-ext"}`, "ext_id"),
		bad("PATCH unknown status", "PATCH", one, `{"status":"retired"}`, "status"),
		bad("PATCH number for department", "PATCH", one, `{"department":7}`, "department"),
		bad("PATCH unknown field", "PATCH", one, `{"favourite_door":"north"}`, "favourite_door"),
		bad("PATCH null last_name", "PATCH", one, `{"last_name":null}`, "last_name"),
		bad("PATCH invalid email", "PATCH", one, `{"email":"@@"}`, "email"),
		bad("PATCH oversize body", "PATCH", one, huge, "body"),
		bad("If-Match without quotes", "PATCH", one, `{"department":"x"}`, "If-Match", "If-Match", "42"),
		bad("If-Match not a version", "PATCH", one, `{"department":"x"}`, "If-Match", "If-Match", `"abc"`),
		bad("If-Match on DELETE", "DELETE", one, nil, "If-Match", "If-Match", `W/"x"`),
		bad("method not allowed", "PUT", one, `{"department":"x"}`, "PUT"),
		{"PATCH to another's email", "PATCH", one, map[string]any{"email": "ALAN@example.test"}, nil,
			http.StatusConflict, "CONFLICT", "email"},
		{"no token", "POST", "/api/v1/individuals", newIndividual("A", "B", ""), []string{"Authorization", ""},
			http.StatusUnauthorized, "UNAUTHORIZED", ""},
	}

	before := lastSeq(t, m)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := m.c.do(t, tc.method, tc.path, tc.body, tc.headers...)
			requireNativeError(t, r, tc.status, tc.code, tc.field)
			requireEqual(t, "stream position after the request", lastSeq(t, m), before)
		})
	}

	// A wrong token is refused and leaves one trace: an auth.failed event on
	// the system record (the token names no tenant), nothing else.
	requireNativeError(t, m.c.do(t, "DELETE", one, nil, "Authorization", "Token nope"), http.StatusUnauthorized, "UNAUTHORIZED", "")
	deadline := time.Now().Add(10 * time.Second)
	for lastSeq(t, m) == before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	requireEqual(t, "events after a wrong token", lastSeq(t, m), before+1)
	failed, last, err := m.Store.Load(t.Context(), domain.SystemTenant, domain.Ref{Type: domain.AggregateAuthFailures, ID: domain.AuthFailuresID})
	if err != nil || last != before+1 || len(failed) != 1 || failed[0].Type != domain.TypeAuthFailed {
		t.Fatalf("the event after a wrong token: %d events, last %d, err %v; want one auth.failed at %d", len(failed), last, err, before+1)
	}

	// A method the path does not take names the ones it does.
	r := m.c.do(t, "PUT", one, `{"department":"x"}`)
	requireEqual(t, "Allow of PUT "+one, r.header.Get("Allow"), "GET, PATCH, DELETE")

	// The records are as they were.
	got, _ := mustGet(t, m.c, ind.ID, "")
	requireEqual(t, "individual after bad input", got, ind)
	got, _ = mustGet(t, m.c, other.ID, "")
	requireEqual(t, "other individual after bad input", got, other)
	r = m.c.do(t, "GET", "/api/v1/individuals", nil)
	requireEqual(t, "individuals after bad input", decode[list[individual]](t, r).Meta.Pagination.TotalItems, 2)
}
