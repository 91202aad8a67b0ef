package main

import (
	"net/http"
	"testing"
	"time"
)

// A caller of one tenant can neither read, list, count, change, delete nor
// learn of another tenant's records; the system admin creates tenants and
// their first credentials.
func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	requireStatus(t, m.c.do(t, "POST", "/api/v1/tenants", map[string]any{"ext_id": "acme", "display_name": "Acme"}), http.StatusCreated)
	requireNativeError(t, m.c.do(t, "POST", "/api/v1/tenants", map[string]any{"ext_id": "_sys", "display_name": "x"}),
		http.StatusBadRequest, "BAD_REQUEST", "ext_id")

	r := m.c.do(t, "POST", "/api/v1/service-users", map[string]any{"name": "acme-admin", "role": "admin", "tenant": "acme"})
	requireStatus(t, r, http.StatusCreated)
	acmeAdmin := decode[item[serviceUser]](t, r).Data
	r = m.c.do(t, "POST", "/api/v1/service-users/"+acmeAdmin.ID+"/tokens",
		map[string]any{"expires_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339), "tenant": "acme"})
	requireStatus(t, r, http.StatusCreated)
	acme := as(m.c, decode[item[issuedToken]](t, r).Data.Token)

	mine, _ := mustCreate(t, m.c, newIndividual("Default", "Person", "shared@example.test"))
	theirs, cr := mustCreate(t, acme, newIndividual("Acme", "Person", "shared@example.test")) // the same email is fine in another tenant

	// Acme sees only its own.
	l := decode[list[individual]](t, acme.do(t, "GET", "/api/v1/individuals?search=person", nil, "X-Consistency-Token", cr.header.Get("X-Consistency-Token")))
	if l.Meta.Pagination.TotalItems != 1 || l.Data[0].ID != theirs.ID {
		t.Fatalf("acme lists %d individuals (%+v), want only its own", l.Meta.Pagination.TotalItems, l.Data)
	}
	for _, c := range []struct{ method, path string }{
		{"GET", "/api/v1/individuals/" + mine.ID},
		{"GET", "/api/v1/individuals/" + mine.ID + "/history"},
		{"PATCH", "/api/v1/individuals/" + mine.ID},
		{"DELETE", "/api/v1/individuals/" + mine.ID},
		{"GET", "/api/v1/service-users/admin"},
	} {
		var body any
		if c.method == "PATCH" {
			body = map[string]any{"department": "stolen"}
		}
		r := acme.do(t, c.method, c.path, body)
		requireNativeError(t, r, http.StatusNotFound, "NOT_FOUND", "")
	}
	// A tenant admin is no system admin.
	requireNativeError(t, acme.do(t, "GET", "/api/v1/tenants", nil), http.StatusForbidden, "INSUFFICIENT_PERMISSIONS", "")
	requireNativeError(t, acme.do(t, "POST", "/api/v1/service-users", map[string]any{"name": "x", "role": "viewer", "tenant": "default"}),
		http.StatusForbidden, "INSUFFICIENT_PERMISSIONS", "")
	// And the default tenant's record is untouched.
	got, _ := mustGet(t, m.c, mine.ID, "")
	if got.Department.Set {
		t.Fatalf("another tenant changed the record: department %s", got.Department)
	}
}
