package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Places through the real server: locations, buildings, spaces, locking
// systems and access points. This file has the helpers and the locations
// and buildings; spaces, access points and rules have their own files.

type location struct {
	ID            string   `json:"id"`
	Name          string   `json:"name"`
	Address       optional `json:"address"`
	TimeZone      string   `json:"time_zone"`
	BuildingCount int      `json:"building_count"`
	CreatedAt     string   `json:"created_at"`
	UpdatedAt     string   `json:"updated_at"`
}

type building struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	LocationID string `json:"location_id"`
	SpaceCount int    `json:"space_count"`
	CreatedAt  string `json:"created_at"`
	UpdatedAt  string `json:"updated_at"`
}

// placeVersion is one entry of a place's history.
type placeVersion[T any] struct {
	Version          uint64 `json:"version"`
	EventType        string `json:"event_type"`
	Actor            string `json:"actor"`
	RequestID        string `json:"request_id"`
	OccurredAt       string `json:"occurred_at"`
	ConsistencyToken string `json:"consistency_token"`
	Data             *T     `json:"data"`
}

// mustPost creates a record under /api/v1+path and returns it with the
// response.
func mustPost[T any](t testing.TB, c *client, path string, body any, headers ...string) (T, response) {
	t.Helper()
	r := c.do(t, "POST", "/api/v1"+path, body, headers...)
	requireStatus(t, r, http.StatusCreated)
	if !strings.HasPrefix(r.header.Get("Location"), "/api/v1"+path+"/") || r.header.Get("ETag") == "" ||
		r.header.Get("X-Consistency-Token") == "" {
		t.Fatalf("POST %s: headers Location=%q ETag=%q X-Consistency-Token=%q", path, r.header.Get("Location"),
			r.header.Get("ETag"), r.header.Get("X-Consistency-Token"))
	}
	return decode[item[T]](t, r).Data, r
}

// mustRead reads one record, waiting for token, and returns it with its ETag.
func mustRead[T any](t testing.TB, c *client, path, token string) (T, string) {
	t.Helper()
	r := c.do(t, "GET", path, nil, "X-Consistency-Token", token)
	requireStatus(t, r, http.StatusOK)
	return decode[item[T]](t, r).Data, r.header.Get("ETag")
}

// mustChange sends a PATCH, PUT, POST or DELETE that must answer 200 and
// returns the record it answers with the response.
func mustChange[T any](t testing.TB, c *client, method, path string, body any, headers ...string) (T, response) {
	t.Helper()
	r := c.do(t, method, path, body, headers...)
	requireStatus(t, r, http.StatusOK)
	return decode[item[T]](t, r).Data, r
}

// token is a response's consistency token.
func token(r response) string { return r.header.Get("X-Consistency-Token") }

// listIDs reads the ids and the pagination of one list page.
func listIDs(t testing.TB, c *client, path, tok string) ([]string, pagination) {
	t.Helper()
	r := c.do(t, "GET", path, nil, "X-Consistency-Token", tok)
	requireStatus(t, r, http.StatusOK)
	var l list[struct {
		ID string `json:"id"`
	}]
	if err := json.Unmarshal(r.body, &l); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	ids := []string{}
	for _, x := range l.Data {
		ids = append(ids, x.ID)
	}
	return ids, l.Meta.Pagination
}

// withQuery appends query parameters to a path that may already have some.
func withQuery(path, q string) string {
	if strings.Contains(path, "?") {
		return path + "&" + q
	}
	return path + "?" + q
}

// requirePages checks a list against the ids it must hold in creation
// order: whole, one at a time, two at a time, newest first, and a page
// beyond the last that is empty but counts them all.
func requirePages(t testing.TB, c *client, path, tok string, want []string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	got, p := listIDs(t, c, withQuery(path, "limit=100"), tok)
	if !slices.Equal(got, want) || p.TotalItems != len(want) || p.CurrentCount != len(want) {
		t.Fatalf("GET %s: ids %v (%+v), want %v", path, got, p, want)
	}
	for _, limit := range []int{1, 2} {
		var all []string
		pages := (len(want) + limit - 1) / limit
		for page := 1; page <= pages; page++ {
			ids, p := listIDs(t, c, withQuery(path, fmt.Sprintf("limit=%d&page=%d", limit, page)), tok)
			if p.TotalPages != pages || p.TotalItems != len(want) || p.CurrentPage != page || p.PerPage != limit {
				t.Fatalf("GET %s page %d of %d: pagination %+v", path, page, limit, p)
			}
			all = append(all, ids...)
		}
		if !slices.Equal(all, want) && len(want) > 0 {
			t.Fatalf("GET %s by %d: %v, want %v", path, limit, all, want)
		}
		ids, p := listIDs(t, c, withQuery(path, fmt.Sprintf("limit=%d&page=%d", limit, pages+1)), tok)
		if len(ids) != 0 || p.TotalItems != len(want) || p.CurrentCount != 0 {
			t.Fatalf("GET %s beyond the last page: %v %+v", path, ids, p)
		}
	}
	desc, _ := listIDs(t, c, withQuery(path, "limit=100&order=created_at.desc"), tok)
	if rev := slices.Clone(want); !slices.Equal(desc, func() []string { slices.Reverse(rev); return rev }()) {
		t.Fatalf("GET %s newest first: %v, want %v reversed", path, desc, want)
	}
}

// requireAppended fails unless the log grew by exactly n events since before.
func requireAppended(t testing.TB, m *testMain, before uint64, n int) {
	t.Helper()
	if got := lastSeq(t, m) - before; got != uint64(n) {
		t.Fatalf("appended %d events, want %d", got, n)
	}
}

// placeHistory reads up to 100 versions of a place.
func placeHistoryOf[T any](t testing.TB, c *client, path, tok string) []placeVersion[T] {
	t.Helper()
	r := c.do(t, "GET", path+"/history?limit=100", nil, "X-Consistency-Token", tok)
	requireStatus(t, r, http.StatusOK)
	return decode[list[placeVersion[T]]](t, r).Data
}

// placeEventTypes lists the event types of a history.
func placeEventTypes[T any](h []placeVersion[T]) []string {
	var out []string
	for _, v := range h {
		out = append(out, v.EventType)
	}
	return out
}

func TestLocations(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	c := m.c

	// Create: defaults, normalization, every bad input naming its field
	// and appending nothing.
	hq, r := mustPost[location](t, c, "/locations", map[string]any{"name": " HQ ", "address": "Bahnhofstrasse 1", "time_zone": "Europe/Zurich"})
	if hq.Name != "HQ" || hq.TimeZone != "Europe/Zurich" || hq.Address.Value != "Bahnhofstrasse 1" || hq.BuildingCount != 0 {
		t.Fatalf("created %+v", hq)
	}
	utc, _ := mustPost[location](t, c, "/locations", map[string]any{"name": "Depot", "address": nil})
	requireEqual(t, "default time zone", utc.TimeZone, "UTC")
	requireEqual(t, "address null", utc.Address.Set, false)
	before := lastSeq(t, m)
	for _, bad := range []struct {
		body  any
		field string
	}{
		{map[string]any{"name": "x", "time_zone": "Europe/Atlantis"}, "time_zone"},
		{map[string]any{"name": "x", "time_zone": "Local"}, "time_zone"},
		{map[string]any{"address": "x"}, "name"},
		{map[string]any{"name": "   "}, "name"},
		{map[string]any{"name": 7}, "name"},
		{map[string]any{"name": "x", "colour": "red"}, "colour"},
		{map[string]any{"name": nil}, "name"},
		{"[1]", "body"},
	} {
		requireNativeError(t, c.do(t, "POST", "/api/v1/locations", bad.body), http.StatusBadRequest, "BAD_REQUEST", bad.field)
	}
	requireAppended(t, m, before, 0)

	// Read with ETag; update with If-Match.
	got, tag := mustRead[location](t, c, "/api/v1/locations/"+hq.ID, token(r))
	requireEqual(t, "read name", got.Name, "HQ")
	requireEqual(t, "ETag of the read", tag, r.header.Get("ETag"))
	requireNativeError(t, c.do(t, "GET", "/api/v1/locations/nope", nil), http.StatusNotFound, "NOT_FOUND", "")
	requireNativeError(t, c.do(t, "GET", "/api/v1/locations/a.b", nil), http.StatusBadRequest, "BAD_REQUEST", "id")
	requireNativeError(t, c.do(t, "PATCH", "/api/v1/locations/"+hq.ID, map[string]any{"name": "Stale"}, "If-Match", `"1"`),
		http.StatusPreconditionFailed, "PRECONDITION_FAILED", "")
	upd, ur := mustChange[location](t, c, "PATCH", "/api/v1/locations/"+hq.ID, map[string]any{"name": "Head office", "address": nil},
		"If-Match", tag)
	if upd.Name != "Head office" || upd.Address.Set || upd.TimeZone != "Europe/Zurich" || ur.header.Get("ETag") == tag {
		t.Fatalf("updated %+v ETag %s", upd, ur.header.Get("ETag"))
	}
	before = lastSeq(t, m)
	same, sr := mustChange[location](t, c, "PATCH", "/api/v1/locations/"+hq.ID, map[string]any{"name": "Head office"})
	requireEqual(t, "ETag of a change of nothing", sr.header.Get("ETag"), ur.header.Get("ETag"))
	requireEqual(t, "name after a change of nothing", same.Name, "Head office")
	requireAppended(t, m, before, 0)
	requireNativeError(t, c.do(t, "PATCH", "/api/v1/locations/"+hq.ID, map[string]any{"time_zone": "Mars/Base"}),
		http.StatusBadRequest, "BAD_REQUEST", "time_zone")
	requireNativeError(t, c.do(t, "PATCH", "/api/v1/locations/nope", map[string]any{"name": "x"}), http.StatusNotFound, "NOT_FOUND", "")

	// Lists: paging at 0, 1, many and beyond; search; order; bad params.
	ids := []string{hq.ID, utc.ID}
	var last response
	for i := range 3 {
		l, r := mustPost[location](t, c, "/locations", map[string]any{"name": fmt.Sprintf("Site %c", 'C'-i)})
		ids = append(ids, l.ID)
		last = r
	}
	requirePages(t, c, "/api/v1/locations", token(last), ids)
	requirePages(t, c, "/api/v1/locations?search=SITE", token(last), ids[2:])
	requirePages(t, c, "/api/v1/locations?search=nothing-like-it", token(last), nil)
	requirePages(t, c, "/api/v1/locations?search=head", token(last), ids[:1])
	byName, _ := listIDs(t, c, "/api/v1/locations?order=name.asc&limit=100", token(last))
	requireEqual(t, "order by name", strings.Join(byName, ","), strings.Join([]string{utc.ID, hq.ID, ids[4], ids[3], ids[2]}, ","))
	for _, q := range []string{"order=colour.asc", "order=name", "location_id=x", "limit=0", "page=0", "limit=101"} {
		requireNativeError(t, c.do(t, "GET", "/api/v1/locations?"+q, nil), http.StatusBadRequest, "BAD_REQUEST", strings.Split(q, "=")[0])
	}

	// Delete: refused while it holds buildings, naming them; then allowed;
	// history stays.
	b, br := mustPost[building](t, c, "/buildings", map[string]any{"name": "Tower", "location_id": hq.ID})
	loc, _ := mustRead[location](t, c, "/api/v1/locations/"+hq.ID, token(br))
	requireEqual(t, "building_count", loc.BuildingCount, 1)
	del := c.do(t, "DELETE", "/api/v1/locations/"+hq.ID, nil)
	requireNativeError(t, del, http.StatusConflict, "CONFLICT", b.ID)
	requireNativeError(t, del, http.StatusConflict, "CONFLICT", "Tower")
	_, dr := mustChange[building](t, c, "DELETE", "/api/v1/buildings/"+b.ID, nil)
	requireNativeError(t, c.do(t, "DELETE", "/api/v1/locations/"+hq.ID, nil, "If-Match", `"2"`),
		http.StatusPreconditionFailed, "PRECONDITION_FAILED", "")
	gone, gr := mustChange[location](t, c, "DELETE", "/api/v1/locations/"+hq.ID, nil)
	requireEqual(t, "deleted record as it was", gone.Name, "Head office")
	requireNativeError(t, c.do(t, "GET", "/api/v1/locations/"+hq.ID, nil, "X-Consistency-Token", token(gr)), http.StatusNotFound, "NOT_FOUND", "")
	requireNativeError(t, c.do(t, "DELETE", "/api/v1/locations/"+hq.ID, nil), http.StatusNotFound, "NOT_FOUND", "")
	requirePages(t, c, "/api/v1/locations", token(gr), ids[1:])
	h := placeHistoryOf[location](t, c, "/api/v1/locations/"+hq.ID, token(gr))
	requireEqual(t, "history", strings.Join(placeEventTypes(h), ","),
		"location.created,location.updated,location.building_attached,location.building_detached,location.deleted")
	if h[2].Data.BuildingCount != 1 || h[3].Data.BuildingCount != 0 || h[4].Data != nil || h[1].Data.Name != "Head office" {
		t.Fatalf("history data: %+v", h)
	}
	requireEqual(t, "history version of the detach", strconv.FormatUint(h[3].Version, 10), token(dr))
	requireNativeError(t, c.do(t, "GET", "/api/v1/locations/nope/history", nil), http.StatusNotFound, "NOT_FOUND", "")

	// Rights: a viewer reads and cannot write; no token is 401.
	_, vt := mustServiceUser(t, c, "viewer", "viewer", time.Hour)
	v := as(c, vt.Token)
	requireStatus(t, v.do(t, "GET", "/api/v1/locations", nil), http.StatusOK)
	requireNativeError(t, v.do(t, "POST", "/api/v1/locations", map[string]any{"name": "x"}), http.StatusForbidden, "INSUFFICIENT_PERMISSIONS", "locations:write")
	requireNativeError(t, v.do(t, "DELETE", "/api/v1/locations/"+utc.ID, nil), http.StatusForbidden, "INSUFFICIENT_PERMISSIONS", "locations:delete")
	requireNativeError(t, as(c, "").do(t, "GET", "/api/v1/locations", nil), http.StatusUnauthorized, "UNAUTHORIZED", "")
}

func TestBuildings(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	c := m.c
	l1, _ := mustPost[location](t, c, "/locations", map[string]any{"name": "North"})
	l2, lr := mustPost[location](t, c, "/locations", map[string]any{"name": "South"})
	requirePages(t, c, "/api/v1/buildings", token(lr), nil)

	before := lastSeq(t, m)
	for _, bad := range []struct {
		body  any
		field string
		code  string
	}{
		{map[string]any{"name": "B"}, "location_id", "BAD_REQUEST"},
		{map[string]any{"name": "B", "location_id": "no-such-location"}, "location_id", "BAD_REQUEST"},
		{map[string]any{"name": "B", "location_id": "a/b"}, "location_id", "BAD_REQUEST"},
		{map[string]any{"location_id": l1.ID}, "name", "BAD_REQUEST"},
		{map[string]any{"name": "B", "location_id": l1.ID, "floors": 3}, "floors", "BAD_REQUEST"},
	} {
		requireNativeError(t, c.do(t, "POST", "/api/v1/buildings", bad.body), http.StatusBadRequest, bad.code, bad.field)
	}
	requireAppended(t, m, before, 0)

	// A creation is two events: the building and its attach to the location.
	before = lastSeq(t, m)
	b1, r1 := mustPost[building](t, c, "/buildings", map[string]any{"name": "Alpha", "location_id": l1.ID})
	requireAppended(t, m, before, 2)
	// A retry with the same Idempotency-Key answers the first creation and
	// appends nothing.
	before = lastSeq(t, m)
	b2, _ := mustPost[building](t, c, "/buildings", map[string]any{"name": "Beta", "location_id": l1.ID}, "Idempotency-Key", "beta-once")
	again, ar := mustPost[building](t, c, "/buildings", map[string]any{"name": "Beta", "location_id": l1.ID}, "Idempotency-Key", "beta-once")
	requireEqual(t, "id of the retried creation", again.ID, b2.ID)
	requireEqual(t, "retry replayed", ar.header.Get("Idempotent-Replayed"), "true")
	requireAppended(t, m, before, 2)
	b3, r3 := mustPost[building](t, c, "/buildings", map[string]any{"name": "Gamma", "location_id": l2.ID})
	got, tag := mustRead[building](t, c, "/api/v1/buildings/"+b1.ID, token(r3))
	if got != b1 || tag != r1.header.Get("ETag") {
		t.Fatalf("read %+v %s, want %+v %s", got, tag, b1, r1.header.Get("ETag"))
	}
	requirePages(t, c, "/api/v1/buildings", token(r3), []string{b1.ID, b2.ID, b3.ID})
	requirePages(t, c, "/api/v1/buildings?location_id="+l1.ID, token(r3), []string{b1.ID, b2.ID})
	requirePages(t, c, "/api/v1/buildings?location_id="+l1.ID+"&search=bet", token(r3), []string{b2.ID})
	requirePages(t, c, "/api/v1/buildings?location_id=unknown", token(r3), nil)
	requireNativeError(t, c.do(t, "GET", "/api/v1/buildings?location_id=a.b", nil), http.StatusBadRequest, "BAD_REQUEST", "location_id")

	// Moving a building detaches it from one location and attaches it to
	// the other in the same append.
	before = lastSeq(t, m)
	requireNativeError(t, c.do(t, "PATCH", "/api/v1/buildings/"+b2.ID, map[string]any{"location_id": "gone"}),
		http.StatusBadRequest, "BAD_REQUEST", "location_id")
	requireNativeError(t, c.do(t, "PATCH", "/api/v1/buildings/"+b2.ID, map[string]any{"location_id": l2.ID}, "If-Match", `"3"`),
		http.StatusPreconditionFailed, "PRECONDITION_FAILED", "")
	requireAppended(t, m, before, 0)
	moved, mr := mustChange[building](t, c, "PATCH", "/api/v1/buildings/"+b2.ID, map[string]any{"location_id": l2.ID, "name": "Beta 2"})
	requireAppended(t, m, before, 3)
	requireEqual(t, "moved location", moved.LocationID, l2.ID)
	requirePages(t, c, "/api/v1/buildings?location_id="+l2.ID, token(mr), []string{b2.ID, b3.ID})
	requirePages(t, c, "/api/v1/buildings?location_id="+l1.ID, token(mr), []string{b1.ID})
	n, _ := mustRead[location](t, c, "/api/v1/locations/"+l1.ID, token(mr))
	s, _ := mustRead[location](t, c, "/api/v1/locations/"+l2.ID, token(mr))
	if n.BuildingCount != 1 || s.BuildingCount != 2 {
		t.Fatalf("building counts north %d south %d, want 1 and 2", n.BuildingCount, s.BuildingCount)
	}
	byName, _ := listIDs(t, c, "/api/v1/buildings?order=name.desc", token(mr))
	requireEqual(t, "by name desc", strings.Join(byName, ","), strings.Join([]string{b3.ID, b2.ID, b1.ID}, ","))

	// A building with spaces stays; the message names them.
	sp, spr := mustPost[space](t, c, "/spaces", map[string]any{"name": "Lobby", "building_id": b1.ID})
	bb, _ := mustRead[building](t, c, "/api/v1/buildings/"+b1.ID, token(spr))
	requireEqual(t, "space_count", bb.SpaceCount, 1)
	del := c.do(t, "DELETE", "/api/v1/buildings/"+b1.ID, nil)
	requireNativeError(t, del, http.StatusConflict, "CONFLICT", sp.ID)
	requireNativeError(t, del, http.StatusConflict, "CONFLICT", "1 spaces: "+sp.ID+" (Lobby)")
	mustChange[space](t, c, "DELETE", "/api/v1/spaces/"+sp.ID, nil)
	_, dr := mustChange[building](t, c, "DELETE", "/api/v1/buildings/"+b1.ID, nil)
	requirePages(t, c, "/api/v1/buildings?location_id="+l1.ID, token(dr), nil)
	h := placeHistoryOf[building](t, c, "/api/v1/buildings/"+b1.ID, token(dr))
	requireEqual(t, "history", strings.Join(placeEventTypes(h), ","),
		"building.created,building.space_attached,building.space_detached,building.deleted")
	h2 := placeHistoryOf[building](t, c, "/api/v1/buildings/"+b2.ID, token(dr))
	requireEqual(t, "history of the moved building", strings.Join(placeEventTypes(h2), ","), "building.created,building.updated")
	requireNativeError(t, c.do(t, "GET", "/api/v1/buildings/"+b1.ID, nil), http.StatusNotFound, "NOT_FOUND", "")
	requireNativeError(t, c.do(t, "PATCH", "/api/v1/buildings/"+b1.ID, map[string]any{"name": "x"}), http.StatusNotFound, "NOT_FOUND", "")

	_, vt := mustServiceUser(t, c, "viewer", "viewer", time.Hour)
	requireNativeError(t, as(c, vt.Token).do(t, "PATCH", "/api/v1/buildings/"+b2.ID, map[string]any{"name": "x"}),
		http.StatusForbidden, "INSUFFICIENT_PERMISSIONS", "buildings:write")
}

// placesScenario creates, moves and deletes places of every kind, and
// returns every list, record, history and rule set they can be read at, for
// the rebuild test: a rebuild must answer each byte for byte.
func placesScenario(t testing.TB, c *client) []string {
	t.Helper()
	l1, _ := mustPost[location](t, c, "/locations", map[string]any{"name": "Rebuild HQ", "address": "Main 1", "time_zone": "Europe/Zurich"})
	l2, _ := mustPost[location](t, c, "/locations", map[string]any{"name": "Rebuild Depot"})
	gone, _ := mustPost[location](t, c, "/locations", map[string]any{"name": "Rebuild Gone"})
	b1, _ := mustPost[building](t, c, "/buildings", map[string]any{"name": "Tower", "location_id": l1.ID})
	b2, _ := mustPost[building](t, c, "/buildings", map[string]any{"name": "Shed", "location_id": l1.ID})
	mustChange[building](t, c, "PATCH", "/api/v1/buildings/"+b2.ID, map[string]any{"location_id": l2.ID})
	mustChange[location](t, c, "DELETE", "/api/v1/locations/"+gone.ID, nil)
	floor, _ := mustPost[space](t, c, "/spaces", map[string]any{"name": "Floor", "building_id": b1.ID, "delete_protected": true})
	room, _ := mustPost[space](t, c, "/spaces", map[string]any{"name": "Room", "parent_id": floor.ID})
	closet, _ := mustPost[space](t, c, "/spaces", map[string]any{"name": "Closet", "parent_id": room.ID})
	mustChange[space](t, c, "PATCH", "/api/v1/spaces/"+closet.ID, map[string]any{"parent_id": floor.ID})
	shedRoom, _ := mustPost[space](t, c, "/spaces", map[string]any{"name": "Shed room", "building_id": b2.ID})
	mustChange[space](t, c, "DELETE", "/api/v1/spaces/"+shedRoom.ID, nil)
	ind, _ := mustCreate(t, c, map[string]any{"first_name": "Rule", "last_name": "Person"})
	mustChange[accessRules](t, c, "PUT", "/api/v1/spaces/"+room.ID+"/access-rules", map[string]any{"rules": []any{
		map[string]any{"id": "r1", "individual_ids": []string{ind.ID}, "valid_until": "2030-01-01",
			"schedule": []any{map[string]any{"days": []string{"mon", "fri"}, "from": "07:30", "to": "19:00"}}},
		map[string]any{"departments": []string{"Ops"}},
	}})
	ls1, _ := mustPost[lockingSystem](t, c, "/locking-systems", map[string]any{"name": "Keys", "brand": "KABA"})
	ls2, _ := mustPost[lockingSystem](t, c, "/locking-systems", map[string]any{"name": "Cards", "system_type": "electronic"})
	mustChange[lockingSystem](t, c, "PATCH", "/api/v1/locking-systems/"+ls2.ID, map[string]any{"revision_number": "R7"})
	var aps []string
	for i, sp := range []string{floor.ID, room.ID, room.ID, closet.ID} {
		ls := ls1.ID
		if i%2 == 1 {
			ls = ls2.ID
		}
		ap, _ := mustPost[accessPoint](t, c, "/access-points", map[string]any{"point_name": fmt.Sprintf("Door %d", i),
			"space_id": sp, "locking_system_id": ls, "status": []string{"active", "inactive"}[i%2]})
		aps = append(aps, ap.ID)
	}
	mustChange[accessPoint](t, c, "PATCH", "/api/v1/access-points/"+aps[2], map[string]any{"label": "moved", "space_id": floor.ID})
	mustChange[[]accessPoint](t, c, "POST", "/api/v1/spaces/"+closet.ID+"/access-points", map[string]any{"access_point_ids": []string{aps[0], aps[1]}})
	mustChange[accessPoint](t, c, "DELETE", "/api/v1/access-points/"+aps[3], nil)

	paths := []string{
		"/api/v1/locations", "/api/v1/locations?order=name.desc", "/api/v1/locations?search=rebuild&limit=2&page=2",
		"/api/v1/buildings", "/api/v1/buildings?location_id=" + l1.ID, "/api/v1/buildings?location_id=" + l2.ID,
		"/api/v1/spaces", "/api/v1/spaces?building_id=" + b1.ID, "/api/v1/spaces?parent_id=" + floor.ID,
		"/api/v1/spaces?order=name.asc,updated_at.desc", "/api/v1/spaces?building_id=" + b1.ID + "&order=created_at.desc&limit=2",
		"/api/v1/locking-systems", "/api/v1/locking-systems?brand=KABA", "/api/v1/locking-systems?system_type=electronic",
		"/api/v1/access-points", "/api/v1/access-points?order=point_name.desc", "/api/v1/access-points?status=inactive",
		"/api/v1/access-points?locking_system_id=" + ls1.ID, "/api/v1/access-points?space_id=" + floor.ID + "&search=door",
		"/api/v1/spaces/" + closet.ID + "/access-points", "/api/v1/spaces/" + room.ID + "/access-rules",
	}
	for _, p := range []string{"/api/v1/locations/" + l1.ID, "/api/v1/locations/" + gone.ID, "/api/v1/buildings/" + b2.ID,
		"/api/v1/spaces/" + room.ID, "/api/v1/spaces/" + closet.ID, "/api/v1/spaces/" + shedRoom.ID,
		"/api/v1/locking-systems/" + ls2.ID, "/api/v1/access-points/" + aps[2], "/api/v1/access-points/" + aps[3]} {
		paths = append(paths, p, p+"/history?limit=100")
	}
	return paths
}
