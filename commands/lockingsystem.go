package commands

import (
	"context"

	"github.com/portcullis/portcullis/domain"
)

// CreateLockingSystem creates a locking system.
func (c *Commands) CreateLockingSystem(ctx context.Context, meta Meta, in domain.LockingSystemFields) (Placed[domain.LockingSystem], error) {
	ref := lockingSystemRef(deriveID(meta.CommandID, "locking_system", 0))
	return decidePlace(ctx, c, meta, ref, ref, "locking system", false,
		func(ctx context.Context, s snap[domain.LockingSystem]) ([]domain.EventData, []change, error) {
			data, _, err := s.State.CreateLockingSystem(in)
			return data, nil, err
		})
}

// UpdateLockingSystem changes fields of a locking system.
func (c *Commands) UpdateLockingSystem(ctx context.Context, meta Meta, id string, p domain.LockingSystemPatch) (Placed[domain.LockingSystem], error) {
	ref := lockingSystemRef(id)
	return decidePlace(ctx, c, meta, ref, ref, "locking system", true,
		func(ctx context.Context, s snap[domain.LockingSystem]) ([]domain.EventData, []change, error) {
			data, err := s.State.UpdateLockingSystem(p)
			return data, nil, err
		})
}

// DeleteLockingSystem deletes a locking system no access point uses.
func (c *Commands) DeleteLockingSystem(ctx context.Context, meta Meta, id string) (Placed[domain.LockingSystem], error) {
	ref := lockingSystemRef(id)
	return decidePlace(ctx, c, meta, ref, ref, "locking system", true,
		func(ctx context.Context, s snap[domain.LockingSystem]) ([]domain.EventData, []change, error) {
			names, err := recordNames[domain.AccessPoint](ctx, c, meta.Tenant, accessPointRef, s.State.AccessPoints, accessPointName, nil)
			if err != nil {
				return nil, nil, err
			}
			data, err := s.State.DeleteLockingSystem(names)
			return data, nil, err
		})
}
