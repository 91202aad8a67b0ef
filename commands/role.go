package commands

import (
	"context"

	"github.com/portcullis/portcullis/domain"
)

// RoleResult is a custom role after a command, with its positions.
type RoleResult struct {
	Role domain.Role
	Result
}

func roleRef(name string) domain.Ref { return domain.Ref{Type: domain.AggregateRole, ID: name} }

// CreateRole defines a custom role; its name is its id, so two concurrent
// creates of one name cannot both land.
func (c *Commands) CreateRole(ctx context.Context, meta Meta, name, description string, perms []string) (RoleResult, error) {
	if !domain.ValidToken(name) {
		return RoleResult{}, domain.Invalid("name", "must be 1 to 64 lower-case letters, digits, '-' or '_'")
	}
	after, res, err := decideOne[domain.Role](ctx, c, meta, roleRef(name), "role", false,
		func(r domain.Role) ([]domain.EventData, error) { return r.CreateRole(name, description, perms) }, nil)
	return RoleResult{Role: after.State, Result: res}, err
}

// UpdateRole replaces a custom role's permissions and description.
func (c *Commands) UpdateRole(ctx context.Context, meta Meta, name, description string, perms []string) (RoleResult, error) {
	after, res, err := decideOne[domain.Role](ctx, c, meta, roleRef(name), "role", true,
		func(r domain.Role) ([]domain.EventData, error) { return r.UpdateRole(description, perms) }, nil)
	return RoleResult{Role: after.State, Result: res}, err
}

// DeleteRole deletes a custom role; whoever holds it keeps no permissions.
func (c *Commands) DeleteRole(ctx context.Context, meta Meta, name string) (RoleResult, error) {
	after, res, err := decideOne[domain.Role](ctx, c, meta, roleRef(name), "role", true,
		func(r domain.Role) ([]domain.EventData, error) { return r.DeleteRole() }, nil)
	return RoleResult{Role: after.State, Result: res}, err
}

// roleExists answers, from the log itself, whether a tenant has a live
// custom role: a role created a moment ago counts even if the read models
// have not applied it yet.
func (c *Commands) roleExists(ctx context.Context, tenant string) domain.RoleExists {
	return func(name string) bool {
		if !domain.ValidToken(name) {
			return false
		}
		r, err := current[domain.Role](ctx, c, tenant, roleRef(name))
		return err == nil && r.Exists()
	}
}
