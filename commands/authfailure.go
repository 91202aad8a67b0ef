package commands

import (
	"context"

	"github.com/portcullis/portcullis/domain"
)

// RecordAuthFailure appends a refused authentication to the tenant's record
// of failures (domain.SystemTenant when the tenant is unknown).
func (c *Commands) RecordAuthFailure(ctx context.Context, meta Meta, f domain.AuthFailed) (Result, error) {
	ref := domain.Ref{Type: domain.AggregateAuthFailures, ID: domain.AuthFailuresID}
	_, res, err := decideOne[domain.AuthFailures](ctx, c, meta, ref, "auth failure record", false,
		func(domain.AuthFailures) ([]domain.EventData, error) { return []domain.EventData{&f}, nil }, nil)
	return res, err
}
