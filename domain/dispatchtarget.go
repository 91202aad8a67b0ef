package domain

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Event types of dispatch targets. A dispatch target lives inside the
// NevisUser aggregate of its person (see AggregateNevisUser), so every
// payload names the target by its extId.
const (
	TypeDispatchTargetCreated                = "dispatch_target.created"
	TypeDispatchTargetUpdated                = "dispatch_target.updated"
	TypeDispatchTargetAppAttestationAttached = "dispatch_target.app_attestation_attached"
	TypeDispatchTargetAppAttestationDeleted  = "dispatch_target.app_attestation_deleted"
	TypeDispatchTargetDeleted                = "dispatch_target.deleted"
)

// DispatchTargetTypeFidoUaf is the only dispatch target type: a device that
// receives FIDO UAF out-of-band requests (the Nevis Access App and the like).
const DispatchTargetTypeFidoUaf = "fido-uaf"

// Dispatch target states.
const (
	DispatchTargetActive   = "active"
	DispatchTargetDisabled = "disabled"
)

// DispatchTargetStates lists the valid states, for validation and docs.
var DispatchTargetStates = []string{DispatchTargetActive, DispatchTargetDisabled}

// Length limits of dispatch target fields. Keys and receipts are generous
// because JWKs of RSA keys and App Attest receipts run to a few kilobytes.
const (
	maxDispatchTargetText    = 255
	maxDispatchTargetAddress = 4096
	maxDispatchTargetKey     = 8192
	maxAppAttestationReceipt = 16384
)

// DispatchTargetFields are the client-set fields of a dispatch target.
//
// EncryptionKey and SigningKey are the device's PUBLIC keys: nevisFIDO
// encrypts dispatched payloads for the device and verifies what the device
// signs with them. They are no secrets, so they may sit in events and read
// models like any other field. Nothing secret belongs in this struct.
type DispatchTargetFields struct {
	ExtID         string `msgpack:"ext_id"`
	Type          string `msgpack:"type"`
	DeviceID      string `msgpack:"device_id"`
	Target        string `msgpack:"target"`     // where to dispatch, e.g. a push registration token
	Dispatcher    string `msgpack:"dispatcher"` // which channel delivers to Target
	Name          string `msgpack:"name"`       // shown to the user, e.g. "Ada's phone"
	State         string `msgpack:"state"`
	EncryptionKey string `msgpack:"encryption_key"`
	SigningKey    string `msgpack:"signing_key"`
}

// AppAttestation is the platform's statement that the app behind a dispatch
// target is genuine (e.g. an Apple App Attest receipt). The receipt proves
// something about the app; it grants nothing to whoever holds it, so it is
// not a secret either.
type AppAttestation struct {
	Name    string `msgpack:"name"`
	Counter int64  `msgpack:"counter"`
	Receipt string `msgpack:"receipt"`
}

// DispatchTargetCreated starts a dispatch target. An attestation given at
// creation travels in this event rather than in a separate one, so that one
// command is one version of the target.
type DispatchTargetCreated struct {
	DispatchTargetFields `msgpack:",inline"`
	AppAttestation       *AppAttestation `msgpack:"app_attestation,omitempty"`
}

func (*DispatchTargetCreated) EventType() string { return TypeDispatchTargetCreated }
func (*DispatchTargetCreated) EventVersion() int { return 1 }

// DispatchTargetPatch names the fields a change sets; nil leaves a field
// alone. ExtID and Type are not in it: they never change. As an event
// payload it carries only what changed.
type DispatchTargetPatch struct {
	DeviceID      *string `msgpack:"device_id,omitempty"`
	Target        *string `msgpack:"target,omitempty"`
	Dispatcher    *string `msgpack:"dispatcher,omitempty"`
	Name          *string `msgpack:"name,omitempty"`
	State         *string `msgpack:"state,omitempty"`
	EncryptionKey *string `msgpack:"encryption_key,omitempty"`
	SigningKey    *string `msgpack:"signing_key,omitempty"`
}

// DispatchTargetUpdated records changed fields of one dispatch target.
type DispatchTargetUpdated struct {
	ExtID               string `msgpack:"ext_id"`
	DispatchTargetPatch `msgpack:",inline"`
}

func (*DispatchTargetUpdated) EventType() string { return TypeDispatchTargetUpdated }
func (*DispatchTargetUpdated) EventVersion() int { return 1 }

// DispatchTargetAppAttestationAttached gives a dispatch target its app
// attestation, replacing the one it had, if any.
type DispatchTargetAppAttestationAttached struct {
	ExtID          string `msgpack:"ext_id"`
	AppAttestation `msgpack:",inline"`
}

func (*DispatchTargetAppAttestationAttached) EventType() string {
	return TypeDispatchTargetAppAttestationAttached
}
func (*DispatchTargetAppAttestationAttached) EventVersion() int { return 1 }

// DispatchTargetAppAttestationDeleted removes a dispatch target's app
// attestation; deleting a target that has one always records it, so that a
// reader of the log never has to infer it.
type DispatchTargetAppAttestationDeleted struct {
	ExtID string `msgpack:"ext_id"`
}

func (*DispatchTargetAppAttestationDeleted) EventType() string {
	return TypeDispatchTargetAppAttestationDeleted
}
func (*DispatchTargetAppAttestationDeleted) EventVersion() int { return 1 }

// DispatchTargetDeleted ends a dispatch target. Its history stays in the log.
type DispatchTargetDeleted struct {
	ExtID string `msgpack:"ext_id"`
}

func (*DispatchTargetDeleted) EventType() string { return TypeDispatchTargetDeleted }
func (*DispatchTargetDeleted) EventVersion() int { return 1 }

// DispatchTarget is the state of one dispatch target inside a NevisUser.
// Version counts the changes after creation (0 when new), like nevisIDM's
// entity version; Created and LastModified are the times of the events.
type DispatchTarget struct {
	DispatchTargetFields
	// AppAttestation is nil when the target has none. It is never changed in
	// place: a new attestation replaces the pointer.
	AppAttestation *AppAttestation
	Version        int64
	Created        time.Time
	LastModified   time.Time
}

func (p *DispatchTargetPatch) applyTo(f *DispatchTargetFields) {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&f.DeviceID, p.DeviceID)
	set(&f.Target, p.Target)
	set(&f.Dispatcher, p.Dispatcher)
	set(&f.Name, p.Name)
	set(&f.State, p.State)
	set(&f.EncryptionKey, p.EncryptionKey)
	set(&f.SigningKey, p.SigningKey)
}

// CreateDispatchTarget decides the creation of a dispatch target. extID is
// the extId to use when the client gave none (the command derives it, so a
// retry names the same target); att may be nil. The returned fields are the
// normalized ones the event carries.
func (u *NevisUser) CreateDispatchTarget(extID string, in DispatchTargetFields, att *AppAttestation) ([]EventData, DispatchTargetFields, error) {
	in = normalizeDispatchTarget(in)
	if in.ExtID == "" {
		in.ExtID = extID
	}
	if in.Type == "" {
		in.Type = DispatchTargetTypeFidoUaf
	}
	if in.State == "" {
		in.State = DispatchTargetActive
	}
	if err := validateDispatchTarget(in); err != nil {
		return nil, in, err
	}
	if att != nil {
		a := *att
		a.Name = strings.TrimSpace(a.Name)
		if err := validateAppAttestation(a); err != nil {
			return nil, in, err
		}
		att = &a
	}
	if _, ok := u.DispatchTargetByExtID(in.ExtID); ok {
		return nil, in, &Error{Code: CodeConflict, Field: "extId", Detail: NevisErrDuplicateValue,
			Message: fmt.Sprintf("A DispatchTarget with extId '%s' already exists for this user", in.ExtID)}
	}
	return []EventData{&DispatchTargetCreated{DispatchTargetFields: in, AppAttestation: att}}, in, nil
}

// UpdateDispatchTarget decides a change of one dispatch target. Fields that
// would not change are left out of the event; a patch that changes nothing
// decides nothing.
func (u *NevisUser) UpdateDispatchTarget(extID string, p DispatchTargetPatch) ([]EventData, error) {
	t, ok := u.DispatchTargetByExtID(extID)
	if !ok {
		return nil, DispatchTargetNotFound(extID)
	}
	trim := func(s *string) *string {
		if s == nil {
			return nil
		}
		v := strings.TrimSpace(*s)
		return &v
	}
	p = DispatchTargetPatch{
		DeviceID: trim(p.DeviceID), Target: trim(p.Target), Dispatcher: trim(p.Dispatcher),
		Name: trim(p.Name), State: trim(p.State),
		EncryptionKey: trim(p.EncryptionKey), SigningKey: trim(p.SigningKey),
	}
	next := t.DispatchTargetFields
	p.applyTo(&next)
	if err := validateDispatchTarget(next); err != nil {
		return nil, err
	}
	cur := t.DispatchTargetFields
	changed := DispatchTargetPatch{
		DeviceID:      changedOnly(cur.DeviceID, p.DeviceID),
		Target:        changedOnly(cur.Target, p.Target),
		Dispatcher:    changedOnly(cur.Dispatcher, p.Dispatcher),
		Name:          changedOnly(cur.Name, p.Name),
		State:         changedOnly(cur.State, p.State),
		EncryptionKey: changedOnly(cur.EncryptionKey, p.EncryptionKey),
		SigningKey:    changedOnly(cur.SigningKey, p.SigningKey),
	}
	if changed == (DispatchTargetPatch{}) {
		return nil, nil
	}
	return []EventData{&DispatchTargetUpdated{ExtID: extID, DispatchTargetPatch: changed}}, nil
}

// AttachAppAttestation decides that a dispatch target's app attestation is
// att, attaching it or replacing the one there. The same attestation again
// decides nothing.
func (u *NevisUser) AttachAppAttestation(extID string, att AppAttestation) ([]EventData, error) {
	t, ok := u.DispatchTargetByExtID(extID)
	if !ok {
		return nil, DispatchTargetNotFound(extID)
	}
	att.Name = strings.TrimSpace(att.Name)
	if err := validateAppAttestation(att); err != nil {
		return nil, err
	}
	if t.AppAttestation != nil && *t.AppAttestation == att {
		return nil, nil
	}
	return []EventData{&DispatchTargetAppAttestationAttached{ExtID: extID, AppAttestation: att}}, nil
}

// DeleteAppAttestation decides the removal of a dispatch target's app
// attestation; a target without one decides nothing.
func (u *NevisUser) DeleteAppAttestation(extID string) ([]EventData, error) {
	t, ok := u.DispatchTargetByExtID(extID)
	if !ok {
		return nil, DispatchTargetNotFound(extID)
	}
	if t.AppAttestation == nil {
		return nil, nil
	}
	return []EventData{&DispatchTargetAppAttestationDeleted{ExtID: extID}}, nil
}

// DispatchTargetNotFound is the domain half of nevisIDM's "No DispatchTarget
// found with extId '…' for user with extId '…' on client with name '…'":
// the face knows the user and the client and completes the sentence.
func DispatchTargetNotFound(extID string) *Error {
	return &Error{Code: CodeNotFound, Detail: NevisErrNoRecord,
		Message: fmt.Sprintf("No DispatchTarget found with extId '%s'", extID)}
}

func normalizeDispatchTarget(f DispatchTargetFields) DispatchTargetFields {
	for _, s := range []*string{&f.ExtID, &f.Type, &f.DeviceID, &f.Target, &f.Dispatcher,
		&f.Name, &f.State, &f.EncryptionKey, &f.SigningKey} {
		*s = strings.TrimSpace(*s)
	}
	return f
}

func validateDispatchTarget(f DispatchTargetFields) error {
	if !ValidToken(f.ExtID) {
		return nevisInvalid("extId", NevisErrInvalidParameter,
			"Invalid value for 'extId': use 1 to 64 letters, digits, '-' or '_'")
	}
	if f.Type != DispatchTargetTypeFidoUaf {
		return nevisInvalid("type", NevisErrInvalidParameter,
			"Invalid value for 'type': the only supported type is '%s'", DispatchTargetTypeFidoUaf)
	}
	for _, c := range []struct {
		name, value string
		required    bool
		max         int
	}{
		{"deviceId", f.DeviceID, true, maxDispatchTargetText},
		{"name", f.Name, true, maxDispatchTargetText},
		{"target", f.Target, false, maxDispatchTargetAddress},
		{"dispatcher", f.Dispatcher, f.Target != "", maxDispatchTargetText},
		{"encryptionKey", f.EncryptionKey, false, maxDispatchTargetKey},
		{"signingKey", f.SigningKey, false, maxDispatchTargetKey},
	} {
		if err := checkText(c.name, c.value, c.required, c.max); err != nil {
			return err
		}
	}
	if !oneOf(f.State, DispatchTargetStates) {
		return nevisInvalid("state", NevisErrInvalidParameter,
			"Invalid value for 'state': must be one of %s", strings.Join(DispatchTargetStates, ", "))
	}
	return nil
}

func validateAppAttestation(a AppAttestation) error {
	if err := checkText("appAttestation.name", a.Name, true, maxDispatchTargetText); err != nil {
		return err
	}
	if a.Counter < 0 {
		return nevisInvalid("appAttestation.counter", NevisErrInvalidParameter,
			"Invalid value for 'appAttestation.counter': must not be negative")
	}
	return checkText("appAttestation.receipt", a.Receipt, false, maxAppAttestationReceipt)
}

// checkText enforces presence and length of one free-text field with the
// nevisIDM codes for both.
func checkText(field, value string, required bool, max int) error {
	if value == "" {
		if required {
			return nevisInvalid(field, NevisErrMandatoryParameterMissing,
				"Mandatory parameter '%s' is missing", field)
		}
		return nil
	}
	if utf8.RuneCountInString(value) > max {
		return nevisInvalid(field, NevisErrStringMaxLen,
			"The value of '%s' exceeds the maximum length of %d characters", field, max)
	}
	return nil
}
