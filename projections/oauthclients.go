package projections

import (
	"time"

	"github.com/portcullis/portcullis/domain"
)

var (
	bucketOAuthClients   = []byte("oauth_clients")    // tenant,id → OAuthClient
	bucketOAuthClientIDs = []byte("oauth_client_ids") // id → tenant: the token endpoint knows only the id
)

// OAuthClient is the read model of an OAuth2 client. SecretHash stays in the
// read model for the token endpoint and is never rendered.
type OAuthClient struct {
	ID         string    `msgpack:"id"`
	Name       string    `msgpack:"name"`
	Role       string    `msgpack:"role"`
	Scopes     []string  `msgpack:"scopes"`
	SecretHash []byte    `msgpack:"secret_hash"`
	CreatedAt  time.Time `msgpack:"created_at"`
	UpdatedAt  time.Time `msgpack:"updated_at"`
	Deleted    bool      `msgpack:"deleted,omitempty"`
	Version    uint64    `msgpack:"version"`
}

type oauthClientsProjection struct{}

func (oauthClientsProjection) apply(tx *vtx, e domain.Event) error {
	if e.Aggregate.Type != domain.AggregateOAuthClient {
		return nil
	}
	k := key(e.Tenant, e.Aggregate.ID)
	var c OAuthClient
	if _, err := getValue(tx.Bucket(bucketOAuthClients), k, &c); err != nil {
		return err
	}
	switch d := e.Data.(type) {
	case *domain.OAuthClientCreated:
		c = OAuthClient{ID: e.Aggregate.ID, Name: d.Name, Role: d.Role, Scopes: d.Scopes,
			SecretHash: d.SecretHash, CreatedAt: e.OccurredAt}
		if err := tx.Bucket(bucketOAuthClientIDs).Put([]byte(e.Aggregate.ID), []byte(e.Tenant)); err != nil {
			return err
		}
	case *domain.OAuthClientDeleted:
		c.Deleted = true
	default:
		return nil
	}
	c.UpdatedAt, c.Version = e.OccurredAt, e.Sequence
	// The history keeps the record without its secret's hash.
	public := c
	public.SecretHash = nil
	if err := putValue(tx.Bucket(bucketOAuthClients), k, &c); err != nil {
		return err
	}
	return putRecordHistory(tx, e, &public)
}

// OAuthClientByID finds a live client by id alone, with its tenant.
func (db *DB) OAuthClientByID(id string) (OAuthClient, string, bool, error) {
	var c OAuthClient
	var tenant string
	var found bool
	err := db.view(func(tx *vtx) error {
		t := tx.Bucket(bucketOAuthClientIDs).Get([]byte(id))
		if t == nil {
			return nil
		}
		tenant = string(t)
		var err error
		found, err = getValue(tx.Bucket(bucketOAuthClients), key(tenant, id), &c)
		return err
	})
	if c.Deleted {
		return OAuthClient{}, "", false, err
	}
	return c, tenant, found, err
}

// OAuthClients returns one page of a tenant's live clients.
func (db *DB) OAuthClients(tenant string, page domain.Page) ([]OAuthClient, int, error) {
	var all []OAuthClient
	err := db.view(func(tx *vtx) error {
		prefix := append([]byte(tenant), 0)
		c := tx.Bucket(bucketOAuthClients).Cursor()
		for k, v := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, v = c.Next() {
			var cl OAuthClient
			if err := unmarshal(v, &cl); err != nil {
				return err
			}
			if !cl.Deleted {
				all = append(all, cl)
			}
		}
		return nil
	})
	lo, hi := page.Bounds(len(all))
	return all[lo:hi], len(all), err
}
