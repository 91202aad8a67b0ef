package projections

import (
	"time"

	"github.com/portcullis/portcullis/domain"
)

var (
	bucketServiceUsers = []byte("service_users") // tenant,id → ServiceUser
	bucketTokens       = []byte("tokens")        // token hash → TokenGrant
)

// ServiceUser is the read model of a service user. Tokens lists what a
// client may see of each token: never its hash.
type ServiceUser struct {
	ID        string          `msgpack:"id"`
	Name      string          `msgpack:"name"`
	Role      string          `msgpack:"role"`
	Tokens    []TokenMetadata `msgpack:"tokens"`
	CreatedAt time.Time       `msgpack:"created_at"`
	UpdatedAt time.Time       `msgpack:"updated_at"`
	Deleted   bool            `msgpack:"deleted,omitempty"`
	Version   uint64          `msgpack:"version"`
}

// TokenMetadata describes a token without its secret.
type TokenMetadata struct {
	ID        string    `msgpack:"id"`
	CreatedAt time.Time `msgpack:"created_at"`
	ExpiresAt time.Time `msgpack:"expires_at"`
	Revoked   bool      `msgpack:"revoked,omitempty"`
}

// TokenGrant is what authentication learns from a token's hash: whose it is
// and whether it still holds.
type TokenGrant struct {
	Tenant        string    `msgpack:"tenant"`
	ServiceUserID string    `msgpack:"service_user_id"`
	TokenID       string    `msgpack:"token_id"`
	ExpiresAt     time.Time `msgpack:"expires_at"`
	Revoked       bool      `msgpack:"revoked,omitempty"`
}

type serviceUsersProjection struct{}

func (serviceUsersProjection) apply(tx *vtx, e domain.Event) error {
	if e.Aggregate.Type != domain.AggregateServiceUser {
		return nil
	}
	users, tokens := tx.Bucket(bucketServiceUsers), tx.Bucket(bucketTokens)
	k := key(e.Tenant, e.Aggregate.ID)
	var u ServiceUser
	if _, err := getValue(users, k, &u); err != nil {
		return err
	}
	revoke := func(hashes map[string]bool) error {
		c := tokens.Cursor()
		for hk, v := c.First(); hk != nil; hk, v = c.Next() {
			if !hashes[string(hk)] {
				continue
			}
			var g TokenGrant
			if err := unmarshal(v, &g); err != nil {
				return err
			}
			g.Revoked = true
			if err := putValue(tokens, append([]byte(nil), hk...), &g); err != nil {
				return err
			}
		}
		return nil
	}
	switch d := e.Data.(type) {
	case *domain.ServiceUserCreated:
		u = ServiceUser{ID: e.Aggregate.ID, Name: d.Name, Role: d.Role, CreatedAt: e.OccurredAt}
	case *domain.ServiceUserRoleChanged:
		u.Role = d.Role
	case *domain.ServiceUserTokenIssued:
		u.Tokens = append(u.Tokens, TokenMetadata{ID: d.TokenID, CreatedAt: e.OccurredAt, ExpiresAt: d.ExpiresAt})
		if err := putValue(tokens, d.Hash, &TokenGrant{Tenant: e.Tenant, ServiceUserID: e.Aggregate.ID,
			TokenID: d.TokenID, ExpiresAt: d.ExpiresAt}); err != nil {
			return err
		}
		if err := putValue(tx.Bucket(bucketTokenHashes), key(e.Tenant, e.Aggregate.ID, d.TokenID), d.Hash); err != nil {
			return err
		}
	case *domain.ServiceUserTokenRevoked:
		for i := range u.Tokens {
			if u.Tokens[i].ID == d.TokenID {
				u.Tokens[i].Revoked = true
			}
		}
		if err := revoke(map[string]bool{string(tokenHash(tx, e.Tenant, e.Aggregate.ID, d.TokenID)): true}); err != nil {
			return err
		}
	case *domain.ServiceUserDeleted:
		u.Deleted = true
		hashes := map[string]bool{}
		for i := range u.Tokens {
			u.Tokens[i].Revoked = true
			hashes[string(tokenHash(tx, e.Tenant, e.Aggregate.ID, u.Tokens[i].ID))] = true
		}
		if err := revoke(hashes); err != nil {
			return err
		}
	default:
		return nil
	}
	u.UpdatedAt = e.OccurredAt
	u.Version = e.Sequence
	return putRecord(tx, bucketServiceUsers, k, e, &u)
}

// bucketTokenHashes finds a token's hash from its id, for revocation.
var bucketTokenHashes = []byte("token_hashes") // tenant,service user,token id → hash

func tokenHash(tx *vtx, tenant, userID, tokenID string) []byte {
	var h []byte
	_, _ = getValue(tx.Bucket(bucketTokenHashes), key(tenant, userID, tokenID), &h)
	return h
}

// TokenGrant looks a token up by its hash.
func (db *DB) TokenGrant(hash []byte) (TokenGrant, bool, error) {
	var g TokenGrant
	var found bool
	err := db.view(func(tx *vtx) error {
		var err error
		found, err = getValue(tx.Bucket(bucketTokens), hash, &g)
		return err
	})
	return g, found, err
}

// ServiceUser returns one live service user of a tenant.
func (db *DB) ServiceUser(tenant, id string) (ServiceUser, bool, error) {
	var u ServiceUser
	var found bool
	err := db.view(func(tx *vtx) error {
		var err error
		found, err = getValue(tx.Bucket(bucketServiceUsers), key(tenant, id), &u)
		return err
	})
	if u.Deleted {
		return ServiceUser{}, false, err
	}
	return u, found, err
}

// ServiceUsers returns one page of a tenant's live service users by name.
func (db *DB) ServiceUsers(tenant string, page domain.Page) ([]ServiceUser, int, error) {
	var all []ServiceUser
	err := db.view(func(tx *vtx) error {
		prefix := append([]byte(tenant), 0)
		c := tx.Bucket(bucketServiceUsers).Cursor()
		for k, v := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, v = c.Next() {
			var u ServiceUser
			if err := unmarshal(v, &u); err != nil {
				return err
			}
			if !u.Deleted {
				all = append(all, u)
			}
		}
		return nil
	})
	lo, hi := page.Bounds(len(all))
	return all[lo:hi], len(all), err
}
