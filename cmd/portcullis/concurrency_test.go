package main

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
)

// Concurrent updates of one individual all land, none overwrites another's
// history, and the read model ends on the last version. Every eighth PATCH
// sets a field to the value it already has: it answers 200 and changes
// nothing.
func TestConcurrentUpdatesOfOneIndividual(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	ind, cr := mustCreate(t, m.c, newIndividual("Ada", "Lovelace", "ada@example.test"))

	const n = 64
	noop := func(i int) bool { return i%8 == 7 }
	results := make([]response, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			patch := map[string]any{"department": fmt.Sprintf("d-%d", i)}
			if noop(i) {
				patch = map[string]any{"last_name": "Lovelace"}
			}
			results[i], errs[i] = m.c.try("PATCH", "/api/v1/individuals/"+ind.ID, patch)
		})
	}
	wg.Wait()

	token := "0"
	changedBy := map[string]int{} // ETag → the PATCH whose change made it
	var noopETags []string
	for i, r := range results {
		if errs[i] != nil {
			t.Fatalf("PATCH %d: %v", i, errs[i])
		}
		if r.status/100 != 2 {
			t.Fatalf("PATCH %d: got %d, want 2xx: %s", i, r.status, r.body)
		}
		got := decode[item[individual]](t, r).Data
		token = maxToken(token, r.header.Get("X-Consistency-Token"))
		if noop(i) {
			noopETags = append(noopETags, r.header.Get("ETag"))
			continue
		}
		requireEqual(t, fmt.Sprintf("PATCH %d department", i), got.Department.String(), fmt.Sprintf("d-%d", i))
		if prev, ok := changedBy[r.header.Get("ETag")]; ok {
			t.Fatalf("PATCH %d and %d both answered ETag %s", prev, i, r.header.Get("ETag"))
		}
		changedBy[r.header.Get("ETag")] = i
	}
	for _, e := range noopETags {
		if _, ok := changedBy[e]; !ok && e != cr.header.Get("ETag") {
			t.Fatalf("a PATCH that changed nothing answered ETag %s, which no version has", e)
		}
	}

	h := mustHistory(t, m.c, ind.ID, token)
	requireEqual(t, "history total", h.Meta.Pagination.TotalItems, len(changedBy)+1)
	requireEqual(t, "individual.updated versions", countEvents(h, "individual.updated"), len(changedBy))
	requireEqual(t, "PATCHes that changed something", len(changedBy), n-n/8)
	seen := map[string]bool{}
	for _, v := range h.Data[1:] {
		d := v.Data.Department.String()
		if seen[d] {
			t.Fatalf("department %s appears in two versions", d)
		}
		seen[d] = true
		i, ok := changedBy[fmt.Sprintf("%q", fmt.Sprint(v.Version))]
		if !ok {
			t.Fatalf("history version %d is no PATCH's ETag", v.Version)
		}
		requireEqual(t, fmt.Sprintf("department of version %d", v.Version), d, fmt.Sprintf("d-%d", i))
	}
	last := h.Data[len(h.Data)-1]
	got, r := mustGet(t, m.c, ind.ID, token)
	requireEqual(t, "final state", got, *last.Data)
	requireEqual(t, "ETag of the final state", r.header.Get("ETag"), fmt.Sprintf(`"%d"`, last.Version))
}

// Concurrent creates with one email: exactly one wins, every other gets the
// native CONFLICT, and only one individual exists.
func TestConcurrentCreatesWithOneEmail(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	const n = 64
	results := make([]response, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			results[i], errs[i] = m.c.try("POST", "/api/v1/individuals",
				newIndividual(fmt.Sprintf("Twin%d", i), "Same", "Same@Example.test"))
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
		if err := checkNativeError(r, http.StatusConflict, "CONFLICT", "email"); err != nil {
			t.Fatalf("POST %d: %v", i, err)
		}
	}
	requireEqual(t, "201 responses", created, 1)

	r := m.c.do(t, "GET", "/api/v1/individuals?search=same@example.test&consistency_token="+token, nil)
	requireStatus(t, r, http.StatusOK)
	requireEqual(t, "individuals with the email", decode[list[individual]](t, r).Meta.Pagination.TotalItems, 1)
	r = m.c.do(t, "GET", "/api/v1/individuals", nil)
	requireEqual(t, "individuals", decode[list[individual]](t, r).Meta.Pagination.TotalItems, 1)
}

// If-Match guards every mutation: a stale ETag is refused with 412 and
// appends nothing, the current one goes through, and GET shows the ETag the
// mutation answered.
func TestIfMatch(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	created, cr := mustCreate(t, m.c, newIndividual("Edsger", "Dijkstra", "edsger@example.test"))
	e1 := cr.header.Get("ETag")
	got, gr := mustGet(t, m.c, created.ID, cr.header.Get("X-Consistency-Token"))
	requireEqual(t, "GET ETag after create", gr.header.Get("ETag"), e1)
	requireEqual(t, "GET after create", got, created)
	one := "/api/v1/individuals/" + created.ID

	r := m.c.do(t, "PATCH", one, map[string]any{"department": "Algorithms"}, "If-Match", e1)
	requireStatus(t, r, http.StatusOK)
	e2 := r.header.Get("ETag")
	if e2 == "" || e2 == e1 {
		t.Fatalf("ETag after PATCH: got %q, want a new one (was %q)", e2, e1)
	}
	updated := decode[item[individual]](t, r).Data
	got, gr = mustGet(t, m.c, created.ID, r.header.Get("X-Consistency-Token"))
	requireEqual(t, "GET ETag after PATCH", gr.header.Get("ETag"), e2)
	requireEqual(t, "GET after PATCH", got, updated)

	before := lastSeq(t, m)
	for _, tc := range []struct{ method, ifMatch string }{
		{"PATCH", e1}, {"DELETE", e1}, {"PATCH", `W/` + e1}, {"PATCH", `"999999"`},
	} {
		r := m.c.do(t, tc.method, one, map[string]any{"department": "Stale"}, "If-Match", tc.ifMatch)
		requireNativeError(t, r, http.StatusPreconditionFailed, "PRECONDITION_FAILED", "If-Match")
		requireEqual(t, tc.method+" with a stale If-Match: stream position", lastSeq(t, m), before)
	}
	got, _ = mustGet(t, m.c, created.ID, "")
	requireEqual(t, "after stale attempts", got, updated)

	// A patch that changes nothing appends nothing and keeps the ETag.
	r = m.c.do(t, "PATCH", one, map[string]any{"department": "Algorithms"}, "If-Match", e2)
	requireStatus(t, r, http.StatusOK)
	requireEqual(t, "ETag of a no-op PATCH", r.header.Get("ETag"), e2)
	requireEqual(t, "stream position after a no-op PATCH", lastSeq(t, m), before)

	// The weak form of the current ETag and "*" both match.
	r = m.c.do(t, "PATCH", one, map[string]any{"status": "suspended"}, "If-Match", "W/"+e2)
	requireStatus(t, r, http.StatusOK)
	e3 := r.header.Get("ETag")
	r = m.c.do(t, "PATCH", one, map[string]any{"status": "inactive"}, "If-Match", "*")
	requireStatus(t, r, http.StatusOK)
	e4 := r.header.Get("ETag")

	r = m.c.do(t, "DELETE", one, nil, "If-Match", e3)
	requireNativeError(t, r, http.StatusPreconditionFailed, "PRECONDITION_FAILED", "If-Match")
	r = m.c.do(t, "DELETE", one, nil, "If-Match", e4)
	requireStatus(t, r, http.StatusOK)
	r = m.c.do(t, "GET", one, nil, "X-Consistency-Token", r.header.Get("X-Consistency-Token"))
	requireNativeError(t, r, http.StatusNotFound, "NOT_FOUND", created.ID)
	h := mustHistory(t, m.c, created.ID, "")
	requireEqual(t, "versions", len(h.Data), 5)
	requireEqual(t, "last event", h.Data[4].EventType, "individual.deleted")
}
