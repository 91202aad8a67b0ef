package commands

import (
	"context"

	"github.com/portcullis/portcullis/domain"
)

// IndividualResult is an individual after a command, with its positions.
type IndividualResult struct {
	Individual domain.Individual
	Result
}

func individualRef(id string) domain.Ref { return domain.Ref{Type: domain.AggregateIndividual, ID: id} }

// CreateIndividual creates a person and claims its email and ext_id for the
// tenant, all in one atomic append.
func (c *Commands) CreateIndividual(ctx context.Context, meta Meta, in domain.IndividualFields) (IndividualResult, error) {
	id := deriveID(meta.CommandID, "individual", 0)
	ref := individualRef(id)
	var after snap[domain.Individual]
	pos, err := c.run(ctx, meta, ref, func() ([]change, error) {
		s, err := load[domain.Individual](ctx, c, meta.Tenant, ref)
		if err != nil {
			return nil, err
		}
		after = s
		if s.applied(meta.CommandID) {
			return nil, nil
		}
		data, fields, err := s.State.CreateIndividual(id, in)
		if err != nil {
			return nil, err
		}
		changes := []change{decide(c, meta.Tenant, ref, s, data, &after)}
		claims, err := c.claims(ctx, meta.Tenant, id, nil, map[string]string{
			domain.UniqueIndividualExtID: fields.ExtID, domain.UniqueIndividualEmail: fields.Email,
			domain.UniqueIndividualLoginID: domain.NormalizeLoginID(fields.LoginID),
		})
		if err != nil {
			return nil, err
		}
		return append(changes, claims...), nil
	})
	if err != nil {
		return IndividualResult{}, err
	}
	return individualResult(after, pos), nil
}

// UpdateIndividual changes fields of a person; an email change releases the
// old address and claims the new one in the same append.
func (c *Commands) UpdateIndividual(ctx context.Context, meta Meta, id string, p domain.IndividualPatch) (IndividualResult, error) {
	ref := individualRef(id)
	var after snap[domain.Individual]
	pos, err := c.run(ctx, meta, ref, func() ([]change, error) {
		s, err := load[domain.Individual](ctx, c, meta.Tenant, ref)
		if err != nil {
			return nil, err
		}
		after = s
		if s.applied(meta.CommandID) {
			return nil, nil
		}
		if !s.State.Exists() {
			return nil, domain.Errorf(domain.CodeNotFound, "individual %s not found", id)
		}
		if err := meta.checkVersion(s.Seq); err != nil {
			return nil, err
		}
		data, err := s.State.UpdateIndividual(p)
		if err != nil || len(data) == 0 {
			return nil, err
		}
		changes := []change{decide(c, meta.Tenant, ref, s, data, &after)}
		release, claim := map[string]string{}, map[string]string{}
		upd := data[0].(*domain.IndividualUpdated)
		if upd.Email != nil {
			release[domain.UniqueIndividualEmail] = s.State.Email
			claim[domain.UniqueIndividualEmail] = *upd.Email
		}
		if upd.LoginID != nil && domain.NormalizeLoginID(*upd.LoginID) != domain.NormalizeLoginID(s.State.LoginID) {
			release[domain.UniqueIndividualLoginID] = domain.NormalizeLoginID(s.State.LoginID)
			claim[domain.UniqueIndividualLoginID] = domain.NormalizeLoginID(*upd.LoginID)
		}
		claims, err := c.claims(ctx, meta.Tenant, id, release, claim)
		if err != nil {
			return nil, err
		}
		changes = append(changes, claims...)
		return changes, nil
	})
	if err != nil {
		return IndividualResult{}, err
	}
	return individualResult(after, pos), nil
}

// DeleteIndividual deletes a person and releases its unique values. The
// person's nevisIDM authenticator records (dispatch targets, FIDO UAF
// credentials and their key claims) end in the same append: a FIDO UAF key
// of a person who is gone must be free to register again.
func (c *Commands) DeleteIndividual(ctx context.Context, meta Meta, id string) (IndividualResult, error) {
	ref := individualRef(id)
	var after snap[domain.Individual]
	pos, err := c.run(ctx, meta, ref, func() ([]change, error) {
		s, err := load[domain.Individual](ctx, c, meta.Tenant, ref)
		if err != nil {
			return nil, err
		}
		after = s
		if s.applied(meta.CommandID) {
			return nil, nil
		}
		if !s.State.Exists() {
			return nil, domain.Errorf(domain.CodeNotFound, "individual %s not found", id)
		}
		if err := meta.checkVersion(s.Seq); err != nil {
			return nil, err
		}
		data, err := s.State.DeleteIndividual()
		if err != nil {
			return nil, err
		}
		changes := []change{decide(c, meta.Tenant, ref, s, data, &after)}
		claims, err := c.claims(ctx, meta.Tenant, id, map[string]string{
			domain.UniqueIndividualExtID: s.State.ExtID, domain.UniqueIndividualEmail: s.State.Email,
			domain.UniqueIndividualLoginID: domain.NormalizeLoginID(s.State.LoginID),
		}, nil)
		if err != nil {
			return nil, err
		}
		nevis, err := c.deleteNevisRecords(ctx, meta.Tenant, id)
		if err != nil {
			return nil, err
		}
		return append(append(changes, claims...), nevis...), nil
	})
	if err != nil {
		return IndividualResult{}, err
	}
	return individualResult(after, pos), nil
}

func individualResult(s snap[domain.Individual], pos uint64) IndividualResult {
	if pos == 0 {
		pos = s.Seq
	}
	return IndividualResult{Individual: s.State, Result: Result{Position: pos, Version: s.Seq}}
}

// uniqueFields maps a kind of unique value to the input field that carries it.
var uniqueFields = map[string]string{
	domain.UniqueIndividualEmail:   "email",
	domain.UniqueIndividualExtID:   "ext_id",
	domain.UniqueIndividualLoginID: "login_id",
}

// claims decides the release of the values in release and the claim of the
// values in claim (kind → value; empty values are skipped) for owner.
func (c *Commands) claims(ctx context.Context, tenant, owner string, release, claim map[string]string) ([]change, error) {
	var changes []change
	for _, kind := range []string{domain.UniqueIndividualExtID, domain.UniqueIndividualEmail, domain.UniqueIndividualLoginID} {
		if v := release[kind]; v != "" {
			ref := domain.UniqueRef(kind, v)
			s, err := load[domain.UniqueValue](ctx, c, tenant, ref)
			if err != nil {
				return nil, err
			}
			if data := s.State.Release(kind, owner); len(data) > 0 {
				changes = append(changes, decide(c, tenant, ref, s, data, nil))
			}
		}
		if v := claim[kind]; v != "" {
			ref := domain.UniqueRef(kind, v)
			s, err := load[domain.UniqueValue](ctx, c, tenant, ref)
			if err != nil {
				return nil, err
			}
			data, err := s.State.Claim(kind, owner, uniqueFields[kind])
			if err != nil {
				return nil, err
			}
			if len(data) > 0 {
				changes = append(changes, decide(c, tenant, ref, s, data, nil))
			}
		}
	}
	return changes, nil
}
