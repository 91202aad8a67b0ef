package main

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

type space struct {
	ID               string   `json:"id"`
	Name             string   `json:"name"`
	BuildingID       string   `json:"building_id"`
	ParentID         optional `json:"parent_id"`
	DeleteProtected  bool     `json:"delete_protected"`
	AccessPointCount int      `json:"access_point_count"`
	CreatedAt        string   `json:"created_at"`
	UpdatedAt        string   `json:"updated_at"`
}

// mustBuilding creates a location and a building in it.
func mustBuilding(t testing.TB, c *client, name string) building {
	t.Helper()
	l, _ := mustPost[location](t, c, "/locations", map[string]any{"name": name + " site", "time_zone": "Europe/Zurich"})
	b, _ := mustPost[building](t, c, "/buildings", map[string]any{"name": name, "location_id": l.ID})
	return b
}

func TestSpacesNest(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	c := m.c
	b := mustBuilding(t, c, "Main")
	other := mustBuilding(t, c, "Annex")

	// Top, child (building taken from the parent), grandchild.
	floor, _ := mustPost[space](t, c, "/spaces", map[string]any{"name": "Floor 1", "building_id": b.ID})
	room, _ := mustPost[space](t, c, "/spaces", map[string]any{"name": "Room 101", "parent_id": floor.ID})
	requireEqual(t, "building of a child", room.BuildingID, b.ID)
	requireEqual(t, "parent of a child", room.ParentID.Value, floor.ID)
	closet, cr := mustPost[space](t, c, "/spaces", map[string]any{"name": "Closet", "parent_id": room.ID, "building_id": b.ID,
		"delete_protected": true})
	if !closet.DeleteProtected || floor.ParentID.Set {
		t.Fatalf("closet %+v floor %+v", closet, floor)
	}
	got, tag := mustRead[space](t, c, "/api/v1/spaces/"+closet.ID, token(cr))
	requireEqual(t, "read closet", got, closet)
	requireEqual(t, "ETag", tag, cr.header.Get("ETag"))

	before := lastSeq(t, m)
	for _, bad := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"name": "x"}, "building_id"},
		{map[string]any{"name": "x", "building_id": "nope"}, "building_id"},
		{map[string]any{"name": "x", "parent_id": "nope"}, "parent_id"},
		{map[string]any{"name": "x", "parent_id": floor.ID, "building_id": other.ID}, "parent_id"},
		{map[string]any{"name": "x", "building_id": b.ID, "delete_protected": "yes"}, "delete_protected"},
		{map[string]any{"name": "x", "building_id": b.ID, "delete_protected": nil}, "delete_protected"},
		{map[string]any{"building_id": b.ID}, "name"},
	} {
		requireNativeError(t, c.do(t, "POST", "/api/v1/spaces", bad.body), http.StatusBadRequest, "BAD_REQUEST", bad.field)
	}
	// Cycles are refused naming parent_id, and append nothing.
	for _, p := range []string{floor.ID, room.ID, closet.ID} {
		requireNativeError(t, c.do(t, "PATCH", "/api/v1/spaces/"+floor.ID, map[string]any{"parent_id": p}),
			http.StatusBadRequest, "BAD_REQUEST", "parent_id")
	}
	requireNativeError(t, c.do(t, "PATCH", "/api/v1/spaces/"+floor.ID, map[string]any{"parent_id": "nope"}),
		http.StatusBadRequest, "BAD_REQUEST", "parent_id")
	// A space holding others does not change building.
	requireNativeError(t, c.do(t, "PATCH", "/api/v1/spaces/"+room.ID, map[string]any{"building_id": other.ID}),
		http.StatusConflict, "CONFLICT", closet.ID)
	requireAppended(t, m, before, 0)

	// Lists by building and by parent.
	tok := token(cr)
	requirePages(t, c, "/api/v1/spaces", tok, []string{floor.ID, room.ID, closet.ID})
	requirePages(t, c, "/api/v1/spaces?building_id="+b.ID, tok, []string{floor.ID, room.ID, closet.ID})
	requirePages(t, c, "/api/v1/spaces?parent_id="+floor.ID, tok, []string{room.ID})
	requirePages(t, c, "/api/v1/spaces?building_id="+other.ID, tok, nil)
	requirePages(t, c, "/api/v1/spaces?building_id="+b.ID+"&search=room", tok, []string{room.ID})
	requirePages(t, c, "/api/v1/spaces?building_id="+b.ID+"&parent_id="+room.ID, tok, []string{closet.ID})
	requireNativeError(t, c.do(t, "GET", "/api/v1/spaces?space_id=x", nil), http.StatusBadRequest, "BAD_REQUEST", "space_id")
	requireNativeError(t, c.do(t, "GET", "/api/v1/spaces?order=floor.asc", nil), http.StatusBadRequest, "BAD_REQUEST", "order")

	requireNativeError(t, c.do(t, "PATCH", "/api/v1/spaces/"+closet.ID, map[string]any{"name": "Stale"}, "If-Match", `"1"`),
		http.StatusPreconditionFailed, "PRECONDITION_FAILED", "")
	requireNativeError(t, c.do(t, "PATCH", "/api/v1/spaces/none", map[string]any{"name": "x"}), http.StatusNotFound, "NOT_FOUND", "")
	_, vt := mustServiceUser(t, c, "viewer", "viewer", time.Hour)
	requireStatus(t, as(c, vt.Token).do(t, "GET", "/api/v1/spaces/"+closet.ID, nil), http.StatusOK)
	requireNativeError(t, as(c, vt.Token).do(t, "DELETE", "/api/v1/spaces/"+closet.ID, nil), http.StatusForbidden, "INSUFFICIENT_PERMISSIONS", "spaces:delete")

	// Moves within the building: the closet to the top, then under the floor.
	before = lastSeq(t, m)
	top, tr := mustChange[space](t, c, "PATCH", "/api/v1/spaces/"+closet.ID, map[string]any{"parent_id": nil})
	requireAppended(t, m, before, 2) // space.updated + building.space_moved
	requireEqual(t, "moved to the top", top.ParentID.Set, false)
	requirePages(t, c, "/api/v1/spaces?parent_id="+room.ID, token(tr), nil)
	_, tr = mustChange[space](t, c, "PATCH", "/api/v1/spaces/"+closet.ID, map[string]any{"parent_id": floor.ID}, "If-Match", tr.header.Get("ETag"))
	requirePages(t, c, "/api/v1/spaces?parent_id="+floor.ID, token(tr), []string{room.ID, closet.ID})
	// A leaf moves to another building: to its top without a parent_id.
	before = lastSeq(t, m)
	away, ar := mustChange[space](t, c, "PATCH", "/api/v1/spaces/"+closet.ID, map[string]any{"building_id": other.ID})
	requireAppended(t, m, before, 3) // space.updated, building.space_detached, building.space_attached
	if away.BuildingID != other.ID || away.ParentID.Set {
		t.Fatalf("moved away: %+v", away)
	}
	requirePages(t, c, "/api/v1/spaces?building_id="+other.ID, token(ar), []string{closet.ID})
	ob, _ := mustRead[building](t, c, "/api/v1/buildings/"+other.ID, token(ar))
	mb, _ := mustRead[building](t, c, "/api/v1/buildings/"+b.ID, token(ar))
	if ob.SpaceCount != 1 || mb.SpaceCount != 2 {
		t.Fatalf("space counts %d and %d, want 1 and 2", ob.SpaceCount, mb.SpaceCount)
	}

	// Delete: protected, holding children, then in order.
	requireNativeError(t, c.do(t, "DELETE", "/api/v1/spaces/"+closet.ID, nil), http.StatusConflict, "DELETE_PROTECTED", "")
	del := c.do(t, "DELETE", "/api/v1/spaces/"+floor.ID, nil)
	requireNativeError(t, del, http.StatusConflict, "CONFLICT", room.ID+" (Room 101)")
	mustChange[space](t, c, "PATCH", "/api/v1/spaces/"+closet.ID, map[string]any{"delete_protected": false})
	for _, id := range []string{closet.ID, room.ID, floor.ID} {
		_, ar = mustChange[space](t, c, "DELETE", "/api/v1/spaces/"+id, nil)
	}
	requirePages(t, c, "/api/v1/spaces", token(ar), nil)
	requireNativeError(t, c.do(t, "GET", "/api/v1/spaces/"+room.ID, nil), http.StatusNotFound, "NOT_FOUND", "")
	h := placeHistoryOf[space](t, c, "/api/v1/spaces/"+closet.ID, token(ar))
	requireEqual(t, "closet history", strings.Join(placeEventTypes(h), ","),
		"space.created,space.updated,space.updated,space.updated,space.updated,space.deleted")
	if h[5].Data != nil || h[3].Data.BuildingID != other.ID {
		t.Fatalf("history data %+v", h)
	}
	// Last: a refused token is recorded (auth.failed) in the background,
	// so it would disturb the counts of appended events above.
	requireNativeError(t, as(c, "pcat_nobody").do(t, "GET", "/api/v1/spaces", nil), http.StatusUnauthorized, "UNAUTHORIZED", "")
	bh := placeHistoryOf[building](t, c, "/api/v1/buildings/"+b.ID, token(ar))
	requireEqual(t, "building history", strings.Join(placeEventTypes(bh), ","), "building.created,building.space_attached,"+
		"building.space_attached,building.space_attached,building.space_moved,building.space_moved,building.space_detached,"+
		"building.space_detached,building.space_detached")
}

// A building deleted while a space is created in it: whichever lands
// first wins, and there is never a space whose building is gone.
func TestBuildingDeleteRacesSpaceCreation(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	c := m.c
	l, _ := mustPost[location](t, c, "/locations", map[string]any{"name": "Race"})
	const rounds = 20
	created, deleted := 0, 0
	for i := range rounds {
		b, _ := mustPost[building](t, c, "/buildings", map[string]any{"name": fmt.Sprintf("B%d", i), "location_id": l.ID})
		var del, cre response
		var derr, cerr error
		var wg sync.WaitGroup
		start := make(chan struct{})
		wg.Go(func() { <-start; del, derr = c.try("DELETE", "/api/v1/buildings/"+b.ID, nil) })
		wg.Go(func() {
			<-start
			cre, cerr = c.try("POST", "/api/v1/spaces", map[string]any{"name": "Room", "building_id": b.ID})
		})
		close(start)
		wg.Wait()
		if derr != nil || cerr != nil {
			t.Fatalf("round %d: %v %v", i, derr, cerr)
		}
		switch {
		case del.status == http.StatusOK && cre.status == http.StatusBadRequest:
			requireNativeError(t, cre, http.StatusBadRequest, "BAD_REQUEST", "building_id")
			deleted++
		case cre.status == http.StatusCreated && del.status == http.StatusConflict:
			requireNativeError(t, del, http.StatusConflict, "CONFLICT", "Room")
			sp := decode[item[space]](t, cre).Data
			tok := maxToken(token(cre), token(del))
			got, _ := mustRead[building](t, c, "/api/v1/buildings/"+b.ID, tok)
			requireEqual(t, "space_count of the building that stayed", got.SpaceCount, 1)
			requirePages(t, c, "/api/v1/spaces?building_id="+b.ID, tok, []string{sp.ID})
			created++
		default:
			t.Fatalf("round %d: delete %d %s, create %d %s", i, del.status, clip(del.body), cre.status, clip(cre.body))
		}
	}
	t.Logf("%d rounds: the delete won %d, the creation %d", rounds, deleted, created)
	// No live space names a building that is gone.
	ids, _ := listIDs(t, c, "/api/v1/spaces?limit=100", fmt.Sprint(lastSeq(t, m)))
	for _, id := range ids {
		sp, _ := mustRead[space](t, c, "/api/v1/spaces/"+id, "")
		requireStatus(t, c.do(t, "GET", "/api/v1/buildings/"+sp.BuildingID, nil), http.StatusOK)
	}
}

// Two moves that would together close a cycle (a under b, b under a) are
// decided on the building's tree: exactly one lands.
func TestConcurrentSpaceMovesCannotCloseACycle(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	c := m.c
	b := mustBuilding(t, c, "Cycle")
	for i := range 10 {
		// a ─ x, and b ─ y at the top: a under y and b under x at once.
		a, _ := mustPost[space](t, c, "/spaces", map[string]any{"name": "a", "building_id": b.ID})
		x, _ := mustPost[space](t, c, "/spaces", map[string]any{"name": "x", "parent_id": a.ID})
		bb, _ := mustPost[space](t, c, "/spaces", map[string]any{"name": "b", "building_id": b.ID})
		y, _ := mustPost[space](t, c, "/spaces", map[string]any{"name": "y", "parent_id": bb.ID})
		var r1, r2 response
		var wg sync.WaitGroup
		start := make(chan struct{})
		wg.Go(func() { <-start; r1 = c.do(t, "PATCH", "/api/v1/spaces/"+a.ID, map[string]any{"parent_id": y.ID}) })
		wg.Go(func() { <-start; r2 = c.do(t, "PATCH", "/api/v1/spaces/"+bb.ID, map[string]any{"parent_id": x.ID}) })
		close(start)
		wg.Wait()
		ok1, ok2 := r1.status == http.StatusOK, r2.status == http.StatusOK
		if ok1 == ok2 {
			t.Fatalf("round %d: both moves answered %d and %d: %s %s", i, r1.status, r2.status, clip(r1.body), clip(r2.body))
		}
		loser := r2
		if ok2 {
			loser = r1
		}
		requireNativeError(t, loser, http.StatusBadRequest, "BAD_REQUEST", "parent_id")
	}
}
