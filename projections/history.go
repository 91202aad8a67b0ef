package projections

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/portcullis/portcullis/domain"
)

// History is kept once per event, keyed by its position, so that versions
// are appended to the end of the bucket (full pages, one dirty leaf at the
// tail per transaction) instead of inserted next to each record's older
// versions all over the tree. A record's versions are found through a
// small index entry per version, keyed by record and position.
var (
	bucketHistory      = []byte("history")       // be64 position → Version
	bucketHistoryIndex = []byte("history_index") // tenant, type, id, be64 position → nil
)

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
func putVersion(tx *vtx, e domain.Event, state msgpack.RawMessage) error {
	h := tx.Bucket(bucketHistory)
	// Positions only grow: fill the pages instead of splitting them half
	// full for inserts that never come.
	h.setFillPercent(0.95)
	if err := putValue(h, historyKey(e.Sequence), &Version{
		Sequence: e.Sequence, EventType: e.Type, Actor: e.Actor, RequestID: e.RequestID,
		OccurredAt: e.OccurredAt, State: state,
	}); err != nil {
		return err
	}
	if err := tx.Bucket(bucketHistoryIndex).Put(seqKey(key(e.Tenant, e.Aggregate.Type, e.Aggregate.ID), e.Sequence), nil); err != nil {
		return err
	}
	tx.state, tx.stateSeq = state, e.Sequence
	return trackLife(tx, e)
}

// historyKey is the key of the version event seq made.
func historyKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(make([]byte, 0, 8), seq) }

// versionAt decodes the version event seq made.
func versionAt(tx *vtx, seq uint64) (Version, error) {
	var ver Version
	v := tx.Bucket(bucketHistory).Get(historyKey(seq))
	if v == nil {
		return ver, fmt.Errorf("projections: history: no version at %d", seq)
	}
	return ver, unmarshal(v, &ver)
}

// versionsAfter calls fn with the versions of one record made after
// position from up to position to, oldest first.
func versionsAfter(tx *vtx, tenant string, ref domain.Ref, from, to uint64, fn func(Version) error) error {
	prefix := append(key(tenant, ref.Type, ref.ID), 0)
	c := tx.Bucket(bucketHistoryIndex).Cursor()
	for k, _ := c.Seek(seqKey(key(tenant, ref.Type, ref.ID), from+1)); k != nil && hasPrefix(k, prefix) && len(k) == len(prefix)+8; k, _ = c.Next() {
		seq := binary.BigEndian.Uint64(k[len(prefix):])
		if seq > to {
			break
		}
		ver, err := versionAt(tx, seq)
		if err != nil {
			return err
		}
		if err := fn(ver); err != nil {
			return err
		}
	}
	return nil
}

// History returns a page of the versions of one record, oldest first, and
// how many there are in all.
func (db *DB) History(tenant string, ref domain.Ref, page domain.Page) ([]Version, int, error) {
	var out []Version
	total := 0
	prefix := append(key(tenant, ref.Type, ref.ID), 0)
	err := db.view(func(tx *vtx) error {
		c := tx.Bucket(bucketHistoryIndex).Cursor()
		skip := page.Offset()
		for k, _ := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, _ = c.Next() {
			if db.past && len(k) == len(prefix)+8 && binary.BigEndian.Uint64(k[len(prefix):]) > db.asOf {
				break // as of a position: the versions made up to it
			}
			total++
			if skip > 0 {
				skip--
				continue
			}
			if len(out) < page.Limit && len(k) == len(prefix)+8 {
				ver, err := versionAt(tx, binary.BigEndian.Uint64(k[len(prefix):]))
				if err != nil {
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
func putRecord(tx *vtx, bucket []byte, k []byte, e domain.Event, record any) error {
	data, err := marshal(record)
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
func putRecordHistory(tx *vtx, e domain.Event, record any) error {
	data, err := marshal(record)
	if err != nil {
		return err
	}
	return putVersion(tx, e, data)
}
