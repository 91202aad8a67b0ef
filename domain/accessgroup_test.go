package domain_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/portcullis/portcullis/domain"
)

// givenGroup folds events into a group, numbering them from 1 as the log
// would.
func givenGroup(data ...domain.EventData) domain.AccessGroup {
	var g domain.AccessGroup
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, d := range data {
		g.Apply(domain.Event{Type: d.EventType(), Version: d.EventVersion(), Aggregate: domain.Ref{Type: domain.AggregateAccessGroup, ID: "g1"},
			OccurredAt: at.Add(time.Duration(i) * time.Second), Data: d, Sequence: uint64(i + 1)})
	}
	return g
}

func boolPtr(b bool) *bool { return &b }

func itemField(i int) string { return "Data[" + string(rune('0'+i)) + "]" }

func TestAccessGroupCreateValidates(t *testing.T) {
	var g domain.AccessGroup
	if _, _, err := g.CreateAccessGroup(domain.RecordFields{Name: "  "}); domain.ErrorField(err) != "Name" {
		t.Fatalf("blank Name: got %v", err)
	}
	data, f, err := g.CreateAccessGroup(domain.RecordFields{Name: " Doors ", ExternalID: " x "})
	if err != nil || f.Name != "Doors" || f.ExternalID != "x" || len(data) != 1 {
		t.Fatalf("got %v %+v %v", data, f, err)
	}
	g = givenGroup(&domain.AccessGroupCreated{RecordFields: f})
	if _, _, err := g.CreateAccessGroup(f); domain.ErrorCode(err) != domain.CodeConflict {
		t.Fatalf("second create: got %v", err)
	}
}

func TestAccessGroupUpdateOnlyChangedFields(t *testing.T) {
	g := givenGroup(&domain.AccessGroupCreated{RecordFields: domain.RecordFields{Name: "Doors", Description: "d"}})
	same, other := "Doors", "new"
	data, err := g.UpdateAccessGroup(domain.RecordPatch{Name: &same, Description: &other})
	want := []domain.EventData{&domain.AccessGroupUpdated{RecordPatch: domain.RecordPatch{Description: &other}}}
	if err != nil || !reflect.DeepEqual(data, want) {
		t.Fatalf("got %#v %v", data, err)
	}
	if data, err := g.UpdateAccessGroup(domain.RecordPatch{Name: &same}); err != nil || data != nil {
		t.Fatalf("no-op: got %v %v", data, err)
	}
	g = givenGroup(&domain.AccessGroupCreated{RecordFields: domain.RecordFields{Name: "Doors"}}, &domain.AccessGroupDeleted{})
	if _, err := g.UpdateAccessGroup(domain.RecordPatch{Name: &other}); domain.ErrorCode(err) != domain.CodeNotFound {
		t.Fatalf("deleted: got %v", err)
	}
}

// Given a group with records 1 (r1,p1) and 2 (r1,p2), a sync that names
// record 1 by its pair, record 2 by Id with a new state, and a new pair,
// with DeleteNotExists, inserts one record with the next id and deletes
// nothing; without record 2 in it, it deletes record 2.
func TestAccessGroupUpsertPermissions(t *testing.T) {
	g := givenGroup(&domain.AccessGroupCreated{RecordFields: domain.RecordFields{Name: "Doors"}},
		&domain.AccessGroupPermissionAdded{ID: 1, AccessRoleID: "r1", PermissionID: "p1", IsActive: true},
		&domain.AccessGroupPermissionAdded{ID: 2, AccessRoleID: "r1", PermissionID: "p2", IsActive: true})
	data, out, used, err := g.UpsertPermissions([]domain.GroupPermissionInput{
		{AccessRoleID: "r1", PermissionID: "p1"},
		{ID: 2, AccessRoleID: "r1", PermissionID: "p2", IsActive: boolPtr(false)},
		{AccessRoleID: "r2", PermissionID: "p1"},
	}, true, 7, itemField)
	want := []domain.EventData{
		&domain.AccessGroupPermissionChanged{ID: 2, IsActive: boolPtr(false)},
		&domain.AccessGroupPermissionAdded{ID: 7, AccessRoleID: "r2", PermissionID: "p1", IsActive: true},
	}
	if err != nil || used != 1 || !reflect.DeepEqual(data, want) {
		t.Fatalf("got %#v used %d err %v", data, used, err)
	}
	if !reflect.DeepEqual(out, domain.GroupPermissionOutcome{Inserted: []int64{7}, Updated: []int64{2}, Unchanged: []int64{1}}) {
		t.Fatalf("outcome %+v", out)
	}

	data, out, used, err = g.UpsertPermissions([]domain.GroupPermissionInput{{AccessRoleID: "r1", PermissionID: "p1"}}, true, 7, itemField)
	if err != nil || used != 0 || !reflect.DeepEqual(data, []domain.EventData{&domain.AccessGroupPermissionRemoved{ID: 2}}) ||
		!reflect.DeepEqual(out.Deleted, []int64{2}) {
		t.Fatalf("delete not exists: got %#v %+v %v", data, out, err)
	}
	// Without DeleteNotExists nothing is deleted.
	if data, _, _, err := g.UpsertPermissions(nil, false, 7, itemField); err != nil || data != nil {
		t.Fatalf("empty upsert: got %v %v", data, err)
	}

	for _, c := range []struct {
		name  string
		in    []domain.GroupPermissionInput
		code  domain.Code
		field string
	}{
		{"missing role", []domain.GroupPermissionInput{{PermissionID: "p1"}}, domain.CodeInvalid, "Data[0].AccessRoleId"},
		{"missing permission", []domain.GroupPermissionInput{{AccessRoleID: "r1"}}, domain.CodeInvalid, "Data[0].PermissionId"},
		{"same pair twice", []domain.GroupPermissionInput{{AccessRoleID: "r9", PermissionID: "p9"}, {AccessRoleID: "r9", PermissionID: "p9"}}, domain.CodeInvalid, "Data[1]"},
		{"unknown id", []domain.GroupPermissionInput{{ID: 99, AccessRoleID: "r1", PermissionID: "p1"}}, domain.CodeNotFound, "Data[0].Id"},
		{"id onto another's pair", []domain.GroupPermissionInput{{ID: 2, AccessRoleID: "r1", PermissionID: "p1"}}, domain.CodeConflict, "Data[0].Id"},
	} {
		if _, _, _, err := g.UpsertPermissions(c.in, true, 7, itemField); domain.ErrorCode(err) != c.code || domain.ErrorField(err) != c.field {
			t.Fatalf("%s: got %v, want %s naming %s", c.name, err, c.code, c.field)
		}
	}
}

func TestAccessGroupRemovePermissionAndDelete(t *testing.T) {
	g := givenGroup(&domain.AccessGroupCreated{RecordFields: domain.RecordFields{Name: "Doors"}},
		&domain.AccessGroupPermissionAdded{ID: 4, AccessRoleID: "r1", PermissionID: "p1"})
	if _, err := g.RemovePermission(5); domain.ErrorCode(err) != domain.CodeNotFound {
		t.Fatalf("unknown record: got %v", err)
	}
	data, err := g.RemovePermission(4)
	if err != nil || !reflect.DeepEqual(data, []domain.EventData{&domain.AccessGroupPermissionRemoved{ID: 4}}) {
		t.Fatalf("got %v %v", data, err)
	}
	g = givenGroup(&domain.AccessGroupCreated{RecordFields: domain.RecordFields{Name: "Doors"}},
		&domain.AccessGroupPermissionAdded{ID: 4, AccessRoleID: "r1", PermissionID: "p1"}, &domain.AccessGroupDeleted{})
	if g.Exists() || len(g.Permissions) != 0 {
		t.Fatalf("deleted group: %+v", g)
	}
}

func TestIDSequenceAllocates(t *testing.T) {
	var s domain.IDSequence
	data := s.Allocate(3)
	if !reflect.DeepEqual(data, []domain.EventData{&domain.IDsAllocated{First: 1, Count: 3}}) {
		t.Fatalf("got %#v", data)
	}
	s.Apply(domain.Event{Data: data[0]})
	if s.Next() != 4 || s.Allocate(0) != nil {
		t.Fatalf("next %d", s.Next())
	}
}

func TestGroupPermissionViewGetter(t *testing.T) {
	p := domain.GroupPermission{ID: 9, AccessRoleID: "r1", PermissionID: "p1", IsActive: true}
	v := p.View(map[string]domain.AccessRecord{"r1": {ID: "r1", RecordFields: domain.RecordFields{Name: "Bob Normal"}}}, nil)
	q := domain.Query{Filter: &domain.And{Terms: []domain.Expr{
		&domain.Comparison{Path: domain.FieldPath{"accessroleid", "name"}, Op: domain.OpLike, Values: []string{"bob%"}},
		&domain.Comparison{Path: domain.FieldPath{"Id"}, Op: domain.OpEq, Values: []string{"9"}},
		&domain.Comparison{Path: domain.FieldPath{"PermissionId"}, Op: domain.OpEq, Values: []string{"P1"}},
		&domain.Comparison{Path: domain.FieldPath{"Is_Active"}, Op: domain.OpEq, Values: []string{"true"}},
	}}}
	if err := q.Validate(domain.GroupPermissionSchema); err != nil {
		t.Fatal(err)
	}
	if !q.Match(v.Get) {
		t.Fatalf("view %+v does not match %s", v, q.Filter)
	}
	// A permission record that is not known has only its Id: its Name is NULL.
	q = domain.Query{Filter: &domain.Comparison{Path: domain.FieldPath{"PermissionId", "Name"}, Op: domain.OpNe, Values: []string{"x"}}}
	if err := q.Validate(domain.GroupPermissionSchema); err != nil || q.Match(v.Get) {
		t.Fatalf("NULL name matched <> x (err %v)", err)
	}
}
