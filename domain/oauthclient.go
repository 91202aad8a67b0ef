package domain

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// AggregateOAuthClient is the aggregate type of an OAuth2 client: a machine
// caller that trades its id and secret for short-lived bearer tokens.
const AggregateOAuthClient = "oauth_client"

// Event types of OAuth2 clients.
const (
	TypeOAuthClientCreated = "oauth_client.created"
	TypeOAuthClientDeleted = "oauth_client.deleted"
)

// OAuthClientCreated starts a client. SecretHash is the SHA-256 of a secret
// of 256 random bits: it reveals nothing, and keeping it in the log lets
// every node and every rebuild verify the secret.
type OAuthClientCreated struct {
	Name       string   `msgpack:"name"`
	Role       string   `msgpack:"role"`
	Scopes     []string `msgpack:"scopes"`
	SecretHash []byte   `msgpack:"secret_hash"`
}

func (*OAuthClientCreated) EventType() string { return TypeOAuthClientCreated }
func (*OAuthClientCreated) EventVersion() int { return 1 }

// OAuthClientDeleted ends a client; bearer tokens it holds stop working.
type OAuthClientDeleted struct{}

func (*OAuthClientDeleted) EventType() string { return TypeOAuthClientDeleted }
func (*OAuthClientDeleted) EventVersion() int { return 1 }

// OAuthClient is the state of an OAuth2 client aggregate.
type OAuthClient struct {
	ID         string
	Name       string
	Role       string
	Scopes     []string
	SecretHash []byte
	CreatedAt  time.Time
	UpdatedAt  time.Time
	Deleted    bool
}

// Exists reports whether the client was created and not deleted.
func (c *OAuthClient) Exists() bool { return !c.CreatedAt.IsZero() && !c.Deleted }

// Apply folds one event into the client.
func (c *OAuthClient) Apply(e Event) {
	c.UpdatedAt = e.OccurredAt
	switch d := e.Data.(type) {
	case *OAuthClientCreated:
		c.ID, c.Name, c.Role, c.CreatedAt = e.Aggregate.ID, d.Name, d.Role, e.OccurredAt
		c.Scopes, c.SecretHash = d.Scopes, d.SecretHash
	case *OAuthClientDeleted:
		c.Deleted = true
	}
}

// CreateOAuthClient decides a new client. Scopes are the permissions its
// tokens may ever carry; a token never holds more than its client's role
// grants, whatever its scopes.
func (c *OAuthClient) CreateOAuthClient(name, role string, scopes []string, secretHash []byte, roleExists RoleExists) ([]EventData, error) {
	if !c.CreatedAt.IsZero() {
		return nil, Errorf(CodeConflict, "oauth client already exists")
	}
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 100 {
		return nil, Invalid("name", "is required and at most 100 characters")
	}
	if err := checkRole(role, roleExists); err != nil {
		return nil, err
	}
	if len(scopes) == 0 {
		return nil, Invalid("scopes", "must name at least one scope")
	}
	scopes = slices.Clone(scopes)
	slices.Sort(scopes)
	scopes = slices.Compact(scopes)
	for _, s := range scopes {
		if !ValidPermission(s) {
			return nil, Invalid("scopes", "%q is not a scope (a native permission, a nevisIDM right or an eSystems scope)", s)
		}
	}
	return []EventData{&OAuthClientCreated{Name: name, Role: role, Scopes: scopes, SecretHash: secretHash}}, nil
}

// DeleteOAuthClient decides the deletion.
func (c *OAuthClient) DeleteOAuthClient() ([]EventData, error) {
	if !c.Exists() {
		return nil, Errorf(CodeNotFound, "oauth client not found")
	}
	return []EventData{&OAuthClientDeleted{}}, nil
}

// GrantScopes decides which scopes a token request gets: all the client's
// scopes when it asks for none, else exactly those asked for, each of which
// must be the client's. The result is sorted.
func (c *OAuthClient) GrantScopes(requested []string) ([]string, bool) {
	if len(requested) == 0 {
		return slices.Clone(c.Scopes), true
	}
	out := slices.Clone(requested)
	slices.Sort(out)
	out = slices.Compact(out)
	for _, s := range out {
		if !slices.Contains(c.Scopes, s) {
			return nil, false
		}
	}
	return out, true
}

// Intersect returns the permissions in both sorted lists, sorted: what a
// token may do is what its role allows and its scopes name.
func Intersect(a, b []string) []string {
	var out []string
	for _, p := range a {
		if _, ok := slices.BinarySearch(b, p); ok {
			out = append(out, p)
		}
	}
	return out
}
