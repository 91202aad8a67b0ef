package main

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

type lockingSystem struct {
	ID               string   `json:"id"`
	Name             string   `json:"name"`
	Brand            optional `json:"brand"`
	SystemType       string   `json:"system_type"`
	SystemTechnology optional `json:"system_technology"`
	RevisionNumber   optional `json:"revision_number"`
	AccessPointCount int      `json:"access_point_count"`
	CreatedAt        string   `json:"created_at"`
	UpdatedAt        string   `json:"updated_at"`
}

type accessPoint struct {
	ID              string   `json:"id"`
	PointName       string   `json:"point_name"`
	Label           optional `json:"label"`
	SpaceID         string   `json:"space_id"`
	LockingSystemID string   `json:"locking_system_id"`
	OutsideA        optional `json:"outside_a"`
	InsideB         optional `json:"inside_b"`
	Area            optional `json:"area"`
	Department      optional `json:"department"`
	Status          string   `json:"status"`
	DeleteProtected bool     `json:"delete_protected"`
	CredentialIDs   []string `json:"credential_ids"`
	CredentialCount int      `json:"credential_count"`
	CreatedAt       string   `json:"created_at"`
	UpdatedAt       string   `json:"updated_at"`
}

func TestLockingSystems(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	c := m.c
	_, lr := mustPost[location](t, c, "/locations", map[string]any{"name": "nothing yet"})
	requirePages(t, c, "/api/v1/locking-systems", token(lr), nil)

	kaba, _ := mustPost[lockingSystem](t, c, "/locking-systems", map[string]any{"name": "Master A", "brand": "KABA",
		"system_type": "mechatronic", "system_technology": "RFID", "revision_number": "R-1"})
	plain, _ := mustPost[lockingSystem](t, c, "/locking-systems", map[string]any{"name": "Plain keys"})
	if plain.SystemType != "mechanical" || plain.Brand.Set || kaba.SystemTechnology.Value != "RFID" {
		t.Fatalf("created %+v %+v", kaba, plain)
	}
	salto, sr := mustPost[lockingSystem](t, c, "/locking-systems", map[string]any{"name": "Salto", "brand": "Salto", "system_type": "electronic"})
	before := lastSeq(t, m)
	for _, bad := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"name": "x", "system_type": "quantum"}, "system_type"},
		{map[string]any{"name": "x", "revision_number": strings.Repeat("9", 65)}, "revision_number"},
		{map[string]any{"brand": "x"}, "name"},
		{map[string]any{"name": "x", "system_type": nil}, "system_type"},
	} {
		requireNativeError(t, c.do(t, "POST", "/api/v1/locking-systems", bad.body), http.StatusBadRequest, "BAD_REQUEST", bad.field)
	}
	requireAppended(t, m, before, 0)

	tok := token(sr)
	requirePages(t, c, "/api/v1/locking-systems", tok, []string{kaba.ID, plain.ID, salto.ID})
	requirePages(t, c, "/api/v1/locking-systems?brand=KABA", tok, []string{kaba.ID})
	requirePages(t, c, "/api/v1/locking-systems?system_type=mechanical", tok, []string{plain.ID})
	requirePages(t, c, "/api/v1/locking-systems?system_type=electronic&brand=Salto", tok, []string{salto.ID})
	requirePages(t, c, "/api/v1/locking-systems?system_type=electronic&brand=KABA", tok, nil)
	requirePages(t, c, "/api/v1/locking-systems?search=salto", tok, []string{salto.ID})
	byBrand, _ := listIDs(t, c, "/api/v1/locking-systems?order=brand.desc,name.asc", tok)
	requireEqual(t, "by brand", strings.Join(byBrand, ","), strings.Join([]string{salto.ID, kaba.ID, plain.ID}, ","))
	requireNativeError(t, c.do(t, "GET", "/api/v1/locking-systems?system_type=quantum", nil), http.StatusBadRequest, "BAD_REQUEST", "system_type")

	got, tag := mustRead[lockingSystem](t, c, "/api/v1/locking-systems/"+kaba.ID, tok)
	requireEqual(t, "read", got, kaba)
	requireNativeError(t, c.do(t, "PATCH", "/api/v1/locking-systems/"+kaba.ID, map[string]any{"revision_number": "R-2"}, "If-Match", `"1"`),
		http.StatusPreconditionFailed, "PRECONDITION_FAILED", "")
	upd, ur := mustChange[lockingSystem](t, c, "PATCH", "/api/v1/locking-systems/"+kaba.ID,
		map[string]any{"revision_number": "R-2", "brand": nil, "system_type": "electronic"}, "If-Match", tag)
	if upd.RevisionNumber.Value != "R-2" || upd.Brand.Set || upd.SystemType != "electronic" {
		t.Fatalf("updated %+v", upd)
	}
	requirePages(t, c, "/api/v1/locking-systems?brand=KABA", token(ur), nil)
	requirePages(t, c, "/api/v1/locking-systems?system_type=electronic", token(ur), []string{kaba.ID, salto.ID})

	// A system whose locks access points carry stays.
	b := mustBuilding(t, c, "Locks")
	sp, _ := mustPost[space](t, c, "/spaces", map[string]any{"name": "Hall", "building_id": b.ID})
	ap, _ := mustPost[accessPoint](t, c, "/access-points", map[string]any{"point_name": "Gate", "space_id": sp.ID, "locking_system_id": salto.ID})
	requireNativeError(t, c.do(t, "DELETE", "/api/v1/locking-systems/"+salto.ID, nil), http.StatusConflict, "CONFLICT", ap.ID+" (Gate)")
	_, dr := mustChange[lockingSystem](t, c, "DELETE", "/api/v1/locking-systems/"+plain.ID, nil)
	requireNativeError(t, c.do(t, "GET", "/api/v1/locking-systems/"+plain.ID, nil, "X-Consistency-Token", token(dr)), http.StatusNotFound, "NOT_FOUND", "")
	h := placeHistoryOf[lockingSystem](t, c, "/api/v1/locking-systems/"+salto.ID, token(dr))
	requireEqual(t, "history", strings.Join(placeEventTypes(h), ","), "locking_system.created,locking_system.access_points_attached")
	requireEqual(t, "access_point_count in history", h[1].Data.AccessPointCount, 1)

	_, vt := mustServiceUser(t, c, "viewer", "viewer", time.Hour)
	requireNativeError(t, as(c, vt.Token).do(t, "POST", "/api/v1/locking-systems", map[string]any{"name": "x"}),
		http.StatusForbidden, "INSUFFICIENT_PERMISSIONS", "locking-systems:write")
}

func TestAccessPoints(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	c := m.c
	b := mustBuilding(t, c, "Doors")
	hall, _ := mustPost[space](t, c, "/spaces", map[string]any{"name": "Hall", "building_id": b.ID})
	lab, _ := mustPost[space](t, c, "/spaces", map[string]any{"name": "Lab", "building_id": b.ID})
	ls1, _ := mustPost[lockingSystem](t, c, "/locking-systems", map[string]any{"name": "Keys"})
	ls2, lr := mustPost[lockingSystem](t, c, "/locking-systems", map[string]any{"name": "Cards", "system_type": "electronic"})
	requirePages(t, c, "/api/v1/access-points", token(lr), nil)
	requirePages(t, c, "/api/v1/spaces/"+hall.ID+"/access-points", token(lr), nil)

	// A creation is three events: the access point and its attach to its
	// space and to its locking system.
	before := lastSeq(t, m)
	front, fr := mustPost[accessPoint](t, c, "/access-points", map[string]any{"point_name": "Front door", "label": "D-1",
		"space_id": hall.ID, "locking_system_id": ls1.ID, "outside_a": "Street", "inside_b": "Hall", "area": "Ground",
		"department": "Facilities", "delete_protected": true})
	requireAppended(t, m, before, 3)
	if front.Status != "active" || front.CredentialCount != 0 || len(front.CredentialIDs) != 0 || !front.DeleteProtected ||
		front.OutsideA.Value != "Street" {
		t.Fatalf("created %+v", front)
	}
	back, _ := mustPost[accessPoint](t, c, "/access-points", map[string]any{"point_name": "Back door", "space_id": hall.ID,
		"locking_system_id": ls2.ID, "status": "maintenance"})
	labDoor, ldr := mustPost[accessPoint](t, c, "/access-points", map[string]any{"point_name": "Lab door", "space_id": lab.ID,
		"locking_system_id": ls2.ID})
	got, tag := mustRead[accessPoint](t, c, "/api/v1/access-points/"+front.ID, token(ldr))
	if got.PointName != front.PointName || tag != fr.header.Get("ETag") {
		t.Fatalf("read %+v %s", got, tag)
	}

	before = lastSeq(t, m)
	for _, bad := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"point_name": "x", "locking_system_id": ls1.ID}, "space_id"},
		{map[string]any{"point_name": "x", "space_id": hall.ID}, "locking_system_id"},
		{map[string]any{"point_name": "x", "space_id": "none", "locking_system_id": ls1.ID}, "space_id"},
		{map[string]any{"point_name": "x", "space_id": hall.ID, "locking_system_id": "none"}, "locking_system_id"},
		{map[string]any{"point_name": "x", "space_id": hall.ID, "locking_system_id": ls1.ID, "status": "open"}, "status"},
		{map[string]any{"space_id": hall.ID, "locking_system_id": ls1.ID}, "point_name"},
		{map[string]any{"point_name": "x", "space_id": hall.ID, "locking_system_id": ls1.ID, "credential_ids": []string{}}, "credential_ids"},
	} {
		requireNativeError(t, c.do(t, "POST", "/api/v1/access-points", bad.body), http.StatusBadRequest, "BAD_REQUEST", bad.field)
	}
	requireAppended(t, m, before, 0)

	// Lists and filters.
	tok := token(ldr)
	all := []string{front.ID, back.ID, labDoor.ID}
	requirePages(t, c, "/api/v1/access-points", tok, all)
	requirePages(t, c, "/api/v1/access-points?space_id="+hall.ID, tok, all[:2])
	requirePages(t, c, "/api/v1/spaces/"+hall.ID+"/access-points", tok, all[:2])
	requirePages(t, c, "/api/v1/spaces/"+hall.ID+"/access-points?status=maintenance", tok, all[1:2])
	requirePages(t, c, "/api/v1/access-points?locking_system_id="+ls2.ID, tok, all[1:])
	requirePages(t, c, "/api/v1/access-points?locking_system_id="+ls2.ID+"&space_id="+lab.ID, tok, all[2:])
	requirePages(t, c, "/api/v1/access-points?status=active", tok, []string{front.ID, labDoor.ID})
	requirePages(t, c, "/api/v1/access-points?search=d-1", tok, all[:1])
	requirePages(t, c, "/api/v1/access-points?search=DOOR&status=active", tok, []string{front.ID, labDoor.ID})
	byName, _ := listIDs(t, c, "/api/v1/access-points?order=point_name.asc", tok)
	requireEqual(t, "by name", strings.Join(byName, ","), strings.Join([]string{back.ID, front.ID, labDoor.ID}, ","))
	for _, q := range []string{"status=open", "space_id=a.b", "order=area.asc", "building_id=x"} {
		requireNativeError(t, c.do(t, "GET", "/api/v1/access-points?"+q, nil), http.StatusBadRequest, "BAD_REQUEST", strings.Split(q, "=")[0])
	}
	requireNativeError(t, c.do(t, "GET", "/api/v1/spaces/none/access-points", nil), http.StatusNotFound, "NOT_FOUND", "")
	requireNativeError(t, c.do(t, "GET", "/api/v1/spaces/"+hall.ID+"/access-points?space_id="+lab.ID, nil),
		http.StatusBadRequest, "BAD_REQUEST", "space_id")

	// Moving an access point detaches and attaches in the same append.
	requireNativeError(t, c.do(t, "PATCH", "/api/v1/access-points/"+back.ID, map[string]any{"space_id": "none"}),
		http.StatusBadRequest, "BAD_REQUEST", "space_id")
	requireNativeError(t, c.do(t, "PATCH", "/api/v1/access-points/"+back.ID, map[string]any{"space_id": nil}),
		http.StatusBadRequest, "BAD_REQUEST", "space_id")
	requireNativeError(t, c.do(t, "PATCH", "/api/v1/access-points/"+back.ID, map[string]any{"label": "x"}, "If-Match", `"2"`),
		http.StatusPreconditionFailed, "PRECONDITION_FAILED", "")
	before = lastSeq(t, m)
	moved, mr := mustChange[accessPoint](t, c, "PATCH", "/api/v1/access-points/"+back.ID,
		map[string]any{"space_id": lab.ID, "locking_system_id": ls1.ID, "status": "active", "label": "B-2"})
	requireAppended(t, m, before, 5)
	if moved.SpaceID != lab.ID || moved.LockingSystemID != ls1.ID || moved.Label.Value != "B-2" {
		t.Fatalf("moved %+v", moved)
	}
	requirePages(t, c, "/api/v1/access-points?space_id="+hall.ID, token(mr), all[:1])
	requirePages(t, c, "/api/v1/spaces/"+lab.ID+"/access-points", token(mr), all[1:])
	requirePages(t, c, "/api/v1/access-points?status=maintenance", token(mr), nil)
	hs, _ := mustRead[space](t, c, "/api/v1/spaces/"+hall.ID, token(mr))
	l1, _ := mustRead[lockingSystem](t, c, "/api/v1/locking-systems/"+ls1.ID, token(mr))
	if hs.AccessPointCount != 1 || l1.AccessPointCount != 2 {
		t.Fatalf("counts: hall %d keys %d", hs.AccessPointCount, l1.AccessPointCount)
	}

	// POST /spaces/{id}/access-points moves several at once, in one append.
	before = lastSeq(t, m)
	requireNativeError(t, c.do(t, "POST", "/api/v1/spaces/"+hall.ID+"/access-points", map[string]any{"access_point_ids": []string{back.ID, "none"}}),
		http.StatusBadRequest, "BAD_REQUEST", "access_point_ids[1]")
	requireNativeError(t, c.do(t, "POST", "/api/v1/spaces/"+hall.ID+"/access-points", map[string]any{"access_point_ids": []string{}}),
		http.StatusBadRequest, "BAD_REQUEST", "access_point_ids")
	requireNativeError(t, c.do(t, "POST", "/api/v1/spaces/"+hall.ID+"/access-points", map[string]any{"access_point_ids": "x"}),
		http.StatusBadRequest, "BAD_REQUEST", "access_point_ids")
	requireNativeError(t, c.do(t, "POST", "/api/v1/spaces/none/access-points", map[string]any{"access_point_ids": []string{back.ID}}),
		http.StatusNotFound, "NOT_FOUND", "")
	requireAppended(t, m, before, 0)
	r := c.do(t, "POST", "/api/v1/spaces/"+hall.ID+"/access-points", map[string]any{"access_point_ids": []string{back.ID, labDoor.ID, front.ID, back.ID}})
	requireStatus(t, r, http.StatusOK)
	// back and labDoor move (2), lab loses both (1), hall gains both (1).
	requireAppended(t, m, before, 4)
	assigned := decode[item[[]accessPoint]](t, r).Data
	if len(assigned) != 3 || assigned[0].SpaceID != hall.ID || assigned[1].SpaceID != hall.ID || assigned[2].ID != front.ID {
		t.Fatalf("assigned %+v", assigned)
	}
	requirePages(t, c, "/api/v1/spaces/"+hall.ID+"/access-points", token(r), all)
	requirePages(t, c, "/api/v1/spaces/"+lab.ID+"/access-points", token(r), nil)
	before = lastSeq(t, m)
	requireStatus(t, c.do(t, "POST", "/api/v1/spaces/"+hall.ID+"/access-points", map[string]any{"access_point_ids": []string{front.ID}}), http.StatusOK)
	requireAppended(t, m, before, 0)

	// Delete: protected, then a space with access points stays, then in order.
	requireNativeError(t, c.do(t, "DELETE", "/api/v1/access-points/"+front.ID, nil), http.StatusConflict, "DELETE_PROTECTED", "")
	requireNativeError(t, c.do(t, "DELETE", "/api/v1/spaces/"+hall.ID, nil), http.StatusConflict, "CONFLICT", "3 access points")
	mustChange[accessPoint](t, c, "PATCH", "/api/v1/access-points/"+front.ID, map[string]any{"delete_protected": false})
	before = lastSeq(t, m)
	_, dr := mustChange[accessPoint](t, c, "DELETE", "/api/v1/access-points/"+front.ID, nil)
	requireAppended(t, m, before, 3)
	requireNativeError(t, c.do(t, "GET", "/api/v1/access-points/"+front.ID, nil, "X-Consistency-Token", token(dr)), http.StatusNotFound, "NOT_FOUND", "")
	requireNativeError(t, c.do(t, "DELETE", "/api/v1/access-points/"+front.ID, nil), http.StatusNotFound, "NOT_FOUND", "")
	requirePages(t, c, "/api/v1/access-points?locking_system_id="+ls1.ID, token(dr), all[1:2])
	h := placeHistoryOf[accessPoint](t, c, "/api/v1/access-points/"+front.ID, token(dr))
	requireEqual(t, "history", strings.Join(placeEventTypes(h), ","), "access_point.created,access_point.updated,access_point.deleted")
	requireNativeError(t, c.do(t, "GET", "/api/v1/access-points/none/history", nil), http.StatusNotFound, "NOT_FOUND", "")

	_, vt := mustServiceUser(t, c, "viewer", "viewer", time.Hour)
	v := as(c, vt.Token)
	requireStatus(t, v.do(t, "GET", "/api/v1/spaces/"+hall.ID+"/access-points", nil), http.StatusOK)
	requireNativeError(t, v.do(t, "POST", "/api/v1/spaces/"+hall.ID+"/access-points", map[string]any{"access_point_ids": []string{back.ID}}),
		http.StatusForbidden, "INSUFFICIENT_PERMISSIONS", "access-points:write")
	requireNativeError(t, v.do(t, "DELETE", "/api/v1/access-points/"+back.ID, nil), http.StatusForbidden, "INSUFFICIENT_PERMISSIONS", "access-points:delete")
}

// An access point that credentials are linked to stays: the refusal names
// them by number and name, its view lists them, and once they are unlinked
// it goes.
func TestAccessPointWithLinkedCredentials(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	c := m.c
	b := mustBuilding(t, c, "Linked")
	sp, _ := mustPost[space](t, c, "/spaces", map[string]any{"name": "Hall", "building_id": b.ID})
	ls, _ := mustPost[lockingSystem](t, c, "/locking-systems", map[string]any{"name": "Keys"})
	ap, _ := mustPost[accessPoint](t, c, "/access-points", map[string]any{"point_name": "Gate", "space_id": sp.ID, "locking_system_id": ls.ID})
	var keys []accessCredential
	for _, n := range []string{"K-1", "K-2", "K-3", "K-4"} {
		k, _ := mustAccessCredential(t, c, keyBody(n))
		keys = append(keys, k)
		requireStatus(t, c.do(t, "POST", "/api/v1/access-credentials/"+k.ID+"/access-points",
			map[string]any{"access_point_ids": []string{ap.ID}}), http.StatusOK)
	}
	r := c.do(t, "GET", "/api/v1/access-points/"+ap.ID, nil, "X-Consistency-Token", fmt.Sprint(lastSeq(t, m)))
	requireStatus(t, r, http.StatusOK)
	got := decode[item[accessPoint]](t, r).Data
	want := []string{keys[0].ID, keys[1].ID, keys[2].ID, keys[3].ID}
	slices.Sort(want)
	if got.CredentialCount != 4 || !slices.Equal(got.CredentialIDs, want) {
		t.Fatalf("linked %v (%d), want %v", got.CredentialIDs, got.CredentialCount, want)
	}

	before := lastSeq(t, m)
	del := c.do(t, "DELETE", "/api/v1/access-points/"+ap.ID, nil)
	requireNativeError(t, del, http.StatusConflict, "CONFLICT", "4 linked access credentials")
	first := slices.IndexFunc(keys, func(k accessCredential) bool { return k.ID == want[0] })
	requireNativeError(t, del, http.StatusConflict, "CONFLICT", want[0]+" ("+keys[first].CredentialID+" Key "+keys[first].CredentialID+")")
	requireNativeError(t, del, http.StatusConflict, "CONFLICT", "and 1 more")
	requireAppended(t, m, before, 0)

	for _, k := range keys {
		requireStatus(t, c.do(t, "DELETE", "/api/v1/access-credentials/"+k.ID+"/access-points",
			map[string]any{"access_point_ids": []string{ap.ID}}), http.StatusOK)
	}
	_, dr := mustChange[accessPoint](t, c, "DELETE", "/api/v1/access-points/"+ap.ID, nil)
	h := placeHistoryOf[accessPoint](t, c, "/api/v1/access-points/"+ap.ID, token(dr))
	requireEqual(t, "history", strings.Count(strings.Join(placeEventTypes(h), ","), "access_point.credentials_linked"), 4)
	requireEqual(t, "last event", h[len(h)-1].EventType, "access_point.deleted")
	requireEqual(t, "unlinked before the delete", h[len(h)-2].Data.CredentialCount, 0)
}
