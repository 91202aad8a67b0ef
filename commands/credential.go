package commands

import (
	"context"

	"github.com/portcullis/portcullis/domain"
)

// CredentialResult is an access credential after a command, with its
// positions.
type CredentialResult struct {
	Credential domain.Credential
	Result
}

func credentialRef(id string) domain.Ref { return domain.Ref{Type: domain.AggregateCredential, ID: id} }

// credentialNumber is the unique value a credential's number claims.
func credentialNumber(number string) uniqueValue {
	return uniqueValue{domain.UniqueCredentialNumber, domain.NormalizeCredentialNumber(number), "credential_id"}
}

// CreateCredential creates an access credential and claims its number for
// the tenant in the same atomic append: of two concurrent creates with one
// number, the log accepts one.
func (c *Commands) CreateCredential(ctx context.Context, meta Meta, in domain.CredentialFields) (CredentialResult, error) {
	id := deriveID(meta.CommandID, "access_credential", 0)
	ref := credentialRef(id)
	var after snap[domain.Credential]
	pos, err := c.run(ctx, meta, ref, func(ctx context.Context) ([]change, error) {
		s, err := load[domain.Credential](ctx, c, meta.Tenant, ref)
		if err != nil {
			return nil, err
		}
		after = s
		if s.applied(meta.CommandID) {
			return nil, nil
		}
		data, fields, err := s.State.CreateCredential(id, in)
		if err != nil {
			return nil, err
		}
		claims, err := c.claims(ctx, meta.Tenant, id, nil, []uniqueValue{credentialNumber(fields.CredentialID)})
		if err != nil {
			return nil, err
		}
		return append([]change{decide(c, meta.Tenant, ref, s, data, &after)}, claims...), nil
	})
	if err != nil {
		return CredentialResult{}, err
	}
	return credentialResult(after, pos), nil
}

// UpdateCredential changes fields of a credential and, when status is not
// nil, its status (an event of its own). A new number releases the old one
// and claims the new one in the same append.
func (c *Commands) UpdateCredential(ctx context.Context, meta Meta, id string, p domain.CredentialPatch, status *string) (CredentialResult, error) {
	ref := credentialRef(id)
	var after snap[domain.Credential]
	pos, err := c.run(ctx, meta, ref, func(ctx context.Context) ([]change, error) {
		s, err := c.loadCredential(ctx, meta, ref, &after)
		if err != nil || s == nil {
			return nil, err
		}
		data, err := s.State.UpdateCredential(p, status)
		if err != nil || len(data) == 0 {
			return nil, err
		}
		changes := []change{decide(c, meta.Tenant, ref, *s, data, &after)}
		if upd, ok := data[0].(*domain.CredentialUpdated); ok && upd.CredentialID != nil &&
			domain.NormalizeCredentialNumber(*upd.CredentialID) != domain.NormalizeCredentialNumber(s.State.CredentialID) {
			claims, err := c.claims(ctx, meta.Tenant, id, []uniqueValue{credentialNumber(s.State.CredentialID)},
				[]uniqueValue{credentialNumber(*upd.CredentialID)})
			if err != nil {
				return nil, err
			}
			changes = append(changes, claims...)
		}
		return changes, nil
	})
	if err != nil {
		return CredentialResult{}, err
	}
	return credentialResult(after, pos), nil
}

// DeleteCredential deletes a credential and releases its number. Its links
// to access points end in the same append, on both sides, so that no access
// point goes on listing a key that no longer exists.
func (c *Commands) DeleteCredential(ctx context.Context, meta Meta, id string) (CredentialResult, error) {
	ref := credentialRef(id)
	var after snap[domain.Credential]
	pos, err := c.run(ctx, meta, ref, func(ctx context.Context) ([]change, error) {
		s, err := c.loadCredential(ctx, meta, ref, &after)
		if err != nil || s == nil {
			return nil, err
		}
		data, err := s.State.DeleteCredential()
		if err != nil {
			return nil, err
		}
		changes := []change{decide(c, meta.Tenant, ref, *s, data, &after)}
		claims, err := c.claims(ctx, meta.Tenant, id, []uniqueValue{credentialNumber(s.State.CredentialID)}, nil)
		if err != nil {
			return nil, err
		}
		links, err := c.unlinkFromAccessPoints(ctx, meta.Tenant, id, s.State.LinkedTo)
		if err != nil {
			return nil, err
		}
		return append(append(changes, claims...), links...), nil
	})
	if err != nil {
		return CredentialResult{}, err
	}
	return credentialResult(after, pos), nil
}

// Credential returns a credential as the log has it, for reads on the
// command side.
func (c *Commands) Credential(ctx context.Context, tenant, id string) (domain.Credential, bool, error) {
	if !domain.ValidToken(id) {
		return domain.Credential{}, false, nil
	}
	cr, err := current[domain.Credential](ctx, c, tenant, credentialRef(id))
	return cr, cr.Exists(), err
}

// loadCredential is the preamble of a command on one live credential: load
// it (into after as well, for the answer), stop quietly when this command
// already changed it (a retry: s is nil), refuse a missing one and a stale
// If-Match.
func (c *Commands) loadCredential(ctx context.Context, meta Meta, ref domain.Ref, after *snap[domain.Credential]) (*snap[domain.Credential], error) {
	s, err := load[domain.Credential](ctx, c, meta.Tenant, ref)
	if err != nil {
		return nil, err
	}
	*after = s
	if s.applied(meta.CommandID) {
		return nil, nil
	}
	if !s.State.Exists() {
		return nil, domain.Errorf(domain.CodeNotFound, "access credential %s not found", ref.ID)
	}
	if err := meta.checkVersion(s.Seq); err != nil {
		return nil, err
	}
	return &s, nil
}

func credentialResult(s snap[domain.Credential], pos uint64) CredentialResult {
	if pos == 0 {
		pos = s.Seq
	}
	return CredentialResult{Credential: s.State, Result: Result{Position: pos, Version: s.Seq}}
}
