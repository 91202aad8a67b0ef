package domain

import (
	"strings"
	"time"
)

// AggregateAccessPoint is the aggregate type of an access point: a door,
// gate or barrier in a space, locked by a locking system. The access point
// holds the ids of the access credentials linked to it, so that deleting a
// door that keys still open is refused by a decision on the door alone.
const AggregateAccessPoint = "access_point"

// Event types of access points.
const (
	TypeAccessPointCreated             = "access_point.created"
	TypeAccessPointUpdated             = "access_point.updated"
	TypeAccessPointDeleted             = "access_point.deleted"
	TypeAccessPointCredentialsLinked   = "access_point.credentials_linked"
	TypeAccessPointCredentialsUnlinked = "access_point.credentials_unlinked"
)

// Access point statuses.
const (
	AccessPointActive      = "active"
	AccessPointInactive    = "inactive"
	AccessPointMaintenance = "maintenance"
)

// AccessPointStatuses lists the valid statuses, for validation and docs.
var AccessPointStatuses = []string{AccessPointActive, AccessPointInactive, AccessPointMaintenance}

// AccessPointFields are the client-set fields of an access point. OutsideA
// and InsideB describe the two sides of the door (what a person comes from
// and goes into).
type AccessPointFields struct {
	PointName       string `msgpack:"point_name"`
	Label           string `msgpack:"label"`
	SpaceID         string `msgpack:"space_id"`
	LockingSystemID string `msgpack:"locking_system_id"`
	OutsideA        string `msgpack:"outside_a"`
	InsideB         string `msgpack:"inside_b"`
	Area            string `msgpack:"area"`
	Department      string `msgpack:"department"`
	Status          string `msgpack:"status"`
	DeleteProtected bool   `msgpack:"delete_protected"`
}

// AccessPointCreated starts an access point.
type AccessPointCreated struct {
	AccessPointFields `msgpack:",inline"`
}

func (*AccessPointCreated) EventType() string { return TypeAccessPointCreated }
func (*AccessPointCreated) EventVersion() int { return 1 }

// AccessPointPatch names the fields a change sets; nil leaves a field alone.
// As an event payload it carries only what changed. A change of SpaceID or
// LockingSystemID is appended together with the detach from the old parent
// and the attach to the new one.
type AccessPointPatch struct {
	PointName       *string `msgpack:"point_name,omitempty"`
	Label           *string `msgpack:"label,omitempty"`
	SpaceID         *string `msgpack:"space_id,omitempty"`
	LockingSystemID *string `msgpack:"locking_system_id,omitempty"`
	OutsideA        *string `msgpack:"outside_a,omitempty"`
	InsideB         *string `msgpack:"inside_b,omitempty"`
	Area            *string `msgpack:"area,omitempty"`
	Department      *string `msgpack:"department,omitempty"`
	Status          *string `msgpack:"status,omitempty"`
	DeleteProtected *bool   `msgpack:"delete_protected,omitempty"`
}

// AccessPointUpdated records changed fields of an access point.
type AccessPointUpdated struct {
	AccessPointPatch `msgpack:",inline"`
}

func (*AccessPointUpdated) EventType() string { return TypeAccessPointUpdated }
func (*AccessPointUpdated) EventVersion() int { return 1 }

// AccessPointDeleted ends an access point. Its history stays in the log.
type AccessPointDeleted struct{}

func (*AccessPointDeleted) EventType() string { return TypeAccessPointDeleted }
func (*AccessPointDeleted) EventVersion() int { return 1 }

// AccessPointCredentialsLinked records that access credentials now open the
// access point. It is appended in the same atomic batch as the credentials'
// own side of the link, so both views agree.
type AccessPointCredentialsLinked struct {
	CredentialIDs []string `msgpack:"credential_ids"`
}

func (*AccessPointCredentialsLinked) EventType() string { return TypeAccessPointCredentialsLinked }
func (*AccessPointCredentialsLinked) EventVersion() int { return 1 }

// AccessPointCredentialsUnlinked records that access credentials no longer
// open the access point; appended like AccessPointCredentialsLinked.
type AccessPointCredentialsUnlinked struct {
	CredentialIDs []string `msgpack:"credential_ids"`
}

func (*AccessPointCredentialsUnlinked) EventType() string { return TypeAccessPointCredentialsUnlinked }
func (*AccessPointCredentialsUnlinked) EventVersion() int { return 1 }

// AccessPoint is the state of an access point aggregate.
type AccessPoint struct {
	ID string
	AccessPointFields
	// Credentials are the ids of the access credentials linked to it.
	Credentials IDSet
	CreatedAt   time.Time
	UpdatedAt   time.Time
	Deleted     bool
}

// Exists reports whether the access point was created and not deleted.
func (a *AccessPoint) Exists() bool { return !a.CreatedAt.IsZero() && !a.Deleted }

// Apply folds one event into the access point. Credentials is replaced,
// never changed in place.
func (a *AccessPoint) Apply(e Event) {
	a.UpdatedAt = e.OccurredAt
	switch d := e.Data.(type) {
	case *AccessPointCreated:
		a.ID, a.AccessPointFields, a.CreatedAt = e.Aggregate.ID, d.AccessPointFields, e.OccurredAt
	case *AccessPointUpdated:
		d.AccessPointPatch.applyTo(&a.AccessPointFields)
	case *AccessPointDeleted:
		a.Deleted = true
	case *AccessPointCredentialsLinked:
		a.Credentials = a.Credentials.With(d.CredentialIDs...)
	case *AccessPointCredentialsUnlinked:
		a.Credentials = a.Credentials.Without(d.CredentialIDs...)
	}
}

func (p *AccessPointPatch) applyTo(f *AccessPointFields) {
	for _, x := range []struct{ dst, src *string }{
		{&f.PointName, p.PointName}, {&f.Label, p.Label}, {&f.SpaceID, p.SpaceID},
		{&f.LockingSystemID, p.LockingSystemID}, {&f.OutsideA, p.OutsideA}, {&f.InsideB, p.InsideB},
		{&f.Area, p.Area}, {&f.Department, p.Department}, {&f.Status, p.Status},
	} {
		if x.src != nil {
			*x.dst = *x.src
		}
	}
	if p.DeleteProtected != nil {
		f.DeleteProtected = *p.DeleteProtected
	}
}

// AccessPointNotFound is the miss of an access point that is not there (any
// more).
func AccessPointNotFound(id string) *Error {
	return Errorf(CodeNotFound, "access point %s not found", id)
}

func (f AccessPointFields) normalize() AccessPointFields {
	for _, s := range []*string{&f.PointName, &f.Label, &f.SpaceID, &f.LockingSystemID, &f.OutsideA,
		&f.InsideB, &f.Area, &f.Department, &f.Status} {
		*s = strings.TrimSpace(*s)
	}
	return f
}

func validateAccessPoint(f AccessPointFields) error {
	if err := checkName("point_name", f.PointName, true, 200); err != nil {
		return err
	}
	if err := checkRef("space_id", f.SpaceID, true); err != nil {
		return err
	}
	if err := checkRef("locking_system_id", f.LockingSystemID, true); err != nil {
		return err
	}
	for _, x := range []struct{ field, value string }{
		{"label", f.Label}, {"outside_a", f.OutsideA}, {"inside_b", f.InsideB}, {"area", f.Area}, {"department", f.Department},
	} {
		if err := checkName(x.field, x.value, false, 200); err != nil {
			return err
		}
	}
	if !oneOf(f.Status, AccessPointStatuses) {
		return Invalid("status", "must be one of %s", strings.Join(AccessPointStatuses, ", "))
	}
	return nil
}

// CreateAccessPoint decides the creation of an access point. The returned
// fields are the normalized ones the event carries; the caller attaches the
// access point to its space and locking system in the same append.
func (a *AccessPoint) CreateAccessPoint(in AccessPointFields) ([]EventData, AccessPointFields, error) {
	in = in.normalize()
	if in.Status == "" {
		in.Status = AccessPointActive
	}
	if !a.CreatedAt.IsZero() {
		return nil, in, Errorf(CodeConflict, "access point %s already exists", a.ID)
	}
	if err := validateAccessPoint(in); err != nil {
		return nil, in, err
	}
	return []EventData{&AccessPointCreated{AccessPointFields: in}}, in, nil
}

// UpdateAccessPoint decides a change. Fields that would not change are left
// out of the event; a patch that changes nothing decides nothing. The caller
// reads SpaceID and LockingSystemID off the event to move the access point
// between parents in the same append.
func (a *AccessPoint) UpdateAccessPoint(p AccessPointPatch) ([]EventData, *AccessPointUpdated, error) {
	if !a.Exists() {
		return nil, nil, AccessPointNotFound(a.ID)
	}
	for _, s := range []**string{&p.PointName, &p.Label, &p.SpaceID, &p.LockingSystemID, &p.OutsideA,
		&p.InsideB, &p.Area, &p.Department, &p.Status} {
		*s = trimPtr(*s)
	}
	next := a.AccessPointFields
	p.applyTo(&next)
	if err := validateAccessPoint(next); err != nil {
		return nil, nil, err
	}
	cur := a.AccessPointFields
	changed := AccessPointPatch{
		PointName:       changedOnly(cur.PointName, p.PointName),
		Label:           changedOnly(cur.Label, p.Label),
		SpaceID:         changedOnly(cur.SpaceID, p.SpaceID),
		LockingSystemID: changedOnly(cur.LockingSystemID, p.LockingSystemID),
		OutsideA:        changedOnly(cur.OutsideA, p.OutsideA),
		InsideB:         changedOnly(cur.InsideB, p.InsideB),
		Area:            changedOnly(cur.Area, p.Area),
		Department:      changedOnly(cur.Department, p.Department),
		Status:          changedOnly(cur.Status, p.Status),
		DeleteProtected: changedBool(cur.DeleteProtected, p.DeleteProtected),
	}
	if changed == (AccessPointPatch{}) {
		return nil, nil, nil
	}
	ev := &AccessPointUpdated{AccessPointPatch: changed}
	return []EventData{ev}, ev, nil
}

// DeleteAccessPoint decides the deletion. A delete-protected access point,
// or one that access credentials still open, stays; names maps credential
// ids to what the conflict message calls them (may be empty).
func (a *AccessPoint) DeleteAccessPoint(names map[string]string) ([]EventData, error) {
	if !a.Exists() {
		return nil, AccessPointNotFound(a.ID)
	}
	if a.DeleteProtected {
		return nil, deleteProtected("access point", a.ID)
	}
	if err := childrenConflict("access point", a.ID,
		Children{Kind: "linked access credentials", IDs: a.Credentials, Names: names}); err != nil {
		return nil, err
	}
	return []EventData{&AccessPointDeleted{}}, nil
}

// LinkCredentials decides that the access credentials ids open the access
// point. Ids already linked are ignored; linking only those decides
// nothing. The caller appends the credentials' side of the link in the same
// batch. A missing access point is NOT_FOUND; a caller that named it in a
// request body rather than the path reports it against that field.
func (a *AccessPoint) LinkCredentials(ids []string) ([]EventData, error) {
	if !a.Exists() {
		return nil, AccessPointNotFound(a.ID)
	}
	ids, err := checkIDList("credential_ids", ids)
	if err != nil {
		return nil, err
	}
	var add []string
	for _, id := range ids {
		if !a.Credentials.Has(id) {
			add = append(add, id)
		}
	}
	if len(add) == 0 {
		return nil, nil
	}
	return []EventData{&AccessPointCredentialsLinked{CredentialIDs: add}}, nil
}

// UnlinkCredentials decides that the access credentials ids no longer open
// the access point. An id that is not linked is bad input naming
// credential_ids: the client's picture of the links is wrong, and nothing
// is unlinked.
func (a *AccessPoint) UnlinkCredentials(ids []string) ([]EventData, error) {
	if !a.Exists() {
		return nil, AccessPointNotFound(a.ID)
	}
	ids, err := checkIDList("credential_ids", ids)
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, id := range ids {
		if !a.Credentials.Has(id) {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return nil, Invalid("credential_ids", "access point %s is not linked to %s", a.ID, listIDs(missing, nil))
	}
	return []EventData{&AccessPointCredentialsUnlinked{CredentialIDs: ids}}, nil
}
