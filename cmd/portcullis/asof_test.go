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

// The places answer as_of like individuals: lists of locations, buildings,
// spaces, locking systems and access points with their filters, orders and
// pages, and single records, equal to the live answers of the moment, over
// more than 200 mutations across the five resources.
func TestPlacesAsOfEqualsLiveAnswersOfTheMoment(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	rng := rand.New(rand.NewPCG(3, 4))
	loc, _ := mustPost[location](t, m.c, "/locations", map[string]any{"name": "HQ", "time_zone": "Europe/Zurich"})
	bld, _ := mustPost[building](t, m.c, "/buildings", map[string]any{"name": "Tower", "location_id": loc.ID})
	sp, _ := mustPost[space](t, m.c, "/spaces", map[string]any{"name": "Lobby", "building_id": bld.ID})
	ls, _ := mustPost[lockingSystem](t, m.c, "/locking-systems", map[string]any{"name": "Keys", "brand": "KABA"})
	locs, blds, spaces, systems := []string{loc.ID}, []string{bld.ID}, []string{sp.ID}, []string{ls.ID}
	var emptyLocs, aps []string
	var token string
	var captures []asOfCapture
	views := map[string]bool{"/api/v1/locations/" + loc.ID: true, "/api/v1/spaces/" + sp.ID: true}
	for mutations := 4; mutations < 230; {
		var r response
		pick := func(s []string) string { return s[rng.IntN(len(s))] }
		switch k := rng.IntN(14); {
		case k == 0:
			l, res := mustPost[location](t, m.c, "/locations", map[string]any{"name": fmt.Sprint("Site ", mutations)})
			locs, emptyLocs, r = append(locs, l.ID), append(emptyLocs, l.ID), res
			views["/api/v1/locations/"+l.ID] = true
		case k == 1 && len(emptyLocs) > 0:
			i := rng.IntN(len(emptyLocs))
			_, r = mustChange[location](t, m.c, "DELETE", "/api/v1/locations/"+emptyLocs[i], nil)
			emptyLocs = append(emptyLocs[:i], emptyLocs[i+1:]...)
		case k == 2:
			b, res := mustPost[building](t, m.c, "/buildings", map[string]any{"name": fmt.Sprint("B", mutations), "location_id": locs[0]})
			blds, r = append(blds, b.ID), res
		case k == 3:
			s, res := mustPost[space](t, m.c, "/spaces", map[string]any{"name": fmt.Sprint("Room ", rng.IntN(20)), "building_id": pick(blds)})
			spaces, r = append(spaces, s.ID), res
			views["/api/v1/spaces/"+s.ID] = true
		case k == 4:
			l, res := mustPost[lockingSystem](t, m.c, "/locking-systems", map[string]any{"name": fmt.Sprint("LS", mutations),
				"brand": []string{"KABA", "DOM"}[rng.IntN(2)]})
			systems, r = append(systems, l.ID), res
		case k == 5:
			_, r = mustChange[lockingSystem](t, m.c, "PATCH", "/api/v1/locking-systems/"+pick(systems),
				map[string]any{"revision_number": fmt.Sprint("R", mutations)})
		case k == 6:
			_, r = mustChange[building](t, m.c, "PATCH", "/api/v1/buildings/"+pick(blds), map[string]any{"name": fmt.Sprint("B", mutations)})
		case k < 10 || len(aps) < 4:
			a, res := mustPost[accessPoint](t, m.c, "/access-points", map[string]any{"point_name": fmt.Sprint("Door ", rng.IntN(50)),
				"space_id": pick(spaces), "locking_system_id": pick(systems), "status": []string{"active", "inactive"}[rng.IntN(2)]})
			aps, r = append(aps, a.ID), res
			if len(aps)%5 == 1 {
				views["/api/v1/access-points/"+a.ID] = true
			}
		case k < 13:
			_, r = mustChange[accessPoint](t, m.c, "PATCH", "/api/v1/access-points/"+pick(aps), map[string]any{
				"label": fmt.Sprint("L", mutations), "space_id": pick(spaces), "status": []string{"active", "inactive"}[rng.IntN(2)]})
		default:
			i := rng.IntN(len(aps))
			_, r = mustChange[accessPoint](t, m.c, "DELETE", "/api/v1/access-points/"+aps[i], nil)
			aps = append(aps[:i], aps[i+1:]...)
		}
		if r.status == 0 {
			continue // the case did not apply
		}
		mutations++
		token = maxToken(token, r.header.Get("X-Consistency-Token"))
		if mutations%10 != 0 {
			continue
		}
		paths := []string{
			"/api/v1/locations?limit=100", "/api/v1/locations?order=name.desc&limit=3",
			"/api/v1/buildings?location_id=" + locs[0], "/api/v1/buildings?order=updated_at.desc&limit=5",
			"/api/v1/spaces?limit=100", "/api/v1/spaces?building_id=" + blds[0] + "&order=name.asc",
			"/api/v1/locking-systems?brand=KABA&limit=100", "/api/v1/locking-systems?order=created_at.desc&limit=4",
			"/api/v1/access-points?limit=100", "/api/v1/access-points?status=inactive&limit=100",
			"/api/v1/access-points?space_id=" + spaces[0] + "&order=point_name.desc", "/api/v1/access-points?limit=3&page=2",
			"/api/v1/access-points?search=door%201&locking_system_id=" + systems[0],
		}
		for p := range views {
			paths = append(paths, p)
		}
		c := asOfCapture{answers: readAll(t, m.c, paths, "X-Consistency-Token", token)}
		c.at = time.Now()
		captures = append(captures, c)
	}
	for _, c := range captures {
		for p, want := range c.answers {
			got := readAll(t, m.c, []string{withAsOf(p, c.at)})[withAsOf(p, c.at)]
			if got != want {
				t.Fatalf("GET %s as of %s:\n got %s\nwant %s", p, c.at.Format(time.RFC3339Nano), got, want)
			}
		}
	}
}
