package main

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// requireSameOutcome fails unless a retry answered exactly what the first
// request did.
func requireSameOutcome(t testing.TB, first, retry response) {
	t.Helper()
	requireEqual(t, "status of the retry", retry.status, first.status)
	if !bytes.Equal(retry.body, first.body) {
		t.Fatalf("body of the retry:\n got %s\nwant %s", clip(retry.body), clip(first.body))
	}
	for _, h := range []string{"ETag", "X-Consistency-Token", "Location"} {
		requireEqual(t, h+" of the retry", retry.header.Get(h), first.header.Get(h))
	}
}

// countByEmail counts the live individuals with an email.
func countByEmail(t testing.TB, c *client, email, token string) int {
	t.Helper()
	r := c.do(t, "GET", "/api/v1/individuals?search="+email, nil, "X-Consistency-Token", token)
	requireStatus(t, r, http.StatusOK)
	return decode[list[individual]](t, r).Meta.Pagination.TotalItems
}

// A mutation retried with its Idempotency-Key answers the first outcome and
// appends nothing, whether the retries come one after another or at once.
func TestIdempotencyKeyReplaysTheFirstOutcome(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	body := newIndividual("Barbara", "Liskov", "barbara@example.test")

	// One after another.
	before := lastSeq(t, m)
	first := m.c.do(t, "POST", "/api/v1/individuals", body, "Idempotency-Key", "create-barbara")
	requireStatus(t, first, http.StatusCreated)
	perCreate := lastSeq(t, m) - before
	for range 2 {
		retry := m.c.do(t, "POST", "/api/v1/individuals", body, "Idempotency-Key", "create-barbara")
		requireSameOutcome(t, first, retry)
		requireEqual(t, "Idempotent-Replayed", retry.header.Get("Idempotent-Replayed"), "true")
	}
	requireEqual(t, "events appended by one create and its retries", lastSeq(t, m)-before, perCreate)
	requireEqual(t, "individuals with the email", countByEmail(t, m.c, "barbara@example.test", first.header.Get("X-Consistency-Token")), 1)

	// At once.
	body = newIndividual("Frances", "Allen", "frances@example.test")
	before = lastSeq(t, m)
	const n = 16
	results := make([]response, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			results[i], errs[i] = m.c.try("POST", "/api/v1/individuals", body, "Idempotency-Key", "create-frances")
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("POST %d: %v", i, errs[i])
		}
		requireStatus(t, results[i], http.StatusCreated)
		requireSameOutcome(t, results[0], results[i])
	}
	requireEqual(t, "events appended by concurrent retries", lastSeq(t, m)-before, perCreate)
	requireEqual(t, "individuals with the email", countByEmail(t, m.c, "frances@example.test", results[0].header.Get("X-Consistency-Token")), 1)

	// The same key for another request is a conflict, and appends nothing.
	before = lastSeq(t, m)
	for _, tc := range []struct {
		method, path string
		body         any
	}{
		{"POST", "/api/v1/individuals", newIndividual("Frances", "Allen", "other@example.test")},
		{"POST", "/api/v1/individuals", `{"first_name":"Frances","last_name":"Allen","email":"frances@example.test"}` + " "},
		{"PATCH", "/api/v1/individuals/" + decode[item[individual]](t, first).Data.ID, map[string]any{"department": "x"}},
	} {
		r := m.c.do(t, tc.method, tc.path, tc.body, "Idempotency-Key", "create-frances")
		requireNativeError(t, r, http.StatusConflict, "CONFLICT", "Idempotency-Key")
	}
	requireEqual(t, "stream position after reused keys", lastSeq(t, m), before)

	// An update retried after another change answers its own first outcome
	// and does not undo the later change.
	id := decode[item[individual]](t, first).Data.ID
	one := "/api/v1/individuals/" + id
	upd := m.c.do(t, "PATCH", one, map[string]any{"department": "Systems"}, "Idempotency-Key", "dept-systems")
	requireStatus(t, upd, http.StatusOK)
	later := m.c.do(t, "PATCH", one, map[string]any{"department": "Languages"})
	requireStatus(t, later, http.StatusOK)
	before = lastSeq(t, m)
	requireSameOutcome(t, upd, m.c.do(t, "PATCH", one, map[string]any{"department": "Systems"}, "Idempotency-Key", "dept-systems"))
	requireEqual(t, "stream position after a replayed update", lastSeq(t, m), before)
	got, _ := mustGet(t, m.c, id, later.header.Get("X-Consistency-Token"))
	requireEqual(t, "department after a replayed update", got.Department.Value, "Languages")

	// A failed first outcome is replayed too.
	conflict := m.c.do(t, "POST", "/api/v1/individuals", newIndividual("B", "L", "barbara@example.test"), "Idempotency-Key", "dup-barbara")
	requireNativeError(t, conflict, http.StatusConflict, "CONFLICT", "email")
	requireSameOutcome(t, conflict, m.c.do(t, "POST", "/api/v1/individuals", newIndividual("B", "L", "barbara@example.test"), "Idempotency-Key", "dup-barbara"))
}

// A retry whose first outcome was never stored (the process died after the
// append and before it saved the outcome) still appends nothing: the key
// fixes the command id, and the command recognizes its own events.
func TestIdempotencyKeyAfterTheOutcomeWasLost(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	m := mustRun(t, dir)
	body := newIndividual("Donald", "Knuth", "donald@example.test")
	first := m.c.do(t, "POST", "/api/v1/individuals", body, "Idempotency-Key", "create-donald")
	requireStatus(t, first, http.StatusCreated)
	created := decode[item[individual]](t, first).Data
	one := "/api/v1/individuals/" + created.ID
	upd := m.c.do(t, "PATCH", one, map[string]any{"department": "TAOCP"}, "Idempotency-Key", "dept-taocp")
	requireStatus(t, upd, http.StatusOK)
	updated := decode[item[individual]](t, upd).Data
	mustClose(t, m)

	if err := os.Remove(filepath.Join(dir, "idempotency.db")); err != nil {
		t.Fatal(err)
	}
	m = mustRun(t, dir)
	before := lastSeq(t, m)

	retry := m.c.do(t, "POST", "/api/v1/individuals", body, "Idempotency-Key", "create-donald")
	requireStatus(t, retry, http.StatusCreated)
	if h := retry.header.Get("Idempotent-Replayed"); h != "" {
		t.Fatalf("Idempotent-Replayed: got %q, want none: the outcome file was removed", h)
	}
	requireEqual(t, "id of the retried create", decode[item[individual]](t, retry).Data.ID, created.ID)
	requireEqual(t, "Location of the retried create", retry.header.Get("Location"), first.header.Get("Location"))

	retry = m.c.do(t, "PATCH", one, map[string]any{"department": "TAOCP"}, "Idempotency-Key", "dept-taocp")
	requireStatus(t, retry, http.StatusOK)
	requireEqual(t, "retried update", decode[item[individual]](t, retry).Data, updated)
	requireEqual(t, "ETag of the retried update", retry.header.Get("ETag"), upd.header.Get("ETag"))

	requireEqual(t, "stream position after the retries", lastSeq(t, m), before)
	requireEqual(t, "individuals with the email", countByEmail(t, m.c, "donald@example.test", ""), 1)
	h := mustHistory(t, m.c, created.ID, "")
	requireEqual(t, "versions", len(h.Data), 2)

	// The outcome of the retry is stored again and replayed from now on.
	again := m.c.do(t, "POST", "/api/v1/individuals", body, "Idempotency-Key", "create-donald")
	requireEqual(t, "Idempotent-Replayed", again.header.Get("Idempotent-Replayed"), "true")
}

// Bad input did not run the command, so it does not pin the key: the client
// may correct its request and send it again under the same key. A decided
// refusal (a conflict) does pin it.
func TestIdempotencyKeyIsNotPinnedByBadInput(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	bad := m.c.do(t, "POST", "/api/v1/individuals", map[string]any{"first_name": "Grace"}, "Idempotency-Key", "create-grace")
	requireNativeError(t, bad, http.StatusBadRequest, "BAD_REQUEST", "last_name")
	good := m.c.do(t, "POST", "/api/v1/individuals", newIndividual("Grace", "Hopper", "grace@example.test"), "Idempotency-Key", "create-grace")
	requireStatus(t, good, http.StatusCreated)

	mustCreate(t, m.c, newIndividual("Other", "Grace", "taken@example.test"))
	taken := newIndividual("Third", "Grace", "taken@example.test")
	first := m.c.do(t, "POST", "/api/v1/individuals", taken, "Idempotency-Key", "create-taken")
	requireNativeError(t, first, http.StatusConflict, "CONFLICT", "email")
	requireSameOutcome(t, first, m.c.do(t, "POST", "/api/v1/individuals", taken, "Idempotency-Key", "create-taken"))
}
