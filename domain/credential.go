package domain

import (
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// AggregateCredential is the aggregate type of an access credential: a
// physical key, card, fob, phone or PIN that opens access points. Its
// assignment to a person lives inside it (who holds it is a property of the
// key), and the person learns of it through events on their own aggregate in
// the same append (see Individual.HoldCredentials).
const AggregateCredential = "access_credential"

// Event types of access credentials. A status change is its own event, so
// that the audit trail reads "lost" rather than "updated".
const (
	TypeCredentialCreated              = "access_credential.created"
	TypeCredentialUpdated              = "access_credential.updated"
	TypeCredentialStatusChanged        = "access_credential.status_changed"
	TypeCredentialDeleted              = "access_credential.deleted"
	TypeCredentialAssigned             = "access_credential.assigned"
	TypeCredentialReserved             = "access_credential.reserved"
	TypeCredentialAssignmentConfirmed  = "access_credential.assignment_confirmed"
	TypeCredentialReturned             = "access_credential.returned"
	TypeCredentialAccessPointsLinked   = "access_credential.access_points_linked"
	TypeCredentialAccessPointsUnlinked = "access_credential.access_points_unlinked"
)

// UniqueCredentialNumber makes the number stamped on a credential unique per
// tenant, compared as NormalizeCredentialNumber says.
const UniqueCredentialNumber = "access_credential.credential_id"

// Credential types.
const (
	CredentialMechanicalKey = "mechanical_key"
	CredentialCard          = "card"
	CredentialFob           = "fob"
	CredentialMobile        = "mobile"
	CredentialPIN           = "pin"
)

// CredentialTypes lists the valid types, for validation, stats and docs.
var CredentialTypes = []string{CredentialMechanicalKey, CredentialCard, CredentialFob, CredentialMobile, CredentialPIN}

// Credential statuses.
const (
	CredentialActive   = "active"
	CredentialDisabled = "disabled"
	CredentialLost     = "lost"
	CredentialStolen   = "stolen"
	CredentialDamaged  = "damaged"
)

// CredentialStatuses lists the valid statuses.
var CredentialStatuses = []string{CredentialActive, CredentialDisabled, CredentialLost, CredentialStolen, CredentialDamaged}

// Credential sources: typed in by hand, or brought in by an import.
const (
	CredentialManual   = "manual"
	CredentialImported = "imported"
)

// CredentialSources lists the valid sources.
var CredentialSources = []string{CredentialManual, CredentialImported}

// MaxCredentialBatch bounds how many credentials one assign, return, confirm
// or link names: they are appended as one atomic batch.
const MaxCredentialBatch = 100

// CredentialFields are the client-set fields of a credential.
type CredentialFields struct {
	CredentialID    string    `msgpack:"credential_id"`
	CredentialName  string    `msgpack:"credential_name"`
	Type            string    `msgpack:"type"`
	Status          string    `msgpack:"status"`
	ValidFrom       time.Time `msgpack:"valid_from,omitempty"`
	ValidUntil      time.Time `msgpack:"valid_until,omitempty"`
	Source          string    `msgpack:"source"`
	Counter         int       `msgpack:"counter"`
	DeleteProtected bool      `msgpack:"delete_protected"`
}

// CredentialCreated starts a credential.
type CredentialCreated struct {
	CredentialFields `msgpack:",inline"`
}

func (*CredentialCreated) EventType() string { return TypeCredentialCreated }
func (*CredentialCreated) EventVersion() int { return 1 }

// CredentialPatch names the fields a change sets; nil leaves a field alone.
// A time set to the zero time clears it. Status is not here: it changes
// through its own event.
type CredentialPatch struct {
	CredentialID    *string    `msgpack:"credential_id,omitempty"`
	CredentialName  *string    `msgpack:"credential_name,omitempty"`
	Type            *string    `msgpack:"type,omitempty"`
	ValidFrom       *time.Time `msgpack:"valid_from"` // not omitempty: a zero time (clear) must survive
	ValidUntil      *time.Time `msgpack:"valid_until"`
	Source          *string    `msgpack:"source,omitempty"`
	Counter         *int       `msgpack:"counter,omitempty"`
	DeleteProtected *bool      `msgpack:"delete_protected,omitempty"`
}

// CredentialUpdated records changed fields of a credential.
type CredentialUpdated struct {
	CredentialPatch `msgpack:",inline"`
}

func (*CredentialUpdated) EventType() string { return TypeCredentialUpdated }
func (*CredentialUpdated) EventVersion() int { return 1 }

// CredentialStatusChanged records a new status, and the one it replaced so
// that the audit trail reads without replaying.
type CredentialStatusChanged struct {
	Status   string `msgpack:"status"`
	Previous string `msgpack:"previous"`
}

func (*CredentialStatusChanged) EventType() string { return TypeCredentialStatusChanged }
func (*CredentialStatusChanged) EventVersion() int { return 1 }

// CredentialDeleted ends a credential. Its history stays in the log.
type CredentialDeleted struct{}

func (*CredentialDeleted) EventType() string { return TypeCredentialDeleted }
func (*CredentialDeleted) EventVersion() int { return 1 }

// CredentialAccessPointsLinked records access points the credential now
// opens; the access points record the same link in the same append.
type CredentialAccessPointsLinked struct {
	AccessPointIDs []string `msgpack:"access_point_ids"`
}

func (*CredentialAccessPointsLinked) EventType() string { return TypeCredentialAccessPointsLinked }
func (*CredentialAccessPointsLinked) EventVersion() int { return 1 }

// CredentialAccessPointsUnlinked records access points the credential no
// longer opens.
type CredentialAccessPointsUnlinked struct {
	AccessPointIDs []string `msgpack:"access_point_ids"`
}

func (*CredentialAccessPointsUnlinked) EventType() string { return TypeCredentialAccessPointsUnlinked }
func (*CredentialAccessPointsUnlinked) EventVersion() int { return 1 }

// Credential is the state of a credential aggregate.
//
// Apply never writes to memory an earlier copy of the state can see (the
// command layer folds events into shallow copies of cached states): it
// builds new slices and replaces the assignment pointer.
type Credential struct {
	ID string
	CredentialFields
	// Holder is the current assignment or reservation; nil when available.
	Holder *Assignment
	// Pending is true while the holder has not confirmed receipt.
	Pending bool
	// HeldSince is when the current assignment or reservation began.
	HeldSince time.Time
	// LinkedTo are the access points the credential opens, in link order.
	LinkedTo  []string
	CreatedAt time.Time
	UpdatedAt time.Time
	Deleted   bool
}

// Exists reports whether the credential was created and not deleted.
func (c *Credential) Exists() bool { return !c.CreatedAt.IsZero() && !c.Deleted }

// AssignmentStatus is available, pending or assigned.
func (c *Credential) AssignmentStatus() string {
	switch {
	case c.Holder == nil:
		return AssignmentAvailable
	case c.Pending:
		return AssignmentPending
	default:
		return AssignmentAssigned
	}
}

// Apply folds one event into the credential.
func (c *Credential) Apply(e Event) {
	switch d := e.Data.(type) {
	case *CredentialCreated:
		c.ID = e.Aggregate.ID
		c.CredentialFields = d.CredentialFields
		c.CreatedAt = e.OccurredAt
	case *CredentialUpdated:
		d.CredentialPatch.applyTo(&c.CredentialFields)
	case *CredentialStatusChanged:
		c.Status = d.Status
	case *CredentialDeleted:
		c.Deleted = true
	case *CredentialAssigned:
		a := d.Assignment
		c.Holder, c.Pending, c.HeldSince = &a, false, e.OccurredAt
	case *CredentialReserved:
		a := d.Assignment
		c.Holder, c.Pending, c.HeldSince = &a, true, e.OccurredAt
	case *CredentialAssignmentConfirmed:
		c.Pending = false
	case *CredentialReturned:
		c.Holder, c.Pending, c.HeldSince = nil, false, time.Time{}
	case *CredentialAccessPointsLinked:
		c.LinkedTo = LinkIDs(c.LinkedTo, d.AccessPointIDs)
	case *CredentialAccessPointsUnlinked:
		c.LinkedTo = UnlinkIDs(c.LinkedTo, d.AccessPointIDs)
	default:
		return
	}
	c.UpdatedAt = e.OccurredAt
}

// LinkIDs returns a new list of ids with add appended, those already in it
// left out. It never writes into ids' backing array.
func LinkIDs(ids, add []string) []string {
	out := slices.Clone(ids)
	for _, id := range add {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// UnlinkIDs returns a new list of ids without those in remove.
func UnlinkIDs(ids, remove []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !slices.Contains(remove, id) {
			out = append(out, id)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func (p *CredentialPatch) applyTo(f *CredentialFields) {
	setStr := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	setStr(&f.CredentialID, p.CredentialID)
	setStr(&f.CredentialName, p.CredentialName)
	setStr(&f.Type, p.Type)
	setStr(&f.Source, p.Source)
	if p.ValidFrom != nil {
		f.ValidFrom = *p.ValidFrom
	}
	if p.ValidUntil != nil {
		f.ValidUntil = *p.ValidUntil
	}
	if p.Counter != nil {
		f.Counter = *p.Counter
	}
	if p.DeleteProtected != nil {
		f.DeleteProtected = *p.DeleteProtected
	}
}

// NormalizeCredentialNumber is the form in which credential numbers are
// compared for uniqueness: "K-0042" and "k-0042" are one key. The number
// itself is stored as given, less surrounding space.
func NormalizeCredentialNumber(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// CreateCredential decides the creation of a credential with id. The
// returned fields are the normalized ones the event carries.
func (c *Credential) CreateCredential(id string, in CredentialFields) ([]EventData, CredentialFields, error) {
	if !c.CreatedAt.IsZero() {
		return nil, in, Errorf(CodeConflict, "access credential %s already exists", id)
	}
	if in.Status == "" {
		in.Status = CredentialActive
	}
	if in.Source == "" {
		in.Source = CredentialManual
	}
	in.CredentialID = strings.TrimSpace(in.CredentialID)
	in.CredentialName = strings.TrimSpace(in.CredentialName)
	in.ValidFrom, in.ValidUntil = in.ValidFrom.UTC(), in.ValidUntil.UTC()
	if err := validateCredential(in); err != nil {
		return nil, in, err
	}
	return []EventData{&CredentialCreated{CredentialFields: in}}, in, nil
}

// UpdateCredential decides a change of fields and, when status is not nil,
// of the status. Fields that would not change are left out; a change of
// nothing decides nothing. The status change comes as its own event after
// the field changes.
func (c *Credential) UpdateCredential(p CredentialPatch, status *string) ([]EventData, error) {
	if !c.Exists() {
		return nil, Errorf(CodeNotFound, "access credential %s not found", c.ID)
	}
	trim := func(s *string) *string {
		if s == nil {
			return nil
		}
		t := strings.TrimSpace(*s)
		return &t
	}
	utc := func(t *time.Time) *time.Time {
		if t == nil {
			return nil
		}
		u := t.UTC()
		return &u
	}
	p.CredentialID, p.CredentialName = trim(p.CredentialID), trim(p.CredentialName)
	p.ValidFrom, p.ValidUntil = utc(p.ValidFrom), utc(p.ValidUntil)
	next := c.CredentialFields
	p.applyTo(&next)
	if status != nil {
		next.Status = *status
	}
	if err := validateCredential(next); err != nil {
		return nil, err
	}
	cur := c.CredentialFields
	changed := CredentialPatch{
		CredentialID:   changedOnly(cur.CredentialID, p.CredentialID),
		CredentialName: changedOnly(cur.CredentialName, p.CredentialName),
		Type:           changedOnly(cur.Type, p.Type),
		Source:         changedOnly(cur.Source, p.Source),
	}
	if p.ValidFrom != nil && !p.ValidFrom.Equal(cur.ValidFrom) {
		changed.ValidFrom = p.ValidFrom
	}
	if p.ValidUntil != nil && !p.ValidUntil.Equal(cur.ValidUntil) {
		changed.ValidUntil = p.ValidUntil
	}
	if p.Counter != nil && *p.Counter != cur.Counter {
		changed.Counter = p.Counter
	}
	if p.DeleteProtected != nil && *p.DeleteProtected != cur.DeleteProtected {
		changed.DeleteProtected = p.DeleteProtected
	}
	var out []EventData
	if changed != (CredentialPatch{}) {
		out = append(out, &CredentialUpdated{CredentialPatch: changed})
	}
	if status != nil && *status != cur.Status {
		out = append(out, &CredentialStatusChanged{Status: *status, Previous: cur.Status})
	}
	return out, nil
}

// DeleteCredential decides the deletion. A protected credential is refused
// with DELETE_PROTECTED; one somebody holds (or has reserved) with CONFLICT:
// the key is out there, and the person's record says they have it. Links to
// access points are ended by the command in the same append.
func (c *Credential) DeleteCredential() ([]EventData, error) {
	if !c.Exists() {
		return nil, Errorf(CodeNotFound, "access credential %s not found", c.ID)
	}
	if c.DeleteProtected {
		return nil, Errorf(CodeDeleteProtected, "access credential %s is delete-protected; set delete_protected to false first", c.CredentialID)
	}
	if c.Holder != nil {
		return nil, &Error{Code: CodeConflict, Field: "status_assignment", Message: "access credential " + c.CredentialID +
			" is " + c.AssignmentStatus() + " to individual " + c.Holder.IndividualID + "; return it first"}
	}
	return []EventData{&CredentialDeleted{}}, nil
}

// LinkAccessPoints decides linking the credential to access points; those
// already linked are left out, and linking nothing new decides nothing.
func (c *Credential) LinkAccessPoints(ids []string) ([]EventData, error) {
	if !c.Exists() {
		return nil, Errorf(CodeNotFound, "access credential %s not found", c.ID)
	}
	var add []string
	for _, id := range ids {
		if !slices.Contains(c.LinkedTo, id) && !slices.Contains(add, id) {
			add = append(add, id)
		}
	}
	if len(add) == 0 {
		return nil, nil
	}
	return []EventData{&CredentialAccessPointsLinked{AccessPointIDs: add}}, nil
}

// UnlinkAccessPoints decides ending links. An id that is not linked is bad
// input naming access_point_ids, as on the access point's side: the
// client's picture of the links is wrong, and nothing is unlinked.
func (c *Credential) UnlinkAccessPoints(ids []string) ([]EventData, error) {
	if !c.Exists() {
		return nil, Errorf(CodeNotFound, "access credential %s not found", c.ID)
	}
	var remove, missing []string
	for _, id := range ids {
		switch {
		case slices.Contains(remove, id):
		case slices.Contains(c.LinkedTo, id):
			remove = append(remove, id)
		default:
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return nil, Invalid("access_point_ids", "access credential %s is not linked to %s", c.CredentialID, strings.Join(missing, ", "))
	}
	if len(remove) == 0 {
		return nil, nil
	}
	return []EventData{&CredentialAccessPointsUnlinked{AccessPointIDs: remove}}, nil
}

func validateCredential(f CredentialFields) error {
	if f.CredentialID == "" {
		return Invalid("credential_id", "is required")
	}
	if utf8.RuneCountInString(f.CredentialID) > 64 || strings.ContainsFunc(f.CredentialID, unicode.IsControl) {
		return Invalid("credential_id", "must be at most 64 characters without control characters")
	}
	if utf8.RuneCountInString(f.CredentialName) > 200 || strings.ContainsFunc(f.CredentialName, unicode.IsControl) {
		return Invalid("credential_name", "must be at most 200 characters without control characters")
	}
	if !slices.Contains(CredentialTypes, f.Type) {
		if f.Type == "" {
			return Invalid("type", "is required (one of %s)", strings.Join(CredentialTypes, ", "))
		}
		return Invalid("type", "must be one of %s", strings.Join(CredentialTypes, ", "))
	}
	if !slices.Contains(CredentialStatuses, f.Status) {
		return Invalid("status", "must be one of %s", strings.Join(CredentialStatuses, ", "))
	}
	if !slices.Contains(CredentialSources, f.Source) {
		return Invalid("source", "must be one of %s", strings.Join(CredentialSources, ", "))
	}
	if f.Counter < 0 || f.Counter > 1_000_000 {
		return Invalid("counter", "must be a whole number from 0 to 1000000")
	}
	for _, t := range []struct {
		field string
		at    time.Time
	}{{"valid_from", f.ValidFrom}, {"valid_until", f.ValidUntil}} {
		if err := validTime(t.field, t.at); err != nil {
			return err
		}
	}
	if !f.ValidFrom.IsZero() && !f.ValidUntil.IsZero() && !f.ValidFrom.Before(f.ValidUntil) {
		return Invalid("valid_until", "must be after valid_from")
	}
	return nil
}

// validTime refuses times outside the years 1900 to 2199: beyond them a
// date is a typo, and the read models' time indexes count in nanoseconds.
func validTime(field string, t time.Time) error {
	if !t.IsZero() && (t.Year() < 1900 || t.Year() > 2199) {
		return Invalid(field, "must be a time between the years 1900 and 2199")
	}
	return nil
}
