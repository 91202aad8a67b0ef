package projections

import (
	"time"

	"github.com/portcullis/portcullis/domain"
)

var bucketRoles = []byte("roles") // tenant,name → Role

// Role is the read model of a custom role.
type Role struct {
	Name        string    `msgpack:"name"`
	Description string    `msgpack:"description"`
	Permissions []string  `msgpack:"permissions"`
	CreatedAt   time.Time `msgpack:"created_at"`
	UpdatedAt   time.Time `msgpack:"updated_at"`
	Deleted     bool      `msgpack:"deleted,omitempty"`
	Version     uint64    `msgpack:"version"`
}

type rolesProjection struct{}

func (rolesProjection) apply(tx *vtx, e domain.Event) error {
	if e.Aggregate.Type != domain.AggregateRole {
		return nil
	}
	k := key(e.Tenant, e.Aggregate.ID)
	var r Role
	if _, err := getValue(tx.Bucket(bucketRoles), k, &r); err != nil {
		return err
	}
	switch d := e.Data.(type) {
	case *domain.RoleCreated:
		r = Role{Name: d.Name, Description: d.Description, Permissions: d.Permissions, CreatedAt: e.OccurredAt}
	case *domain.RoleUpdated:
		r.Description, r.Permissions = d.Description, d.Permissions
	case *domain.RoleDeleted:
		r.Deleted = true
	default:
		return nil
	}
	r.UpdatedAt, r.Version = e.OccurredAt, e.Sequence
	return putRecord(tx, bucketRoles, k, e, &r)
}

// Role returns a live custom role of a tenant.
func (db *DB) Role(tenant, name string) (Role, bool, error) {
	var r Role
	var found bool
	err := db.view(func(tx *vtx) error {
		var err error
		found, err = getValue(tx.Bucket(bucketRoles), key(tenant, name), &r)
		return err
	})
	if r.Deleted {
		return Role{}, false, err
	}
	return r, found, err
}

// Roles lists a tenant's live custom roles by name.
func (db *DB) Roles(tenant string) ([]Role, error) {
	var out []Role
	err := db.view(func(tx *vtx) error {
		prefix := append([]byte(tenant), 0)
		c := tx.Bucket(bucketRoles).Cursor()
		for k, v := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, v = c.Next() {
			var r Role
			if err := unmarshal(v, &r); err != nil {
				return err
			}
			if !r.Deleted {
				out = append(out, r)
			}
		}
		return nil
	})
	return out, err
}
