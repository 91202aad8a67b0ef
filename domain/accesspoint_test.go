package domain_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/domain"
)

// givenAccessPoint folds events into a fresh access point "ap1".
func givenAccessPoint(data ...domain.EventData) domain.AccessPoint {
	var a domain.AccessPoint
	for i, d := range data {
		a.Apply(domain.Event{Aggregate: domain.Ref{Type: domain.AggregateAccessPoint, ID: "ap1"},
			OccurredAt: time.Unix(int64(1700000000+i), 0), Data: d})
	}
	return a
}

var frontDoor = &domain.AccessPointCreated{AccessPointFields: domain.AccessPointFields{
	PointName: "Front door", SpaceID: "s1", LockingSystemID: "ls1", Status: "active"}}

func linked(ids ...string) *domain.AccessPointCredentialsLinked {
	return &domain.AccessPointCredentialsLinked{CredentialIDs: ids}
}

func unlinked(ids ...string) *domain.AccessPointCredentialsUnlinked {
	return &domain.AccessPointCredentialsUnlinked{CredentialIDs: ids}
}

func TestCreateAccessPoint(t *testing.T) {
	ok := domain.AccessPointFields{PointName: " Door 1 ", SpaceID: "s1", LockingSystemID: "ls1"}
	with := func(f func(*domain.AccessPointFields)) domain.AccessPointFields { in := ok; f(&in); return in }
	for _, c := range []struct {
		name string
		in   domain.AccessPointFields
		code domain.Code
		fld  string
	}{
		{"minimal", ok, "", ""},
		{"no point_name", with(func(f *domain.AccessPointFields) { f.PointName = "  " }), domain.CodeInvalid, "point_name"},
		{"no space", with(func(f *domain.AccessPointFields) { f.SpaceID = "" }), domain.CodeInvalid, "space_id"},
		{"bad space id", with(func(f *domain.AccessPointFields) { f.SpaceID = "a.b" }), domain.CodeInvalid, "space_id"},
		{"no locking system", with(func(f *domain.AccessPointFields) { f.LockingSystemID = "" }), domain.CodeInvalid, "locking_system_id"},
		{"bad status", with(func(f *domain.AccessPointFields) { f.Status = "open" }), domain.CodeInvalid, "status"},
		{"control character", with(func(f *domain.AccessPointFields) { f.Label = "a\x00b" }), domain.CodeInvalid, "label"},
		{"long area", with(func(f *domain.AccessPointFields) { f.Area = strings.Repeat("x", 201) }), domain.CodeInvalid, "area"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var a domain.AccessPoint
			data, fields, err := a.CreateAccessPoint(c.in)
			if got := domain.ErrorCode(err); got != c.code || domain.ErrorField(err) != c.fld {
				t.Fatalf("err = %v, want code %q field %q", err, c.code, c.fld)
			}
			if c.code != "" {
				return
			}
			if len(data) != 1 || fields.Status != domain.AccessPointActive || fields.PointName != "Door 1" {
				t.Fatalf("decided %v with %+v, want one event, status active, name trimmed", data, fields)
			}
		})
	}
	a := givenAccessPoint(frontDoor)
	if _, _, err := a.CreateAccessPoint(ok); domain.ErrorCode(err) != domain.CodeConflict {
		t.Fatalf("create over an existing access point: err = %v, want CONFLICT", err)
	}
}

func TestUpdateAccessPoint(t *testing.T) {
	a := givenAccessPoint(frontDoor)
	data, ev, err := a.UpdateAccessPoint(domain.AccessPointPatch{PointName: ptr("Front door"), SpaceID: ptr(" s2 "), Label: ptr("D1")})
	if err != nil || len(data) != 1 {
		t.Fatalf("update: %v %v", data, err)
	}
	if ev.PointName != nil || ev.SpaceID == nil || *ev.SpaceID != "s2" || *ev.Label != "D1" {
		t.Fatalf("event = %+v, want only the changed space (trimmed) and label", ev.AccessPointPatch)
	}
	if data, _, err := a.UpdateAccessPoint(domain.AccessPointPatch{Status: ptr("active")}); err != nil || data != nil {
		t.Fatalf("a patch that changes nothing decided %v, %v", data, err)
	}
	if _, _, err := a.UpdateAccessPoint(domain.AccessPointPatch{SpaceID: ptr("")}); domain.ErrorField(err) != "space_id" {
		t.Fatalf("clearing space_id: err = %v, want BAD_REQUEST naming space_id", err)
	}
	gone := givenAccessPoint(frontDoor, &domain.AccessPointDeleted{})
	if _, _, err := gone.UpdateAccessPoint(domain.AccessPointPatch{Label: ptr("x")}); domain.ErrorCode(err) != domain.CodeNotFound {
		t.Fatalf("update of a deleted access point: err = %v, want NOT_FOUND", err)
	}
}

func TestLinkAndUnlinkCredentials(t *testing.T) {
	for _, c := range []struct {
		name   string
		given  []domain.EventData
		link   bool
		ids    []string
		want   []domain.EventData
		code   domain.Code
		fld    string
		linked domain.IDSet // after the decided events
	}{
		{"link new", nil, true, []string{"c2", "c1"}, []domain.EventData{linked("c2", "c1")}, "", "", domain.IDSet{"c1", "c2"}},
		{"link ignores linked and repeats", []domain.EventData{linked("c1")}, true, []string{"c1", "c3", "c3"},
			[]domain.EventData{linked("c3")}, "", "", domain.IDSet{"c1", "c3"}},
		{"link of only linked decides nothing", []domain.EventData{linked("c1", "c2")}, true, []string{"c2"}, nil, "", "", domain.IDSet{"c1", "c2"}},
		{"link nothing", nil, true, nil, nil, domain.CodeInvalid, "credential_ids", nil},
		{"link bad id", nil, true, []string{"c1", "no way"}, nil, domain.CodeInvalid, "credential_ids[1]", nil},
		{"unlink linked", []domain.EventData{linked("c1", "c2", "c3")}, false, []string{"c2", "c2"},
			[]domain.EventData{unlinked("c2")}, "", "", domain.IDSet{"c1", "c3"}},
		{"unlink not linked", []domain.EventData{linked("c1")}, false, []string{"c1", "c9"}, nil, domain.CodeInvalid, "credential_ids", domain.IDSet{"c1"}},
		{"unlink after unlink", []domain.EventData{linked("c1"), unlinked("c1")}, false, []string{"c1"}, nil, domain.CodeInvalid, "credential_ids", nil},
		{"deleted access point", []domain.EventData{&domain.AccessPointDeleted{}}, true, []string{"c1"}, nil, domain.CodeNotFound, "", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := givenAccessPoint(append([]domain.EventData{frontDoor}, c.given...)...)
			decide := a.UnlinkCredentials
			if c.link {
				decide = a.LinkCredentials
			}
			data, err := decide(c.ids)
			if got := domain.ErrorCode(err); got != c.code || domain.ErrorField(err) != c.fld {
				t.Fatalf("err = %v, want code %q field %q", err, c.code, c.fld)
			}
			if !reflect.DeepEqual(data, c.want) {
				t.Fatalf("decided %#v, want %#v", data, c.want)
			}
			after := givenAccessPoint(append(append([]domain.EventData{frontDoor}, c.given...), data...)...)
			if !reflect.DeepEqual(after.Credentials, c.linked) {
				t.Fatalf("linked after = %v, want %v", after.Credentials, c.linked)
			}
		})
	}
}

func TestDeleteAccessPoint(t *testing.T) {
	yes := true
	prot := &domain.AccessPointUpdated{AccessPointPatch: domain.AccessPointPatch{DeleteProtected: &yes}}
	for _, c := range []struct {
		name  string
		given []domain.EventData
		code  domain.Code
		msg   []string
	}{
		{"free", nil, "", nil},
		{"protected", []domain.EventData{prot, linked("c1")}, domain.CodeDeleteProtected, []string{"delete_protected"}},
		{"linked", []domain.EventData{linked("c4", "c1", "c2", "c3")}, domain.CodeConflict,
			[]string{"4 linked access credentials", "c1 (Key 1)", "c2", "c3", "and 1 more"}},
		{"unlinked again", []domain.EventData{linked("c1"), unlinked("c1")}, "", nil},
		{"deleted", []domain.EventData{&domain.AccessPointDeleted{}}, domain.CodeNotFound, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := givenAccessPoint(append([]domain.EventData{frontDoor}, c.given...)...)
			data, err := a.DeleteAccessPoint(map[string]string{"c1": "Key 1"})
			if got := domain.ErrorCode(err); got != c.code {
				t.Fatalf("err = %v, want code %q", err, c.code)
			}
			for _, m := range c.msg {
				if !strings.Contains(domain.ErrorMessage(err), m) {
					t.Fatalf("message %q does not contain %q", domain.ErrorMessage(err), m)
				}
			}
			if strings.Contains(domain.ErrorMessage(err), "c4") {
				t.Fatalf("message %q names more than %d credentials", domain.ErrorMessage(err), domain.NamedChildren)
			}
			if c.code == "" && len(data) != 1 {
				t.Fatalf("decided %v, want the deletion", data)
			}
		})
	}
}

func TestIDSetNeverChangesItsReceiver(t *testing.T) {
	s := domain.IDSet{"a", "c"}
	with := s.With("b", "a")
	without := with.Without("a", "zz")
	if !reflect.DeepEqual(s, domain.IDSet{"a", "c"}) || !reflect.DeepEqual(with, domain.IDSet{"a", "b", "c"}) ||
		!reflect.DeepEqual(without, domain.IDSet{"b", "c"}) {
		t.Fatalf("s=%v with=%v without=%v", s, with, without)
	}
	if !with.Has("b") || without.Has("a") || domain.IDSet(nil).Has("a") {
		t.Fatal("Has answers wrongly")
	}
	if got := (domain.IDSet{"a"}).Without("a"); got != nil {
		t.Fatalf("emptied set = %#v, want nil", got)
	}
}
