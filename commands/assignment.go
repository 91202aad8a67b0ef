package commands

import (
	"context"
	"slices"

	"github.com/portcullis/portcullis/domain"
)

// Assignment commands hand credentials to people and take them back. Each
// is one atomic append of the credentials' events and the events of the
// people concerned, every aggregate with the position it was decided on: two
// concurrent assigns of one credential both expect it where it was, and the
// log accepts one; the other decides again and finds it taken.

// CredentialsResult is the credentials a command changed, in the order the
// client named them, with the command's position.
type CredentialsResult struct {
	Credentials []domain.Credential
	Result
}

// AssignCredentials hands the credentials to a.IndividualID: assigned at
// once, or reserved (pending) until confirmed when a.Confirmation is set.
// Either all of them are assigned or none.
func (c *Commands) AssignCredentials(ctx context.Context, meta Meta, ids []string, a domain.Assignment) (CredentialsResult, error) {
	if err := checkBatch(ids); err != nil {
		return CredentialsResult{}, err
	}
	if !domain.ValidToken(a.IndividualID) {
		return CredentialsResult{}, domain.Invalid("individual_id", "is not a valid id")
	}
	a, err := domain.NormalizeAssignment(a)
	if err != nil {
		return CredentialsResult{}, err
	}
	ref := individualRef(a.IndividualID)
	afters := make([]snap[domain.Credential], len(ids))
	pos, err := c.run(ctx, meta, ref, func(ctx context.Context) ([]change, error) {
		ind, err := load[domain.Individual](ctx, c, meta.Tenant, ref)
		if err != nil {
			return nil, err
		}
		creds, err := c.loadCredentials(ctx, meta.Tenant, ids, afters)
		if err != nil || ind.applied(meta.CommandID) {
			return nil, err
		}
		if err := requireCredentials(creds, ids); err != nil {
			return nil, err
		}
		data, err := ind.State.HoldCredentials(ids, a.Confirmation != nil)
		if err != nil {
			return nil, err
		}
		changes := []change{decide(c, meta.Tenant, ref, ind, data, nil)}
		now := c.now().UTC()
		for i, s := range creds {
			data, err := s.State.Assign(a, now)
			if err != nil {
				return nil, err
			}
			changes = append(changes, decide(c, meta.Tenant, credentialRef(ids[i]), s, data, &afters[i]))
		}
		return changes, nil
	})
	return credentialsResult(afters, pos, err)
}

// ConfirmCredentials confirms the receipt of reserved credentials. self,
// when not empty, is the individual confirming through self-service: only
// reservations for them are found.
func (c *Commands) ConfirmCredentials(ctx context.Context, meta Meta, ids []string, self string) (CredentialsResult, error) {
	return c.releaseOrConfirm(ctx, meta, ids, func(cr domain.Credential) ([]domain.EventData, error) {
		return cr.ConfirmAssignment(self)
	}, (*domain.Individual).ConfirmCredentials)
}

// ReturnCredentials takes credentials back from whoever holds them (or ends
// their reservations), recording the condition they came back in.
func (c *Commands) ReturnCredentials(ctx context.Context, meta Meta, ids []string, condition, notes string) (CredentialsResult, error) {
	if err := domain.ValidateMetadata(condition, notes); err != nil {
		return CredentialsResult{}, err
	}
	return c.releaseOrConfirm(ctx, meta, ids, func(cr domain.Credential) ([]domain.EventData, error) {
		return cr.Return(condition, notes)
	}, (*domain.Individual).ReturnCredentials)
}

// releaseOrConfirm decides one change on each credential and, for each
// person who held any of them, one event naming theirs, all in one append.
// The credentials may belong to several people.
func (c *Commands) releaseOrConfirm(ctx context.Context, meta Meta, ids []string,
	decideCred func(domain.Credential) ([]domain.EventData, error),
	decidePerson func(*domain.Individual, []string) []domain.EventData) (CredentialsResult, error) {
	if err := checkBatch(ids); err != nil {
		return CredentialsResult{}, err
	}
	afters := make([]snap[domain.Credential], len(ids))
	pos, err := c.run(ctx, meta, credentialRef(ids[0]), func(ctx context.Context) ([]change, error) {
		creds, err := c.loadCredentials(ctx, meta.Tenant, ids, afters)
		if err != nil || creds[0].applied(meta.CommandID) {
			return nil, err
		}
		if err := requireCredentials(creds, ids); err != nil {
			return nil, err
		}
		var changes []change
		var holders []string
		held := map[string][]string{}
		for i, s := range creds {
			data, err := decideCred(s.State)
			if err != nil {
				return nil, err
			}
			holder := s.State.Holder.IndividualID
			if !slices.Contains(holders, holder) {
				holders = append(holders, holder)
			}
			held[holder] = append(held[holder], ids[i])
			changes = append(changes, decide(c, meta.Tenant, credentialRef(ids[i]), s, data, &afters[i]))
		}
		for _, h := range holders {
			ref := individualRef(h)
			ind, err := load[domain.Individual](ctx, c, meta.Tenant, ref)
			if err != nil {
				return nil, err
			}
			if ind.State.Exists() {
				changes = append(changes, decide(c, meta.Tenant, ref, ind, decidePerson(&ind.State, held[h]), nil))
			}
		}
		return changes, nil
	})
	return credentialsResult(afters, pos, err)
}

// loadCredentials loads the named credentials, also into afters so that a
// command that decides nothing (a retry) answers with them as they are.
func (c *Commands) loadCredentials(ctx context.Context, tenant string, ids []string, afters []snap[domain.Credential]) ([]snap[domain.Credential], error) {
	out := make([]snap[domain.Credential], len(ids))
	for i, id := range ids {
		s, err := load[domain.Credential](ctx, c, tenant, credentialRef(id))
		if err != nil {
			return nil, err
		}
		out[i], afters[i] = s, s
	}
	return out, nil
}

// requireCredentials refuses a list that names a credential that does not
// exist, naming it.
func requireCredentials(creds []snap[domain.Credential], ids []string) error {
	for i, s := range creds {
		if !s.State.Exists() {
			return &domain.Error{Code: domain.CodeNotFound, Field: "credential_ids", Message: "access credential " + ids[i] + " not found"}
		}
	}
	return nil
}

// checkBatch refuses an empty, oversized or repetitive list of credential
// ids: the faces check too, this keeps the commands safe on their own.
func checkBatch(ids []string) error {
	if len(ids) == 0 || len(ids) > domain.MaxCredentialBatch {
		return domain.Invalid("credential_ids", "must name 1 to %d access credentials", domain.MaxCredentialBatch)
	}
	for i, id := range ids {
		if !domain.ValidToken(id) {
			return domain.Invalid("credential_ids", "%q is not a valid id", id)
		}
		if slices.Contains(ids[:i], id) {
			return domain.Invalid("credential_ids", "names %s twice", id)
		}
	}
	return nil
}

func credentialsResult(afters []snap[domain.Credential], pos uint64, err error) (CredentialsResult, error) {
	if err != nil {
		return CredentialsResult{}, err
	}
	out := CredentialsResult{Credentials: make([]domain.Credential, len(afters)), Result: Result{Position: pos}}
	for i, s := range afters {
		out.Credentials[i] = s.State
		out.Position = max(out.Position, s.Seq)
	}
	if len(afters) == 1 {
		out.Version = afters[0].Seq
	}
	return out, nil
}
