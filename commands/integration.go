package commands

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"time"

	"github.com/portcullis/portcullis/domain"
)

// ConnectionResult is an integration connection after a command, with its
// positions.
type ConnectionResult struct {
	Connection domain.IntegrationConnection
	Result
}

// NewConnection is a connection with the secret the caller sees once: a
// webhook's signing secret on connect and on rotation, empty otherwise.
type NewConnection struct {
	ConnectionResult
	Secret string
}

// WebhookSecretPrefix starts every webhook signing secret, as Standard
// Webhooks names them; the rest is the base64 of 32 random bytes.
const WebhookSecretPrefix = "whsec_"

func connectionRef(id string) domain.Ref {
	return domain.Ref{Type: domain.AggregateIntegrationConnection, ID: id}
}

func newWebhookSecret() (string, error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	return WebhookSecretPrefix + base64.StdEncoding.EncodeToString(raw[:]), nil
}

// Connect connects the tenant to an application with input that
// domain.ValidateConnection accepted. Secret fields are sealed before they
// enter the log; a webhook gets a generated signing secret, returned once.
func (c *Commands) Connect(ctx context.Context, meta Meta, app domain.IntegrationApplication, in domain.ConnectionInput, box *SecretBox) (NewConnection, error) {
	ref := connectionRef(deriveID(meta.CommandID, "integration_connection", 0))
	var sealed []domain.SealedSecret
	for _, f := range app.Fields {
		if v, ok := in.Secrets[f.Name]; ok {
			s, err := box.Seal(meta.Tenant, ref.ID, f.Name, v)
			if err != nil {
				return NewConnection{}, err
			}
			sealed = append(sealed, s)
		}
	}
	var secret string
	if app.ID == domain.AppWebhook {
		var err error
		if secret, err = newWebhookSecret(); err != nil {
			return NewConnection{}, err
		}
		s, err := box.Seal(meta.Tenant, ref.ID, domain.WebhookSecretField, secret)
		if err != nil {
			return NewConnection{}, err
		}
		sealed = append(sealed, s)
	}
	replayed := false
	res, err := c.connectionCommand(ctx, meta, ref, false, func(cn domain.IntegrationConnection) ([]domain.EventData, error) {
		return cn.Connect(app, in.Name, in.Settings, sealed)
	}, func() { replayed = true })
	if err != nil {
		return NewConnection{}, err
	}
	if replayed {
		if app.ID == domain.AppWebhook {
			return NewConnection{}, domain.Errorf(domain.CodeConflict,
				"this request already created connection %s; its secret is shown only once, so rotate it or connect again", ref.ID)
		}
		return NewConnection{ConnectionResult: res}, nil
	}
	return NewConnection{ConnectionResult: res, Secret: secret}, nil
}

// Disconnect ends a connection.
func (c *Commands) Disconnect(ctx context.Context, meta Meta, id string) (ConnectionResult, error) {
	return c.connectionCommand(ctx, meta, connectionRef(id), true, func(cn domain.IntegrationConnection) ([]domain.EventData, error) {
		return cn.Disconnect()
	}, nil)
}

// RotateWebhookSecret gives a webhook a new signing secret, returned once;
// the old one keeps signing for overlap.
func (c *Commands) RotateWebhookSecret(ctx context.Context, meta Meta, id string, overlap time.Duration, box *SecretBox) (NewConnection, error) {
	ref := connectionRef(id)
	secret, err := newWebhookSecret()
	if err != nil {
		return NewConnection{}, err
	}
	sealed, err := box.Seal(meta.Tenant, id, domain.WebhookSecretField, secret)
	if err != nil {
		return NewConnection{}, err
	}
	replayed := false
	res, err := c.connectionCommand(ctx, meta, ref, true, func(cn domain.IntegrationConnection) ([]domain.EventData, error) {
		return cn.RotateWebhookSecret(sealed, c.now(), overlap)
	}, func() { replayed = true })
	if err != nil {
		return NewConnection{}, err
	}
	if replayed {
		return NewConnection{}, domain.Errorf(domain.CodeConflict,
			"this request already rotated the secret of %s; a secret is shown only once, so rotate again", id)
	}
	return NewConnection{ConnectionResult: res, Secret: secret}, nil
}

// DisableWebhook stops a webhook whose endpoint kept failing. Several
// deliverers may decide it at once; the webhook is disabled once.
func (c *Commands) DisableWebhook(ctx context.Context, meta Meta, id, reason string, failingSince time.Time) (ConnectionResult, error) {
	return c.connectionCommand(ctx, meta, connectionRef(id), true, func(cn domain.IntegrationConnection) ([]domain.EventData, error) {
		return cn.DisableWebhook(reason, failingSince)
	}, nil)
}

// EnableWebhook resumes a disabled webhook from the event that failed.
func (c *Commands) EnableWebhook(ctx context.Context, meta Meta, id string) (ConnectionResult, error) {
	return c.connectionCommand(ctx, meta, connectionRef(id), true, func(cn domain.IntegrationConnection) ([]domain.EventData, error) {
		return cn.EnableWebhook()
	}, nil)
}

// RequestReplay asks for the tenant's events from position from up to the
// log's head to be delivered to a webhook again. It returns the replay's id.
func (c *Commands) RequestReplay(ctx context.Context, meta Meta, id string, from uint64) (ConnectionResult, string, error) {
	head, err := c.Head(ctx)
	if err != nil {
		return ConnectionResult{}, "", err
	}
	replay := deriveID(meta.CommandID, "webhook_replay", 0)
	res, err := c.connectionCommand(ctx, meta, connectionRef(id), true, func(cn domain.IntegrationConnection) ([]domain.EventData, error) {
		return cn.RequestReplay(replay, from, head)
	}, nil)
	return res, replay, err
}

// CompleteReplay records that a replay delivered its last event; nodes
// that finish it at once name the same command, so it lands once.
func (c *Commands) CompleteReplay(ctx context.Context, meta Meta, id, replay string) error {
	_, err := c.connectionCommand(ctx, meta, connectionRef(id), false, func(cn domain.IntegrationConnection) ([]domain.EventData, error) {
		return cn.CompleteReplay(replay)
	}, nil)
	return err
}

// Connection reads a connection from the log, past this node's cache, for
// checks that must not wait for the read models and must not lag them
// either: the webhook dispatcher starts a replay's worker once the read
// models show the replay, which can be before the command that requested
// it has put the new state in the cache, and another node's change is not
// in this node's cache at all.
func (c *Commands) Connection(ctx context.Context, tenant, id string) (domain.IntegrationConnection, error) {
	return current[domain.IntegrationConnection](context.WithValue(ctx, fromLogKey{}, true), c, tenant, connectionRef(id))
}

func (c *Commands) connectionCommand(ctx context.Context, meta Meta, ref domain.Ref, mustExist bool,
	decision func(domain.IntegrationConnection) ([]domain.EventData, error), onReplay func()) (ConnectionResult, error) {
	after, res, err := decideOne[domain.IntegrationConnection](ctx, c, meta, ref, "connection", mustExist, decision, onReplay)
	return ConnectionResult{Connection: after.State, Result: res}, err
}
