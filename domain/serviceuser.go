package domain

import (
	"strings"
	"time"
	"unicode/utf8"
)

// AggregateServiceUser is the aggregate type of a service user: a non-human
// caller that authenticates with personal access tokens.
const AggregateServiceUser = "service_user"

// Event types of service users.
const (
	TypeServiceUserCreated      = "service_user.created"
	TypeServiceUserRoleChanged  = "service_user.role_changed"
	TypeServiceUserTokenIssued  = "service_user.token_issued"
	TypeServiceUserTokenRevoked = "service_user.token_revoked"
	TypeServiceUserDeleted      = "service_user.deleted"
)

// ServiceUserCreated starts a service user with a role.
type ServiceUserCreated struct {
	Name string `msgpack:"name"`
	Role string `msgpack:"role"`
}

func (*ServiceUserCreated) EventType() string { return TypeServiceUserCreated }
func (*ServiceUserCreated) EventVersion() int { return 1 }

// ServiceUserRoleChanged gives a service user another role.
type ServiceUserRoleChanged struct {
	Role string `msgpack:"role"`
}

func (*ServiceUserRoleChanged) EventType() string { return TypeServiceUserRoleChanged }
func (*ServiceUserRoleChanged) EventVersion() int { return 1 }

// ServiceUserTokenIssued records a new personal access token. It carries the
// token's SHA-256, never the token: the token is 256 random bits, so its
// hash reveals nothing, and keeping the hash in the log lets every node and
// every rebuild verify tokens without a second store of secrets.
type ServiceUserTokenIssued struct {
	TokenID   string    `msgpack:"token_id"`
	Hash      []byte    `msgpack:"hash"`
	ExpiresAt time.Time `msgpack:"expires_at"`
}

func (*ServiceUserTokenIssued) EventType() string { return TypeServiceUserTokenIssued }
func (*ServiceUserTokenIssued) EventVersion() int { return 1 }

// ServiceUserTokenRevoked ends a token before its expiry.
type ServiceUserTokenRevoked struct {
	TokenID string `msgpack:"token_id"`
}

func (*ServiceUserTokenRevoked) EventType() string { return TypeServiceUserTokenRevoked }
func (*ServiceUserTokenRevoked) EventVersion() int { return 1 }

// ServiceUserDeleted ends a service user and, with it, all its tokens.
type ServiceUserDeleted struct{}

func (*ServiceUserDeleted) EventType() string { return TypeServiceUserDeleted }
func (*ServiceUserDeleted) EventVersion() int { return 1 }

// Token is a personal access token as the log knows it.
type Token struct {
	ID        string
	Hash      []byte
	CreatedAt time.Time
	ExpiresAt time.Time
	Revoked   bool
}

// ServiceUser is the state of a service user aggregate.
type ServiceUser struct {
	ID        string
	Name      string
	Role      string
	Tokens    []Token
	CreatedAt time.Time
	UpdatedAt time.Time
	Deleted   bool
}

// Exists reports whether the service user was created and not deleted.
func (u *ServiceUser) Exists() bool { return !u.CreatedAt.IsZero() && !u.Deleted }

// Apply folds one event into the service user. Tokens is replaced, never
// appended to in place, so a copied state never shares it.
func (u *ServiceUser) Apply(e Event) {
	u.UpdatedAt = e.OccurredAt
	switch d := e.Data.(type) {
	case *ServiceUserCreated:
		u.ID, u.Name, u.Role, u.CreatedAt = e.Aggregate.ID, d.Name, d.Role, e.OccurredAt
	case *ServiceUserRoleChanged:
		u.Role = d.Role
	case *ServiceUserTokenIssued:
		u.Tokens = append(append([]Token(nil), u.Tokens...), Token{ID: d.TokenID, Hash: d.Hash, CreatedAt: e.OccurredAt, ExpiresAt: d.ExpiresAt})
	case *ServiceUserTokenRevoked:
		tokens := append([]Token(nil), u.Tokens...)
		for i := range tokens {
			if tokens[i].ID == d.TokenID {
				tokens[i].Revoked = true
			}
		}
		u.Tokens = tokens
	case *ServiceUserDeleted:
		u.Deleted = true
	}
}

// RoleExists says whether a role name is defined for a tenant; built-in
// roles always are. Commands pass what the read models know of custom roles.
type RoleExists func(name string) bool

// CreateServiceUser decides a new service user.
func (u *ServiceUser) CreateServiceUser(name, role string, roleExists RoleExists) ([]EventData, error) {
	if !u.CreatedAt.IsZero() {
		return nil, Errorf(CodeConflict, "service user already exists")
	}
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 100 {
		return nil, Invalid("name", "is required and at most 100 characters")
	}
	if err := checkRole(role, roleExists); err != nil {
		return nil, err
	}
	return []EventData{&ServiceUserCreated{Name: name, Role: role}}, nil
}

// ChangeRole decides a role change.
func (u *ServiceUser) ChangeRole(role string, roleExists RoleExists) ([]EventData, error) {
	if !u.Exists() {
		return nil, Errorf(CodeNotFound, "service user not found")
	}
	if err := checkRole(role, roleExists); err != nil {
		return nil, err
	}
	if role == u.Role {
		return nil, nil
	}
	return []EventData{&ServiceUserRoleChanged{Role: role}}, nil
}

// maxTokenLifetime bounds how far ahead a token may expire.
const maxTokenLifetime = 2 * 365 * 24 * time.Hour

// IssueToken decides a new token with the given id and hash, expiring at
// expiresAt, as of now.
func (u *ServiceUser) IssueToken(tokenID string, hash []byte, expiresAt, now time.Time) ([]EventData, error) {
	if !u.Exists() {
		return nil, Errorf(CodeNotFound, "service user not found")
	}
	if !expiresAt.After(now) {
		return nil, Invalid("expires_at", "must be in the future")
	}
	if expiresAt.Sub(now) > maxTokenLifetime {
		return nil, Invalid("expires_at", "must be at most two years ahead")
	}
	return []EventData{&ServiceUserTokenIssued{TokenID: tokenID, Hash: hash, ExpiresAt: expiresAt.UTC()}}, nil
}

// RevokeToken decides the revocation of a token.
func (u *ServiceUser) RevokeToken(tokenID string) ([]EventData, error) {
	if !u.Exists() {
		return nil, Errorf(CodeNotFound, "service user not found")
	}
	for _, t := range u.Tokens {
		if t.ID == tokenID {
			if t.Revoked {
				return nil, nil
			}
			return []EventData{&ServiceUserTokenRevoked{TokenID: tokenID}}, nil
		}
	}
	return nil, Errorf(CodeNotFound, "token %s not found", tokenID)
}

// DeleteServiceUser decides the deletion.
func (u *ServiceUser) DeleteServiceUser() ([]EventData, error) {
	if !u.Exists() {
		return nil, Errorf(CodeNotFound, "service user not found")
	}
	return []EventData{&ServiceUserDeleted{}}, nil
}

func checkRole(role string, exists RoleExists) error {
	if _, ok := BuiltinRole(role); ok {
		return nil
	}
	if role == "" || exists == nil || !exists(role) {
		return Invalid("role", "must be a built-in role (admin, operator, auditor, viewer) or a custom role of the tenant")
	}
	return nil
}
