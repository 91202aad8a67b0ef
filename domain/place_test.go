package domain_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/domain"
)

// fold applies events to a state as the log would, aggregate id "x".
func fold[T any, P interface {
	*T
	Apply(domain.Event)
}](typ string, data ...domain.EventData) T {
	var s T
	for i, d := range data {
		P(&s).Apply(domain.Event{Aggregate: domain.Ref{Type: typ, ID: "x"},
			OccurredAt: time.Unix(int64(1700000000+i), 0), Data: d})
	}
	return s
}

// requireErr fails unless err has code (and names field when field is set)
// and its message contains every part of msg.
func requireErr(t *testing.T, err error, code domain.Code, field string, msg ...string) {
	t.Helper()
	if domain.ErrorCode(err) != code || (field != "" && domain.ErrorField(err) != field) {
		t.Fatalf("err = %v, want code %q field %q", err, code, field)
	}
	for _, m := range msg {
		if !strings.Contains(domain.ErrorMessage(err), m) {
			t.Fatalf("message %q does not contain %q", domain.ErrorMessage(err), m)
		}
	}
}

func TestLocation(t *testing.T) {
	var fresh domain.Location
	_, f, err := fresh.CreateLocation(domain.LocationFields{Name: " HQ "})
	if err != nil || f.TimeZone != "UTC" || f.Name != "HQ" {
		t.Fatalf("create: %+v %v, want name trimmed and zone UTC", f, err)
	}
	for _, c := range []struct {
		in    domain.LocationFields
		field string
	}{
		{domain.LocationFields{}, "name"},
		{domain.LocationFields{Name: "x", TimeZone: "Mars/Olympus"}, "time_zone"},
		{domain.LocationFields{Name: "x", TimeZone: "Local"}, "time_zone"},
		{domain.LocationFields{Name: "x", Address: strings.Repeat("a", 501)}, "address"},
	} {
		_, _, err := fresh.CreateLocation(c.in)
		requireErr(t, err, domain.CodeInvalid, c.field)
	}

	created := &domain.LocationCreated{LocationFields: domain.LocationFields{Name: "HQ", TimeZone: "Europe/Zurich"}}
	l := fold[domain.Location]("location", created)
	if data, err := l.UpdateLocation(domain.LocationPatch{Name: ptr("HQ"), TimeZone: ptr("Europe/Zurich")}); data != nil || err != nil {
		t.Fatalf("a patch that changes nothing decided %v %v", data, err)
	}
	_, err = l.UpdateLocation(domain.LocationPatch{TimeZone: ptr("Europe/Nowhere")})
	requireErr(t, err, domain.CodeInvalid, "time_zone")

	data, err := l.AttachBuilding("b1", "location_id")
	if err != nil || len(data) != 1 {
		t.Fatalf("attach: %v %v", data, err)
	}
	withKids := fold[domain.Location]("location", created, data[0], &domain.LocationBuildingAttached{BuildingID: "b2"})
	if again, _ := withKids.AttachBuilding("b1", "location_id"); again != nil {
		t.Fatalf("attaching an attached building decided %v", again)
	}
	_, err = withKids.DeleteLocation(map[string]string{"b1": "Main"})
	requireErr(t, err, domain.CodeConflict, "", "2 buildings", "b1 (Main)", "b2")
	empty := fold[domain.Location]("location", created, data[0], &domain.LocationBuildingDetached{BuildingID: "b1"})
	if del, err := empty.DeleteLocation(nil); err != nil || len(del) != 1 {
		t.Fatalf("delete of an empty location: %v %v", del, err)
	}
	gone := fold[domain.Location]("location", created, &domain.LocationDeleted{})
	_, err = gone.AttachBuilding("b1", "location_id")
	requireErr(t, err, domain.CodeInvalid, "location_id")
	_, err = gone.DeleteLocation(nil)
	requireErr(t, err, domain.CodeNotFound, "")
}

// tree builds building "x" holding the spaces given as child→parent pairs.
func tree(pairs ...string) domain.Building {
	data := []domain.EventData{&domain.BuildingCreated{BuildingFields: domain.BuildingFields{Name: "B", LocationID: "l1"}}}
	for i := 0; i+1 < len(pairs); i += 2 {
		data = append(data, &domain.BuildingSpaceAttached{SpaceID: pairs[i], ParentID: pairs[i+1]})
	}
	return fold[domain.Building]("building", data...)
}

func TestSpaceTreeMoves(t *testing.T) {
	// a ─ b ─ c ─ d, and e at the top.
	b := tree("a", "", "b", "a", "c", "b", "d", "c", "e", "")
	for _, c := range []struct {
		name, space, parent string
		code                domain.Code
		want                domain.EventData
	}{
		{"to the top", "c", "", "", &domain.BuildingSpaceMoved{SpaceID: "c", ParentID: ""}},
		{"under a sibling tree", "b", "e", "", &domain.BuildingSpaceMoved{SpaceID: "b", ParentID: "e"}},
		{"into itself", "b", "b", domain.CodeInvalid, nil},
		{"into its child", "a", "b", domain.CodeInvalid, nil},
		{"into its grandchild", "a", "d", domain.CodeInvalid, nil},
		{"to where it is", "d", "c", "", nil},
		{"to a space of another building", "d", "zz", domain.CodeInvalid, nil},
		{"a space not in the building", "zz", "", domain.CodeNotFound, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			data, err := b.MoveSpace(c.space, c.parent)
			if domain.ErrorCode(err) != c.code {
				t.Fatalf("err = %v, want %q", err, c.code)
			}
			if c.code == domain.CodeInvalid && domain.ErrorField(err) != "parent_id" {
				t.Fatalf("err = %v, want it to name parent_id", err)
			}
			if c.want == nil && data != nil || c.want != nil && (len(data) != 1 || !reflect.DeepEqual(data[0], c.want)) {
				t.Fatalf("decided %v, want %v", data, c.want)
			}
		})
	}
	if !reflect.DeepEqual(b.ChildSpaces("a"), domain.IDSet{"b"}) || !reflect.DeepEqual(b.ChildSpaces(""), domain.IDSet{"a", "e"}) {
		t.Fatalf("children: a=%v top=%v", b.ChildSpaces("a"), b.ChildSpaces(""))
	}
	// Applying a move leaves the state it was applied to as it was.
	before := tree("a", "", "b", "a")
	after := before
	after.Apply(domain.Event{Data: &domain.BuildingSpaceMoved{SpaceID: "b", ParentID: ""}})
	if before.Spaces["b"] != "a" || after.Spaces["b"] != "" {
		t.Fatalf("a move changed the older state: before %v after %v", before.Spaces, after.Spaces)
	}
}

func TestBuildingAttachAndDelete(t *testing.T) {
	b := tree("a", "")
	_, err := b.AttachSpace("n", "zz", "building_id")
	requireErr(t, err, domain.CodeInvalid, "parent_id")
	if data, err := b.AttachSpace("n", "a", "building_id"); err != nil || len(data) != 1 {
		t.Fatalf("attach under a: %v %v", data, err)
	}
	_, err = b.DeleteBuilding(map[string]string{"a": "Lobby"})
	requireErr(t, err, domain.CodeConflict, "", "1 spaces: a (Lobby)")
	gone := fold[domain.Building]("building", &domain.BuildingCreated{BuildingFields: domain.BuildingFields{Name: "B", LocationID: "l1"}},
		&domain.BuildingDeleted{})
	_, err = gone.AttachSpace("n", "", "building_id")
	requireErr(t, err, domain.CodeInvalid, "building_id")
	empty := tree()
	if data, err := empty.DeleteBuilding(nil); err != nil || len(data) != 1 {
		t.Fatalf("delete of an empty building: %v %v", data, err)
	}
	_, _, err = (&domain.Building{}).CreateBuilding(domain.BuildingFields{Name: "B"})
	requireErr(t, err, domain.CodeInvalid, "location_id")
}

func TestRelocateSpace(t *testing.T) {
	b1 := tree("a", "", "b", "a")
	b2 := tree("z", "")
	b2.ID = "other"
	// A leaf moves to another building: detached here, attached there.
	from, to, err := domain.RelocateSpace("b", &b1, &b2, "z", nil)
	if err != nil || !reflect.DeepEqual(from, []domain.EventData{&domain.BuildingSpaceDetached{SpaceID: "b"}}) ||
		!reflect.DeepEqual(to, []domain.EventData{&domain.BuildingSpaceAttached{SpaceID: "b", ParentID: "z"}}) {
		t.Fatalf("relocate leaf: %v %v %v", from, to, err)
	}
	// A space holding others does not change building.
	_, _, err = domain.RelocateSpace("a", &b1, &b2, "", map[string]string{"b": "Office"})
	requireErr(t, err, domain.CodeConflict, "", "b (Office)")
	// Within a building it is a move, cycles refused.
	_, _, err = domain.RelocateSpace("a", &b1, &b1, "b", nil)
	requireErr(t, err, domain.CodeInvalid, "parent_id")
}

func TestDeleteSpace(t *testing.T) {
	yes := true
	created := &domain.SpaceCreated{SpaceFields: domain.SpaceFields{Name: "S", BuildingID: "b"}}
	b := tree("x", "", "kid", "x")
	for _, c := range []struct {
		name     string
		given    []domain.EventData
		building domain.Building
		code     domain.Code
		msg      []string
	}{
		{"free", nil, tree("x", ""), "", nil},
		{"protected", []domain.EventData{&domain.SpaceUpdated{SpacePatch: domain.SpacePatch{DeleteProtected: &yes}}}, tree("x", ""),
			domain.CodeDeleteProtected, nil},
		{"child space", nil, b, domain.CodeConflict, []string{"1 spaces: kid (Kid)"}},
		{"access points and child", []domain.EventData{&domain.SpaceAccessPointsAttached{AccessPointIDs: []string{"ap1", "ap2"}}}, b,
			domain.CodeConflict, []string{"1 spaces: kid", "2 access points: ap1 (Door), ap2"}},
		{"access points gone", []domain.EventData{&domain.SpaceAccessPointsAttached{AccessPointIDs: []string{"ap1"}},
			&domain.SpaceAccessPointsDetached{AccessPointIDs: []string{"ap1"}}}, tree("x", ""), "", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := fold[domain.Space]("space", append([]domain.EventData{created}, c.given...)...)
			se, be, err := s.DeleteSpace(&c.building, map[string]string{"kid": "Kid", "ap1": "Door"})
			requireErr(t, err, c.code, "", c.msg...)
			if c.code == "" && (len(se) != 1 || !reflect.DeepEqual(be, []domain.EventData{&domain.BuildingSpaceDetached{SpaceID: "x"}})) {
				t.Fatalf("decided %v and %v, want the deletion and the detach", se, be)
			}
		})
	}
}

func TestSpaceUpdateAndAccessPoints(t *testing.T) {
	s := fold[domain.Space]("space", &domain.SpaceCreated{SpaceFields: domain.SpaceFields{Name: "S", BuildingID: "b", ParentID: "p"}})
	_, ev, err := s.UpdateSpace(domain.SpacePatch{ParentID: ptr("")})
	if err != nil || ev == nil || ev.ParentID == nil || *ev.ParentID != "" {
		t.Fatalf("move to the top: %+v %v", ev, err)
	}
	_, _, err = s.UpdateSpace(domain.SpacePatch{ParentID: ptr("x")})
	requireErr(t, err, domain.CodeInvalid, "parent_id")
	_, _, err = s.UpdateSpace(domain.SpacePatch{Name: ptr(" ")})
	requireErr(t, err, domain.CodeInvalid, "name")
	data, err := s.AttachAccessPoints([]string{"ap1", "ap2"}, "space_id")
	if err != nil || len(data) != 1 {
		t.Fatalf("attach: %v %v", data, err)
	}
	s = fold[domain.Space]("space", &domain.SpaceCreated{SpaceFields: domain.SpaceFields{Name: "S", BuildingID: "b"}}, data[0])
	if again, _ := s.AttachAccessPoints([]string{"ap2"}, "space_id"); again != nil {
		t.Fatalf("re-attach decided %v", again)
	}
	if d := s.DetachAccessPoints([]string{"ap2", "ap9"}); !reflect.DeepEqual(d, []domain.EventData{
		&domain.SpaceAccessPointsDetached{AccessPointIDs: []string{"ap2"}}}) {
		t.Fatalf("detach decided %v", d)
	}
	var none domain.Space
	_, err = none.AttachAccessPoints([]string{"ap1"}, "space_id")
	requireErr(t, err, domain.CodeInvalid, "space_id")
}

func TestLockingSystem(t *testing.T) {
	var fresh domain.LockingSystem
	_, f, err := fresh.CreateLockingSystem(domain.LockingSystemFields{Name: " Master ", Brand: " KABA "})
	if err != nil || f.SystemType != domain.SystemMechanical || f.Name != "Master" || f.Brand != "KABA" {
		t.Fatalf("create: %+v %v", f, err)
	}
	_, _, err = fresh.CreateLockingSystem(domain.LockingSystemFields{Name: "M", SystemType: "quantum"})
	requireErr(t, err, domain.CodeInvalid, "system_type")
	created := &domain.LockingSystemCreated{LockingSystemFields: f}
	l := fold[domain.LockingSystem]("locking_system", created,
		&domain.LockingSystemAccessPointsAttached{AccessPointIDs: []string{"ap1"}})
	_, err = l.DeleteLockingSystem(nil)
	requireErr(t, err, domain.CodeConflict, "", "1 access points: ap1")
	if data, err := l.UpdateLockingSystem(domain.LockingSystemPatch{RevisionNumber: ptr("R2"), Brand: ptr("KABA")}); err != nil ||
		!reflect.DeepEqual(data, []domain.EventData{&domain.LockingSystemUpdated{LockingSystemPatch: domain.LockingSystemPatch{RevisionNumber: ptr("R2")}}}) {
		t.Fatalf("update: %v %v", data, err)
	}
}
