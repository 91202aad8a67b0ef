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
	pos, err := c.run(ctx, meta, ref, func(ctx context.Context) ([]change, error) {
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

// Tenant returns a tenant as the log has it, for the faces that name a
// tenant (nevisIDM's clientExtId, a system admin's "tenant"): one created a
// moment ago is found even while the read models lag.
func (c *Commands) Tenant(ctx context.Context, extID string) (domain.Tenant, bool, error) {
	if !domain.ValidToken(extID) {
		return domain.Tenant{}, false, nil
	}
	t, err := current[domain.Tenant](ctx, c, extID, domain.Ref{Type: domain.AggregateTenant, ID: extID})
	return t, t.Exists(), err
}

// Individual returns a person as the log has it, for reads that must not
// wait for the read models (mailing a code to someone just created).
func (c *Commands) Individual(ctx context.Context, tenant, id string) (domain.Individual, bool, error) {
	if !domain.ValidToken(id) {
		return domain.Individual{}, false, nil
	}
	ind, err := current[domain.Individual](ctx, c, tenant, individualRef(id))
	return ind, ind.Exists(), err
}
