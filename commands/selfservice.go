package commands

import (
	"context"
	"time"

	"github.com/portcullis/portcullis/domain"
)

// RecordOTP appends what happened to an individual's one-time code (sent,
// verified, locked) for the audit trail; the code itself is never an event.
func (c *Commands) RecordOTP(ctx context.Context, meta Meta, individualID string, what domain.EventData) (Result, error) {
	ref := domain.Ref{Type: domain.AggregateSelfService, ID: individualID}
	_, res, err := decideOne[domain.SelfService](ctx, c, meta, ref, "self-service record", false,
		func(domain.SelfService) ([]domain.EventData, error) { return []domain.EventData{what}, nil }, nil)
	return res, err
}

// OTPExpiry is how long a mailed code stays valid; SelfTokenTTL how long the
// self-service token it buys does.
const (
	OTPExpiry    = 10 * time.Minute
	SelfTokenTTL = 15 * time.Minute
)
