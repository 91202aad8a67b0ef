package commands

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"time"

	"github.com/portcullis/portcullis/domain"
)

// ServiceUserResult is a service user after a command, with its positions.
type ServiceUserResult struct {
	ServiceUser domain.ServiceUser
	Result
}

func serviceUserRef(id string) domain.Ref {
	return domain.Ref{Type: domain.AggregateServiceUser, ID: id}
}

// TokenPrefix starts every personal access token, so that a leaked one is
// recognisable by secret scanners.
const TokenPrefix = "pcat_"

// HashToken is how a token is stored and looked up: SHA-256 of the whole
// string. Tokens carry 256 random bits, so a plain hash is enough.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// CreateServiceUser creates a service user with a role.
func (c *Commands) CreateServiceUser(ctx context.Context, meta Meta, name, role string) (ServiceUserResult, error) {
	roleExists := c.roleExists(ctx, meta.Tenant)
	ref := serviceUserRef(deriveID(meta.CommandID, "service_user", 0))
	return c.serviceUserCommand(ctx, meta, ref, false, func(u domain.ServiceUser) ([]domain.EventData, error) {
		return u.CreateServiceUser(name, role, roleExists)
	})
}

// EnsureServiceUser creates a service user with a fixed id unless it exists;
// the first start uses it for the bootstrap admin.
func (c *Commands) EnsureServiceUser(ctx context.Context, meta Meta, id, name, role string) error {
	_, err := c.serviceUserCommand(ctx, meta, serviceUserRef(id), false, func(u domain.ServiceUser) ([]domain.EventData, error) {
		if !u.CreatedAt.IsZero() {
			return nil, nil
		}
		return u.CreateServiceUser(name, role, nil)
	})
	return err
}

// ChangeServiceUserRole gives a service user another role.
func (c *Commands) ChangeServiceUserRole(ctx context.Context, meta Meta, id, role string) (ServiceUserResult, error) {
	roleExists := c.roleExists(ctx, meta.Tenant)
	return c.serviceUserCommand(ctx, meta, serviceUserRef(id), true, func(u domain.ServiceUser) ([]domain.EventData, error) {
		return u.ChangeRole(role, roleExists)
	})
}

// DeleteServiceUser deletes a service user; its tokens stop working with it.
func (c *Commands) DeleteServiceUser(ctx context.Context, meta Meta, id string) (ServiceUserResult, error) {
	return c.serviceUserCommand(ctx, meta, serviceUserRef(id), true, func(u domain.ServiceUser) ([]domain.EventData, error) {
		return u.DeleteServiceUser()
	})
}

// RevokeToken ends a token before its expiry.
func (c *Commands) RevokeToken(ctx context.Context, meta Meta, id, tokenID string) (ServiceUserResult, error) {
	return c.serviceUserCommand(ctx, meta, serviceUserRef(id), true, func(u domain.ServiceUser) ([]domain.EventData, error) {
		return u.RevokeToken(tokenID)
	})
}

// IssuedToken is a new token: the secret, shown to the client once and kept
// nowhere, and the id under which it can be listed and revoked.
type IssuedToken struct {
	Token     string
	TokenID   string
	ExpiresAt time.Time
	Result
}

// errTokenShownOnce answers a retry of a token issue whose first answer was
// lost: the token exists, but its secret was never stored to show again.
var errTokenShownOnce = domain.Errorf(domain.CodeConflict,
	"this request already issued a token; its secret is shown only once, so revoke it and issue another")

// IssueToken issues a personal access token for a service user. Only the
// token's hash enters the log.
func (c *Commands) IssueToken(ctx context.Context, meta Meta, id string, expiresAt time.Time) (IssuedToken, error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return IssuedToken{}, err
	}
	token := TokenPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	tokenID := "tok_" + deriveID(meta.CommandID, "token", 0)[:18]
	replayed := false
	res, err := c.serviceUserCommand(ctx, meta, serviceUserRef(id), false, func(u domain.ServiceUser) ([]domain.EventData, error) {
		return u.IssueToken(tokenID, HashToken(token), expiresAt, c.now())
	}, func() { replayed = true })
	if err != nil {
		return IssuedToken{}, err
	}
	if replayed {
		return IssuedToken{}, errTokenShownOnce
	}
	return IssuedToken{Token: token, TokenID: tokenID, ExpiresAt: expiresAt.UTC(), Result: res.Result}, nil
}

// serviceUserCommand runs one decision on a service user.
func (c *Commands) serviceUserCommand(ctx context.Context, meta Meta, ref domain.Ref, mustExist bool,
	decision func(domain.ServiceUser) ([]domain.EventData, error), onReplay ...func()) (ServiceUserResult, error) {
	var replay func()
	if len(onReplay) > 0 {
		replay = onReplay[0]
	}
	after, res, err := decideOne[domain.ServiceUser](ctx, c, meta, ref, "service user", mustExist, decision, replay)
	return ServiceUserResult{ServiceUser: after.State, Result: res}, err
}
