package main

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"
)

// The views through the real server: the access control systems overview,
// the active systems and the locking plan, the space overview, individuals,
// active assignments and recent activity, and the dashboard.

type controlSystem struct {
	lockingSystem
	LinkedCredentialCount   int `json:"linked_credential_count"`
	AssignedCredentialCount int `json:"assigned_credential_count"`
	PendingCredentialCount  int `json:"pending_credential_count"`
}

type controlSystemsOverview struct {
	Summary struct {
		LockingSystems       int `json:"locking_systems"`
		ActiveLockingSystems int `json:"active_locking_systems"`
		AccessPoints         int `json:"access_points"`
		LinkedCredentials    int `json:"linked_credentials"`
		AssignedCredentials  int `json:"assigned_credentials"`
		PendingCredentials   int `json:"pending_credentials"`
	} `json:"summary"`
	LockingSystems []controlSystem `json:"locking_systems"`
}

type lockingPlan struct {
	LockingSystem lockingSystem `json:"locking_system"`
	AccessPoints  []struct {
		ID        string   `json:"id"`
		PointName string   `json:"point_name"`
		Label     optional `json:"label"`
		SpaceID   string   `json:"space_id"`
		Status    string   `json:"status"`
	} `json:"access_points"`
	Credentials []struct {
		Credential     accessCredential `json:"credential"`
		AccessPointIDs []string         `json:"access_point_ids"`
	} `json:"credentials"`
}

// paged is a native list whose data is an object.
type paged[T any] struct {
	Msg  string `json:"msg"`
	Data T      `json:"data"`
	Meta struct {
		Pagination pagination `json:"pagination"`
	} `json:"meta"`
}

type spaceOverview struct {
	Space    space `json:"space"`
	Building struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"building"`
	Location struct {
		ID       string `json:"id"`
		Name     string `json:"name"`
		TimeZone string `json:"time_zone"`
	} `json:"location"`
	Parents []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"parents"`
	Counts struct {
		ChildSpaces         int `json:"child_spaces"`
		AccessPoints        int `json:"access_points"`
		Individuals         int `json:"individuals"`
		LinkedCredentials   int `json:"linked_credentials"`
		ActiveAssignments   int `json:"active_assignments"`
		AssignedCredentials int `json:"assigned_credentials"`
		PendingCredentials  int `json:"pending_credentials"`
		Activity            int `json:"activity"`
	} `json:"counts"`
	LastActivity *auditEntry `json:"last_activity"`
}

type spaceIndividual struct {
	individual
	Rules []struct {
		RuleID     string   `json:"rule_id"`
		SpaceID    string   `json:"space_id"`
		Via        string   `json:"via"`
		Department optional `json:"department"`
	} `json:"rules"`
}

type spaceAssignment struct {
	Credential         accessCredential `json:"credential"`
	StatusAssignment   string           `json:"status_assignment"`
	AssignedIndividual *struct {
		ID         string   `json:"id"`
		FirstName  string   `json:"first_name"`
		LastName   string   `json:"last_name"`
		Email      optional `json:"email"`
		Department optional `json:"department"`
	} `json:"assigned_individual"`
	DueDate        optional `json:"due_date"`
	Overdue        bool     `json:"overdue"`
	AccessPointIDs []string `json:"access_point_ids"`
}

type dashboard struct {
	Individuals          int            `json:"individuals"`
	Locations            int            `json:"locations"`
	Buildings            int            `json:"buildings"`
	Spaces               int            `json:"spaces"`
	AccessPoints         int            `json:"access_points"`
	AccessPointsByStatus map[string]int `json:"access_points_by_status"`
	LockingSystems       int            `json:"locking_systems"`
	ActiveLockingSystems int            `json:"active_locking_systems"`
	Credentials          struct {
		Total              int            `json:"total"`
		ByStatus           map[string]int `json:"by_status"`
		ByType             map[string]int `json:"by_type"`
		ByStatusAssignment map[string]int `json:"by_status_assignment"`
		Expired            int            `json:"expired"`
		Overdue            int            `json:"overdue"`
		DueSoon            int            `json:"due_soon"`
		DueSoonDays        int            `json:"due_soon_days"`
	} `json:"credentials"`
	LinkedCredentials    int          `json:"linked_credentials"`
	PendingConfirmations int          `json:"pending_confirmations"`
	OverdueReturns       int          `json:"overdue_returns"`
	LatestActivity       []auditEntry `json:"latest_activity"`
}

// viewsSite is a small site with every relation the views count.
type viewsSite struct {
	floor, room, empty             space
	mech, elec, idle               lockingSystem
	door1, door2, door3            accessPoint
	alice, bob, carol, dave        individual
	k1, k2, k3, c1                 accessCredential
	floorRule, roomRule, tok, path string
}

// mustViewsSite builds it: doors 1 (mechanical) and 2 (electronic) in the
// room, door 3 (mechanical) on the floor around it; k1 opens doors 1 and
// 3, k2 door 1, k3 door 3, c1 door 2; alice holds k1, bob has k2 reserved,
// carol holds c1 (overdue); the floor's rule admits Ops on weekdays, the
// room's names dave.
func mustViewsSite(t *testing.T, c *client) *viewsSite {
	t.Helper()
	s := &viewsSite{}
	b := mustBuilding(t, c, "Views")
	s.floor, _ = mustPost[space](t, c, "/spaces", map[string]any{"name": "Floor", "building_id": b.ID})
	s.room, _ = mustPost[space](t, c, "/spaces", map[string]any{"name": "Room", "parent_id": s.floor.ID})
	s.empty, _ = mustPost[space](t, c, "/spaces", map[string]any{"name": "Empty", "building_id": b.ID})
	s.mech, _ = mustPost[lockingSystem](t, c, "/locking-systems", map[string]any{"name": "Mech", "system_type": "mechanical"})
	s.elec, _ = mustPost[lockingSystem](t, c, "/locking-systems", map[string]any{"name": "Elec", "system_type": "electronic", "brand": "Acme"})
	s.idle, _ = mustPost[lockingSystem](t, c, "/locking-systems", map[string]any{"name": "Idle", "system_type": "mechatronic"})
	door := func(name, sp, ls string) accessPoint {
		a, _ := mustPost[accessPoint](t, c, "/access-points", map[string]any{"point_name": name, "space_id": sp, "locking_system_id": ls})
		return a
	}
	s.door1, s.door2, s.door3 = door("Door 1", s.room.ID, s.mech.ID), door("Door 2", s.room.ID, s.elec.ID), door("Door 3", s.floor.ID, s.mech.ID)
	s.alice, _ = mustCreate(t, c, map[string]any{"first_name": "Alice", "last_name": "A", "department": "Ops"})
	s.bob, _ = mustCreate(t, c, map[string]any{"first_name": "Bob", "last_name": "B", "department": "ops "})
	s.carol, _ = mustCreate(t, c, map[string]any{"first_name": "Carol", "last_name": "C", "department": "Dev"})
	s.dave, _ = mustCreate(t, c, map[string]any{"first_name": "Dave", "last_name": "D"})
	creds := mustCredentials(t, c, map[string]map[string]any{"C1": {"type": "card"}}, "K1", "K2", "K3", "C1")
	s.k1, s.k2, s.k3, s.c1 = creds["K1"], creds["K2"], creds["K3"], creds["C1"]
	link := func(cr accessCredential, aps ...string) {
		mustChange[accessCredential](t, c, "POST", "/api/v1/access-credentials/"+cr.ID+"/access-points", map[string]any{"access_point_ids": aps})
	}
	link(s.k1, s.door1.ID, s.door3.ID)
	link(s.k2, s.door1.ID)
	link(s.k3, s.door3.ID)
	link(s.c1, s.door2.ID)
	credentialCall(t, c, "assign", map[string]any{"credential_ids": []string{s.k1.ID}, "individual_id": s.alice.ID})
	credentialCall(t, c, "assign", map[string]any{"credential_ids": []string{s.k2.ID}, "individual_id": s.bob.ID,
		"confirmation": map[string]any{"type": "digital"}})
	credentialCall(t, c, "assign", map[string]any{"credential_ids": []string{s.c1.ID}, "individual_id": s.carol.ID,
		"due_date": time.Now().Add(-48 * time.Hour).UTC().Format(time.RFC3339)})
	rules := func(sp string, rule map[string]any) string {
		got, _ := mustChange[accessRules](t, c, "PUT", "/api/v1/spaces/"+sp+"/access-rules", map[string]any{"rules": []any{rule}})
		return got.Rules[0].ID
	}
	s.floorRule = rules(s.floor.ID, map[string]any{"departments": []string{"OPS"},
		"schedule": []map[string]any{{"days": []string{"mon", "tue", "wed", "thu", "fri"}, "from": "07:00", "to": "19:00"}}})
	s.roomRule = rules(s.room.ID, map[string]any{"individual_ids": []string{s.dave.ID}})
	// A read with the token of this last change sees everything above.
	_, r := mustChange[individual](t, c, "PATCH", "/api/v1/individuals/"+s.dave.ID, map[string]any{"mobile_phone": "+41 79 000 00 00"})
	s.tok = token(r)
	return s
}

func TestAccessControlSystemViews(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	c := m.c
	s := mustViewsSite(t, c)

	r := c.do(t, "GET", "/api/v1/access-control-systems/overview", nil, "X-Consistency-Token", s.tok)
	requireStatus(t, r, http.StatusOK)
	o := decode[paged[controlSystemsOverview]](t, r)
	sum := o.Data.Summary
	if sum.LockingSystems != 3 || sum.ActiveLockingSystems != 2 || sum.AccessPoints != 3 || sum.LinkedCredentials != 4 ||
		sum.AssignedCredentials != 2 || sum.PendingCredentials != 1 {
		t.Fatalf("summary %+v", sum)
	}
	requireEqual(t, "overview total", o.Meta.Pagination.TotalItems, 3)
	counts := map[string][4]int{}
	for _, ls := range o.Data.LockingSystems {
		counts[ls.Name] = [4]int{ls.AccessPointCount, ls.LinkedCredentialCount, ls.AssignedCredentialCount, ls.PendingCredentialCount}
	}
	if counts["Mech"] != [4]int{2, 3, 1, 1} || counts["Elec"] != [4]int{1, 1, 1, 0} || counts["Idle"] != [4]int{0, 0, 0, 0} {
		t.Fatalf("per system (access points, linked, assigned, pending): %v", counts)
	}
	// The overview pages, filters and orders like the locking systems list.
	r = c.do(t, "GET", "/api/v1/access-control-systems/overview?limit=1&page=2&order=name.desc", nil)
	requireStatus(t, r, http.StatusOK)
	if p := decode[paged[controlSystemsOverview]](t, r); len(p.Data.LockingSystems) != 1 || p.Data.LockingSystems[0].Name != "Idle" ||
		p.Meta.Pagination.TotalPages != 3 || p.Data.Summary.LockingSystems != 3 {
		t.Fatalf("overview page 2 by name desc: %+v", p)
	}
	r = c.do(t, "GET", "/api/v1/access-control-systems/overview?brand=Acme", nil)
	if p := decode[paged[controlSystemsOverview]](t, r); len(p.Data.LockingSystems) != 1 || p.Data.LockingSystems[0].ID != s.elec.ID {
		t.Fatalf("overview by brand: %+v", p.Data.LockingSystems)
	}

	// Active: the systems with access points, paged at 1, many and beyond.
	requirePages(t, c, "/api/v1/access-control-systems/active", s.tok, []string{s.mech.ID, s.elec.ID})
	ids, p := listIDs(t, c, "/api/v1/access-control-systems/active?system_type=electronic", s.tok)
	if !slices.Equal(ids, []string{s.elec.ID}) || p.TotalItems != 1 {
		t.Fatalf("active electronic: %v %+v", ids, p)
	}
	ids, _ = listIDs(t, c, "/api/v1/access-control-systems/active?order=name.asc", s.tok)
	requireEqual(t, "active by name", slices.Equal(ids, []string{s.elec.ID, s.mech.ID}), true)
	ids, p = listIDs(t, c, "/api/v1/access-control-systems/active?system_type=mechatronic", s.tok)
	if len(ids) != 0 || p.TotalItems != 0 || p.TotalPages != 0 {
		t.Fatalf("no active mechatronic system: %v %+v", ids, p)
	}

	// The locking plan: the system's doors once, and its credentials with
	// the doors each opens.
	planPath := "/api/v1/access-control-systems/" + s.mech.ID + "/locking-plan"
	plan := func(q string) paged[lockingPlan] {
		t.Helper()
		r := c.do(t, "GET", withQuery(planPath, q), nil)
		requireStatus(t, r, http.StatusOK)
		return decode[paged[lockingPlan]](t, r)
	}
	full := plan("limit=100")
	var cols []string
	for _, a := range full.Data.AccessPoints {
		cols = append(cols, a.ID)
	}
	requireEqual(t, "plan columns", slices.Equal(cols, []string{s.door1.ID, s.door3.ID}), true)
	rows := map[string][]string{}
	var order []string
	for _, row := range full.Data.Credentials {
		rows[row.Credential.CredentialID] = row.AccessPointIDs
		order = append(order, row.Credential.CredentialID)
	}
	if !slices.Equal(order, []string{"K1", "K2", "K3"}) || !slices.Equal(rows["K1"], []string{s.door1.ID, s.door3.ID}) ||
		!slices.Equal(rows["K2"], []string{s.door1.ID}) || !slices.Equal(rows["K3"], []string{s.door3.ID}) || full.Meta.Pagination.TotalItems != 3 {
		t.Fatalf("plan rows %v %v", order, rows)
	}
	for page, want := range map[int]string{1: "K1", 2: "K2", 3: "K3"} {
		if p := plan("limit=1&page=" + strconv.Itoa(page)); len(p.Data.Credentials) != 1 || p.Data.Credentials[0].Credential.CredentialID != want ||
			len(p.Data.AccessPoints) != 2 || p.Meta.Pagination.TotalPages != 3 {
			t.Fatalf("plan page %d: %+v", page, p)
		}
	}
	if p := plan("limit=2&page=3"); len(p.Data.Credentials) != 0 || p.Meta.Pagination.TotalItems != 3 || p.Meta.Pagination.CurrentCount != 0 {
		t.Fatalf("plan beyond the last page: %+v", p)
	}
	for q, want := range map[string][]string{
		"status_assignment=pending": {"K2"}, "status_assignment=available": {"K3"}, "status_assignment=assigned": {"K1"},
		"order=created_at.desc": {"K3", "K2", "K1"}, "search=k3": {"K3"}, "assigned_to=" + s.alice.ID: {"K1"},
		"type=card": nil, "status=lost": nil,
	} {
		var got []string
		p := plan(q)
		for _, row := range p.Data.Credentials {
			got = append(got, row.Credential.CredentialID)
		}
		if !slices.Equal(got, want) || p.Meta.Pagination.TotalItems != len(want) {
			t.Fatalf("plan ?%s: %v (%+v), want %v", q, got, p.Meta.Pagination, want)
		}
	}
	if p := plan("limit=5"); p.Data.LockingSystem.ID != s.mech.ID {
		t.Fatalf("plan system %+v", p.Data.LockingSystem)
	}
	idlePlan := c.do(t, "GET", "/api/v1/access-control-systems/"+s.idle.ID+"/locking-plan", nil)
	if p := decode[paged[lockingPlan]](t, idlePlan); len(p.Data.AccessPoints) != 0 || len(p.Data.Credentials) != 0 || p.Meta.Pagination.TotalItems != 0 {
		t.Fatalf("plan of a system without doors: %+v", p)
	}

	// 404 and 400.
	requireNativeError(t, c.do(t, "GET", "/api/v1/access-control-systems/nope/locking-plan", nil), http.StatusNotFound, "NOT_FOUND", "nope")
	requireNativeError(t, c.do(t, "GET", "/api/v1/access-control-systems/bad.id/locking-plan", nil), http.StatusBadRequest, "BAD_REQUEST", "id")
	for path, field := range map[string]string{
		planPath + "?status_assignment=lent":                       "status_assignment",
		planPath + "?order=credential_id.asc":                      "order",
		planPath + "?color=red":                                    "color",
		planPath + "?limit=101":                                    "limit",
		planPath + "?page=0":                                       "page",
		"/api/v1/access-control-systems/overview?system_type=wood": "system_type",
		"/api/v1/access-control-systems/overview?as_of=last-week":  "as_of",
		"/api/v1/access-control-systems/active?order=color.asc":    "order",
		"/api/v1/access-control-systems/active?nope=1":             "nope",
	} {
		requireNativeError(t, c.do(t, "GET", path, nil), http.StatusBadRequest, "BAD_REQUEST", field)
	}
	// A deleted system's plan is gone; another tenant's is not found.
	_, dr := mustChange[lockingSystem](t, c, "DELETE", "/api/v1/locking-systems/"+s.idle.ID, nil)
	requireNativeError(t, c.do(t, "GET", "/api/v1/access-control-systems/"+s.idle.ID+"/locking-plan", nil, "X-Consistency-Token", token(dr)),
		http.StatusNotFound, "NOT_FOUND", s.idle.ID)
	other := otherTenantAdmin(t, m, "views-other")
	requireNativeError(t, other.do(t, "GET", planPath, nil), http.StatusNotFound, "NOT_FOUND", "")
	r = other.do(t, "GET", "/api/v1/access-control-systems/overview", nil)
	if o := decode[paged[controlSystemsOverview]](t, r); o.Data.Summary.LockingSystems != 0 || len(o.Data.LockingSystems) != 0 {
		t.Fatalf("another tenant's overview: %+v", o)
	}

	// Moving door 3 to the electronic system moves its credentials' share.
	_, mr := mustChange[accessPoint](t, c, "PATCH", "/api/v1/access-points/"+s.door3.ID, map[string]any{"locking_system_id": s.elec.ID})
	r = c.do(t, "GET", "/api/v1/access-control-systems/overview", nil, "X-Consistency-Token", token(mr))
	counts = map[string][4]int{}
	for _, ls := range decode[paged[controlSystemsOverview]](t, r).Data.LockingSystems {
		counts[ls.Name] = [4]int{ls.AccessPointCount, ls.LinkedCredentialCount, ls.AssignedCredentialCount, ls.PendingCredentialCount}
	}
	if counts["Mech"] != [4]int{1, 2, 1, 1} || counts["Elec"] != [4]int{2, 3, 2, 0} {
		t.Fatalf("after the move (access points, linked, assigned, pending): %v", counts)
	}
}

func TestSpaceViews(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	c := m.c
	s := mustViewsSite(t, c)
	overview := func(sp, tok string) spaceOverview {
		t.Helper()
		o, _ := mustRead[spaceOverview](t, c, "/api/v1/spaces/"+sp+"/overview", tok)
		return o
	}
	room := overview(s.room.ID, s.tok)
	if room.Space.ID != s.room.ID || room.Building.Name != "Views" || room.Location.TimeZone != "Europe/Zurich" ||
		len(room.Parents) != 1 || room.Parents[0].ID != s.floor.ID || room.Parents[0].Name != "Floor" {
		t.Fatalf("room overview %+v", room)
	}
	rc := room.Counts
	// Alice and Bob by the floor's rule (Ops, in any case), Dave by name;
	// k1, k2 and c1 open its doors, all three held (k2 pending).
	if rc.ChildSpaces != 0 || rc.AccessPoints != 2 || rc.Individuals != 3 || rc.LinkedCredentials != 3 || rc.ActiveAssignments != 3 ||
		rc.AssignedCredentials != 2 || rc.PendingCredentials != 1 || rc.Activity == 0 || room.LastActivity == nil {
		t.Fatalf("room counts %+v, last activity %v", rc, room.LastActivity)
	}
	floor := overview(s.floor.ID, s.tok)
	if fc := floor.Counts; fc.ChildSpaces != 1 || fc.AccessPoints != 1 || fc.Individuals != 2 || fc.LinkedCredentials != 2 ||
		fc.ActiveAssignments != 1 || len(floor.Parents) != 0 {
		t.Fatalf("floor counts %+v", fc)
	}
	empty := overview(s.empty.ID, s.tok)
	if ec := empty.Counts; ec != (struct {
		ChildSpaces         int `json:"child_spaces"`
		AccessPoints        int `json:"access_points"`
		Individuals         int `json:"individuals"`
		LinkedCredentials   int `json:"linked_credentials"`
		ActiveAssignments   int `json:"active_assignments"`
		AssignedCredentials int `json:"assigned_credentials"`
		PendingCredentials  int `json:"pending_credentials"`
		Activity            int `json:"activity"`
	}{Activity: 1}) || empty.LastActivity == nil || empty.LastActivity.Action != "space.created" {
		t.Fatalf("empty space overview %+v", empty)
	}

	// Individuals: paging at 0, 1, many and beyond, with the rules.
	base := "/api/v1/spaces/"
	requirePages(t, c, base+s.room.ID+"/individuals", s.tok, []string{s.alice.ID, s.bob.ID, s.dave.ID})
	requirePages(t, c, base+s.floor.ID+"/individuals", s.tok, []string{s.alice.ID, s.bob.ID})
	requirePages(t, c, base+s.empty.ID+"/individuals", s.tok, nil)
	r := c.do(t, "GET", base+s.room.ID+"/individuals", nil)
	people := decode[list[spaceIndividual]](t, r).Data
	if people[0].FirstName != "Alice" || len(people[0].Rules) != 1 || people[0].Rules[0].RuleID != s.floorRule ||
		people[0].Rules[0].SpaceID != s.floor.ID || people[0].Rules[0].Via != "department" || people[0].Rules[0].Department.Value != "OPS" {
		t.Fatalf("alice's rules %+v", people[0])
	}
	if people[2].ID != s.dave.ID || len(people[2].Rules) != 1 || people[2].Rules[0].Via != "individual" ||
		people[2].Rules[0].RuleID != s.roomRule || people[2].Rules[0].Department.Set {
		t.Fatalf("dave's rules %+v", people[2])
	}

	// Active assignments: the held credentials that open the room's doors.
	r = c.do(t, "GET", base+s.room.ID+"/active-assignments?limit=100", nil)
	as := decode[list[spaceAssignment]](t, r)
	var got []string
	for _, a := range as.Data {
		got = append(got, a.Credential.CredentialID+"/"+a.StatusAssignment+"/"+a.AssignedIndividual.FirstName)
	}
	if !slices.Equal(got, []string{"K1/assigned/Alice", "K2/pending/Bob", "C1/assigned/Carol"}) || as.Meta.Pagination.TotalItems != 3 {
		t.Fatalf("room active assignments %v %+v", got, as.Meta.Pagination)
	}
	if a := as.Data[2]; !a.Overdue || !a.DueDate.Set || !slices.Equal(a.AccessPointIDs, []string{s.door2.ID}) ||
		!slices.Equal(as.Data[0].AccessPointIDs, []string{s.door1.ID}) {
		t.Fatalf("c1 in the room: %+v; k1 opens %v", a, as.Data[0].AccessPointIDs)
	}
	assignments := func(q string) []string {
		t.Helper()
		r := c.do(t, "GET", withQuery(base+s.room.ID+"/active-assignments", q), nil)
		requireStatus(t, r, http.StatusOK)
		l := decode[list[spaceAssignment]](t, r)
		out := []string{}
		for _, a := range l.Data {
			out = append(out, a.Credential.CredentialID)
		}
		if l.Meta.Pagination.TotalItems < len(out) {
			t.Fatalf("?%s: total %d below %d items", q, l.Meta.Pagination.TotalItems, len(out))
		}
		return out
	}
	for q, want := range map[string][]string{
		"status_assignment=pending": {"K2"}, "status_assignment=assigned": {"K1", "C1"}, "type=card": {"C1"},
		"assigned_to=" + s.alice.ID: {"K1"}, "order=created_at.desc": {"C1", "K2", "K1"}, "limit=1&page=2": {"K2"},
		"limit=2&page=2": {"C1"}, "limit=2&page=3": {}, "search=nothing": {},
	} {
		if got := assignments(q); !slices.Equal(got, want) {
			t.Fatalf("room active assignments ?%s: %v, want %v", q, got, want)
		}
	}

	// Recent activity: newest first, the room, its doors and their
	// credentials; not k3, which opens only the floor's door.
	r = c.do(t, "GET", base+s.room.ID+"/recent-activity?limit=100", nil)
	requireStatus(t, r, http.StatusOK)
	act := decode[list[auditEntry]](t, r)
	requireEqual(t, "activity total", act.Meta.Pagination.TotalItems, rc.Activity)
	entities := map[string]bool{}
	for i, a := range act.Data {
		entities[a.EntityID] = true
		if i > 0 && a.Sequence >= act.Data[i-1].Sequence {
			t.Fatalf("recent activity not newest first at %d: %d after %d", i, a.Sequence, act.Data[i-1].Sequence)
		}
	}
	for _, id := range []string{s.room.ID, s.door1.ID, s.door2.ID, s.k1.ID, s.k2.ID, s.c1.ID} {
		if !entities[id] {
			t.Fatalf("recent activity of the room misses %s: %v", id, entities)
		}
	}
	if entities[s.k3.ID] || entities[s.floor.ID] || entities[s.alice.ID] {
		t.Fatalf("recent activity of the room names records outside it: %v", entities)
	}
	requireEqual(t, "last activity is the newest entry", room.LastActivity.Sequence, act.Data[0].Sequence)
	r = c.do(t, "GET", base+s.room.ID+"/recent-activity?limit=2&page=2&order=occurred_at.asc", nil)
	asc := decode[list[auditEntry]](t, r)
	if len(asc.Data) != 2 || asc.Data[0].Sequence != act.Data[len(act.Data)-3].Sequence || asc.Meta.Pagination.TotalItems != rc.Activity {
		t.Fatalf("oldest first, page 2: %+v", asc)
	}
	r = c.do(t, "GET", base+s.room.ID+"/recent-activity?page=1000", nil)
	if l := decode[list[auditEntry]](t, r); len(l.Data) != 0 || l.Meta.Pagination.TotalItems != rc.Activity {
		t.Fatalf("beyond the last page: %+v", l.Meta.Pagination)
	}

	// Moving door 2 to the floor takes c1 with it; the move shows on both.
	_, mr := mustChange[accessPoint](t, c, "PATCH", "/api/v1/access-points/"+s.door2.ID, map[string]any{"space_id": s.floor.ID})
	if got := overview(s.room.ID, token(mr)).Counts; got.ActiveAssignments != 2 || got.LinkedCredentials != 2 || got.AccessPoints != 1 {
		t.Fatalf("room after the move: %+v", got)
	}
	// The move appends the door's update, the floor's attach and the
	// room's detach: each space shows the door's update and its own event.
	fl := overview(s.floor.ID, token(mr))
	if fl.Counts.ActiveAssignments != 2 || fl.LastActivity == nil || fl.LastActivity.Action != "space.access_points_attached" {
		t.Fatalf("floor after the move: %+v, last %+v", fl.Counts, fl.LastActivity)
	}
	ro := overview(s.room.ID, token(mr))
	if ro.LastActivity.Action != "space.access_points_detached" || ro.Counts.Activity != rc.Activity+2 {
		t.Fatalf("room after the move: last %+v, %d entries (was %d)", ro.LastActivity, ro.Counts.Activity, rc.Activity)
	}
	for _, sp := range []string{s.floor.ID, s.room.ID} {
		r := c.do(t, "GET", base+sp+"/recent-activity?limit=2", nil)
		if l := decode[list[auditEntry]](t, r).Data; len(l) != 2 || l[1].EntityID != s.door2.ID || l[1].Action != "access_point.updated" {
			t.Fatalf("recent activity of %s after the move: %+v", sp, l)
		}
	}

	// 404 for unknown, deleted or another tenant's spaces; 400 for bad input.
	_, dr := mustChange[space](t, c, "DELETE", base+s.empty.ID, nil)
	other := otherTenantAdmin(t, m, "views-space-other")
	for _, view := range []string{"overview", "individuals", "active-assignments", "recent-activity"} {
		requireNativeError(t, c.do(t, "GET", base+"nope/"+view, nil), http.StatusNotFound, "NOT_FOUND", "nope")
		requireNativeError(t, c.do(t, "GET", base+s.empty.ID+"/"+view, nil, "X-Consistency-Token", token(dr)), http.StatusNotFound, "NOT_FOUND", s.empty.ID)
		requireNativeError(t, other.do(t, "GET", base+s.room.ID+"/"+view, nil), http.StatusNotFound, "NOT_FOUND", "")
		requireNativeError(t, c.do(t, "GET", base+"bad.id/"+view, nil), http.StatusBadRequest, "BAD_REQUEST", "id")
		requireNativeError(t, c.do(t, "GET", base+s.room.ID+"/"+view+"?color=red", nil), http.StatusBadRequest, "BAD_REQUEST", "color")
	}
	for path, field := range map[string]string{
		"/individuals?order=last_name.asc":                "order",
		"/individuals?limit=0":                            "limit",
		"/active-assignments?status_assignment=available": "status_assignment",
		"/active-assignments?type=boat":                   "type",
		"/active-assignments?assigned_to=a.b":             "assigned_to",
		"/recent-activity?order=created_at.desc":          "order",
		"/recent-activity?page=1000001":                   "page",
	} {
		requireNativeError(t, c.do(t, "GET", base+s.room.ID+path, nil), http.StatusBadRequest, "BAD_REQUEST", field)
	}
}

func TestDashboardStats(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	c := m.c
	d, _ := mustRead[dashboard](t, c, "/api/v1/stats/dashboard", "")
	if d.Individuals != 0 || d.Credentials.Total != 0 || d.Locations != 0 || len(d.LatestActivity) == 0 {
		t.Fatalf("dashboard of a fresh tenant: %+v", d)
	}
	s := mustViewsSite(t, c)
	d, _ = mustRead[dashboard](t, c, "/api/v1/stats/dashboard", s.tok)
	if d.Individuals != 4 || d.Locations != 1 || d.Buildings != 1 || d.Spaces != 3 || d.AccessPoints != 3 ||
		d.AccessPointsByStatus["active"] != 3 || d.LockingSystems != 3 || d.ActiveLockingSystems != 2 ||
		d.Credentials.Total != 4 || d.Credentials.ByType["card"] != 1 || d.Credentials.ByStatusAssignment["assigned"] != 2 ||
		d.LinkedCredentials != 4 || d.PendingConfirmations != 1 || d.OverdueReturns != 1 || len(d.LatestActivity) != 5 {
		t.Fatalf("dashboard %+v", d)
	}
	// The latest activity is the audit log's newest entries.
	r := c.do(t, "GET", "/api/v1/audit-logs?limit=5&order=sequence.desc", nil)
	requireStatus(t, r, http.StatusOK)
	var latest []uint64
	var audit list[auditEntry]
	if err := json.Unmarshal(r.body, &audit); err != nil {
		t.Fatal(err)
	}
	for _, a := range audit.Data {
		latest = append(latest, a.Sequence)
	}
	var shown []uint64
	for _, a := range d.LatestActivity {
		shown = append(shown, a.Sequence)
	}
	requireEqual(t, "latest activity", slices.Equal(shown, latest), true)
	// The same figures as the credential stats; a viewer may read them.
	_, vt := mustServiceUser(t, c, "dash-viewer", "viewer", time.Hour)
	st, _ := mustRead[dashboard](t, as(c, vt.Token), "/api/v1/stats/dashboard", "")
	requireEqual(t, "dashboard as a viewer", st.Credentials.Total, 4)
	requireNativeError(t, c.do(t, "GET", "/api/v1/stats/dashboard?limit=5", nil), http.StatusBadRequest, "BAD_REQUEST", "limit")
}

// otherTenantAdmin creates tenant ext and a client of its admin.
func otherTenantAdmin(t *testing.T, m *testMain, ext string) *client {
	t.Helper()
	requireStatus(t, m.c.do(t, "POST", "/api/v1/tenants", map[string]any{"ext_id": ext, "display_name": ext}), http.StatusCreated)
	r := m.c.do(t, "POST", "/api/v1/service-users", map[string]any{"name": ext + "-admin", "role": "admin", "tenant": ext})
	requireStatus(t, r, http.StatusCreated)
	u := decode[item[serviceUser]](t, r).Data
	r = m.c.do(t, "POST", "/api/v1/service-users/"+u.ID+"/tokens",
		map[string]any{"expires_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339), "tenant": ext})
	requireStatus(t, r, http.StatusCreated)
	waitFor(t, m, token(r))
	return as(m.c, decode[item[issuedToken]](t, r).Data.Token)
}

// viewsScenario adds the views site and the demo data to the tenant and
// returns the reads of every view over them, for the rebuild test.
func viewsScenario(t *testing.T, c *client) []string {
	t.Helper()
	s := mustViewsSite(t, c)
	_, tok := mustDemo(t, c)
	paths := []string{"/api/v1/stats/dashboard", "/api/v1/stats/credentials",
		"/api/v1/access-control-systems/overview", "/api/v1/access-control-systems/overview?limit=2&page=2&order=name.desc",
		"/api/v1/access-control-systems/active?limit=100", "/api/v1/access-control-systems/active?system_type=electronic"}
	systems, _ := listIDs(t, c, "/api/v1/locking-systems?limit=100", tok)
	for _, id := range systems {
		p := "/api/v1/access-control-systems/" + id + "/locking-plan"
		paths = append(paths, p+"?limit=100", p+"?limit=10&page=3", p+"?status_assignment=pending&order=created_at.desc",
			p+"?type=card&limit=100")
	}
	spaces, _ := listIDs(t, c, "/api/v1/spaces?limit=100", tok)
	for _, id := range spaces {
		p := "/api/v1/spaces/" + id
		paths = append(paths, p+"/overview", p+"/individuals?limit=100", p+"/individuals?limit=5&page=2&order=created_at.desc",
			p+"/active-assignments?limit=100", p+"/active-assignments?status_assignment=pending",
			p+"/recent-activity?limit=100", p+"/recent-activity?limit=3&page=2&order=occurred_at.asc")
	}
	if len(spaces) < 25 || !slices.Contains(spaces, s.room.ID) {
		t.Fatalf("views scenario: %d spaces", len(spaces))
	}
	return paths
}
