package projections

import (
	"time"

	"github.com/portcullis/portcullis/domain"
)

var bucketTenants = []byte("tenants")

// Tenant is the read model of a tenant.
type Tenant struct {
	ExtID       string    `msgpack:"ext_id"`
	DisplayName string    `msgpack:"display_name"`
	CreatedAt   time.Time `msgpack:"created_at"`
	Version     uint64    `msgpack:"version"`
}

type tenantsProjection struct{}

func (tenantsProjection) apply(tx *vtx, e domain.Event) error {
	d, ok := e.Data.(*domain.TenantCreated)
	if !ok {
		return nil
	}
	return putValue(tx.Bucket(bucketTenants), []byte(d.ExtID), &Tenant{
		ExtID: d.ExtID, DisplayName: d.DisplayName, CreatedAt: e.OccurredAt, Version: e.Sequence,
	})
}

// Tenant returns one tenant by ext_id.
func (db *DB) Tenant(extID string) (Tenant, bool, error) {
	var t Tenant
	var found bool
	err := db.view(func(tx *vtx) error {
		var err error
		found, err = getValue(tx.Bucket(bucketTenants), []byte(extID), &t)
		return err
	})
	return t, found, err
}

// Tenants lists every tenant in ext_id order.
func (db *DB) Tenants() ([]Tenant, error) {
	var out []Tenant
	err := db.view(func(tx *vtx) error {
		return tx.Bucket(bucketTenants).ForEach(func(_, v []byte) error {
			var t Tenant
			if err := unmarshal(v, &t); err != nil {
				return err
			}
			out = append(out, t)
			return nil
		})
	})
	return out, err
}
