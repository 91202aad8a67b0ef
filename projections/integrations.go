package projections

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/portcullis/portcullis/domain"
)

var (
	bucketConnections          = []byte("integration_connections")            // tenant,id → Connection
	bucketConnectionsByCreated = []byte("integration_connections_by_created") // tenant,created seq → id
	bucketWebhooks             = []byte("webhooks")                           // tenant,id → nothing: the live webhook connections of every tenant
	keyWebhooksChanged         = []byte("webhooks_changed")                   // in meta: position of the last change to any webhook
)

// Connection is the read model of an integration connection. Secrets stay
// sealed here as in the log; only a holder of the data directory's key can
// open them, and no response ever shows them.
type Connection struct {
	ID                 string                      `msgpack:"id"`
	ApplicationID      string                      `msgpack:"application_id"`
	Name               string                      `msgpack:"name"`
	Settings           []domain.IntegrationSetting `msgpack:"settings"`
	Secrets            []domain.SealedSecret       `msgpack:"secrets,omitempty"`
	Previous           *domain.SealedSecret        `msgpack:"previous,omitempty"`
	PreviousValidUntil time.Time                   `msgpack:"previous_valid_until"`
	Status             string                      `msgpack:"status"`
	DisabledReason     string                      `msgpack:"disabled_reason,omitempty"`
	DisabledAt         time.Time                   `msgpack:"disabled_at"`
	Replays            []Replay                    `msgpack:"replays,omitempty"` // running replays
	CreatedAt          time.Time                   `msgpack:"created_at"`
	UpdatedAt          time.Time                   `msgpack:"updated_at"`
	Deleted            bool                        `msgpack:"deleted,omitempty"`
	CreatedSeq         uint64                      `msgpack:"created_seq"` // the connect event's position: a webhook delivers what comes after it
	Version            uint64                      `msgpack:"version"`
}

// Replay is a running replay of a webhook: events from From to To again.
type Replay struct {
	ID   string `msgpack:"id"`
	From uint64 `msgpack:"from"`
	To   uint64 `msgpack:"to"`
}

// Secret returns the sealed secret of a field, or nil.
func (c Connection) Secret(name string) *domain.SealedSecret {
	for i := range c.Secrets {
		if c.Secrets[i].Name == name {
			return &c.Secrets[i]
		}
	}
	return nil
}

// ConnectionOrderFields are the fields a list of connections sorts on.
var ConnectionOrderFields = []string{"created_at", "updated_at", "name", "application_id"}

// ConnectionFilter narrows a list of connections.
type ConnectionFilter struct {
	ApplicationID string
	Status        string
}

type connectionsProjection struct{}

func (connectionsProjection) apply(tx *vtx, e domain.Event) error {
	if e.Aggregate.Type != domain.AggregateIntegrationConnection {
		return nil
	}
	b := tx.Bucket(bucketConnections)
	k := key(e.Tenant, e.Aggregate.ID)
	var c Connection
	if _, ok := e.Data.(*domain.IntegrationConnected); !ok {
		if found, err := getValue(b, k, &c); err != nil || !found {
			return err
		}
	}
	switch d := e.Data.(type) {
	case *domain.IntegrationConnected:
		c = Connection{ID: e.Aggregate.ID, ApplicationID: d.ApplicationID, Name: d.Name, Settings: d.Settings,
			Secrets: d.Secrets, Status: domain.ConnectionActive, CreatedAt: e.OccurredAt, CreatedSeq: e.Sequence}
		if err := tx.Bucket(bucketConnectionsByCreated).Put(seqKey([]byte(e.Tenant), e.Sequence), []byte(c.ID)); err != nil {
			return err
		}
		if err := addUint(tx.Bucket(bucketCounts), key(e.Tenant, "integration_connections"), 1); err != nil {
			return err
		}
		if c.ApplicationID == domain.AppWebhook {
			if err := tx.Bucket(bucketWebhooks).Put(k, nil); err != nil {
				return err
			}
		}
	case *domain.IntegrationDisconnected:
		c.Deleted = true
		if err := tx.Bucket(bucketConnectionsByCreated).Delete(seqKey([]byte(e.Tenant), c.CreatedSeq)); err != nil {
			return err
		}
		if err := addUint(tx.Bucket(bucketCounts), key(e.Tenant, "integration_connections"), -1); err != nil {
			return err
		}
		if err := tx.Bucket(bucketWebhooks).Delete(k); err != nil {
			return err
		}
	case *domain.IntegrationWebhookSecretRotated:
		if cur := c.Secret(domain.WebhookSecretField); cur != nil {
			prev := *cur
			c.Previous = &prev
		}
		c.PreviousValidUntil = d.PreviousValidUntil
		for i := range c.Secrets {
			if c.Secrets[i].Name == d.Secret.Name {
				c.Secrets[i] = d.Secret
			}
		}
	case *domain.IntegrationWebhookDisabled:
		c.Status, c.DisabledReason, c.DisabledAt = domain.ConnectionDisabled, d.Reason, e.OccurredAt
	case *domain.IntegrationWebhookEnabled:
		c.Status, c.DisabledReason, c.DisabledAt = domain.ConnectionActive, "", time.Time{}
	case *domain.IntegrationWebhookReplayRequested:
		c.Replays = append(c.Replays, Replay{ID: d.ReplayID, From: d.From, To: d.To})
	case *domain.IntegrationWebhookReplayCompleted:
		c.Replays = slices.DeleteFunc(c.Replays, func(r Replay) bool { return r.ID == d.ReplayID })
	default:
		return nil
	}
	c.UpdatedAt = e.OccurredAt
	c.Version = e.Sequence
	if c.ApplicationID == domain.AppWebhook {
		if err := putUint(tx.Bucket(bucketMeta), keyWebhooksChanged, e.Sequence); err != nil {
			return err
		}
	}
	data, err := marshal(&c)
	if err != nil {
		return err
	}
	if err := b.Put(k, data); err != nil {
		return err
	}
	return putVersion(tx, e, data)
}

// Connection returns one live connection of a tenant.
func (db *DB) Connection(tenant, id string) (Connection, bool, error) {
	var c Connection
	var found bool
	err := db.view(func(tx *vtx) error {
		var err error
		found, err = getValue(tx.Bucket(bucketConnections), key(tenant, id), &c)
		return err
	})
	if c.Deleted {
		return Connection{}, false, err
	}
	return c, found, err
}

// Connections returns one page of a tenant's live connections and how many
// match.
func (db *DB) Connections(tenant string, f ConnectionFilter, order []domain.Order, page domain.Page) ([]Connection, int, error) {
	var out []Connection
	var total int
	err := db.view(func(tx *vtx) error {
		recs := tx.Bucket(bucketConnections)
		if f == (ConnectionFilter{}) && (len(order) == 0 || (len(order) == 1 && order[0].Field == "created_at")) {
			desc := len(order) == 1 && order[0].Desc
			total = int(getUint(tx.Bucket(bucketCounts), key(tenant, "integration_connections")))
			var err error
			out, err = walkIndex(tx.Bucket(bucketConnectionsByCreated), []byte(tenant), desc, page, func(id []byte) (Connection, error) {
				var c Connection
				_, err := getValue(recs, key(tenant, string(id)), &c)
				return c, err
			})
			return err
		}
		var all []Connection
		prefix := append([]byte(tenant), 0)
		c := recs.Cursor()
		for k, v := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, v = c.Next() {
			var cn Connection
			if err := unmarshal(v, &cn); err != nil {
				return err
			}
			if cn.Deleted || (f.ApplicationID != "" && cn.ApplicationID != f.ApplicationID) || (f.Status != "" && cn.Status != f.Status) {
				continue
			}
			all = append(all, cn)
		}
		sortConnections(all, order)
		total = len(all)
		lo, hi := page.Bounds(len(all))
		out = all[lo:hi]
		return nil
	})
	return out, total, err
}

func sortConnections(all []Connection, order []domain.Order) {
	if len(order) == 0 {
		order = []domain.Order{{Field: "created_at"}}
	}
	slices.SortStableFunc(all, func(a, b Connection) int {
		for _, o := range order {
			var c int
			switch o.Field {
			case "created_at":
				c = cmp.Compare(a.CreatedSeq, b.CreatedSeq)
			case "updated_at":
				c = a.UpdatedAt.Compare(b.UpdatedAt)
			case "name":
				c = cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
			case "application_id":
				c = cmp.Compare(a.ApplicationID, b.ApplicationID)
			}
			if o.Desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return cmp.Compare(a.CreatedSeq, b.CreatedSeq)
	})
}

// TenantConnection is a connection with the tenant it belongs to.
type TenantConnection struct {
	Tenant string
	Connection
}

// Webhooks returns every live webhook connection of every tenant, for the
// deliverer, and the position of the last change to any of them: while it
// stays the same, the list does too.
func (db *DB) Webhooks() ([]TenantConnection, uint64, error) {
	var out []TenantConnection
	var changed uint64
	err := db.view(func(tx *vtx) error {
		changed = getUint(tx.Bucket(bucketMeta), keyWebhooksChanged)
		recs := tx.Bucket(bucketConnections)
		return tx.Bucket(bucketWebhooks).ForEach(func(k, _ []byte) error {
			var c Connection
			if _, err := getValue(recs, k, &c); err != nil {
				return err
			}
			tenant, _, _ := strings.Cut(string(k), "\x00")
			out = append(out, TenantConnection{Tenant: tenant, Connection: c})
			return nil
		})
	})
	return out, changed, err
}

// WebhooksChanged is the position of the last change to any webhook
// connection: a cheap check whether Webhooks would answer differently.
func (db *DB) WebhooksChanged() (uint64, error) {
	var changed uint64
	err := db.view(func(tx *vtx) error {
		changed = getUint(tx.Bucket(bucketMeta), keyWebhooksChanged)
		return nil
	})
	return changed, err
}
