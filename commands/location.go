package commands

import (
	"context"

	"github.com/portcullis/portcullis/domain"
)

// CreateLocation creates a location.
func (c *Commands) CreateLocation(ctx context.Context, meta Meta, in domain.LocationFields) (Placed[domain.Location], error) {
	ref := locationRef(deriveID(meta.CommandID, "location", 0))
	return decidePlace(ctx, c, meta, ref, ref, "location", false,
		func(ctx context.Context, s snap[domain.Location]) ([]domain.EventData, []change, error) {
			data, _, err := s.State.CreateLocation(in)
			return data, nil, err
		})
}

// UpdateLocation changes fields of a location.
func (c *Commands) UpdateLocation(ctx context.Context, meta Meta, id string, p domain.LocationPatch) (Placed[domain.Location], error) {
	ref := locationRef(id)
	return decidePlace(ctx, c, meta, ref, ref, "location", true,
		func(ctx context.Context, s snap[domain.Location]) ([]domain.EventData, []change, error) {
			data, err := s.State.UpdateLocation(p)
			return data, nil, err
		})
}

// DeleteLocation deletes a location that holds no buildings.
func (c *Commands) DeleteLocation(ctx context.Context, meta Meta, id string) (Placed[domain.Location], error) {
	ref := locationRef(id)
	return decidePlace(ctx, c, meta, ref, ref, "location", true,
		func(ctx context.Context, s snap[domain.Location]) ([]domain.EventData, []change, error) {
			names, err := recordNames[domain.Building](ctx, c, meta.Tenant, buildingRef, s.State.Buildings, buildingName, nil)
			if err != nil {
				return nil, nil, err
			}
			data, err := s.State.DeleteLocation(names)
			return data, nil, err
		})
}
