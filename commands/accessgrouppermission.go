package commands

import (
	"context"
	"fmt"

	"github.com/portcullis/portcullis/domain"
	"github.com/portcullis/portcullis/eventstore"
)

// ForeignKey names a record a group permission points at, as a write body
// does: by its Id or by its ExternalId. (A face resolves a Name itself,
// from the read models, before it gets here: names are not unique.)
type ForeignKey struct {
	Field string // "Id" or "ExternalId"
	Value string
}

// GroupPermissionWrite is one permission record of a write body. ID names
// an existing record (0: match by the foreign-key pair); IsActive nil keeps
// the current value, or makes a new record active.
type GroupPermissionWrite struct {
	ID         int64
	AccessRole ForeignKey
	Permission ForeignKey
	IsActive   *bool
}

// GroupPermissionsResult is what an upsert of permission records did:
// the group after it, what happened to each record, and a view of every
// record it names (a deleted one as it was).
type GroupPermissionsResult struct {
	Group   domain.AccessGroup
	Outcome domain.GroupPermissionOutcome
	Views   map[int64]domain.GroupPermissionView
	Result
}

func idSequenceRef(kind string) domain.Ref {
	return domain.Ref{Type: domain.AggregateIDSequence, ID: kind}
}

// recordRefs loads the access roles and permission records that the given
// records point at, so that views can summarize them.
type recordRefs struct {
	roles, perms map[string]domain.AccessRecord
}

func (c *Commands) loadRefs(ctx context.Context, tenant string, ps ...domain.GroupPermission) (recordRefs, error) {
	refs := recordRefs{roles: map[string]domain.AccessRecord{}, perms: map[string]domain.AccessRecord{}}
	for _, p := range ps {
		for _, x := range []struct {
			m       map[string]domain.AccessRecord
			aggType string
			id      string
		}{{refs.roles, domain.AggregateAccessRole, p.AccessRoleID}, {refs.perms, domain.AggregateAccessPermission, p.PermissionID}} {
			if _, ok := x.m[x.id]; ok {
				continue
			}
			s, err := load[domain.AccessRecord](ctx, c, tenant, domain.Ref{Type: x.aggType, ID: x.id})
			if err != nil {
				return refs, err
			}
			x.m[x.id] = s.State
		}
	}
	return refs, nil
}

func (r recordRefs) view(p domain.GroupPermission) domain.GroupPermissionView {
	return p.View(r.roles, r.perms)
}

// resolveForeignKey finds the live record a foreign key names; a miss is
// NOT_FOUND naming field.
func (c *Commands) resolveForeignKey(ctx context.Context, tenant, aggType string, fk ForeignKey, field string) (string, error) {
	typ := domain.RecordTypeAccessRole
	if aggType == domain.AggregateAccessPermission {
		typ = domain.RecordTypePermission
	}
	id := fk.Value
	switch fk.Field {
	case "ExternalId":
		owner, ok, err := c.ResolveExternalID(ctx, tenant, aggType, fk.Value)
		if err != nil {
			return "", err
		}
		if !ok {
			return "", &domain.Error{Code: domain.CodeNotFound, Field: field,
				Message: fmt.Sprintf("no %s has ExternalId '%s'", typ, fk.Value)}
		}
		id = owner
	case "Id", "":
	default:
		return "", domain.Invalid(field+".Field", "must be Id or ExternalId")
	}
	if _, ok, err := c.AccessRecord(ctx, tenant, aggType, id); err != nil || !ok {
		if err == nil {
			err = &domain.Error{Code: domain.CodeNotFound, Field: field, Message: fmt.Sprintf("no %s has Id '%s'", typ, id)}
		}
		return "", err
	}
	return id, nil
}

// UpsertGroupPermissions writes permission records of a group: each write
// updates the record it names by ID, or else the record with the same
// access role and permission, or else becomes a new record with an id from
// the tenant's id sequence. With deleteNotExists every other record of the
// group is deleted. The group's events and the id allocation are one
// atomic append: a sync lands whole or not at all. field names the i-th
// write in errors.
//
// Commands that allocate ids queue on the tenant's id sequence in this
// process, so they do not race each other to a conflict; another process
// is caught by the append's expectation on the sequence and retried.
func (c *Commands) UpsertGroupPermissions(ctx context.Context, meta Meta, groupID string, in []GroupPermissionWrite,
	deleteNotExists bool, field func(i int) string) (GroupPermissionsResult, error) {
	if !domain.ValidToken(groupID) {
		return GroupPermissionsResult{}, domain.Errorf(domain.CodeNotFound, "AccessGroup %s not found", groupID)
	}
	prefix := func(i int) string {
		if f := field(i); f != "" {
			return f + "."
		}
		return ""
	}
	inputs := make([]domain.GroupPermissionInput, len(in))
	for i, w := range in {
		role, err := c.resolveForeignKey(ctx, meta.Tenant, domain.AggregateAccessRole, w.AccessRole, prefix(i)+"AccessRoleId")
		if err != nil {
			return GroupPermissionsResult{}, err
		}
		perm, err := c.resolveForeignKey(ctx, meta.Tenant, domain.AggregateAccessPermission, w.Permission, prefix(i)+"PermissionId")
		if err != nil {
			return GroupPermissionsResult{}, err
		}
		inputs[i] = domain.GroupPermissionInput{ID: w.ID, AccessRoleID: role, PermissionID: perm, IsActive: w.IsActive}
	}
	seqRef := idSequenceRef(domain.IDKindGroupPermission)
	unlock := c.locks.lock(eventstore.Subject(meta.Tenant, seqRef))
	defer unlock()
	ref := accessGroupRef(groupID)
	var after snap[domain.AccessGroup]
	var before domain.AccessGroup
	var out domain.GroupPermissionOutcome
	pos, err := c.run(ctx, meta, ref, func(ctx context.Context) ([]change, error) {
		s, err := load[domain.AccessGroup](ctx, c, meta.Tenant, ref)
		if err != nil {
			return nil, err
		}
		after, before, out = s, s.State, domain.GroupPermissionOutcome{}
		if s.applied(meta.CommandID) {
			return nil, nil
		}
		if !s.State.Exists() {
			return nil, domain.Errorf(domain.CodeNotFound, "AccessGroup %s not found", groupID)
		}
		if err := meta.checkVersion(s.Seq); err != nil {
			return nil, err
		}
		seq, err := load[domain.IDSequence](ctx, c, meta.Tenant, seqRef)
		if err != nil {
			return nil, err
		}
		data, outcome, used, err := s.State.UpsertPermissions(inputs, deleteNotExists, seq.State.Next(), field)
		if err != nil || len(data) == 0 {
			out = outcome
			return nil, err
		}
		out = outcome
		changes := []change{decide(c, meta.Tenant, ref, s, data, &after)}
		if alloc := seq.State.Allocate(used); len(alloc) > 0 {
			changes = append(changes, decide(c, meta.Tenant, seqRef, seq, alloc, nil))
		}
		return changes, nil
	})
	if err != nil {
		return GroupPermissionsResult{}, err
	}
	if pos == 0 {
		pos = after.Seq
	}
	res := GroupPermissionsResult{Group: after.State, Outcome: out, Views: map[int64]domain.GroupPermissionView{},
		Result: Result{Position: pos, Version: after.Seq}}
	touched := append(append([]domain.GroupPermission{}, after.State.Permissions...), before.Permissions...)
	refs, err := c.loadRefs(ctx, meta.Tenant, touched...)
	if err != nil {
		return GroupPermissionsResult{}, err
	}
	for _, p := range before.Permissions {
		res.Views[p.ID] = refs.view(p)
	}
	for _, p := range after.State.Permissions {
		res.Views[p.ID] = refs.view(p)
	}
	return res, nil
}

// RemoveGroupPermission deletes the one permission record of a group that
// match selects (evaluated against the records as the log has them, with
// what they point at): none is NOT_FOUND, several are MultipleRows naming
// field. It returns the deleted record.
func (c *Commands) RemoveGroupPermission(ctx context.Context, meta Meta, groupID string, match domain.Expr, field, value string) (domain.GroupPermissionView, Result, error) {
	var removed domain.GroupPermissionView
	res, err := c.groupCommand(ctx, meta, groupID, true, func(ctx context.Context, g domain.AccessGroup) ([]domain.EventData, []change, error) {
		refs, err := c.loadRefs(ctx, meta.Tenant, g.Permissions...)
		if err != nil {
			return nil, nil, err
		}
		var hits []domain.GroupPermissionView
		for _, p := range g.Permissions {
			if v := refs.view(p); match.Match(v.Get) {
				hits = append(hits, v)
			}
		}
		switch len(hits) {
		case 0:
			return nil, nil, &domain.Error{Code: domain.CodeNotFound, Field: field,
				Message: fmt.Sprintf("the AccessGroup has no Permission record whose %s is '%s'", field, value)}
		case 1:
		default:
			return nil, nil, domain.MultipleRows(field, value, len(hits))
		}
		removed = hits[0]
		data, err := g.RemovePermission(removed.ID)
		return data, nil, err
	})
	if err != nil {
		return domain.GroupPermissionView{}, Result{}, err
	}
	if removed.ID == 0 {
		// A retry of a delete that landed before: the record is gone and
		// its first answer is lost with it.
		return domain.GroupPermissionView{}, Result{}, &domain.Error{Code: domain.CodeNotFound, Field: field,
			Message: fmt.Sprintf("the AccessGroup has no Permission record whose %s is '%s'", field, value)}
	}
	return removed, res.Result, nil
}
