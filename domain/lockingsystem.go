package domain

import (
	"strings"
	"time"
)

// AggregateLockingSystem is the aggregate type of a locking system: the
// master-key system or electronic system whose locks the access points
// carry. It holds the ids of its access points.
const AggregateLockingSystem = "locking_system"

// Event types of locking systems.
const (
	TypeLockingSystemCreated              = "locking_system.created"
	TypeLockingSystemUpdated              = "locking_system.updated"
	TypeLockingSystemDeleted              = "locking_system.deleted"
	TypeLockingSystemAccessPointsAttached = "locking_system.access_points_attached"
	TypeLockingSystemAccessPointsDetached = "locking_system.access_points_detached"
)

// Locking system types.
const (
	SystemMechanical  = "mechanical"
	SystemMechatronic = "mechatronic"
	SystemElectronic  = "electronic"
)

// LockingSystemTypes lists the valid system types, for validation and docs.
var LockingSystemTypes = []string{SystemMechanical, SystemMechatronic, SystemElectronic}

// LockingSystemFields are the client-set fields of a locking system.
// SystemTechnology is free text (e.g. "RFID MIFARE DESFire", "pin tumbler");
// RevisionNumber is the revision of the system's locking plan, as the vendor
// spells it.
type LockingSystemFields struct {
	Name             string `msgpack:"name"`
	Brand            string `msgpack:"brand"`
	SystemType       string `msgpack:"system_type"`
	SystemTechnology string `msgpack:"system_technology"`
	RevisionNumber   string `msgpack:"revision_number"`
}

// LockingSystemCreated starts a locking system.
type LockingSystemCreated struct {
	LockingSystemFields `msgpack:",inline"`
}

func (*LockingSystemCreated) EventType() string { return TypeLockingSystemCreated }
func (*LockingSystemCreated) EventVersion() int { return 1 }

// LockingSystemPatch names the fields a change sets; nil leaves a field
// alone.
type LockingSystemPatch struct {
	Name             *string `msgpack:"name,omitempty"`
	Brand            *string `msgpack:"brand,omitempty"`
	SystemType       *string `msgpack:"system_type,omitempty"`
	SystemTechnology *string `msgpack:"system_technology,omitempty"`
	RevisionNumber   *string `msgpack:"revision_number,omitempty"`
}

// LockingSystemUpdated records changed fields of a locking system.
type LockingSystemUpdated struct {
	LockingSystemPatch `msgpack:",inline"`
}

func (*LockingSystemUpdated) EventType() string { return TypeLockingSystemUpdated }
func (*LockingSystemUpdated) EventVersion() int { return 1 }

// LockingSystemDeleted ends a locking system. Its history stays in the log.
type LockingSystemDeleted struct{}

func (*LockingSystemDeleted) EventType() string { return TypeLockingSystemDeleted }
func (*LockingSystemDeleted) EventVersion() int { return 1 }

// LockingSystemAccessPointsAttached records that access points now carry
// locks of the system; appended with their creation or move.
type LockingSystemAccessPointsAttached struct {
	AccessPointIDs []string `msgpack:"access_point_ids"`
}

func (*LockingSystemAccessPointsAttached) EventType() string {
	return TypeLockingSystemAccessPointsAttached
}
func (*LockingSystemAccessPointsAttached) EventVersion() int { return 1 }

// LockingSystemAccessPointsDetached records that access points left the
// system; appended with their deletion or move.
type LockingSystemAccessPointsDetached struct {
	AccessPointIDs []string `msgpack:"access_point_ids"`
}

func (*LockingSystemAccessPointsDetached) EventType() string {
	return TypeLockingSystemAccessPointsDetached
}
func (*LockingSystemAccessPointsDetached) EventVersion() int { return 1 }

// LockingSystem is the state of a locking system aggregate.
type LockingSystem struct {
	ID string
	LockingSystemFields
	AccessPoints IDSet
	CreatedAt    time.Time
	UpdatedAt    time.Time
	Deleted      bool
}

// Exists reports whether the locking system was created and not deleted.
func (l *LockingSystem) Exists() bool { return !l.CreatedAt.IsZero() && !l.Deleted }

// Apply folds one event into the locking system.
func (l *LockingSystem) Apply(e Event) {
	l.UpdatedAt = e.OccurredAt
	switch d := e.Data.(type) {
	case *LockingSystemCreated:
		l.ID, l.LockingSystemFields, l.CreatedAt = e.Aggregate.ID, d.LockingSystemFields, e.OccurredAt
	case *LockingSystemUpdated:
		d.LockingSystemPatch.applyTo(&l.LockingSystemFields)
	case *LockingSystemDeleted:
		l.Deleted = true
	case *LockingSystemAccessPointsAttached:
		l.AccessPoints = l.AccessPoints.With(d.AccessPointIDs...)
	case *LockingSystemAccessPointsDetached:
		l.AccessPoints = l.AccessPoints.Without(d.AccessPointIDs...)
	}
}

func (p *LockingSystemPatch) applyTo(f *LockingSystemFields) {
	for _, x := range []struct{ dst, src *string }{
		{&f.Name, p.Name}, {&f.Brand, p.Brand}, {&f.SystemType, p.SystemType},
		{&f.SystemTechnology, p.SystemTechnology}, {&f.RevisionNumber, p.RevisionNumber},
	} {
		if x.src != nil {
			*x.dst = *x.src
		}
	}
}

func (p *LockingSystemPatch) trim() {
	p.Name, p.Brand, p.SystemType = trimPtr(p.Name), trimPtr(p.Brand), trimPtr(p.SystemType)
	p.SystemTechnology, p.RevisionNumber = trimPtr(p.SystemTechnology), trimPtr(p.RevisionNumber)
}

// LockingSystemNotFound is the miss of a locking system that is not there
// (any more).
func LockingSystemNotFound(id string) *Error {
	return Errorf(CodeNotFound, "locking system %s not found", id)
}

func validateLockingSystem(f LockingSystemFields) error {
	for _, x := range []struct {
		field, value string
		required     bool
		max          int
	}{
		{"name", f.Name, true, 200}, {"brand", f.Brand, false, 100},
		{"system_technology", f.SystemTechnology, false, 100}, {"revision_number", f.RevisionNumber, false, 64},
	} {
		if err := checkName(x.field, x.value, x.required, x.max); err != nil {
			return err
		}
	}
	if !oneOf(f.SystemType, LockingSystemTypes) {
		return Invalid("system_type", "must be one of %s", strings.Join(LockingSystemTypes, ", "))
	}
	return nil
}

// CreateLockingSystem decides the creation of a locking system; the
// returned fields are the normalized ones the event carries.
func (l *LockingSystem) CreateLockingSystem(in LockingSystemFields) ([]EventData, LockingSystemFields, error) {
	p := LockingSystemPatch{&in.Name, &in.Brand, &in.SystemType, &in.SystemTechnology, &in.RevisionNumber}
	p.trim()
	in = LockingSystemFields{}
	p.applyTo(&in)
	if in.SystemType == "" {
		in.SystemType = SystemMechanical
	}
	if !l.CreatedAt.IsZero() {
		return nil, in, Errorf(CodeConflict, "locking system %s already exists", l.ID)
	}
	if err := validateLockingSystem(in); err != nil {
		return nil, in, err
	}
	return []EventData{&LockingSystemCreated{LockingSystemFields: in}}, in, nil
}

// UpdateLockingSystem decides a change; a patch that changes nothing
// decides nothing.
func (l *LockingSystem) UpdateLockingSystem(p LockingSystemPatch) ([]EventData, error) {
	if !l.Exists() {
		return nil, LockingSystemNotFound(l.ID)
	}
	p.trim()
	next := l.LockingSystemFields
	p.applyTo(&next)
	if err := validateLockingSystem(next); err != nil {
		return nil, err
	}
	cur := l.LockingSystemFields
	changed := LockingSystemPatch{
		Name: changedOnly(cur.Name, p.Name), Brand: changedOnly(cur.Brand, p.Brand),
		SystemType: changedOnly(cur.SystemType, p.SystemType), SystemTechnology: changedOnly(cur.SystemTechnology, p.SystemTechnology),
		RevisionNumber: changedOnly(cur.RevisionNumber, p.RevisionNumber),
	}
	if changed == (LockingSystemPatch{}) {
		return nil, nil
	}
	return []EventData{&LockingSystemUpdated{LockingSystemPatch: changed}}, nil
}

// DeleteLockingSystem decides the deletion; a system whose locks access
// points still carry stays. names maps access point ids to names for the
// conflict message.
func (l *LockingSystem) DeleteLockingSystem(names map[string]string) ([]EventData, error) {
	if !l.Exists() {
		return nil, LockingSystemNotFound(l.ID)
	}
	if err := childrenConflict("locking system", l.ID, Children{Kind: "access points", IDs: l.AccessPoints, Names: names}); err != nil {
		return nil, err
	}
	return []EventData{&LockingSystemDeleted{}}, nil
}

// AttachAccessPoints decides that access points ids now carry locks of the
// system; ids already here are left out. field names the input that named
// this system, for the answer when it does not exist.
func (l *LockingSystem) AttachAccessPoints(ids []string, field string) ([]EventData, error) {
	if !l.Exists() {
		return nil, parentMissing(field, "locking system")
	}
	var add []string
	for _, id := range ids {
		if !l.AccessPoints.Has(id) {
			add = append(add, id)
		}
	}
	if len(add) == 0 {
		return nil, nil
	}
	return []EventData{&LockingSystemAccessPointsAttached{AccessPointIDs: add}}, nil
}

// DetachAccessPoints decides that access points ids left the system; those
// that were not here are left out.
func (l *LockingSystem) DetachAccessPoints(ids []string) []EventData {
	var drop []string
	for _, id := range ids {
		if l.AccessPoints.Has(id) {
			drop = append(drop, id)
		}
	}
	if len(drop) == 0 {
		return nil
	}
	return []EventData{&LockingSystemAccessPointsDetached{AccessPointIDs: drop}}
}
