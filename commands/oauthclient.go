package commands

import (
	"context"
	"crypto/rand"
	"encoding/base64"

	"github.com/portcullis/portcullis/domain"
)

// OAuthClientResult is a client after a command, with its positions.
type OAuthClientResult struct {
	Client domain.OAuthClient
	Result
}

// NewOAuthClient is a created client with its secret, shown to the caller
// once and kept nowhere.
type NewOAuthClient struct {
	OAuthClientResult
	Secret string
}

// SecretPrefix starts every client secret, for secret scanners.
const SecretPrefix = "pccs_"

func oauthClientRef(id string) domain.Ref {
	return domain.Ref{Type: domain.AggregateOAuthClient, ID: id}
}

// CreateOAuthClient creates a client with a role and the scopes its tokens
// may carry. Only the secret's hash enters the log.
func (c *Commands) CreateOAuthClient(ctx context.Context, meta Meta, name, role string, scopes []string) (NewOAuthClient, error) {
	roleExists := c.roleExists(ctx, meta.Tenant)
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return NewOAuthClient{}, err
	}
	secret := SecretPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	ref := oauthClientRef(deriveID(meta.CommandID, "oauth_client", 0))
	replayed := false
	res, err := c.oauthClientCommand(ctx, meta, ref, false, func(cl domain.OAuthClient) ([]domain.EventData, error) {
		return cl.CreateOAuthClient(name, role, scopes, HashToken(secret), roleExists)
	}, func() { replayed = true })
	if err != nil {
		return NewOAuthClient{}, err
	}
	if replayed {
		return NewOAuthClient{}, domain.Errorf(domain.CodeConflict,
			"this request already created client %s; its secret is shown only once, so delete it and create another", ref.ID)
	}
	return NewOAuthClient{OAuthClientResult: res, Secret: secret}, nil
}

// DeleteOAuthClient deletes a client; its bearer tokens stop working.
func (c *Commands) DeleteOAuthClient(ctx context.Context, meta Meta, id string) (OAuthClientResult, error) {
	return c.oauthClientCommand(ctx, meta, oauthClientRef(id), true, func(cl domain.OAuthClient) ([]domain.EventData, error) {
		return cl.DeleteOAuthClient()
	})
}

func (c *Commands) oauthClientCommand(ctx context.Context, meta Meta, ref domain.Ref, mustExist bool,
	decision func(domain.OAuthClient) ([]domain.EventData, error), onReplay ...func()) (OAuthClientResult, error) {
	var replay func()
	if len(onReplay) > 0 {
		replay = onReplay[0]
	}
	after, res, err := decideOne[domain.OAuthClient](ctx, c, meta, ref, "oauth client", mustExist, decision, replay)
	return OAuthClientResult{Client: after.State, Result: res}, err
}
