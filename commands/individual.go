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
	pos, err := c.run(ctx, meta, ref, func(ctx context.Context) ([]change, error) {
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
		claims, err := c.claims(ctx, meta.Tenant, id, nil, individualValues(fields.ExtID, fields.Email, fields.LoginID))
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
	pos, err := c.run(ctx, meta, ref, func(ctx context.Context) ([]change, error) {
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
		var release, claim []uniqueValue
		upd := data[0].(*domain.IndividualUpdated)
		if upd.Email != nil {
			release = append(release, uniqueValue{domain.UniqueIndividualEmail, s.State.Email, "email"})
			claim = append(claim, uniqueValue{domain.UniqueIndividualEmail, *upd.Email, "email"})
		}
		if upd.LoginID != nil && domain.NormalizeLoginID(*upd.LoginID) != domain.NormalizeLoginID(s.State.LoginID) {
			release = append(release, uniqueValue{domain.UniqueIndividualLoginID, domain.NormalizeLoginID(s.State.LoginID), "login_id"})
			claim = append(claim, uniqueValue{domain.UniqueIndividualLoginID, domain.NormalizeLoginID(*upd.LoginID), "login_id"})
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
	pos, err := c.run(ctx, meta, ref, func(ctx context.Context) ([]change, error) {
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
		claims, err := c.claims(ctx, meta.Tenant, id, individualValues(s.State.ExtID, s.State.Email, s.State.LoginID), nil)
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

// individualValues are the unique values a person holds, in the order they
// are claimed and released.
func individualValues(extID, email, loginID string) []uniqueValue {
	return []uniqueValue{
		{domain.UniqueIndividualExtID, extID, "ext_id"},
		{domain.UniqueIndividualEmail, email, "email"},
		{domain.UniqueIndividualLoginID, domain.NormalizeLoginID(loginID), "login_id"},
	}
}
