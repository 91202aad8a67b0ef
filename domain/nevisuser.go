package domain

import (
	"fmt"
	"slices"
	"time"
)

// AggregateNevisUser is the aggregate type of a person's nevisIDM
// authenticator records: the dispatch targets of their devices and their
// FIDO UAF credentials. Its id is the individual's id (not the extId, which
// a client chooses and could be anything).
//
// Why one aggregate per person rather than one per dispatch target and one
// per credential: a credential refers to dispatch targets of the same
// person, and deleting a target must take it out of every credential that
// refers to it, all in one atomic append. Inside one aggregate that rule is
// one decision on one state, guarded by one expectation. With separate
// aggregates the command would need an index of "who refers to this target"
// that is itself kept consistent across aggregates, and a credential
// registered concurrently with the deletion could still name the dying
// target; here both decisions expect the same position, and the log lets
// only one of them land. The price is that one person's authenticator
// writes are serialized, which costs nothing at a handful of devices each.
//
// Why not inside Individual: the individual is the record both faces share;
// its version is the ETag of the native individual and the nevisIDM user, so
// registering a phone must not make a client's If-Match on the person's name
// fail, and the individual's projections need not know these events.
const AggregateNevisUser = "nevis_user"

// nevisIDM error codes that decisions put into Error.Detail, so that the
// nevisIDM face answers with the codes its clients match on. The names are
// nevisIDM's own and never change.
const (
	NevisErrNoRecord                         = "errors.noRecord"
	NevisErrDuplicateValue                   = "errors.duplicateValue"
	NevisErrInvalidParameter                 = "errors.invalidParameter"
	NevisErrMandatoryParameterMissing        = "errors.mandatoryParameterMissing"
	NevisErrStringMaxLen                     = "errors.property.stringmaxlen"
	NevisErrFidoUafInvalidAaidFormat         = "errors.credentialFidoUaf.invalidAaidFormat"
	NevisErrFidoUafInvalidKeyIdFormat        = "errors.credentialFidoUaf.invalidKeyIdFormat"
	NevisErrFidoUafInvalidAuthVersionFormat  = "errors.credentialFidoUaf.invalidAuthVersionFormat"
	NevisErrFidoUafInvalidPublicKeyAlgorithm = "errors.credentialFidoUaf.invalidPublicKeyAlgorithm"
	NevisErrFidoUafNotUnique                 = "errors.credentialFidoUaf.notUnique"
)

// nevisInvalid reports bad input for one field with its nevisIDM code.
func nevisInvalid(field, detail, format string, args ...any) *Error {
	return &Error{Code: CodeInvalid, Field: field, Detail: detail, Message: fmt.Sprintf(format, args...)}
}

// NevisUser is the state of a nevis_user aggregate. Both lists keep creation
// order, which is also the order a client lists them in by default.
//
// Apply never writes to memory an earlier copy of the state can see: the
// command layer keeps loaded states by value in a cache and folds new events
// into a shallow copy, so every change builds new slices.
type NevisUser struct {
	ID                 string
	DispatchTargets    []DispatchTarget
	FidoUafCredentials []FidoUafCredential
}

// DispatchTargetByExtID returns the person's dispatch target with extID.
func (u *NevisUser) DispatchTargetByExtID(extID string) (DispatchTarget, bool) {
	if i := u.targetIndex(extID); i >= 0 {
		return u.DispatchTargets[i], true
	}
	return DispatchTarget{}, false
}

// FidoUafCredentialByExtID returns the person's FIDO UAF credential with
// extID.
func (u *NevisUser) FidoUafCredentialByExtID(extID string) (FidoUafCredential, bool) {
	if i := u.credentialIndex(extID); i >= 0 {
		return u.FidoUafCredentials[i], true
	}
	return FidoUafCredential{}, false
}

func (u *NevisUser) targetIndex(extID string) int {
	return slices.IndexFunc(u.DispatchTargets, func(t DispatchTarget) bool { return t.ExtID == extID })
}

func (u *NevisUser) credentialIndex(extID string) int {
	return slices.IndexFunc(u.FidoUafCredentials, func(c FidoUafCredential) bool { return c.ExtID == extID })
}

// Apply folds one event into the person's authenticator records.
func (u *NevisUser) Apply(e Event) {
	if u.ID == "" {
		u.ID = e.Aggregate.ID
	}
	at := e.OccurredAt
	switch d := e.Data.(type) {
	case *DispatchTargetCreated:
		t := DispatchTarget{DispatchTargetFields: d.DispatchTargetFields, Created: at, LastModified: at}
		if d.AppAttestation != nil {
			a := *d.AppAttestation
			t.AppAttestation = &a
		}
		u.DispatchTargets = append(slices.Clip(u.DispatchTargets), t)
	case *DispatchTargetUpdated:
		u.changeTarget(d.ExtID, at, func(t *DispatchTarget) { d.DispatchTargetPatch.applyTo(&t.DispatchTargetFields) })
	case *DispatchTargetAppAttestationAttached:
		a := d.AppAttestation
		u.changeTarget(d.ExtID, at, func(t *DispatchTarget) { t.AppAttestation = &a })
	case *DispatchTargetAppAttestationDeleted:
		u.changeTarget(d.ExtID, at, func(t *DispatchTarget) { t.AppAttestation = nil })
	case *DispatchTargetDeleted:
		if i := u.targetIndex(d.ExtID); i >= 0 {
			u.DispatchTargets = slices.Delete(slices.Clone(u.DispatchTargets), i, i+1)
		}
	case *FidoUafCredentialCreated:
		c := FidoUafCredential{FidoUafCredentialFields: d.FidoUafCredentialFields, Created: at, LastModified: at}
		c.DispatchTargetExtIDs = slices.Clone(c.DispatchTargetExtIDs)
		u.FidoUafCredentials = append(slices.Clip(u.FidoUafCredentials), c)
	case *FidoUafCredentialDispatchTargetRemoved:
		if i := u.credentialIndex(d.ExtID); i >= 0 {
			cs := slices.Clone(u.FidoUafCredentials)
			ids := slices.DeleteFunc(slices.Clone(cs[i].DispatchTargetExtIDs),
				func(id string) bool { return id == d.DispatchTargetExtID })
			if len(ids) == 0 {
				ids = nil
			}
			cs[i].DispatchTargetExtIDs = ids
			cs[i].Version++
			cs[i].LastModified = at
			u.FidoUafCredentials = cs
		}
	case *FidoUafCredentialDeleted:
		if i := u.credentialIndex(d.ExtID); i >= 0 {
			u.FidoUafCredentials = slices.Delete(slices.Clone(u.FidoUafCredentials), i, i+1)
		}
	}
}

// changeTarget applies f to a copy of the target with extID and counts the
// change in its version.
func (u *NevisUser) changeTarget(extID string, at time.Time, f func(*DispatchTarget)) {
	i := u.targetIndex(extID)
	if i < 0 {
		return
	}
	ts := slices.Clone(u.DispatchTargets)
	f(&ts[i])
	ts[i].Version++
	ts[i].LastModified = at
	u.DispatchTargets = ts
}

// DeleteDispatchTarget decides the deletion of a dispatch target with all
// that depends on it, as nevisIDM defines it: the target leaves every FIDO
// UAF credential that referred to it, its app attestation is deleted, and
// the target itself is deleted. The events come in that order, dependents
// first, so that no prefix of the batch leaves a credential pointing at a
// target that is gone; the command appends them as one atomic batch.
func (u *NevisUser) DeleteDispatchTarget(extID string) ([]EventData, error) {
	t, ok := u.DispatchTargetByExtID(extID)
	if !ok {
		return nil, DispatchTargetNotFound(extID)
	}
	var data []EventData
	for _, c := range u.FidoUafCredentials {
		if slices.Contains(c.DispatchTargetExtIDs, extID) {
			data = append(data, &FidoUafCredentialDispatchTargetRemoved{ExtID: c.ExtID, DispatchTargetExtID: extID})
		}
	}
	if t.AppAttestation != nil {
		data = append(data, &DispatchTargetAppAttestationDeleted{ExtID: extID})
	}
	return append(data, &DispatchTargetDeleted{ExtID: extID}), nil
}

// DeleteAll decides the end of every authenticator record of a person whose
// individual is being deleted: each FIDO UAF credential, then each dispatch
// target with its app attestation. Credentials go first and whole, so no
// prefix of the batch leaves a credential pointing at a target that is
// gone. The command releases the credentials' UniqueFidoUafKey claims in the
// same append. A person without records decides nothing.
func (u *NevisUser) DeleteAll() []EventData {
	var data []EventData
	for _, c := range u.FidoUafCredentials {
		data = append(data, &FidoUafCredentialDeleted{ExtID: c.ExtID})
	}
	for _, t := range u.DispatchTargets {
		if t.AppAttestation != nil {
			data = append(data, &DispatchTargetAppAttestationDeleted{ExtID: t.ExtID})
		}
		data = append(data, &DispatchTargetDeleted{ExtID: t.ExtID})
	}
	return data
}
