package commands

import (
	"context"

	"github.com/portcullis/portcullis/domain"
)

// TenantResult is a tenant after a command, with its positions.
type TenantResult struct {
	Tenant domain.Tenant
	Result
}

// CreateTenant creates a tenant. Its ext_id is also the subject token of its
// events, so it is fixed for life.
func (c *Commands) CreateTenant(ctx context.Context, meta Meta, extID, displayName string) (TenantResult, error) {
	ref := domain.Ref{Type: domain.AggregateTenant, ID: extID}
	if !domain.ValidToken(extID) {
		return TenantResult{}, domain.Invalid("ext_id", "must be 1 to 64 letters, digits, '-' or '_'")
	}
	var after snap[domain.Tenant]
	pos, err := c.run(ctx, meta, ref, func() ([]change, error) {
		s, err := load[domain.Tenant](ctx, c, extID, ref)
		if err != nil {
			return nil, err
		}
		after = s
		if s.applied(meta.CommandID) {
			return nil, nil
		}
		data, err := s.State.CreateTenant(extID, displayName)
		if err != nil {
			return nil, err
		}
		return []change{decide(c, extID, ref, s, data, &after)}, nil
	})
	if err != nil {
		return TenantResult{}, err
	}
	if pos == 0 {
		pos = after.Seq
	}
	return TenantResult{Tenant: after.State, Result: Result{Position: pos, Version: after.Seq}}, nil
}

// EnsureTenant creates a tenant unless it exists; the first start uses it
// for the default tenant, and a restart finds it there.
func (c *Commands) EnsureTenant(ctx context.Context, meta Meta, extID, displayName string) error {
	_, err := c.CreateTenant(ctx, meta, extID, displayName)
	if domain.ErrorCode(err) == domain.CodeConflict {
		return nil
	}
	return err
}

// TenantExists answers from the log whether a tenant exists, so that a
// tenant created a moment ago counts before the read models have it.
func (c *Commands) TenantExists(ctx context.Context, extID string) (bool, error) {
	if !domain.ValidToken(extID) {
		return false, nil
	}
	s, err := load[domain.Tenant](ctx, c, extID, domain.Ref{Type: domain.AggregateTenant, ID: extID})
	return s.State.Exists(), err
}
