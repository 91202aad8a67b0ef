package domain

import (
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// AggregateIndividual is the aggregate type of a person: the native
// individual and the nevisIDM user are one record.
const AggregateIndividual = "individual"

// Event types of individuals.
const (
	TypeIndividualCreated = "individual.created"
	TypeIndividualUpdated = "individual.updated"
	TypeIndividualDeleted = "individual.deleted"
	// The credentials a person holds are recorded on the person too, in the
	// same append as on the credentials, so that deleting a person who still
	// holds keys is refused without consulting any read model.
	TypeIndividualCredentialsAssigned  = "individual.credentials_assigned"
	TypeIndividualCredentialsConfirmed = "individual.credentials_confirmed"
	TypeIndividualCredentialsReturned  = "individual.credentials_returned"
)

// Kinds of unique values an individual holds.
const (
	UniqueIndividualExtID = "individual.ext_id"
	// UniqueIndividualLoginID makes a nevisIDM loginId unique per tenant,
	// compared case-insensitively (see NormalizeLoginID).
	UniqueIndividualLoginID = "individual.login_id"
)

// Individual statuses.
const (
	IndividualActive    = "active"
	IndividualInactive  = "inactive"
	IndividualSuspended = "suspended"
)

// IndividualStatuses lists the valid statuses, for validation and docs.
var IndividualStatuses = []string{IndividualActive, IndividualInactive, IndividualSuspended}

// IndividualFields are the client-set fields of an individual.
type IndividualFields struct {
	ExtID       string `msgpack:"ext_id"`
	FirstName   string `msgpack:"first_name"`
	LastName    string `msgpack:"last_name"`
	Email       string `msgpack:"email"`
	MobilePhone string `msgpack:"mobile_phone"`
	Department  string `msgpack:"department"`
	Status      string `msgpack:"status"`
	// LoginID is the nevisIDM loginId, the name a person logs in with. It is
	// optional (a person created on the native face has none) and an
	// additive field: events written before it existed decode with it
	// empty, so the event version stays 1.
	LoginID string `msgpack:"login_id,omitempty"`
}

// IndividualCreated starts an individual.
type IndividualCreated struct {
	IndividualFields `msgpack:",inline"`
}

func (*IndividualCreated) EventType() string { return TypeIndividualCreated }
func (*IndividualCreated) EventVersion() int { return 1 }

// IndividualPatch names the fields a change sets; nil leaves a field alone.
// As an event payload it carries only what changed.
type IndividualPatch struct {
	FirstName   *string `msgpack:"first_name,omitempty"`
	LastName    *string `msgpack:"last_name,omitempty"`
	Email       *string `msgpack:"email,omitempty"`
	MobilePhone *string `msgpack:"mobile_phone,omitempty"`
	Department  *string `msgpack:"department,omitempty"`
	Status      *string `msgpack:"status,omitempty"`
	LoginID     *string `msgpack:"login_id,omitempty"`
}

// IndividualUpdated records changed fields of an individual.
type IndividualUpdated struct {
	IndividualPatch `msgpack:",inline"`
}

func (*IndividualUpdated) EventType() string { return TypeIndividualUpdated }
func (*IndividualUpdated) EventVersion() int { return 1 }

// IndividualDeleted ends an individual. Its history stays in the log.
type IndividualDeleted struct{}

func (*IndividualDeleted) EventType() string { return TypeIndividualDeleted }
func (*IndividualDeleted) EventVersion() int { return 1 }

// IndividualCredentialsAssigned records access credentials handed to (or,
// with Pending, reserved for) the individual.
type IndividualCredentialsAssigned struct {
	CredentialIDs []string `msgpack:"credential_ids"`
	Pending       bool     `msgpack:"pending,omitempty"`
}

func (*IndividualCredentialsAssigned) EventType() string { return TypeIndividualCredentialsAssigned }
func (*IndividualCredentialsAssigned) EventVersion() int { return 1 }

// IndividualCredentialsConfirmed records that the individual received
// credentials reserved for them.
type IndividualCredentialsConfirmed struct {
	CredentialIDs []string `msgpack:"credential_ids"`
}

func (*IndividualCredentialsConfirmed) EventType() string { return TypeIndividualCredentialsConfirmed }
func (*IndividualCredentialsConfirmed) EventVersion() int { return 1 }

// IndividualCredentialsReturned records credentials the individual gave back
// (or reservations that ended).
type IndividualCredentialsReturned struct {
	CredentialIDs []string `msgpack:"credential_ids"`
}

func (*IndividualCredentialsReturned) EventType() string { return TypeIndividualCredentialsReturned }
func (*IndividualCredentialsReturned) EventVersion() int { return 1 }

// Individual is the state of an individual aggregate.
type Individual struct {
	ID string
	IndividualFields
	// Held are the access credentials the individual holds or has reserved,
	// in the order they got them. Apply builds a new slice on every change:
	// cached states share it.
	Held      []string
	CreatedAt time.Time
	UpdatedAt time.Time
	Deleted   bool
}

// Exists reports whether the individual was created and not deleted.
func (i *Individual) Exists() bool { return !i.CreatedAt.IsZero() && !i.Deleted }

// Apply folds one event into the individual.
func (i *Individual) Apply(e Event) {
	switch d := e.Data.(type) {
	case *IndividualCreated:
		i.ID = e.Aggregate.ID
		i.IndividualFields = d.IndividualFields
		i.CreatedAt, i.UpdatedAt = e.OccurredAt, e.OccurredAt
	case *IndividualUpdated:
		d.IndividualPatch.applyTo(&i.IndividualFields)
		i.UpdatedAt = e.OccurredAt
	case *IndividualDeleted:
		i.Deleted = true
		i.UpdatedAt = e.OccurredAt
	case *IndividualCredentialsAssigned:
		i.Held = LinkIDs(i.Held, d.CredentialIDs)
	case *IndividualCredentialsReturned:
		i.Held = UnlinkIDs(i.Held, d.CredentialIDs)
	}
}

func (p *IndividualPatch) applyTo(f *IndividualFields) {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&f.FirstName, p.FirstName)
	set(&f.LastName, p.LastName)
	set(&f.Email, p.Email)
	set(&f.MobilePhone, p.MobilePhone)
	set(&f.Department, p.Department)
	set(&f.Status, p.Status)
	set(&f.LoginID, p.LoginID)
}

// NormalizeEmail is the form in which emails are compared and stored.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// NormalizeLoginID is the form in which loginIds are compared for
// uniqueness: "Ada" and "ada" must not log in as two people. The loginId
// itself is stored as given, less surrounding space.
func NormalizeLoginID(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// CreateIndividual decides the creation of an individual with id. The
// returned fields are the normalized ones the event carries.
func (i *Individual) CreateIndividual(id string, in IndividualFields) ([]EventData, IndividualFields, error) {
	if !i.CreatedAt.IsZero() {
		return nil, in, Errorf(CodeConflict, "individual %s already exists", id)
	}
	if in.ExtID == "" {
		in.ExtID = id
	}
	if in.Status == "" {
		in.Status = IndividualActive
	}
	in.Email = NormalizeEmail(in.Email)
	in.FirstName, in.LastName = strings.TrimSpace(in.FirstName), strings.TrimSpace(in.LastName)
	in.LoginID = strings.TrimSpace(in.LoginID)
	if err := validateIndividual(in); err != nil {
		return nil, in, err
	}
	return []EventData{&IndividualCreated{IndividualFields: in}}, in, nil
}

// UpdateIndividual decides a change. Fields that would not change are left
// out of the event; a patch that changes nothing decides nothing.
func (i *Individual) UpdateIndividual(p IndividualPatch) ([]EventData, error) {
	if !i.Exists() {
		return nil, Errorf(CodeNotFound, "individual not found")
	}
	if p.Email != nil {
		e := NormalizeEmail(*p.Email)
		p.Email = &e
	}
	trim := func(s *string) *string {
		if s == nil {
			return nil
		}
		t := strings.TrimSpace(*s)
		return &t
	}
	p.FirstName, p.LastName, p.LoginID = trim(p.FirstName), trim(p.LastName), trim(p.LoginID)
	next := i.IndividualFields
	p.applyTo(&next)
	if err := validateIndividual(next); err != nil {
		return nil, err
	}
	cur := i.IndividualFields
	changed := IndividualPatch{
		FirstName:   changedOnly(cur.FirstName, p.FirstName),
		LastName:    changedOnly(cur.LastName, p.LastName),
		Email:       changedOnly(cur.Email, p.Email),
		MobilePhone: changedOnly(cur.MobilePhone, p.MobilePhone),
		Department:  changedOnly(cur.Department, p.Department),
		Status:      changedOnly(cur.Status, p.Status),
		LoginID:     changedOnly(cur.LoginID, p.LoginID),
	}
	if changed == (IndividualPatch{}) {
		return nil, nil
	}
	return []EventData{&IndividualUpdated{IndividualPatch: changed}}, nil
}

// DeleteIndividual decides the deletion. A person who still holds access
// credentials (or has some reserved) is a CONFLICT naming them: the keys are
// out there and must come back first.
func (i *Individual) DeleteIndividual() ([]EventData, error) {
	if !i.Exists() {
		return nil, Errorf(CodeNotFound, "individual not found")
	}
	if len(i.Held) > 0 {
		return nil, &Error{Code: CodeConflict, Field: "credentials", Message: fmt.Sprintf(
			"the individual still holds %d access credential(s) (%s); return them first", len(i.Held), strings.Join(i.Held, ", "))}
	}
	return []EventData{&IndividualDeleted{}}, nil
}

// HoldCredentials decides that the individual takes credentials (pending:
// reserved until they confirm). Unknown or deleted individuals are
// NOT_FOUND, naming individual_id.
func (i *Individual) HoldCredentials(ids []string, pending bool) ([]EventData, error) {
	if !i.Exists() {
		return nil, &Error{Code: CodeNotFound, Field: "individual_id", Message: "individual not found"}
	}
	return []EventData{&IndividualCredentialsAssigned{CredentialIDs: slices.Clone(ids), Pending: pending}}, nil
}

// ConfirmCredentials records that the individual received reserved
// credentials.
func (i *Individual) ConfirmCredentials(ids []string) []EventData {
	return []EventData{&IndividualCredentialsConfirmed{CredentialIDs: slices.Clone(ids)}}
}

// ReturnCredentials records credentials coming back from the individual.
func (i *Individual) ReturnCredentials(ids []string) []EventData {
	return []EventData{&IndividualCredentialsReturned{CredentialIDs: slices.Clone(ids)}}
}

func changedOnly(cur string, next *string) *string {
	if next == nil || *next == cur {
		return nil
	}
	return next
}

func validateIndividual(f IndividualFields) error {
	if !ValidToken(f.ExtID) {
		return Invalid("ext_id", "must be 1 to 64 letters, digits, '-' or '_'")
	}
	for _, c := range []struct{ name, value string }{
		{"first_name", f.FirstName}, {"last_name", f.LastName},
	} {
		if c.value == "" {
			return Invalid(c.name, "is required")
		}
		if utf8.RuneCountInString(c.value) > 100 {
			return Invalid(c.name, "must be at most 100 characters")
		}
	}
	if f.Email != "" {
		a, err := mail.ParseAddress(f.Email)
		if err != nil || a.Address != f.Email || len(f.Email) > 254 {
			return Invalid("email", "must be a valid email address")
		}
	}
	if len(f.MobilePhone) > 32 {
		return Invalid("mobile_phone", "must be at most 32 characters")
	}
	if utf8.RuneCountInString(f.Department) > 100 {
		return Invalid("department", "must be at most 100 characters")
	}
	if utf8.RuneCountInString(f.LoginID) > 100 || strings.ContainsFunc(f.LoginID, unicode.IsControl) {
		return Invalid("login_id", "must be at most 100 characters without control characters")
	}
	if !oneOf(f.Status, IndividualStatuses) {
		return Invalid("status", "must be one of %s", strings.Join(IndividualStatuses, ", "))
	}
	return nil
}

func oneOf(s string, options []string) bool {
	for _, o := range options {
		if s == o {
			return true
		}
	}
	return false
}
