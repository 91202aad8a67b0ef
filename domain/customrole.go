package domain

import (
	"slices"
	"strings"
	"time"
)

// AggregateRole is the aggregate type of a custom role of a tenant, keyed by
// its name: a name is unique per tenant because it is the aggregate's id.
const AggregateRole = "role"

// Event types of custom roles.
const (
	TypeRoleCreated = "role.created"
	TypeRoleUpdated = "role.updated"
	TypeRoleDeleted = "role.deleted"
)

// RoleCreated defines a custom role.
type RoleCreated struct {
	Name        string   `msgpack:"name"`
	Description string   `msgpack:"description"`
	Permissions []string `msgpack:"permissions"`
}

func (*RoleCreated) EventType() string { return TypeRoleCreated }
func (*RoleCreated) EventVersion() int { return 1 }

// RoleUpdated replaces a custom role's permissions and description.
type RoleUpdated struct {
	Description string   `msgpack:"description"`
	Permissions []string `msgpack:"permissions"`
}

func (*RoleUpdated) EventType() string { return TypeRoleUpdated }
func (*RoleUpdated) EventVersion() int { return 1 }

// RoleDeleted ends a custom role; callers holding it keep no permissions.
type RoleDeleted struct{}

func (*RoleDeleted) EventType() string { return TypeRoleDeleted }
func (*RoleDeleted) EventVersion() int { return 1 }

// Role is the state of a custom role.
type Role struct {
	Name        string
	Description string
	Permissions []string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	Deleted     bool
}

// Exists reports whether the role was created and not deleted.
func (r *Role) Exists() bool { return !r.CreatedAt.IsZero() && !r.Deleted }

// Apply folds one event into the role.
func (r *Role) Apply(e Event) {
	r.UpdatedAt = e.OccurredAt
	switch d := e.Data.(type) {
	case *RoleCreated:
		*r = Role{Name: d.Name, Description: d.Description, Permissions: d.Permissions,
			CreatedAt: e.OccurredAt, UpdatedAt: e.OccurredAt}
	case *RoleUpdated:
		r.Description, r.Permissions = d.Description, d.Permissions
	case *RoleDeleted:
		r.Deleted = true
	}
}

// CreateRole decides a new custom role named name.
func (r *Role) CreateRole(name, description string, perms []string) ([]EventData, error) {
	if !ValidToken(name) || strings.ToLower(name) != name {
		return nil, Invalid("name", "must be 1 to 64 lower-case letters, digits, '-' or '_'")
	}
	if _, builtin := BuiltinRole(name); builtin {
		return nil, Invalid("name", "%q is a built-in role", name)
	}
	if r.Exists() {
		return nil, Errorf(CodeConflict, "role %q already exists", name)
	}
	perms, err := checkPermissions(perms)
	if err != nil {
		return nil, err
	}
	return []EventData{&RoleCreated{Name: name, Description: strings.TrimSpace(description), Permissions: perms}}, nil
}

// UpdateRole decides new permissions and description.
func (r *Role) UpdateRole(description string, perms []string) ([]EventData, error) {
	if !r.Exists() {
		return nil, Errorf(CodeNotFound, "role not found")
	}
	perms, err := checkPermissions(perms)
	if err != nil {
		return nil, err
	}
	description = strings.TrimSpace(description)
	if description == r.Description && slices.Equal(perms, r.Permissions) {
		return nil, nil
	}
	return []EventData{&RoleUpdated{Description: description, Permissions: perms}}, nil
}

// DeleteRole decides the deletion.
func (r *Role) DeleteRole() ([]EventData, error) {
	if !r.Exists() {
		return nil, Errorf(CodeNotFound, "role not found")
	}
	return []EventData{&RoleDeleted{}}, nil
}

// checkPermissions validates and sorts a permission list.
func checkPermissions(perms []string) ([]string, error) {
	if len(perms) == 0 {
		return nil, Invalid("permissions", "must name at least one permission")
	}
	out := slices.Clone(perms)
	slices.Sort(out)
	out = slices.Compact(out)
	for _, p := range out {
		if !ValidPermission(p) {
			return nil, Invalid("permissions", "%q is not a permission", p)
		}
	}
	return out, nil
}
