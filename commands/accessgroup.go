package commands

import (
	"context"
	"fmt"

	"github.com/portcullis/portcullis/domain"
	"github.com/portcullis/portcullis/eventstore"
)

// The eSystems face's commands: access groups with their permission
// records, and the access roles and permission records those point at.
// Every lookup a decision depends on reads the log (an ExternalId through
// its claim, a record through its aggregate), so a record created a moment
// ago can be used at once, whatever the read models' lag.

// AccessRecordResult is an access role or permission record after a command.
type AccessRecordResult struct {
	Record domain.AccessRecord
	Result
}

// AccessGroupResult is an access group after a command.
type AccessGroupResult struct {
	Group domain.AccessGroup
	Result
}

// externalIDKinds maps an aggregate type to the kind of its ExternalId claim.
var externalIDKinds = map[string]string{
	domain.AggregateAccessGroup:      domain.UniqueAccessGroupExternalID,
	domain.AggregateAccessRole:       domain.UniqueAccessRoleExternalID,
	domain.AggregateAccessPermission: domain.UniqueAccessPermissionExternalID,
}

// ResolveExternalID returns the id of the record of aggType whose
// ExternalId is value (ignoring case), through its claim in the log.
func (c *Commands) ResolveExternalID(ctx context.Context, tenant, aggType, value string) (string, bool, error) {
	v := domain.NormalizeExternalID(value)
	if v == "" {
		return "", false, nil
	}
	s, err := load[domain.UniqueValue](ctx, c, tenant, domain.UniqueRef(externalIDKinds[aggType], v))
	if err != nil {
		return "", false, err
	}
	return s.State.Owner, s.State.Owner != "", nil
}

// AccessRecord returns an access role or permission record as the log has
// it. A miss is looked up again past the cache: the record may have been
// created by another process.
func (c *Commands) AccessRecord(ctx context.Context, tenant, aggType, id string) (domain.AccessRecord, bool, error) {
	if !domain.ValidToken(id) {
		return domain.AccessRecord{}, false, nil
	}
	ref := domain.Ref{Type: aggType, ID: id}
	s, err := load[domain.AccessRecord](ctx, c, tenant, ref)
	if err == nil && !s.State.Exists() {
		c.cache.drop(eventstore.Subject(tenant, ref))
		s, err = load[domain.AccessRecord](ctx, c, tenant, ref)
	}
	return s.State, s.State.Exists(), err
}

// AccessGroup returns a live access group as the log has it, with its
// version (its ETag).
func (c *Commands) AccessGroup(ctx context.Context, tenant, id string) (domain.AccessGroup, uint64, bool, error) {
	if !domain.ValidToken(id) {
		return domain.AccessGroup{}, 0, false, nil
	}
	ref := accessGroupRef(id)
	s, err := load[domain.AccessGroup](ctx, c, tenant, ref)
	if err == nil && !s.State.Exists() {
		c.cache.drop(eventstore.Subject(tenant, ref))
		s, err = load[domain.AccessGroup](ctx, c, tenant, ref)
	}
	return s.State, s.Seq, s.State.Exists(), err
}

func accessGroupRef(id string) domain.Ref {
	return domain.Ref{Type: domain.AggregateAccessGroup, ID: id}
}

// claimExternalID decides the claim of an ExternalId (none when blank).
func (c *Commands) claimExternalID(ctx context.Context, tenant, aggType, value, owner string) ([]change, error) {
	v := domain.NormalizeExternalID(value)
	if v == "" {
		return nil, nil
	}
	kind := externalIDKinds[aggType]
	ref := domain.UniqueRef(kind, v)
	s, err := load[domain.UniqueValue](ctx, c, tenant, ref)
	if err != nil {
		return nil, err
	}
	data, err := s.State.Claim(kind, owner, "ExternalId")
	if err != nil || len(data) == 0 {
		return nil, err
	}
	return []change{decide(c, tenant, ref, s, data, nil)}, nil
}

// releaseExternalID decides the release of an ExternalId (none when blank).
func (c *Commands) releaseExternalID(ctx context.Context, tenant, aggType, value, owner string) ([]change, error) {
	v := domain.NormalizeExternalID(value)
	if v == "" {
		return nil, nil
	}
	kind := externalIDKinds[aggType]
	ref := domain.UniqueRef(kind, v)
	s, err := load[domain.UniqueValue](ctx, c, tenant, ref)
	if err != nil {
		return nil, err
	}
	data := s.State.Release(kind, owner)
	if len(data) == 0 {
		return nil, nil
	}
	return []change{decide(c, tenant, ref, s, data, nil)}, nil
}

// CreateAccessRecord creates an access role (aggType
// domain.AggregateAccessRole) or a permission record, and claims its
// ExternalId in the same append.
func (c *Commands) CreateAccessRecord(ctx context.Context, meta Meta, aggType string, in domain.RecordFields) (AccessRecordResult, error) {
	if _, ok := externalIDKinds[aggType]; !ok || aggType == domain.AggregateAccessGroup {
		return AccessRecordResult{}, fmt.Errorf("commands: %s is not an access record type", aggType)
	}
	id := deriveID(meta.CommandID, aggType, 0)
	ref := domain.Ref{Type: aggType, ID: id}
	var after snap[domain.AccessRecord]
	pos, err := c.run(ctx, meta, ref, func(ctx context.Context) ([]change, error) {
		s, err := load[domain.AccessRecord](ctx, c, meta.Tenant, ref)
		if err != nil {
			return nil, err
		}
		after = s
		if s.applied(meta.CommandID) {
			return nil, nil
		}
		data, fields, err := s.State.CreateAccessRecord(aggType, in)
		if err != nil {
			return nil, err
		}
		claim, err := c.claimExternalID(ctx, meta.Tenant, aggType, fields.ExternalID, id)
		if err != nil {
			return nil, err
		}
		return append([]change{decide(c, meta.Tenant, ref, s, data, &after)}, claim...), nil
	})
	if err != nil {
		return AccessRecordResult{}, err
	}
	if pos == 0 {
		pos = after.Seq
	}
	return AccessRecordResult{Record: after.State, Result: Result{Position: pos, Version: after.Seq}}, nil
}

// CreateAccessGroup creates a group and claims its ExternalId.
func (c *Commands) CreateAccessGroup(ctx context.Context, meta Meta, in domain.RecordFields) (AccessGroupResult, error) {
	id := deriveID(meta.CommandID, domain.AggregateAccessGroup, 0)
	return c.groupCommand(ctx, meta, id, false, func(ctx context.Context, g domain.AccessGroup) ([]domain.EventData, []change, error) {
		data, fields, err := g.CreateAccessGroup(in)
		if err != nil {
			return nil, nil, err
		}
		claim, err := c.claimExternalID(ctx, meta.Tenant, domain.AggregateAccessGroup, fields.ExternalID, id)
		return data, claim, err
	})
}

// UpdateAccessGroup changes a group's fields; a new ExternalId is claimed
// and the old one released in the same append.
func (c *Commands) UpdateAccessGroup(ctx context.Context, meta Meta, id string, p domain.RecordPatch) (AccessGroupResult, error) {
	return c.groupCommand(ctx, meta, id, true, func(ctx context.Context, g domain.AccessGroup) ([]domain.EventData, []change, error) {
		data, err := g.UpdateAccessGroup(p)
		if err != nil || len(data) == 0 {
			return nil, nil, err
		}
		upd := data[0].(*domain.AccessGroupUpdated)
		if upd.ExternalID == nil || domain.NormalizeExternalID(*upd.ExternalID) == domain.NormalizeExternalID(g.ExternalID) {
			return data, nil, nil
		}
		release, err := c.releaseExternalID(ctx, meta.Tenant, domain.AggregateAccessGroup, g.ExternalID, id)
		if err != nil {
			return nil, nil, err
		}
		claim, err := c.claimExternalID(ctx, meta.Tenant, domain.AggregateAccessGroup, *upd.ExternalID, id)
		return data, append(release, claim...), err
	})
}

// DeleteAccessGroup deletes a group with every permission record in it and
// frees its ExternalId, in one append. The result holds the group as it
// was deleted.
func (c *Commands) DeleteAccessGroup(ctx context.Context, meta Meta, id string) (AccessGroupResult, error) {
	var before domain.AccessGroup
	res, err := c.groupCommand(ctx, meta, id, true, func(ctx context.Context, g domain.AccessGroup) ([]domain.EventData, []change, error) {
		before = g
		data, err := g.DeleteAccessGroup()
		if err != nil {
			return nil, nil, err
		}
		release, err := c.releaseExternalID(ctx, meta.Tenant, domain.AggregateAccessGroup, g.ExternalID, id)
		return data, release, err
	})
	if err == nil && before.ID != "" {
		// The state after a delete has lost its permission records; the
		// client sees the group as it was.
		res.Group.Permissions = before.Permissions
	}
	return res, err
}

// groupCommand runs a decision on one group and the changes to other
// aggregates it brings (claims). With mustExist a missing group is
// NOT_FOUND and If-Match applies.
func (c *Commands) groupCommand(ctx context.Context, meta Meta, id string, mustExist bool,
	decision func(ctx context.Context, g domain.AccessGroup) ([]domain.EventData, []change, error)) (AccessGroupResult, error) {
	if !domain.ValidToken(id) {
		return AccessGroupResult{}, domain.Errorf(domain.CodeNotFound, "AccessGroup %s not found", id)
	}
	ref := accessGroupRef(id)
	var after snap[domain.AccessGroup]
	pos, err := c.run(ctx, meta, ref, func(ctx context.Context) ([]change, error) {
		s, err := load[domain.AccessGroup](ctx, c, meta.Tenant, ref)
		if err != nil {
			return nil, err
		}
		after = s
		if s.applied(meta.CommandID) {
			return nil, nil
		}
		if mustExist {
			if !s.State.Exists() {
				return nil, domain.Errorf(domain.CodeNotFound, "AccessGroup %s not found", id)
			}
			if err := meta.checkVersion(s.Seq); err != nil {
				return nil, err
			}
		}
		data, others, err := decision(ctx, s.State)
		if err != nil || len(data) == 0 {
			return nil, err
		}
		return append([]change{decide(c, meta.Tenant, ref, s, data, &after)}, others...), nil
	})
	if err != nil {
		return AccessGroupResult{}, err
	}
	if pos == 0 {
		pos = after.Seq
	}
	return AccessGroupResult{Group: after.State, Result: Result{Position: pos, Version: after.Seq}}, nil
}
