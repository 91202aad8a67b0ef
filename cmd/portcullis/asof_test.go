package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// asOfCapture is what a set of reads answered at one instant.
type asOfCapture struct {
	at      time.Time
	answers map[string]string
}

// readAll answers every path, status, ETag and body, request ids masked.
func readAll(t testing.TB, c *client, paths []string, headers ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, p := range paths {
		r := c.do(t, "GET", p, nil, headers...)
		if r.status != http.StatusOK && r.status != http.StatusNotFound {
			t.Fatalf("GET %s: %d %s", p, r.status, clip(r.body))
		}
		body := bytes.ReplaceAll(r.body, []byte(r.header.Get("X-Request-Id")), []byte("<req_id>"))
		out[p] = fmt.Sprintf("%d ETag=%s\n%s", r.status, r.header.Get("ETag"), body)
	}
	return out
}

// withAsOf adds as_of to a path.
func withAsOf(p string, at time.Time) string {
	sep := "?"
	if bytes.ContainsRune([]byte(p), '?') {
		sep = "&"
	}
	return p + sep + "as_of=" + url.QueryEscape(at.UTC().Format(time.RFC3339Nano))
}

// Any individual GET with as_of answers what the live GET answered at that
// instant: single records (deleted ones are 404 again), lists with every
// filter, order and page, and their counts — over 220 mutations.
func TestAsOfEqualsLiveAnswersOfTheMoment(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	rng := rand.New(rand.NewPCG(1, 2))
	var ids, alive []string
	var captures []asOfCapture
	lists := []string{
		"/api/v1/individuals?limit=100",
		"/api/v1/individuals?limit=3&page=2",
		"/api/v1/individuals?limit=4&order=created_at.desc",
		"/api/v1/individuals?status=inactive&limit=100",
		"/api/v1/individuals?search=dept-1&order=last_name.asc,first_name.desc&limit=5",
		"/api/v1/individuals?order=updated_at.desc&limit=4&page=2",
		"/api/v1/individuals?order=email.asc&limit=100",
	}
	var token string
	mutations := 0
	for mutations < 220 {
		var r response
		switch k := rng.IntN(10); {
		case k < 4 || len(alive) < 3:
			ind, res := mustCreate(t, m.c, map[string]any{"first_name": fmt.Sprint("F", rng.IntN(40)), "last_name": fmt.Sprint("L", rng.IntN(6)),
				"email": fmt.Sprintf("p%d@example.test", mutations), "department": fmt.Sprint("dept-", rng.IntN(3))})
			ids, alive, r = append(ids, ind.ID), append(alive, ind.ID), res
		case k < 8:
			patch := map[string]any{"status": []string{"active", "inactive", "suspended"}[rng.IntN(3)]}
			if rng.IntN(3) == 0 {
				patch["email"] = fmt.Sprintf("moved%d@example.test", mutations)
			}
			if rng.IntN(4) == 0 {
				patch["department"] = nil
			}
			r = m.c.do(t, "PATCH", "/api/v1/individuals/"+alive[rng.IntN(len(alive))], patch)
			requireStatus(t, r, http.StatusOK)
		default:
			i := rng.IntN(len(alive))
			r = m.c.do(t, "DELETE", "/api/v1/individuals/"+alive[i], nil)
			requireStatus(t, r, http.StatusOK)
			alive = append(alive[:i], alive[i+1:]...)
		}
		mutations++
		token = maxToken(token, r.header.Get("X-Consistency-Token"))
		if mutations%5 != 0 && mutations < 215 {
			continue
		}
		paths := append([]string{}, lists...)
		for _, i := range []int{0, len(ids) / 2, len(ids) - 1} {
			paths = append(paths, "/api/v1/individuals/"+ids[i])
		}
		c := asOfCapture{answers: readAll(t, m.c, paths, "X-Consistency-Token", token)}
		c.at = time.Now()
		captures = append(captures, c)
	}
	for _, c := range captures {
		for p, want := range c.answers {
			got := readAll(t, m.c, []string{withAsOf(p, c.at)})
			if got[withAsOf(p, c.at)] != want {
				t.Fatalf("GET %s as of %s:\n got %s\nwant %s", p, c.at.Format(time.RFC3339Nano), got[withAsOf(p, c.at)], want)
			}
		}
	}
	// Before the first individual: nothing, and 404 for everyone.
	first := captures[0].at.Add(-time.Hour)
	l := decode[list[individual]](t, m.c.do(t, "GET", withAsOf("/api/v1/individuals", first), nil))
	requireEqual(t, "individuals an hour before", l.Meta.Pagination.TotalItems, 0)
	requireNativeError(t, m.c.do(t, "GET", withAsOf("/api/v1/individuals/"+ids[0], first), nil), http.StatusNotFound, "NOT_FOUND", "")
	requireNativeError(t, m.c.do(t, "GET", "/api/v1/individuals?as_of=yesterday", nil), http.StatusBadRequest, "BAD_REQUEST", "as_of")
	requireNativeError(t, m.c.do(t, "GET", "/api/v1/individuals/"+ids[0]+"?as_of=2026-13-01T00:00:00Z", nil), http.StatusBadRequest, "BAD_REQUEST", "as_of")
	requireNativeError(t, m.c.do(t, "GET", withAsOf("/api/v1/individuals", time.Now().Add(time.Hour)), nil), http.StatusBadRequest, "BAD_REQUEST", "as_of")
}
