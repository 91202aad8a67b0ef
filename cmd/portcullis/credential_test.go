package main

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis/domain"
)

// accessCredential is an access credential as the native face shows it.
type accessCredential struct {
	ID               string   `json:"id"`
	CredentialID     string   `json:"credential_id"`
	CredentialName   optional `json:"credential_name"`
	Type             string   `json:"type"`
	Status           string   `json:"status"`
	ValidFrom        optional `json:"valid_from"`
	ValidUntil       optional `json:"valid_until"`
	Source           string   `json:"source"`
	Counter          int      `json:"counter"`
	DeleteProtected  bool     `json:"delete_protected"`
	StatusAssignment string   `json:"status_assignment"`
	AssignedTo       optional `json:"assigned_to"`
	LinkedTo         []string `json:"linked_to"`
	DueDate          optional `json:"due_date"`
	DueReason        optional `json:"due_reason"`
	CreatedAt        string   `json:"created_at"`
	UpdatedAt        string   `json:"updated_at"`
}

// credentialVersion is one entry of a credential's history.
type credentialVersion struct {
	Version          uint64            `json:"version"`
	EventType        string            `json:"event_type"`
	Actor            string            `json:"actor"`
	RequestID        string            `json:"request_id"`
	OccurredAt       string            `json:"occurred_at"`
	ConsistencyToken string            `json:"consistency_token"`
	Data             *accessCredential `json:"data"`
}

// keyBody is a create body for a mechanical key with number n.
func keyBody(n string) map[string]any {
	return map[string]any{"credential_id": n, "credential_name": "Key " + n, "type": "mechanical_key"}
}

// mustAccessCredential creates an access credential.
func mustAccessCredential(t testing.TB, c *client, body any) (accessCredential, response) {
	t.Helper()
	r := c.do(t, "POST", "/api/v1/access-credentials", body)
	requireStatus(t, r, http.StatusCreated)
	return decode[item[accessCredential]](t, r).Data, r
}

// mustReadCredential reads one access credential after token.
func mustReadCredential(t testing.TB, c *client, id, token string) (accessCredential, response) {
	t.Helper()
	r := c.do(t, "GET", "/api/v1/access-credentials/"+id, nil, "X-Consistency-Token", token)
	requireStatus(t, r, http.StatusOK)
	return decode[item[accessCredential]](t, r).Data, r
}

// credentialHistory reads up to 100 versions of a credential.
func credentialHistory(t testing.TB, c *client, id, token string) []credentialVersion {
	t.Helper()
	r := c.do(t, "GET", "/api/v1/access-credentials/"+id+"/history?limit=100", nil, "X-Consistency-Token", token)
	requireStatus(t, r, http.StatusOK)
	return decode[list[credentialVersion]](t, r).Data
}

func eventTypes(h []credentialVersion) string {
	var out []string
	for _, v := range h {
		out = append(out, v.EventType)
	}
	return strings.Join(out, " ")
}

func requireDeepEqual(t testing.TB, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

// A credential's life through the real server: create, read, update with
// and without a current If-Match, status changes as their own events,
// delete protection, delete, and a history that tells it all.
func TestAccessCredentialLifecycle(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	body := map[string]any{"credential_id": " K-0001 ", "credential_name": "Main door key", "type": "mechanical_key",
		"valid_from": "2026-01-01T00:00:00+01:00", "valid_until": "2099-12-31T23:00:00Z", "source": "imported",
		"counter": 3, "delete_protected": true}
	cr, r := mustAccessCredential(t, m.c, body)
	requireEqual(t, "Location", r.header.Get("Location"), "/api/v1/access-credentials/"+cr.ID)
	requireEqual(t, "credential_id trimmed", cr.CredentialID, "K-0001")
	requireEqual(t, "valid_from in UTC", cr.ValidFrom.String(), "2025-12-31T23:00:00Z")
	requireEqual(t, "status default", cr.Status, "active")
	requireEqual(t, "status_assignment", cr.StatusAssignment, "available")
	requireEqual(t, "assigned_to", cr.AssignedTo.Set, false)
	requireDeepEqual(t, "linked_to", cr.LinkedTo, []string{})
	requireEqual(t, "counter", cr.Counter, 3)

	got, gr := mustReadCredential(t, m.c, cr.ID, r.header.Get("X-Consistency-Token"))
	requireDeepEqual(t, "GET after create", got, cr)
	requireEqual(t, "ETag", gr.header.Get("ETag"), r.header.Get("ETag"))

	// The moment after the creation, for reading as of it later.
	afterCreate := time.Now().UTC().Format(time.RFC3339Nano)
	time.Sleep(5 * time.Millisecond)

	// A stale If-Match is refused and changes nothing.
	r = m.c.do(t, "PATCH", "/api/v1/access-credentials/"+cr.ID, map[string]any{"credential_name": "x"}, "If-Match", `"1"`)
	requireNativeError(t, r, http.StatusPreconditionFailed, "PRECONDITION_FAILED", "If-Match")

	r = m.c.do(t, "PATCH", "/api/v1/access-credentials/"+cr.ID, map[string]any{"credential_name": "Front door",
		"status": "lost", "valid_until": nil}, "If-Match", gr.header.Get("ETag"))
	requireStatus(t, r, http.StatusOK)
	upd := decode[item[accessCredential]](t, r).Data
	requireEqual(t, "name", upd.CredentialName.String(), "Front door")
	requireEqual(t, "status", upd.Status, "lost")
	requireEqual(t, "valid_until cleared", upd.ValidUntil.Set, false)
	got, gr = mustReadCredential(t, m.c, cr.ID, r.header.Get("X-Consistency-Token"))
	requireDeepEqual(t, "GET after update", got, upd)
	requireEqual(t, "ETag after update", gr.header.Get("ETag"), r.header.Get("ETag"))

	// A PATCH that changes nothing appends nothing.
	before := lastSeq(t, m)
	r = m.c.do(t, "PATCH", "/api/v1/access-credentials/"+cr.ID, map[string]any{"status": "lost", "counter": 3})
	requireStatus(t, r, http.StatusOK)
	requireEqual(t, "events after a no-op PATCH", lastSeq(t, m), before)

	// Protected: refused; unprotected: deleted.
	r = m.c.do(t, "DELETE", "/api/v1/access-credentials/"+cr.ID, nil)
	requireNativeError(t, r, http.StatusConflict, "DELETE_PROTECTED", "K-0001")
	r = m.c.do(t, "PATCH", "/api/v1/access-credentials/"+cr.ID, map[string]any{"delete_protected": false, "status": "active"})
	requireStatus(t, r, http.StatusOK)
	r = m.c.do(t, "DELETE", "/api/v1/access-credentials/"+cr.ID, nil)
	requireStatus(t, r, http.StatusOK)
	token := r.header.Get("X-Consistency-Token")
	r = m.c.do(t, "GET", "/api/v1/access-credentials/"+cr.ID, nil, "X-Consistency-Token", token)
	requireNativeError(t, r, http.StatusNotFound, "NOT_FOUND", cr.ID)
	r = m.c.do(t, "DELETE", "/api/v1/access-credentials/"+cr.ID, nil)
	requireNativeError(t, r, http.StatusNotFound, "NOT_FOUND", cr.ID)

	// As of the moment after its creation, it is there as it was created.
	r = m.c.do(t, "GET", "/api/v1/access-credentials/"+cr.ID+"?as_of="+afterCreate, nil)
	requireStatus(t, r, http.StatusOK)
	requireDeepEqual(t, "as of its creation", decode[item[accessCredential]](t, r).Data, cr)
	r = m.c.do(t, "GET", "/api/v1/access-credentials?as_of="+afterCreate, nil)
	requireStatus(t, r, http.StatusOK)
	past := decode[list[accessCredential]](t, r)
	requireEqual(t, "list as of its creation", fmt.Sprint(past.Meta.Pagination.TotalItems, past.Data[0].CredentialName), "1 Main door key")

	h := credentialHistory(t, m.c, cr.ID, token)
	requireEqual(t, "history", eventTypes(h), "access_credential.created access_credential.updated "+
		"access_credential.status_changed access_credential.updated access_credential.status_changed access_credential.deleted")
	requireEqual(t, "deleted version has no data", h[len(h)-1].Data == nil, true)
	requireEqual(t, "lost in the history", h[2].Data.Status, "lost")

	// The number is free again once its credential is gone, in any case.
	again, _ := mustAccessCredential(t, m.c, keyBody("k-0001"))
	requireEqual(t, "number reused", again.CredentialID, "k-0001")
	r = m.c.do(t, "POST", "/api/v1/access-credentials", keyBody("K-0001"))
	requireNativeError(t, r, http.StatusConflict, "CONFLICT", "credential_id")
	r = m.c.do(t, "GET", "/api/v1/access-credentials/nope/history", nil)
	requireNativeError(t, r, http.StatusNotFound, "NOT_FOUND", "nope")
}

// 64 concurrent creates with one number (in varying case): exactly one is
// created, every other gets CONFLICT naming credential_id.
func TestConcurrentCredentialCreatesWithOneNumber(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	const n = 64
	results := make([]response, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			number := "CARD-7"
			if i%2 == 1 {
				number = "card-7"
			}
			results[i], errs[i] = m.c.try("POST", "/api/v1/access-credentials",
				map[string]any{"credential_id": number, "type": "card", "credential_name": fmt.Sprint("twin ", i)})
		})
	}
	wg.Wait()
	created, token := 0, "0"
	for i, r := range results {
		if errs[i] != nil {
			t.Fatalf("POST %d: %v", i, errs[i])
		}
		if r.status == http.StatusCreated {
			created++
			token = r.header.Get("X-Consistency-Token")
			continue
		}
		if err := checkNativeError(r, http.StatusConflict, "CONFLICT", "credential_id"); err != nil {
			t.Fatalf("POST %d: %v", i, err)
		}
	}
	requireEqual(t, "201 responses", created, 1)
	r := m.c.do(t, "GET", "/api/v1/access-credentials?search=card-7", nil, "X-Consistency-Token", token)
	requireStatus(t, r, http.StatusOK)
	requireEqual(t, "credentials with the number", decode[list[accessCredential]](t, r).Meta.Pagination.TotalItems, 1)
}

// Many concurrent assigns of one credential, to different people, through
// HTTP: exactly one wins; every other gets CONFLICT; the credential and the
// people agree on who holds it.
func TestConcurrentAssignsOfOneCredential(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	const people, n = 8, 48
	var inds []individual
	for i := range people {
		ind, _ := mustCreate(t, m.c, newIndividual(fmt.Sprint("P", i), "Racer", fmt.Sprintf("p%d@example.test", i)))
		inds = append(inds, ind)
	}
	cr, _ := mustAccessCredential(t, m.c, keyBody("RACE-1"))
	results := make([]response, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			results[i], errs[i] = m.c.try("POST", "/api/v1/access-credentials/assign",
				map[string]any{"credential_ids": []string{cr.ID}, "individual_id": inds[i%people].ID})
		})
	}
	wg.Wait()
	winner, token := -1, "0"
	for i, r := range results {
		if errs[i] != nil {
			t.Fatalf("assign %d: %v", i, errs[i])
		}
		if r.status == http.StatusOK {
			if winner >= 0 {
				t.Fatalf("assigns %d and %d both won", winner, i)
			}
			winner, token = i, r.header.Get("X-Consistency-Token")
			continue
		}
		if err := checkNativeError(r, http.StatusConflict, "CONFLICT", "RACE-1"); err != nil {
			t.Fatalf("assign %d: %v", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no assign won")
	}
	holder := inds[winner%people].ID
	got, _ := mustReadCredential(t, m.c, cr.ID, token)
	requireEqual(t, "holder", got.AssignedTo.String(), holder)
	requireEqual(t, "versions of the credential", len(credentialHistory(t, m.c, cr.ID, token)), 2)
	for _, ind := range inds {
		events, _, err := m.Store.Load(context.Background(), domain.DefaultTenant, domain.Ref{Type: domain.AggregateIndividual, ID: ind.ID})
		if err != nil {
			t.Fatal(err)
		}
		want := 1
		if ind.ID == holder {
			want = 2
		}
		requireEqual(t, "events of "+ind.FirstName, len(events), want)
	}
}

// Bad input on every credential write names its field and appends nothing.
func TestCredentialBadInput(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	cr, _ := mustAccessCredential(t, m.c, keyBody("B-1"))
	one := "/api/v1/access-credentials/" + cr.ID
	cases := []struct {
		method, path string
		body         any
		field        string
	}{
		{"POST", "/api/v1/access-credentials", map[string]any{"type": "card"}, "credential_id"},
		{"POST", "/api/v1/access-credentials", map[string]any{"credential_id": "X"}, "type"},
		{"POST", "/api/v1/access-credentials", map[string]any{"credential_id": "X", "type": "badge"}, "type"},
		{"POST", "/api/v1/access-credentials", map[string]any{"credential_id": 7, "type": "card"}, "credential_id"},
		{"POST", "/api/v1/access-credentials", map[string]any{"credential_id": "X", "type": "card", "colour": "red"}, "colour"},
		{"POST", "/api/v1/access-credentials", map[string]any{"credential_id": "X", "type": "card", "status": nil}, "status"},
		{"POST", "/api/v1/access-credentials", map[string]any{"credential_id": "X", "type": "card", "status": "gone"}, "status"},
		{"POST", "/api/v1/access-credentials", map[string]any{"credential_id": "X", "type": "card", "source": "scan"}, "source"},
		{"POST", "/api/v1/access-credentials", map[string]any{"credential_id": "X", "type": "card", "counter": 1.5}, "counter"},
		{"POST", "/api/v1/access-credentials", map[string]any{"credential_id": "X", "type": "card", "counter": -1}, "counter"},
		{"POST", "/api/v1/access-credentials", map[string]any{"credential_id": "X", "type": "card", "delete_protected": "yes"}, "delete_protected"},
		{"POST", "/api/v1/access-credentials", map[string]any{"credential_id": "X", "type": "card", "valid_from": "2026-13-01"}, "valid_from"},
		{"POST", "/api/v1/access-credentials", map[string]any{"credential_id": "X", "type": "card",
			"valid_from": "2026-02-01T00:00:00Z", "valid_until": "2026-01-01T00:00:00Z"}, "valid_until"},
		{"POST", "/api/v1/access-credentials", map[string]any{"credential_id": "X", "type": "card", "status_assignment": "assigned"}, "status_assignment"},
		{"POST", "/api/v1/access-credentials", map[string]any{"credential_id": "X", "type": "card", "linked_to": []string{}}, "linked_to"},
		{"POST", "/api/v1/access-credentials", "[1,2]", "body"},
		{"POST", "/api/v1/access-credentials", "{", "body"},
		{"PATCH", one, map[string]any{"credential_id": ""}, "credential_id"},
		{"PATCH", one, map[string]any{"type": nil}, "type"},
		{"PATCH", one, map[string]any{"assigned_to": "someone"}, "assigned_to"},
		{"PATCH", one, map[string]any{"due_date": "2030-01-01T00:00:00Z"}, "due_date"},
		{"PATCH", one, map[string]any{"valid_until": "1800-01-01T00:00:00Z"}, "valid_until"},
		{"PATCH", "/api/v1/access-credentials/a.b", map[string]any{"credential_name": "x"}, "id"},
		{"DELETE", "/api/v1/access-credentials/a.b", nil, "id"},
		{"POST", one + "/access-points", map[string]any{"access_point_ids": "ap"}, "access_point_ids"},
		{"POST", one + "/access-points", map[string]any{"access_point_ids": []string{}}, "access_point_ids"},
		{"DELETE", one + "/access-points", map[string]any{"access_point_ids": []string{"a", "a"}}, "access_point_ids"},
		{"POST", "/api/v1/access-credentials/return", map[string]any{"credential_ids": []string{cr.ID}, "metadata": "worn"}, "metadata"},
		{"POST", "/api/v1/access-credentials/confirm", map[string]any{"credential_ids": []string{cr.ID}, "metadata": nil}, "metadata"},
	}
	before := lastSeq(t, m)
	for _, c := range cases {
		r := m.c.do(t, c.method, c.path, c.body)
		if err := checkNativeError(r, http.StatusBadRequest, "BAD_REQUEST", c.field); err != nil {
			t.Fatalf("%s %s %v: %v", c.method, c.path, c.body, err)
		}
	}
	requireEqual(t, "events after bad input", lastSeq(t, m), before)
	r := m.c.do(t, "POST", one+"/access-points", map[string]any{"access_point_ids": []string{"no-such-door"}})
	requireNativeError(t, r, http.StatusNotFound, "NOT_FOUND", "access_point_ids")
	r = m.c.do(t, "DELETE", one+"/access-points", map[string]any{"access_point_ids": []string{"no-such-door"}})
	requireNativeError(t, r, http.StatusBadRequest, "BAD_REQUEST", "access_point_ids")
	requireEqual(t, "events after refused links", lastSeq(t, m), before)
}

// Another tenant's credentials are not there for a caller: not to read,
// list, count, change, assign, link or delete; and numbers are unique per
// tenant only.
func TestCredentialTenantIsolation(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	requireStatus(t, m.c.do(t, "POST", "/api/v1/tenants", map[string]any{"ext_id": "acme", "display_name": "Acme"}), http.StatusCreated)
	r := m.c.do(t, "POST", "/api/v1/service-users", map[string]any{"name": "acme-admin", "role": "admin", "tenant": "acme"})
	requireStatus(t, r, http.StatusCreated)
	su := decode[item[serviceUser]](t, r).Data
	r = m.c.do(t, "POST", "/api/v1/service-users/"+su.ID+"/tokens",
		map[string]any{"expires_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339), "tenant": "acme"})
	requireStatus(t, r, http.StatusCreated)
	acme := as(m.c, decode[item[issuedToken]](t, r).Data.Token)

	mine, _ := mustAccessCredential(t, m.c, keyBody("SHARED-1"))
	ada, _ := mustCreate(t, m.c, newIndividual("Ada", "Default", "ada@example.test"))
	theirs, tr := mustAccessCredential(t, acme, keyBody("SHARED-1")) // the same number is fine in another tenant
	acmeBob, _ := mustCreate(t, acme, newIndividual("Bob", "Acme", "bob@example.test"))

	l := decode[list[accessCredential]](t, acme.do(t, "GET", "/api/v1/access-credentials", nil, "X-Consistency-Token", token(tr)))
	requireEqual(t, "acme's list", fmt.Sprint(l.Meta.Pagination.TotalItems, l.Data[0].ID == theirs.ID), "1 true")
	st := decode[item[credentialStats]](t, acme.do(t, "GET", "/api/v1/access-credentials/stats", nil))
	requireEqual(t, "acme's stats", st.Data.Total, 1)
	before := lastSeq(t, m)
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/api/v1/access-credentials/" + mine.ID, nil},
		{"GET", "/api/v1/access-credentials/" + mine.ID + "/history", nil},
		{"PATCH", "/api/v1/access-credentials/" + mine.ID, map[string]any{"status": "stolen"}},
		{"DELETE", "/api/v1/access-credentials/" + mine.ID, nil},
		{"POST", "/api/v1/access-credentials/assign", map[string]any{"credential_ids": []string{mine.ID}, "individual_id": acmeBob.ID}},
		{"POST", "/api/v1/access-credentials/assign", map[string]any{"credential_ids": []string{theirs.ID}, "individual_id": ada.ID}},
		{"POST", "/api/v1/access-credentials/return", map[string]any{"credential_ids": []string{mine.ID}}},
		{"POST", "/api/v1/access-credentials/" + mine.ID + "/access-points", map[string]any{"access_point_ids": []string{"x1"}}},
	} {
		requireNativeError(t, acme.do(t, c.method, c.path, c.body), http.StatusNotFound, "NOT_FOUND", "")
	}
	requireEqual(t, "events after another tenant's attempts", lastSeq(t, m), before)
	got, _ := mustReadCredential(t, m.c, mine.ID, "")
	requireEqual(t, "status", got.Status, "active")
}
