package projections

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/portcullis/portcullis/commands"
	"github.com/portcullis/portcullis/domain"
)

// Access groups and their permission records, written through the real
// commands, read back through the read models; a rebuild reproduces them
// byte for byte, ids of permission records included.
func TestAccessGroupsReadModelAndRebuild(t *testing.T) {
	ctx := context.Background()
	store := mustOpenStore(t)
	cmd := commands.New(store)
	meta := func() commands.Meta {
		return commands.Meta{Tenant: "t1", Actor: "test", CommandID: commands.NewCommandID()}
	}
	role, err := cmd.CreateAccessRecord(ctx, meta(), domain.AggregateAccessRole, domain.RecordFields{Name: "Staff", ExternalID: "staff"})
	if err != nil {
		t.Fatal(err)
	}
	var perms []string
	for i := range 3 {
		p, err := cmd.CreateAccessRecord(ctx, meta(), domain.AggregateAccessPermission, domain.RecordFields{Name: fmt.Sprintf("Door %d", i)})
		if err != nil {
			t.Fatal(err)
		}
		perms = append(perms, p.Record.ID)
	}
	var groups []string
	for i := range 3 {
		g, err := cmd.CreateAccessGroup(ctx, meta(), domain.RecordFields{Name: fmt.Sprintf("Group %d", i)})
		if err != nil {
			t.Fatal(err)
		}
		groups = append(groups, g.Group.ID)
		var in []commands.GroupPermissionWrite
		for _, p := range perms {
			in = append(in, commands.GroupPermissionWrite{AccessRole: commands.ForeignKey{Field: "ExternalId", Value: "staff"},
				Permission: commands.ForeignKey{Field: "Id", Value: p}})
		}
		if _, err := cmd.UpsertGroupPermissions(ctx, meta(), g.Group.ID, in, true, func(i int) string { return fmt.Sprint(i) }); err != nil {
			t.Fatal(err)
		}
	}
	// Group 1 keeps only its first record; group 2 goes.
	keep := []commands.GroupPermissionWrite{{ID: 4, AccessRole: commands.ForeignKey{Value: role.Record.ID}, Permission: commands.ForeignKey{Value: perms[0]}}}
	if _, err := cmd.UpsertGroupPermissions(ctx, meta(), groups[1], keep, true, func(i int) string { return "" }); err != nil {
		t.Fatal(err)
	}
	res, err := cmd.DeleteAccessGroup(ctx, meta(), groups[2])
	if err != nil {
		t.Fatal(err)
	}
	last := res.Position

	db := mustOpenDB(t, filepath.Join(t.TempDir(), "rm.db"))
	r, err := NewRunner(db, store)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.CatchUp(ctx, last, nil); err != nil {
		t.Fatal(err)
	}
	all := domain.Page{Page: 1, Limit: 100}
	for _, c := range []struct {
		group string
		ids   string
	}{{groups[0], "[1 2 3]"}, {groups[1], "[4]"}, {groups[2], "[]"}} {
		items, _, err := db.GroupPermissions("t1", c.group, domain.Query{}, all)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, v := range items {
			ids = append(ids, v.ID)
			if v.AccessRole.Name != "Staff" || v.AccessRole.ExternalID != "staff" || v.Permission.Type != domain.RecordTypePermission {
				t.Fatalf("record %+v lacks its summaries", v)
			}
		}
		if got := fmt.Sprint(ids); got != c.ids && !(c.ids == "[]" && ids == nil) {
			t.Fatalf("group %s: ids %s, want %s", c.group, got, c.ids)
		}
	}
	q := domain.Query{Filter: &domain.Comparison{Path: domain.FieldPath{"Name"}, Op: domain.OpLike, Values: []string{"group%"}},
		Orders: []domain.Order{{Field: "Name", Desc: true}}}
	if err := q.Validate(domain.AccessRecordSchema); err != nil {
		t.Fatal(err)
	}
	items, total, err := db.AccessGroups("t1", q, domain.Page{Page: 1, Limit: 1})
	if err != nil || total != 2 || len(items) != 1 || items[0].Name != "Group 1" {
		t.Fatalf("groups like group%% by name desc: %+v of %d, %v", items, total, err)
	}

	before := dump(t, db)
	if err := r.Rebuild(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, dump(t, db)) {
		t.Fatal("read models after rebuild differ from the ones built live")
	}
}
