package domain

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Assignment of access credentials to people: who holds a credential, since
// when, until when and why. The holder lives inside the credential's
// aggregate (see Credential.Holder); the person learns of it through their
// own events in the same append (Individual.HoldCredentials).

// Assignment statuses of a credential: nobody holds it, someone holds it,
// or it is reserved for someone who has not confirmed receipt yet.
const (
	AssignmentAvailable = "available"
	AssignmentAssigned  = "assigned"
	AssignmentPending   = "pending"
)

// AssignmentStatuses lists the assignment statuses.
var AssignmentStatuses = []string{AssignmentAvailable, AssignmentAssigned, AssignmentPending}

// ConfirmationDigital is the one confirmation method: the individual confirms
// receipt themselves (self-service) or someone confirms for them.
const ConfirmationDigital = "digital"

// Confirmation says how the receipt of a reserved credential is confirmed.
type Confirmation struct {
	Type        string `msgpack:"type"`
	Destination string `msgpack:"destination,omitempty"`
}

// Assignment is who holds a credential, until when and why, and in what
// condition it was handed over.
type Assignment struct {
	IndividualID string        `msgpack:"individual_id"`
	DueDate      time.Time     `msgpack:"due_date,omitempty"`
	DueReason    string        `msgpack:"due_reason,omitempty"`
	Condition    string        `msgpack:"condition,omitempty"`
	Notes        string        `msgpack:"notes,omitempty"`
	Confirmation *Confirmation `msgpack:"confirmation,omitempty"`
}

// CredentialAssigned hands a credential to an individual.
type CredentialAssigned struct {
	Assignment `msgpack:",inline"`
}

func (*CredentialAssigned) EventType() string { return TypeCredentialAssigned }
func (*CredentialAssigned) EventVersion() int { return 1 }

// CredentialReserved sets a credential aside for an individual until they
// confirm receipt; meanwhile it is pending and nobody else can take it.
type CredentialReserved struct {
	Assignment `msgpack:",inline"`
}

func (*CredentialReserved) EventType() string { return TypeCredentialReserved }
func (*CredentialReserved) EventVersion() int { return 1 }

// CredentialAssignmentConfirmed turns a reservation into an assignment.
type CredentialAssignmentConfirmed struct {
	IndividualID string `msgpack:"individual_id"`
}

func (*CredentialAssignmentConfirmed) EventType() string { return TypeCredentialAssignmentConfirmed }
func (*CredentialAssignmentConfirmed) EventVersion() int { return 1 }

// CredentialReturned ends an assignment (or a reservation), recording the
// condition the credential came back in.
type CredentialReturned struct {
	IndividualID string `msgpack:"individual_id"`
	Condition    string `msgpack:"condition,omitempty"`
	Notes        string `msgpack:"notes,omitempty"`
}

func (*CredentialReturned) EventType() string { return TypeCredentialReturned }
func (*CredentialReturned) EventVersion() int { return 1 }

// Usable decides whether the credential can be handed out at now: it must be
// active (a disabled, lost, stolen or damaged one is DISABLED) and within its
// validity window (EXPIRED before valid_from and after valid_until).
func (c *Credential) Usable(now time.Time) error {
	if c.Status != CredentialActive {
		return &Error{Code: CodeDisabled, Field: "credential_ids",
			Message: "access credential " + c.CredentialID + " is " + c.Status + " and cannot be assigned"}
	}
	if !c.ValidUntil.IsZero() && now.After(c.ValidUntil) {
		return &Error{Code: CodeExpired, Field: "credential_ids",
			Message: "access credential " + c.CredentialID + " expired at " + c.ValidUntil.UTC().Format(time.RFC3339)}
	}
	if !c.ValidFrom.IsZero() && now.Before(c.ValidFrom) {
		return &Error{Code: CodeExpired, Field: "credential_ids",
			Message: "access credential " + c.CredentialID + " is not valid before " + c.ValidFrom.UTC().Format(time.RFC3339)}
	}
	return nil
}

// NormalizeAssignment trims an assignment's texts, puts its due date in UTC
// and validates it: bad input is refused before any credential is looked at.
func NormalizeAssignment(a Assignment) (Assignment, error) {
	a.DueDate = a.DueDate.UTC()
	a.DueReason, a.Condition, a.Notes = strings.TrimSpace(a.DueReason), strings.TrimSpace(a.Condition), strings.TrimSpace(a.Notes)
	if a.Confirmation != nil {
		a.Confirmation = &Confirmation{Type: a.Confirmation.Type, Destination: strings.TrimSpace(a.Confirmation.Destination)}
	}
	return a, validateAssignment(a)
}

// Assign decides handing the credential to a.IndividualID at now: directly,
// or as a reservation pending confirmation when a.Confirmation is set.
func (c *Credential) Assign(a Assignment, now time.Time) ([]EventData, error) {
	a, err := NormalizeAssignment(a)
	if err != nil {
		return nil, err
	}
	if !c.Exists() {
		return nil, &Error{Code: CodeNotFound, Field: "credential_ids", Message: "access credential " + c.ID + " not found"}
	}
	if err := c.Usable(now); err != nil {
		return nil, err
	}
	if c.Holder != nil {
		return nil, &Error{Code: CodeConflict, Field: "credential_ids", Message: "access credential " + c.CredentialID +
			" is already " + c.AssignmentStatus() + " to individual " + c.Holder.IndividualID}
	}
	if a.Confirmation != nil {
		return []EventData{&CredentialReserved{Assignment: a}}, nil
	}
	return []EventData{&CredentialAssigned{Assignment: a}}, nil
}

// ConfirmAssignment decides that the holder of a reservation received the
// credential. self, when not empty, is the individual confirming for
// themselves: a reservation for anyone else is NOT_FOUND to them, so that
// they learn nothing about other people's keys.
func (c *Credential) ConfirmAssignment(self string) ([]EventData, error) {
	notFound := &Error{Code: CodeNotFound, Field: "credential_ids", Message: "access credential " + c.ID + " not found"}
	if !c.Exists() {
		return nil, notFound
	}
	if self != "" && (c.Holder == nil || c.Holder.IndividualID != self) {
		return nil, notFound
	}
	if c.Holder == nil || !c.Pending {
		return nil, &Error{Code: CodeConflict, Field: "credential_ids", Message: "access credential " + c.CredentialID +
			" is " + c.AssignmentStatus() + ", not pending confirmation"}
	}
	return []EventData{&CredentialAssignmentConfirmed{IndividualID: c.Holder.IndividualID}}, nil
}

// Return decides taking the credential back from its holder (ending a
// reservation too). A credential nobody holds is a CONFLICT.
func (c *Credential) Return(condition, notes string) ([]EventData, error) {
	if err := ValidateMetadata(condition, notes); err != nil {
		return nil, err
	}
	if !c.Exists() {
		return nil, &Error{Code: CodeNotFound, Field: "credential_ids", Message: "access credential " + c.ID + " not found"}
	}
	if c.Holder == nil {
		return nil, &Error{Code: CodeConflict, Field: "credential_ids", Message: "access credential " + c.CredentialID + " is not assigned"}
	}
	return []EventData{&CredentialReturned{IndividualID: c.Holder.IndividualID, Condition: strings.TrimSpace(condition),
		Notes: strings.TrimSpace(notes)}}, nil
}

func validateAssignment(a Assignment) error {
	if err := validTime("due_date", a.DueDate); err != nil {
		return err
	}
	if utf8.RuneCountInString(a.DueReason) > 500 || strings.ContainsFunc(a.DueReason, unicode.IsControl) {
		return Invalid("due_reason", "must be at most 500 characters without control characters")
	}
	if err := ValidateMetadata(a.Condition, a.Notes); err != nil {
		return err
	}
	if a.Confirmation != nil {
		if a.Confirmation.Type != ConfirmationDigital {
			return Invalid("confirmation.type", "must be %s", ConfirmationDigital)
		}
		if utf8.RuneCountInString(a.Confirmation.Destination) > 254 || strings.ContainsFunc(a.Confirmation.Destination, unicode.IsControl) {
			return Invalid("confirmation.destination", "must be at most 254 characters without control characters")
		}
	}
	return nil
}

// ValidateMetadata checks the condition and notes of a hand-over or return.
func ValidateMetadata(condition, notes string) error {
	condition, notes = strings.TrimSpace(condition), strings.TrimSpace(notes)
	if utf8.RuneCountInString(condition) > 100 || strings.ContainsFunc(condition, unicode.IsControl) {
		return Invalid("metadata.condition", "must be at most 100 characters without control characters")
	}
	if utf8.RuneCountInString(notes) > 2000 {
		return Invalid("metadata.notes", "must be at most 2000 characters")
	}
	return nil
}
