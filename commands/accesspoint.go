package commands

import (
	"context"

	"github.com/portcullis/portcullis/domain"
)

// CreateAccessPoint creates an access point and attaches it to its space
// and its locking system in one atomic append.
func (c *Commands) CreateAccessPoint(ctx context.Context, meta Meta, in domain.AccessPointFields) (Placed[domain.AccessPoint], error) {
	id := deriveID(meta.CommandID, "access_point", 0)
	ref := accessPointRef(id)
	return decidePlace(ctx, c, meta, ref, ref, "access point", false,
		func(ctx context.Context, s snap[domain.AccessPoint]) ([]domain.EventData, []change, error) {
			data, fields, err := s.State.CreateAccessPoint(in)
			if err != nil {
				return nil, nil, err
			}
			attach, err := c.attachAccessPoint(ctx, meta.Tenant, id, fields.SpaceID, fields.LockingSystemID)
			return data, attach, err
		})
}

// UpdateAccessPoint changes fields of an access point; a new space_id or
// locking_system_id moves it, detached from the old parent and attached to
// the new one in the same append.
func (c *Commands) UpdateAccessPoint(ctx context.Context, meta Meta, id string, p domain.AccessPointPatch) (Placed[domain.AccessPoint], error) {
	ref := accessPointRef(id)
	return decidePlace(ctx, c, meta, ref, ref, "access point", true,
		func(ctx context.Context, s snap[domain.AccessPoint]) ([]domain.EventData, []change, error) {
			data, ev, err := s.State.UpdateAccessPoint(p)
			if err != nil || ev == nil || (ev.SpaceID == nil && ev.LockingSystemID == nil) {
				return data, nil, err
			}
			var toSpace, toSystem, fromSpace, fromSystem string
			if ev.SpaceID != nil {
				toSpace, fromSpace = *ev.SpaceID, s.State.SpaceID
			}
			if ev.LockingSystemID != nil {
				toSystem, fromSystem = *ev.LockingSystemID, s.State.LockingSystemID
			}
			attach, err := c.attachAccessPoint(ctx, meta.Tenant, id, toSpace, toSystem)
			if err != nil {
				return nil, nil, err
			}
			detach, err := c.detachAccessPoint(ctx, meta.Tenant, id, fromSpace, fromSystem)
			return data, append(attach, detach...), err
		})
}

// DeleteAccessPoint deletes an access point that no access credential is
// linked to, and detaches it from its space and locking system.
func (c *Commands) DeleteAccessPoint(ctx context.Context, meta Meta, id string) (Placed[domain.AccessPoint], error) {
	ref := accessPointRef(id)
	return decidePlace(ctx, c, meta, ref, ref, "access point", true,
		func(ctx context.Context, s snap[domain.AccessPoint]) ([]domain.EventData, []change, error) {
			names, err := recordNames[domain.Credential](ctx, c, meta.Tenant, credentialRef, s.State.Credentials, credentialLabel, nil)
			if err != nil {
				return nil, nil, err
			}
			data, err := s.State.DeleteAccessPoint(names)
			if err != nil {
				return nil, nil, err
			}
			detach, err := c.detachAccessPoint(ctx, meta.Tenant, id, s.State.SpaceID, s.State.LockingSystemID)
			return data, detach, err
		})
}

// attachAccessPoint decides the attach of access point id to a space and a
// locking system (either may be "" for none).
func (c *Commands) attachAccessPoint(ctx context.Context, tenant, id, spaceID, systemID string) ([]change, error) {
	var changes []change
	if spaceID != "" {
		ref := spaceRef(spaceID)
		s, err := loadParent[domain.Space](ctx, c, tenant, ref)
		if err != nil {
			return nil, err
		}
		data, err := s.State.AttachAccessPoints([]string{id}, "space_id")
		if err != nil {
			return nil, err
		}
		if len(data) > 0 {
			changes = append(changes, decide(c, tenant, ref, s, data, nil))
		}
	}
	if systemID != "" {
		ref := lockingSystemRef(systemID)
		l, err := loadParent[domain.LockingSystem](ctx, c, tenant, ref)
		if err != nil {
			return nil, err
		}
		data, err := l.State.AttachAccessPoints([]string{id}, "locking_system_id")
		if err != nil {
			return nil, err
		}
		if len(data) > 0 {
			changes = append(changes, decide(c, tenant, ref, l, data, nil))
		}
	}
	return changes, nil
}

// detachAccessPoint decides the detach of access point id from a space and
// a locking system (either may be "" for none).
func (c *Commands) detachAccessPoint(ctx context.Context, tenant, id, spaceID, systemID string) ([]change, error) {
	var changes []change
	if spaceID != "" {
		ref := spaceRef(spaceID)
		s, err := load[domain.Space](ctx, c, tenant, ref)
		if err != nil {
			return nil, err
		}
		if data := s.State.DetachAccessPoints([]string{id}); len(data) > 0 {
			changes = append(changes, decide(c, tenant, ref, s, data, nil))
		}
	}
	if systemID != "" {
		ref := lockingSystemRef(systemID)
		l, err := load[domain.LockingSystem](ctx, c, tenant, ref)
		if err != nil {
			return nil, err
		}
		if data := l.State.DetachAccessPoints([]string{id}); len(data) > 0 {
			changes = append(changes, decide(c, tenant, ref, l, data, nil))
		}
	}
	return changes, nil
}
