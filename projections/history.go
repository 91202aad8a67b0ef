package projections

import (
	"time"

	"github.com/vmihailenco/msgpack/v5"
	bolt "go.etcd.io/bbolt"

	"github.com/portcullis/portcullis/domain"
)

var bucketHistory = []byte("history")

// Version is one entry of a record's history: the event that made it and the
// record as it stood afterwards.
type Version struct {
	Sequence   uint64             `msgpack:"seq"`
	EventType  string             `msgpack:"type"`
	Actor      string             `msgpack:"actor"`
	RequestID  string             `msgpack:"req"`
	OccurredAt time.Time          `msgpack:"at"`
	State      msgpack.RawMessage `msgpack:"state"` // the read model after the event
}

// putVersion records the state of a record after event e; state is the
// record's read model as already encoded for its own bucket.
func putVersion(tx *bolt.Tx, e domain.Event, state msgpack.RawMessage) error {
	k := seqKey(key(e.Tenant, e.Aggregate.Type, e.Aggregate.ID), e.Sequence)
	if err := putValue(tx.Bucket(bucketHistory), k, &Version{
		Sequence: e.Sequence, EventType: e.Type, Actor: e.Actor, RequestID: e.RequestID,
		OccurredAt: e.OccurredAt, State: state,
	}); err != nil {
		return err
	}
	return trackLife(tx, e)
}

// History returns a page of the versions of one record, oldest first, and
// how many there are in all.
func (db *DB) History(tenant string, ref domain.Ref, page domain.Page) ([]Version, int, error) {
	var out []Version
	total := 0
	prefix := append(key(tenant, ref.Type, ref.ID), 0)
	err := db.bolt.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketHistory).Cursor()
		skip := page.Offset()
		for k, v := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, v = c.Next() {
			total++
			if skip > 0 {
				skip--
				continue
			}
			if len(out) < page.Limit {
				var ver Version
				if err := unmarshal(v, &ver); err != nil {
					return err
				}
				out = append(out, ver)
			}
		}
		return nil
	})
	return out, total, err
}

// DecodeState decodes the record a version holds into v.
func (v Version) DecodeState(into any) error { return msgpack.Unmarshal(v.State, into) }

func unmarshal(b []byte, v any) error { return msgpack.Unmarshal(b, v) }

func hasPrefix(k, prefix []byte) bool {
	return len(k) >= len(prefix) && string(k[:len(prefix)]) == string(prefix)
}

// putRecord stores a record under k and, from the same encoding, its
// history entry after event e.
func putRecord(tx *bolt.Tx, bucket []byte, k []byte, e domain.Event, record any) error {
	data, err := msgpack.Marshal(record)
	if err != nil {
		return err
	}
	if err := tx.Bucket(bucket).Put(k, data); err != nil {
		return err
	}
	return putVersion(tx, e, data)
}

// putRecordHistory writes only the history entry of a record, for read
// models whose stored record differs from what history may show.
func putRecordHistory(tx *bolt.Tx, e domain.Event, record any) error {
	data, err := msgpack.Marshal(record)
	if err != nil {
		return err
	}
	return putVersion(tx, e, data)
}
