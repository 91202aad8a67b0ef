package main

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
)

// Concurrent updates of one individual all land, none overwrites another's
// history, and the read model ends on the last version.
func TestConcurrentUpdatesOfOneIndividual(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	ind, _ := mustCreate(t, m.c, newIndividual("Ada", "Lovelace", "ada@example.test"))

	const n = 64
	results := make([]response, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			results[i], errs[i] = m.c.try("PATCH", "/api/v1/individuals/"+ind.ID,
				map[string]any{"department": fmt.Sprintf("d-%d", i)})
		})
	}
	wg.Wait()

	token := "0"
	etags := map[string]int{}
	changed := 0
	for i, r := range results {
		if errs[i] != nil {
			t.Fatalf("PATCH %d: %v", i, errs[i])
		}
		if r.status/100 != 2 {
			t.Fatalf("PATCH %d: got %d, want 2xx: %s", i, r.status, r.body)
		}
		got := decode[item[individual]](t, r).Data
		requireEqual(t, fmt.Sprintf("PATCH %d department", i), got.Department.String(), fmt.Sprintf("d-%d", i))
		if prev, ok := etags[r.header.Get("ETag")]; ok {
			t.Fatalf("PATCH %d and %d both answered ETag %s", prev, i, r.header.Get("ETag"))
		}
		etags[r.header.Get("ETag")] = i
		token = maxToken(token, r.header.Get("X-Consistency-Token"))
		changed++ // every PATCH sets a value nobody else sets, so every one changes something
	}

	h := mustHistory(t, m.c, ind.ID, token)
	requireEqual(t, "history total", h.Meta.Pagination.TotalItems, n+1)
	requireEqual(t, "individual.updated versions", countEvents(h, "individual.updated"), changed)
	seen := map[string]bool{}
	for _, v := range h.Data[1:] {
		d := v.Data.Department.String()
		if seen[d] {
			t.Fatalf("department %s appears in two versions", d)
		}
		seen[d] = true
		if _, ok := etags[fmt.Sprintf("%q", fmt.Sprint(v.Version))]; !ok {
			t.Fatalf("history version %d is no PATCH's ETag", v.Version)
		}
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
