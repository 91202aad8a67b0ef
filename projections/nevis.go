package projections

import (
	"slices"
	"time"

	"github.com/portcullis/portcullis/domain"
)

// The nevisIDM read models: a person's dispatch targets and FIDO UAF
// credentials, each in creation order for continuation tokens, and the
// tenant's dispatch-target history. They follow the nevis_user aggregates
// (see domain.AggregateNevisUser), whose id is the individual's id.
var (
	bucketNevisUsers                  = []byte("nevis_users")                           // tenant,user id → nevisUser
	bucketDispatchTargets             = []byte("nevis_dispatch_targets")                // tenant,user id,ext id → DispatchTarget
	bucketDispatchTargetsByCreated    = []byte("nevis_dispatch_targets_by_created")     // tenant,user id,created seq → ext id
	bucketFidoUafCredentials          = []byte("nevis_fido_uaf_credentials")            // tenant,user id,ext id → FidoUafCredential
	bucketFidoUafCredentialsByCreated = []byte("nevis_fido_uaf_credentials_by_created") // tenant,user id,created seq → ext id
	bucketDispatchTargetHistory       = []byte("nevis_dispatch_target_history")         // tenant,seq → DispatchTargetVersion
)

// nevisUser is what the read models keep about a person's nevis_user
// aggregate: the user's extId (it never changes) and the position of the
// aggregate's last event, which is the ETag of every record in it.
type nevisUser struct {
	ExtID   string `msgpack:"ext_id"`
	Version uint64 `msgpack:"version"`
}

// DispatchTarget is the read model of one dispatch target.
type DispatchTarget struct {
	UserID                      string `msgpack:"user_id"`
	UserExtID                   string `msgpack:"user_ext_id"`
	domain.DispatchTargetFields `msgpack:",inline"`
	AppAttestation              *domain.AppAttestation `msgpack:"app_attestation,omitempty"`
	// Version counts the changes after creation, as nevisIDM's entity
	// version does; Created and LastModified are the events' times.
	Version      int64     `msgpack:"version"`
	Created      time.Time `msgpack:"created"`
	LastModified time.Time `msgpack:"last_modified"`
	CreatedSeq   uint64    `msgpack:"created_seq"`
}

// FidoUafCredential is the read model of one FIDO UAF credential.
type FidoUafCredential struct {
	UserID                         string `msgpack:"user_id"`
	UserExtID                      string `msgpack:"user_ext_id"`
	domain.FidoUafCredentialFields `msgpack:",inline"`
	Version                        int64     `msgpack:"version"`
	Created                        time.Time `msgpack:"created"`
	LastModified                   time.Time `msgpack:"last_modified"`
	CreatedSeq                     uint64    `msgpack:"created_seq"`
}

// History operations, as nevisIDM's history names them.
const (
	OperationInsert = "i"
	OperationUpdate = "u"
	OperationDelete = "d"
)

// DispatchTargetVersion is one row of the dispatch-target history: the
// event that made it and the target as it stood afterwards (for a deletion,
// as it stood when it was deleted).
type DispatchTargetVersion struct {
	Sequence  uint64 `msgpack:"seq"`
	Operation string `msgpack:"op"`
	// VersionNumber is the target's Version after the event; a deletion
	// counts as one more version, so every row of a target has its own.
	VersionNumber int64          `msgpack:"version_number"`
	VersionDate   time.Time      `msgpack:"version_date"`
	TransactionID string         `msgpack:"transaction_id"` // the command id: a cascading delete shares one
	ModifiedBy    string         `msgpack:"modified_by"`
	Target        DispatchTarget `msgpack:"target"`
}

type nevisProjection struct{}

func (nevisProjection) apply(tx *vtx, e domain.Event) error {
	if e.Aggregate.Type != domain.AggregateNevisUser {
		return nil
	}
	users := tx.Bucket(bucketNevisUsers)
	uk := key(e.Tenant, e.Aggregate.ID)
	var u nevisUser
	found, err := getValue(users, uk, &u)
	if err != nil {
		return err
	}
	if !found {
		var ind Individual
		if _, err := getValue(tx.Bucket(bucketIndividuals), uk, &ind); err != nil {
			return err
		}
		u.ExtID = ind.ExtID
	}
	u.Version = e.Sequence
	if err := putValue(users, uk, &u); err != nil {
		return err
	}
	switch d := e.Data.(type) {
	case *domain.DispatchTargetCreated:
		t := DispatchTarget{UserID: e.Aggregate.ID, UserExtID: u.ExtID, DispatchTargetFields: d.DispatchTargetFields,
			AppAttestation: d.AppAttestation, Created: e.OccurredAt, LastModified: e.OccurredAt, CreatedSeq: e.Sequence}
		idx := seqKey(uk, e.Sequence)
		if err := tx.Bucket(bucketDispatchTargetsByCreated).Put(idx, []byte(t.ExtID)); err != nil {
			return err
		}
		return putTarget(tx, e, t, OperationInsert)
	case *domain.DispatchTargetUpdated:
		return changeTarget(tx, e, d.ExtID, func(t *DispatchTarget) {
			for _, f := range []struct {
				dst *string
				src *string
			}{{&t.DeviceID, d.DeviceID}, {&t.Target, d.Target}, {&t.Dispatcher, d.Dispatcher}, {&t.Name, d.Name},
				{&t.State, d.State}, {&t.EncryptionKey, d.EncryptionKey}, {&t.SigningKey, d.SigningKey}} {
				if f.src != nil {
					*f.dst = *f.src
				}
			}
		})
	case *domain.DispatchTargetAppAttestationAttached:
		a := d.AppAttestation
		return changeTarget(tx, e, d.ExtID, func(t *DispatchTarget) { t.AppAttestation = &a })
	case *domain.DispatchTargetAppAttestationDeleted:
		return changeTarget(tx, e, d.ExtID, func(t *DispatchTarget) { t.AppAttestation = nil })
	case *domain.DispatchTargetDeleted:
		k := key(e.Tenant, e.Aggregate.ID, d.ExtID)
		var t DispatchTarget
		if ok, err := getValue(tx.Bucket(bucketDispatchTargets), k, &t); err != nil || !ok {
			return err
		}
		if err := tx.Bucket(bucketDispatchTargets).Delete(k); err != nil {
			return err
		}
		if err := tx.Bucket(bucketDispatchTargetsByCreated).Delete(seqKey(uk, t.CreatedSeq)); err != nil {
			return err
		}
		t.Version++
		return putTargetVersion(tx, e, t, OperationDelete)
	case *domain.FidoUafCredentialCreated:
		c := FidoUafCredential{UserID: e.Aggregate.ID, UserExtID: u.ExtID, FidoUafCredentialFields: d.FidoUafCredentialFields,
			Created: e.OccurredAt, LastModified: e.OccurredAt, CreatedSeq: e.Sequence}
		if err := tx.Bucket(bucketFidoUafCredentialsByCreated).Put(seqKey(uk, e.Sequence), []byte(c.ExtID)); err != nil {
			return err
		}
		return putValue(tx.Bucket(bucketFidoUafCredentials), key(e.Tenant, e.Aggregate.ID, c.ExtID), &c)
	case *domain.FidoUafCredentialDispatchTargetRemoved:
		k := key(e.Tenant, e.Aggregate.ID, d.ExtID)
		var c FidoUafCredential
		if ok, err := getValue(tx.Bucket(bucketFidoUafCredentials), k, &c); err != nil || !ok {
			return err
		}
		c.DispatchTargetExtIDs = slices.DeleteFunc(c.DispatchTargetExtIDs, func(id string) bool { return id == d.DispatchTargetExtID })
		if len(c.DispatchTargetExtIDs) == 0 {
			c.DispatchTargetExtIDs = nil
		}
		c.Version++
		c.LastModified = e.OccurredAt
		return putValue(tx.Bucket(bucketFidoUafCredentials), k, &c)
	case *domain.FidoUafCredentialDeleted:
		k := key(e.Tenant, e.Aggregate.ID, d.ExtID)
		var c FidoUafCredential
		if ok, err := getValue(tx.Bucket(bucketFidoUafCredentials), k, &c); err != nil || !ok {
			return err
		}
		if err := tx.Bucket(bucketFidoUafCredentials).Delete(k); err != nil {
			return err
		}
		return tx.Bucket(bucketFidoUafCredentialsByCreated).Delete(seqKey(uk, c.CreatedSeq))
	}
	return nil
}

// changeTarget applies f to a stored dispatch target and counts the change
// in its version.
func changeTarget(tx *vtx, e domain.Event, extID string, f func(*DispatchTarget)) error {
	var t DispatchTarget
	ok, err := getValue(tx.Bucket(bucketDispatchTargets), key(e.Tenant, e.Aggregate.ID, extID), &t)
	if err != nil || !ok {
		return err
	}
	f(&t)
	t.Version++
	t.LastModified = e.OccurredAt
	return putTarget(tx, e, t, OperationUpdate)
}

// putTarget stores a dispatch target and its history row.
func putTarget(tx *vtx, e domain.Event, t DispatchTarget, op string) error {
	if err := putValue(tx.Bucket(bucketDispatchTargets), key(e.Tenant, t.UserID, t.ExtID), &t); err != nil {
		return err
	}
	return putTargetVersion(tx, e, t, op)
}

func putTargetVersion(tx *vtx, e domain.Event, t DispatchTarget, op string) error {
	return putValue(tx.Bucket(bucketDispatchTargetHistory), seqKey([]byte(e.Tenant), e.Sequence), &DispatchTargetVersion{
		Sequence: e.Sequence, Operation: op, VersionNumber: t.Version, VersionDate: e.OccurredAt,
		TransactionID: e.CommandID, ModifiedBy: e.Actor, Target: t,
	})
}

// IndividualByExtID returns the live individual of tenant whose ext_id is
// extID: the nevisIDM face names a user by it.
func (db *DB) IndividualByExtID(tenant, extID string) (Individual, bool, error) {
	var id []byte
	err := db.view(func(tx *vtx) error {
		if v := tx.Bucket(bucketIndividualsByExtID).Get(key(tenant, extID)); v != nil {
			id = append([]byte(nil), v...)
		}
		return nil
	})
	if err != nil || id == nil {
		return Individual{}, false, err
	}
	return db.Individual(tenant, string(id))
}

// NevisUserVersion is the position of the last event on a person's
// authenticator records (0 when there is none): the ETag of each of them.
func (db *DB) NevisUserVersion(tenant, userID string) (uint64, error) {
	var u nevisUser
	err := db.view(func(tx *vtx) error {
		_, err := getValue(tx.Bucket(bucketNevisUsers), key(tenant, userID), &u)
		return err
	})
	return u.Version, err
}

// DispatchTarget returns one live dispatch target of a person.
func (db *DB) DispatchTarget(tenant, userID, extID string) (DispatchTarget, bool, error) {
	var t DispatchTarget
	var found bool
	err := db.view(func(tx *vtx) error {
		var err error
		found, err = getValue(tx.Bucket(bucketDispatchTargets), key(tenant, userID, extID), &t)
		return err
	})
	return t, found, err
}

// DispatchTargets returns up to limit of a person's dispatch targets in
// creation order, starting after the one created at position after (0 for
// the first), and whether more follow.
func (db *DB) DispatchTargets(tenant, userID string, after uint64, limit int) ([]DispatchTarget, bool, error) {
	return walkCreated[DispatchTarget](db, bucketDispatchTargetsByCreated, bucketDispatchTargets, tenant, userID, after, limit)
}

// FidoUafCredential returns one live FIDO UAF credential of a person.
func (db *DB) FidoUafCredential(tenant, userID, extID string) (FidoUafCredential, bool, error) {
	var c FidoUafCredential
	var found bool
	err := db.view(func(tx *vtx) error {
		var err error
		found, err = getValue(tx.Bucket(bucketFidoUafCredentials), key(tenant, userID, extID), &c)
		return err
	})
	return c, found, err
}

// FidoUafCredentials is DispatchTargets for FIDO UAF credentials.
func (db *DB) FidoUafCredentials(tenant, userID string, after uint64, limit int) ([]FidoUafCredential, bool, error) {
	return walkCreated[FidoUafCredential](db, bucketFidoUafCredentialsByCreated, bucketFidoUafCredentials, tenant, userID, after, limit)
}

// walkCreated reads a page of a person's records through a creation-order
// index whose values are the records' extIds.
func walkCreated[T any](db *DB, index, records []byte, tenant, userID string, after uint64, limit int) ([]T, bool, error) {
	var out []T
	more := false
	prefix := append(key(tenant, userID), 0)
	err := db.view(func(tx *vtx) error {
		recs := tx.Bucket(records)
		c := tx.Bucket(index).Cursor()
		for k, v := c.Seek(seqKey(key(tenant, userID), after+1)); k != nil && hasPrefix(k, prefix); k, v = c.Next() {
			if len(out) == limit {
				more = true
				return nil
			}
			var rec T
			if _, err := getValue(recs, key(tenant, userID, string(v)), &rec); err != nil {
				return err
			}
			out = append(out, rec)
		}
		return nil
	})
	return out, more, err
}

// DispatchTargetHistory returns up to limit rows of a tenant's
// dispatch-target history in log order, starting after position after, and
// whether more follow.
func (db *DB) DispatchTargetHistory(tenant string, after uint64, limit int) ([]DispatchTargetVersion, bool, error) {
	var out []DispatchTargetVersion
	more := false
	prefix := append([]byte(tenant), 0)
	err := db.view(func(tx *vtx) error {
		c := tx.Bucket(bucketDispatchTargetHistory).Cursor()
		for k, v := c.Seek(seqKey([]byte(tenant), after+1)); k != nil && hasPrefix(k, prefix); k, v = c.Next() {
			if len(out) == limit {
				more = true
				return nil
			}
			var row DispatchTargetVersion
			if err := unmarshal(v, &row); err != nil {
				return err
			}
			out = append(out, row)
		}
		return nil
	})
	return out, more, err
}
