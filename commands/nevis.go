package commands

import (
	"context"
	"fmt"
	"strings"

	"github.com/portcullis/portcullis/domain"
	"github.com/portcullis/portcullis/eventstore"
)

// The nevisIDM face addresses a person by the individual's ext_id and keeps
// the person's dispatch targets and FIDO UAF credentials in one nevis_user
// aggregate whose id is the individual's id (see domain.AggregateNevisUser).
// Every command here finds the person through the log, never through a
// read model: the ext_id claim names its owner, and the owner's individual
// says whether the person is alive. So a user created a moment ago can get
// a device at once, and a deleted one cannot.

func nevisUserRef(individualID string) domain.Ref {
	return domain.Ref{Type: domain.AggregateNevisUser, ID: individualID}
}

// UserNotFound is the command half of nevisIDM's "A user with extId '…'
// doesn't exist on client with name …": Field "userExtId" tells the face
// which sentence to complete with the client's name.
func UserNotFound(extID string) *domain.Error {
	return &domain.Error{Code: domain.CodeNotFound, Field: "userExtId", Detail: domain.NevisErrNoRecord,
		Message: fmt.Sprintf("A user with extId '%s' doesn't exist", extID)}
}

// ResolveUser returns the id of the live individual of tenant whose ext_id
// is extID, or UserNotFound.
func (c *Commands) ResolveUser(ctx context.Context, tenant, extID string) (string, error) {
	if !domain.ValidToken(extID) {
		return "", UserNotFound(extID)
	}
	claim, err := load[domain.UniqueValue](ctx, c, tenant, domain.UniqueRef(domain.UniqueIndividualExtID, extID))
	if err != nil {
		return "", err
	}
	if claim.State.Owner == "" {
		return "", UserNotFound(extID)
	}
	ind, err := load[domain.Individual](ctx, c, tenant, individualRef(claim.State.Owner))
	if err != nil {
		return "", err
	}
	if !ind.State.Exists() || ind.State.ExtID != extID {
		return "", UserNotFound(extID)
	}
	return claim.State.Owner, nil
}

// requireAlive is the check every nevis_user decision repeats: the person
// must still live. A decision retried after a conflict (another writer,
// perhaps the person's deletion, moved the aggregate) reads the individual
// from the log rather than the cache.
func (c *Commands) requireAlive(ctx context.Context, tenant, userID, userExtID string, attempt *int) error {
	ref := individualRef(userID)
	if *attempt > 0 {
		c.cache.drop(eventstore.Subject(tenant, ref))
	}
	*attempt++
	ind, err := load[domain.Individual](ctx, c, tenant, ref)
	if err != nil {
		return err
	}
	if !ind.State.Exists() {
		return UserNotFound(userExtID)
	}
	return nil
}

// DispatchTargetResult is a dispatch target after a command. Version is the
// person's nevis_user aggregate version: the ETag of every record in it.
type DispatchTargetResult struct {
	UserID string
	Target domain.DispatchTarget
	Result
}

// FidoUafCredentialResult is a FIDO UAF credential after a command.
type FidoUafCredentialResult struct {
	UserID     string
	Credential domain.FidoUafCredential
	Result
}

// nevisCommand runs one decision on a person's nevis_user record: it
// resolves the person, and on every attempt loads the record, recognises a
// retry, requires the person alive and, with checkIfMatch, the client's
// version. decision returns the events of the record and any further
// changes (key claims) that must land in the same append.
func (c *Commands) nevisCommand(ctx context.Context, meta Meta, userExtID string, checkIfMatch bool,
	decision func(ctx context.Context, uid string, s snap[domain.NevisUser]) ([]domain.EventData, []change, error)) (string, snap[domain.NevisUser], Result, error) {
	uid, err := c.ResolveUser(ctx, meta.Tenant, userExtID)
	if err != nil {
		return "", snap[domain.NevisUser]{}, Result{}, err
	}
	ref := nevisUserRef(uid)
	var after snap[domain.NevisUser]
	attempt := 0
	pos, err := c.run(ctx, meta, ref, func(ctx context.Context) ([]change, error) {
		s, err := load[domain.NevisUser](ctx, c, meta.Tenant, ref)
		if err != nil {
			return nil, err
		}
		after = s
		if s.applied(meta.CommandID) {
			return nil, nil
		}
		if err := c.requireAlive(ctx, meta.Tenant, uid, userExtID, &attempt); err != nil {
			return nil, err
		}
		if checkIfMatch {
			if err := meta.checkVersion(s.Seq); err != nil {
				return nil, err
			}
		}
		data, more, err := decision(ctx, uid, s)
		if err != nil {
			return nil, err
		}
		return append([]change{decide(c, meta.Tenant, ref, s, data, &after)}, more...), nil
	})
	if err != nil {
		return "", snap[domain.NevisUser]{}, Result{}, err
	}
	return uid, after, nevisResult(after, pos), nil
}

// CreateDispatchTarget registers a device of the person with userExtID. An
// extId the client leaves out is derived from the command id, so a retry
// names the same target.
func (c *Commands) CreateDispatchTarget(ctx context.Context, meta Meta, userExtID string, in domain.DispatchTargetFields, att *domain.AppAttestation) (DispatchTargetResult, error) {
	extID := strings.TrimSpace(in.ExtID)
	if extID == "" {
		extID = deriveID(meta.CommandID, "dispatch_target", 0)
	}
	uid, after, res, err := c.nevisCommand(ctx, meta, userExtID, false,
		func(_ context.Context, _ string, s snap[domain.NevisUser]) ([]domain.EventData, []change, error) {
			data, _, err := s.State.CreateDispatchTarget(extID, in, att)
			return data, nil, err
		})
	if err != nil {
		return DispatchTargetResult{}, err
	}
	t, ok := after.State.DispatchTargetByExtID(extID)
	if !ok {
		// A retry of a create whose target was deleted since.
		return DispatchTargetResult{}, domain.DispatchTargetNotFound(extID)
	}
	return DispatchTargetResult{UserID: uid, Target: t, Result: res}, nil
}

// DeleteDispatchTarget deletes a dispatch target as nevisIDM does: the
// target leaves every FIDO UAF credential that referred to it, its app
// attestation is deleted, and the target ends, all in one atomic append
// expecting the person's records where the decision saw them. Of two
// concurrent deletes of one target, one lands and the other, decided again
// on the new state, finds no target.
func (c *Commands) DeleteDispatchTarget(ctx context.Context, meta Meta, userExtID, extID string) (Result, error) {
	_, _, res, err := c.nevisCommand(ctx, meta, userExtID, true,
		func(_ context.Context, _ string, s snap[domain.NevisUser]) ([]domain.EventData, []change, error) {
			data, err := s.State.DeleteDispatchTarget(extID)
			return data, nil, err
		})
	return res, err
}

// fidoUafOwner is who holds the claim on a credential's (AAID, KeyID).
func fidoUafOwner(userID, credentialExtID string) string { return userID + "/" + credentialExtID }

// CreateFidoUafCredential registers a FIDO UAF credential of the person
// with userExtID and claims its (AAID, KeyID) for the tenant in the same
// append, so no two people of a tenant ever hold the same key.
func (c *Commands) CreateFidoUafCredential(ctx context.Context, meta Meta, userExtID string, in domain.FidoUafCredentialFields) (FidoUafCredentialResult, error) {
	extID := strings.TrimSpace(in.ExtID)
	if extID == "" {
		extID = deriveID(meta.CommandID, "fido_uaf_credential", 0)
	}
	uid, after, res, err := c.nevisCommand(ctx, meta, userExtID, false,
		func(ctx context.Context, uid string, s snap[domain.NevisUser]) ([]domain.EventData, []change, error) {
			data, fields, err := s.State.CreateFidoUafCredential(extID, in)
			if err != nil {
				return nil, nil, err
			}
			claimRef := domain.UniqueRef(domain.UniqueFidoUafKey, domain.FidoUafKey(fields.AAID, fields.KeyID))
			claim, err := load[domain.UniqueValue](ctx, c, meta.Tenant, claimRef)
			if err != nil {
				return nil, nil, err
			}
			claimed, err := domain.ClaimFidoUafKey(&claim.State, fidoUafOwner(uid, fields.ExtID))
			if err != nil || len(claimed) == 0 {
				return data, nil, err
			}
			return data, []change{decide(c, meta.Tenant, claimRef, claim, claimed, nil)}, nil
		})
	if err != nil {
		return FidoUafCredentialResult{}, err
	}
	cred, ok := after.State.FidoUafCredentialByExtID(extID)
	if !ok {
		return FidoUafCredentialResult{}, domain.FidoUafCredentialNotFound(extID)
	}
	return FidoUafCredentialResult{UserID: uid, Credential: cred, Result: res}, nil
}

// DeleteFidoUafCredential deletes a FIDO UAF credential and releases its
// (AAID, KeyID) in the same append.
func (c *Commands) DeleteFidoUafCredential(ctx context.Context, meta Meta, userExtID, extID string) (Result, error) {
	_, _, res, err := c.nevisCommand(ctx, meta, userExtID, true,
		func(ctx context.Context, uid string, s snap[domain.NevisUser]) ([]domain.EventData, []change, error) {
			cred, _ := s.State.FidoUafCredentialByExtID(extID)
			data, err := s.State.DeleteFidoUafCredential(extID)
			if err != nil {
				return nil, nil, err
			}
			release, err := c.releaseFidoUafKey(ctx, meta.Tenant, uid, cred)
			return data, release, err
		})
	return res, err
}

// releaseFidoUafKey decides the release of a credential's key claim.
func (c *Commands) releaseFidoUafKey(ctx context.Context, tenant, userID string, cred domain.FidoUafCredential) ([]change, error) {
	ref := domain.UniqueRef(domain.UniqueFidoUafKey, domain.FidoUafKey(cred.AAID, cred.KeyID))
	s, err := load[domain.UniqueValue](ctx, c, tenant, ref)
	if err != nil {
		return nil, err
	}
	data := s.State.Release(domain.UniqueFidoUafKey, fidoUafOwner(userID, cred.ExtID))
	if len(data) == 0 {
		return nil, nil
	}
	return []change{decide(c, tenant, ref, s, data, nil)}, nil
}

// deleteNevisRecords decides the end of every authenticator record of a
// person being deleted, with the release of its FIDO UAF key claims.
func (c *Commands) deleteNevisRecords(ctx context.Context, tenant, userID string) ([]change, error) {
	ref := nevisUserRef(userID)
	s, err := load[domain.NevisUser](ctx, c, tenant, ref)
	if err != nil {
		return nil, err
	}
	data := s.State.DeleteAll()
	if len(data) == 0 {
		return nil, nil
	}
	changes := []change{decide(c, tenant, ref, s, data, nil)}
	for _, cred := range s.State.FidoUafCredentials {
		release, err := c.releaseFidoUafKey(ctx, tenant, userID, cred)
		if err != nil {
			return nil, err
		}
		changes = append(changes, release...)
	}
	return changes, nil
}

func nevisResult(s snap[domain.NevisUser], pos uint64) Result {
	if pos == 0 {
		pos = s.Seq
	}
	return Result{Position: pos, Version: s.Seq}
}
