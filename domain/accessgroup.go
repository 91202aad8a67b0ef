package domain

import (
	"fmt"
	"slices"
	"time"
)

// AggregateAccessGroup is the aggregate type of an eSystems access group.
// The group's permission records live inside it, so that a bulk sync of a
// group's permissions is one decision on one aggregate and one atomic
// append, and a deleted group takes its records with it.
const AggregateAccessGroup = "access_group"

// Event types of access groups and their permission records.
const (
	TypeAccessGroupCreated           = "access_group.created"
	TypeAccessGroupUpdated           = "access_group.updated"
	TypeAccessGroupDeleted           = "access_group.deleted"
	TypeAccessGroupPermissionAdded   = "access_group.permission_added"
	TypeAccessGroupPermissionChanged = "access_group.permission_changed"
	TypeAccessGroupPermissionRemoved = "access_group.permission_removed"
)

// AccessGroupCreated starts an access group.
type AccessGroupCreated struct {
	RecordFields `msgpack:",inline"`
}

func (*AccessGroupCreated) EventType() string { return TypeAccessGroupCreated }
func (*AccessGroupCreated) EventVersion() int { return 1 }

// RecordPatch names the fields a change sets; nil leaves a field alone. As
// an event payload it carries only what changed.
type RecordPatch struct {
	Name        *string `msgpack:"name,omitempty"`
	ExternalID  *string `msgpack:"external_id,omitempty"`
	Description *string `msgpack:"description,omitempty"`
}

func (p RecordPatch) applyTo(f *RecordFields) {
	for _, x := range []struct{ dst, src *string }{
		{&f.Name, p.Name}, {&f.ExternalID, p.ExternalID}, {&f.Description, p.Description},
	} {
		if x.src != nil {
			*x.dst = *x.src
		}
	}
}

// AccessGroupUpdated records changed fields of a group.
type AccessGroupUpdated struct {
	RecordPatch `msgpack:",inline"`
}

func (*AccessGroupUpdated) EventType() string { return TypeAccessGroupUpdated }
func (*AccessGroupUpdated) EventVersion() int { return 1 }

// AccessGroupDeleted ends a group and every permission record in it.
type AccessGroupDeleted struct{}

func (*AccessGroupDeleted) EventType() string { return TypeAccessGroupDeleted }
func (*AccessGroupDeleted) EventVersion() int { return 1 }

// AccessGroupPermissionAdded adds a permission record to a group. ID was
// allocated from the tenant's id sequence in the same append.
type AccessGroupPermissionAdded struct {
	ID           int64  `msgpack:"id"`
	AccessRoleID string `msgpack:"access_role_id"`
	PermissionID string `msgpack:"permission_id"`
	IsActive     bool   `msgpack:"is_active"`
}

func (*AccessGroupPermissionAdded) EventType() string { return TypeAccessGroupPermissionAdded }
func (*AccessGroupPermissionAdded) EventVersion() int { return 1 }

// AccessGroupPermissionChanged records changed fields of one permission
// record; nil leaves a field alone.
type AccessGroupPermissionChanged struct {
	ID           int64   `msgpack:"id"`
	AccessRoleID *string `msgpack:"access_role_id,omitempty"`
	PermissionID *string `msgpack:"permission_id,omitempty"`
	IsActive     *bool   `msgpack:"is_active,omitempty"`
}

func (*AccessGroupPermissionChanged) EventType() string { return TypeAccessGroupPermissionChanged }
func (*AccessGroupPermissionChanged) EventVersion() int { return 1 }

// AccessGroupPermissionRemoved deletes one permission record of a group.
type AccessGroupPermissionRemoved struct {
	ID int64 `msgpack:"id"`
}

func (*AccessGroupPermissionRemoved) EventType() string { return TypeAccessGroupPermissionRemoved }
func (*AccessGroupPermissionRemoved) EventVersion() int { return 1 }

// GroupPermission is one permission record of a group: it grants the
// permission record PermissionID under the access role AccessRoleID.
type GroupPermission struct {
	ID           int64
	AccessRoleID string
	PermissionID string
	IsActive     bool
	CreatedAt    time.Time
}

// AccessGroup is the state of an access group aggregate. Permissions are
// in creation order.
type AccessGroup struct {
	ID string
	RecordFields
	Permissions []GroupPermission
	CreatedAt   time.Time
	UpdatedAt   time.Time
	Deleted     bool
}

// Exists reports whether the group was created and not deleted.
func (g *AccessGroup) Exists() bool { return !g.CreatedAt.IsZero() && !g.Deleted }

// Apply folds one event into the group. Permissions is replaced, never
// changed in place, so a copy of an older state stays as it was.
func (g *AccessGroup) Apply(e Event) {
	g.UpdatedAt = e.OccurredAt
	switch d := e.Data.(type) {
	case *AccessGroupCreated:
		g.ID, g.RecordFields, g.CreatedAt = e.Aggregate.ID, d.RecordFields, e.OccurredAt
	case *AccessGroupUpdated:
		d.RecordPatch.applyTo(&g.RecordFields)
	case *AccessGroupDeleted:
		g.Deleted = true
		g.Permissions = nil
	case *AccessGroupPermissionAdded:
		g.Permissions = append(slices.Clip(g.Permissions), GroupPermission{ID: d.ID, AccessRoleID: d.AccessRoleID,
			PermissionID: d.PermissionID, IsActive: d.IsActive, CreatedAt: e.OccurredAt})
	case *AccessGroupPermissionChanged:
		g.Permissions = slices.Clone(g.Permissions)
		if i := g.permissionIndex(d.ID); i >= 0 {
			p := &g.Permissions[i]
			if d.AccessRoleID != nil {
				p.AccessRoleID = *d.AccessRoleID
			}
			if d.PermissionID != nil {
				p.PermissionID = *d.PermissionID
			}
			if d.IsActive != nil {
				p.IsActive = *d.IsActive
			}
		}
	case *AccessGroupPermissionRemoved:
		g.Permissions = slices.DeleteFunc(slices.Clone(g.Permissions), func(p GroupPermission) bool { return p.ID == d.ID })
	}
}

func (g *AccessGroup) permissionIndex(id int64) int {
	return slices.IndexFunc(g.Permissions, func(p GroupPermission) bool { return p.ID == id })
}

// Permission returns the group's permission record with id.
func (g *AccessGroup) Permission(id int64) (GroupPermission, bool) {
	if i := g.permissionIndex(id); i >= 0 {
		return g.Permissions[i], true
	}
	return GroupPermission{}, false
}

// errGroupNotFound is the miss of a group that is not there (any more).
func errGroupNotFound(id string) error {
	return Errorf(CodeNotFound, "AccessGroup %s not found", id)
}

// GroupPermissionNotFound is the miss of a permission record in a group.
func GroupPermissionNotFound(id int64) *Error {
	return &Error{Code: CodeNotFound, Field: "Id", Message: fmt.Sprintf("the AccessGroup has no Permission record with Id %d", id)}
}

// CreateAccessGroup decides the creation of a group. The returned fields
// are the normalized ones the event carries.
func (g *AccessGroup) CreateAccessGroup(in RecordFields) ([]EventData, RecordFields, error) {
	in = in.normalize()
	if !g.CreatedAt.IsZero() {
		return nil, in, Errorf(CodeConflict, "AccessGroup %s already exists", g.ID)
	}
	if err := validateRecord(in); err != nil {
		return nil, in, err
	}
	return []EventData{&AccessGroupCreated{RecordFields: in}}, in, nil
}

// UpdateAccessGroup decides a change. Fields that would not change are left
// out of the event; a patch that changes nothing decides nothing.
func (g *AccessGroup) UpdateAccessGroup(p RecordPatch) ([]EventData, error) {
	if !g.Exists() {
		return nil, errGroupNotFound(g.ID)
	}
	next := g.RecordFields
	p.applyTo(&next)
	next = next.normalize()
	if err := validateRecord(next); err != nil {
		return nil, err
	}
	changed := RecordPatch{
		Name:        changedOnly(g.Name, &next.Name),
		ExternalID:  changedOnly(g.ExternalID, &next.ExternalID),
		Description: changedOnly(g.Description, &next.Description),
	}
	if changed == (RecordPatch{}) {
		return nil, nil
	}
	return []EventData{&AccessGroupUpdated{RecordPatch: changed}}, nil
}

// DeleteAccessGroup decides the deletion of a group with its records.
func (g *AccessGroup) DeleteAccessGroup() ([]EventData, error) {
	if !g.Exists() {
		return nil, errGroupNotFound(g.ID)
	}
	return []EventData{&AccessGroupDeleted{}}, nil
}

// GroupPermissionInput is one permission record as a client writes it, its
// foreign keys resolved to ids. ID names an existing record (0: match by
// the AccessRoleID and PermissionID pair); IsActive nil keeps the current
// value, or makes a new record active.
type GroupPermissionInput struct {
	ID           int64
	AccessRoleID string
	PermissionID string
	IsActive     *bool
}

// GroupPermissionOutcome says what an upsert did to each record.
type GroupPermissionOutcome struct {
	Inserted, Updated, Unchanged, Deleted []int64
}

// UpsertPermissions decides a bulk upsert of the group's permission
// records: each input updates the record it names by ID, or else the
// record with its (AccessRoleID, PermissionID) pair, or else becomes a new
// record with the next free id from next on. With deleteNotExists every
// record that no input matched is deleted. field names the input in
// errors ("Data[3]" …), "" for a single record. It returns the events, what
// happened to each record, and how many ids it used.
func (g *AccessGroup) UpsertPermissions(in []GroupPermissionInput, deleteNotExists bool, next int64, field func(i int) string) ([]EventData, GroupPermissionOutcome, int64, error) {
	var out GroupPermissionOutcome
	if !g.Exists() {
		return nil, out, 0, errGroupNotFound(g.ID)
	}
	type pair struct{ role, perm string }
	state := slices.Clone(g.Permissions)
	byPair := map[pair]int{}
	for i, p := range state {
		byPair[pair{p.AccessRoleID, p.PermissionID}] = i
	}
	matched := map[int64]bool{}
	seenPair := map[pair]int{}
	var events []EventData
	used := int64(0)
	for i, x := range in {
		name := field(i)
		prefix := ""
		if name != "" {
			prefix = name + "."
		}
		if x.AccessRoleID == "" {
			return nil, out, 0, Invalid(prefix+"AccessRoleId", "is required")
		}
		if x.PermissionID == "" {
			return nil, out, 0, Invalid(prefix+"PermissionId", "is required")
		}
		key := pair{x.AccessRoleID, x.PermissionID}
		if j, dup := seenPair[key]; dup {
			return nil, out, 0, Invalid(name, "names the same AccessRoleId and PermissionId as %s", field(j))
		}
		seenPair[key] = i
		idx := -1
		if x.ID != 0 {
			if idx = slices.IndexFunc(state, func(p GroupPermission) bool { return p.ID == x.ID }); idx < 0 {
				e := GroupPermissionNotFound(x.ID)
				e.Field = prefix + "Id"
				return nil, out, 0, e
			}
			if other, ok := byPair[key]; ok && other != idx {
				return nil, out, 0, &Error{Code: CodeConflict, Field: prefix + "Id",
					Message: fmt.Sprintf("record %d already grants this AccessRoleId and PermissionId", state[other].ID)}
			}
		} else if j, ok := byPair[key]; ok {
			idx = j
		}
		if idx >= 0 {
			cur := state[idx]
			if matched[cur.ID] {
				return nil, out, 0, Invalid(prefix+"Id", "names record %d, which an earlier item already names", cur.ID)
			}
			matched[cur.ID] = true
			ch := AccessGroupPermissionChanged{ID: cur.ID}
			if x.AccessRoleID != cur.AccessRoleID {
				ch.AccessRoleID = &x.AccessRoleID
			}
			if x.PermissionID != cur.PermissionID {
				ch.PermissionID = &x.PermissionID
			}
			if x.IsActive != nil && *x.IsActive != cur.IsActive {
				ch.IsActive = x.IsActive
			}
			if ch == (AccessGroupPermissionChanged{ID: cur.ID}) {
				out.Unchanged = append(out.Unchanged, cur.ID)
				continue
			}
			delete(byPair, pair{cur.AccessRoleID, cur.PermissionID})
			byPair[key] = idx
			state[idx].AccessRoleID, state[idx].PermissionID = x.AccessRoleID, x.PermissionID
			events = append(events, &ch)
			out.Updated = append(out.Updated, cur.ID)
			continue
		}
		active := true
		if x.IsActive != nil {
			active = *x.IsActive
		}
		id := next + used
		used++
		matched[id] = true
		events = append(events, &AccessGroupPermissionAdded{ID: id, AccessRoleID: x.AccessRoleID, PermissionID: x.PermissionID, IsActive: active})
		out.Inserted = append(out.Inserted, id)
	}
	if deleteNotExists {
		for _, p := range g.Permissions {
			if !matched[p.ID] {
				events = append(events, &AccessGroupPermissionRemoved{ID: p.ID})
				out.Deleted = append(out.Deleted, p.ID)
			}
		}
	}
	return events, out, used, nil
}

// RemovePermission decides the deletion of one permission record.
func (g *AccessGroup) RemovePermission(id int64) ([]EventData, error) {
	if !g.Exists() {
		return nil, errGroupNotFound(g.ID)
	}
	if _, ok := g.Permission(id); !ok {
		return nil, GroupPermissionNotFound(id)
	}
	return []EventData{&AccessGroupPermissionRemoved{ID: id}}, nil
}
