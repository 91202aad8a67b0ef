package commands

import (
	"context"

	"github.com/portcullis/portcullis/domain"
)

// uniqueValue is one value a record holds that must be unique per tenant:
// its kind (domain.UniqueIndividualEmail, domain.UniqueCredentialNumber, …),
// the value in its compared form, and the input field that carried it, which
// a conflict names.
type uniqueValue struct {
	kind, value, field string
}

// claims decides, for owner, the release of the values in release and then
// the claim of the values in claim, each one a change on its claim's own
// aggregate to append with the record that holds it. Empty values are
// skipped; a value already held by owner is not claimed again, and one it
// does not hold is not released. A value held by anyone else is a CONFLICT
// naming its field.
func (c *Commands) claims(ctx context.Context, tenant, owner string, release, claim []uniqueValue) ([]change, error) {
	var changes []change
	for _, v := range release {
		if v.value == "" {
			continue
		}
		ref := domain.UniqueRef(v.kind, v.value)
		s, err := load[domain.UniqueValue](ctx, c, tenant, ref)
		if err != nil {
			return nil, err
		}
		if data := s.State.Release(v.kind, owner); len(data) > 0 {
			changes = append(changes, decide(c, tenant, ref, s, data, nil))
		}
	}
	for _, v := range claim {
		if v.value == "" {
			continue
		}
		ref := domain.UniqueRef(v.kind, v.value)
		s, err := load[domain.UniqueValue](ctx, c, tenant, ref)
		if err != nil {
			return nil, err
		}
		data, err := s.State.Claim(v.kind, owner, v.field)
		if err != nil {
			return nil, err
		}
		if len(data) > 0 {
			changes = append(changes, decide(c, tenant, ref, s, data, nil))
		}
	}
	return changes, nil
}
