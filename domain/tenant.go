package domain

import (
	"strings"
	"time"
)

// DefaultTenant is the tenant the first start creates.
const DefaultTenant = "default"

// AggregateTenant is the aggregate type of a tenant record.
const AggregateTenant = "tenant"

// TypeTenantCreated is the event of a new tenant.
const TypeTenantCreated = "tenant.created"

// TenantCreated starts a tenant. ExtID is the nevisIDM clientExtId and the
// subject token of all the tenant's events.
type TenantCreated struct {
	ExtID       string `msgpack:"ext_id"`
	DisplayName string `msgpack:"display_name"`
}

func (*TenantCreated) EventType() string { return TypeTenantCreated }
func (*TenantCreated) EventVersion() int { return 1 }

// Tenant is the state of a tenant aggregate.
type Tenant struct {
	ExtID       string
	DisplayName string
	CreatedAt   time.Time
}

// Exists reports whether the tenant has been created.
func (t *Tenant) Exists() bool { return t.ExtID != "" }

// Apply folds one event into the tenant.
func (t *Tenant) Apply(e Event) {
	if d, ok := e.Data.(*TenantCreated); ok {
		t.ExtID, t.DisplayName, t.CreatedAt = d.ExtID, d.DisplayName, e.OccurredAt
	}
}

// CreateTenant decides the creation of a tenant.
func (t *Tenant) CreateTenant(extID, displayName string) ([]EventData, error) {
	if !ValidToken(extID) || extID[0] == '_' {
		return nil, Invalid("ext_id", "must be 1 to 64 letters, digits, '-' or '_', not starting with '_'")
	}
	displayName = strings.TrimSpace(displayName)
	if displayName == "" {
		return nil, Invalid("display_name", "is required")
	}
	if t.Exists() {
		return nil, Errorf(CodeConflict, "tenant %q already exists", extID)
	}
	return []EventData{&TenantCreated{ExtID: extID, DisplayName: displayName}}, nil
}
