package commands

import (
	"context"

	"github.com/portcullis/portcullis/domain"
)

// CreateBuilding creates a building and attaches it to its location in one
// atomic append: a location deleted meanwhile refuses the attach.
func (c *Commands) CreateBuilding(ctx context.Context, meta Meta, in domain.BuildingFields) (Placed[domain.Building], error) {
	id := deriveID(meta.CommandID, "building", 0)
	ref := buildingRef(id)
	return decidePlace(ctx, c, meta, ref, ref, "building", false,
		func(ctx context.Context, s snap[domain.Building]) ([]domain.EventData, []change, error) {
			data, fields, err := s.State.CreateBuilding(in)
			if err != nil {
				return nil, nil, err
			}
			attach, err := c.attachToLocation(ctx, meta.Tenant, fields.LocationID, id)
			if err != nil {
				return nil, nil, err
			}
			return data, attach, nil
		})
}

// UpdateBuilding changes fields of a building; a new location_id moves it,
// detached from the old location and attached to the new one in the same
// append.
func (c *Commands) UpdateBuilding(ctx context.Context, meta Meta, id string, p domain.BuildingPatch) (Placed[domain.Building], error) {
	ref := buildingRef(id)
	return decidePlace(ctx, c, meta, ref, ref, "building", true,
		func(ctx context.Context, s snap[domain.Building]) ([]domain.EventData, []change, error) {
			data, ev, err := s.State.UpdateBuilding(p)
			if err != nil || ev == nil || ev.LocationID == nil {
				return data, nil, err
			}
			attach, err := c.attachToLocation(ctx, meta.Tenant, *ev.LocationID, id)
			if err != nil {
				return nil, nil, err
			}
			detach, err := c.detachFromLocation(ctx, meta.Tenant, s.State.LocationID, id)
			if err != nil {
				return nil, nil, err
			}
			return data, append(attach, detach...), nil
		})
}

// DeleteBuilding deletes a building that holds no spaces and detaches it
// from its location.
func (c *Commands) DeleteBuilding(ctx context.Context, meta Meta, id string) (Placed[domain.Building], error) {
	ref := buildingRef(id)
	return decidePlace(ctx, c, meta, ref, ref, "building", true,
		func(ctx context.Context, s snap[domain.Building]) ([]domain.EventData, []change, error) {
			names, err := recordNames[domain.Space](ctx, c, meta.Tenant, spaceRef, s.State.Spaces.IDs(), spaceName, nil)
			if err != nil {
				return nil, nil, err
			}
			data, err := s.State.DeleteBuilding(names)
			if err != nil {
				return nil, nil, err
			}
			detach, err := c.detachFromLocation(ctx, meta.Tenant, s.State.LocationID, id)
			return data, detach, err
		})
}

func (c *Commands) attachToLocation(ctx context.Context, tenant, locationID, buildingID string) ([]change, error) {
	ref := locationRef(locationID)
	l, err := loadParent[domain.Location](ctx, c, tenant, ref)
	if err != nil {
		return nil, err
	}
	data, err := l.State.AttachBuilding(buildingID, "location_id")
	if err != nil || len(data) == 0 {
		return nil, err
	}
	return []change{decide(c, tenant, ref, l, data, nil)}, nil
}

func (c *Commands) detachFromLocation(ctx context.Context, tenant, locationID, buildingID string) ([]change, error) {
	ref := locationRef(locationID)
	l, err := load[domain.Location](ctx, c, tenant, ref)
	if err != nil {
		return nil, err
	}
	if data := l.State.DetachBuilding(buildingID); len(data) > 0 {
		return []change{decide(c, tenant, ref, l, data, nil)}, nil
	}
	return nil, nil
}
