//go:build !linux

package projections

// residency keeps the read models' mapped pages out of the resident set on
// Linux (residency.go); elsewhere the kernel is left to it.
type residency struct{}

func (db *DB) trimResident() {}

func (db *DB) dropResident() {}

func newResidency() *residency { return nil }

// DefaultMappedBudget is the budget of residency.go, unused here.
const DefaultMappedBudget = 64 << 20

// SetMappedBudget does nothing where the pages are not dropped.
func (db *DB) SetMappedBudget(int64) {}
