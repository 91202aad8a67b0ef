package projections

import (
	"encoding/binary"

	"github.com/portcullis/portcullis/domain"
)

// Time travel: reading records as they stood at a past position, from the
// history every versioned read model already keeps (putRecord), without
// replaying anything.
//
//   - One record as of position S: its newest history version at or below S.
//   - Which records lived at S: every record has lives (from its first
//     version to a version made by "<type>.deleted"), indexed by tenant,
//     type and the position the life began, with the position it ended.
//     A list as of S walks the lives that began at or below S, skips those
//     that ended at or below S, and reads each survivor's version as of S.
//   - How many lived at S: a count per tenant and type, written at every
//     position where it changed; the count as of S is one seek.
//
// A resource gets all three by keeping history with putRecord and naming
// its deletion event "<aggregate type>.deleted"; its list code then filters
// and sorts the records LiveAsOf yields exactly as it does live ones.
var (
	bucketLives     = []byte("asof_lives")      // tenant, type, be64 begun → be64 ended (0 = alive) ‖ id
	bucketLifeOf    = []byte("asof_life_of")    // tenant, type, id → be64 position its latest life began
	bucketLiveCount = []byte("asof_live_count") // tenant, type, be64 position → be64 records alive after it
)

// trackLife records where a record's lives begin and end; putVersion calls
// it for every version, so every versioned read model is covered.
func trackLife(tx *vtx, e domain.Event) error {
	lives, lifeOf := tx.Bucket(bucketLives), tx.Bucket(bucketLifeOf)
	typeKey := key(e.Tenant, e.Aggregate.Type)
	idKey := key(e.Tenant, e.Aggregate.Type, e.Aggregate.ID)
	begun := getUint(lifeOf, idKey)
	alive := false
	if begun != 0 {
		v := lives.Get(seqKey(typeKey, begun))
		alive = len(v) >= 8 && binary.BigEndian.Uint64(v[:8]) == 0
	}
	ends := e.Type == e.Aggregate.Type+".deleted"
	var delta int64
	switch {
	case ends && alive:
		v := binary.BigEndian.AppendUint64(nil, e.Sequence)
		if err := lives.Put(seqKey(typeKey, begun), append(v, e.Aggregate.ID...)); err != nil {
			return err
		}
		delta = -1
	case !ends && !alive:
		if err := lives.Put(seqKey(typeKey, e.Sequence), append(make([]byte, 8), e.Aggregate.ID...)); err != nil {
			return err
		}
		if err := putUint(lifeOf, idKey, e.Sequence); err != nil {
			return err
		}
		delta = 1
	default:
		return nil
	}
	counts := tx.Bucket(bucketLiveCount)
	n := int64(liveCountAt(counts, typeKey, e.Sequence)) + delta
	return putUint(counts, seqKey(typeKey, e.Sequence), uint64(max(n, 0)))
}

// liveCountAt is the count at or below position seq under a type's prefix.
func liveCountAt(counts *vbucket, typeKey []byte, seq uint64) uint64 {
	_, v, ok := seekAtOrBelow(counts.Cursor(), typeKey, seq)
	if !ok || len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

// seekAtOrBelow finds the entry with the highest position ≤ seq among keys
// prefix, 0, be64 position, and leaves the cursor on it.
func seekAtOrBelow(c *vcursor, prefix []byte, seq uint64) (uint64, []byte, bool) {
	k, v := lastAtOrBelow(c, prefix, seq)
	p := append(append([]byte{}, prefix...), 0)
	if k == nil || !hasPrefix(k, p) || len(k) != len(p)+8 {
		return 0, nil, false
	}
	return binary.BigEndian.Uint64(k[len(p):]), v, true
}

// lastAtOrBelow moves the cursor to the last key ≤ prefix, 0, be64 seq,
// whatever its prefix; the caller checks it.
func lastAtOrBelow(c *vcursor, prefix []byte, seq uint64) ([]byte, []byte) {
	var k []byte
	if seq == ^uint64(0) {
		k, _ = c.Seek(append(append([]byte{}, prefix...), 1))
	} else {
		k, _ = c.Seek(seqKey(prefix, seq+1))
	}
	if k == nil {
		return c.Last()
	}
	return c.Prev()
}

// versionAsOf is a record's newest version at or below position seq; ok is
// false when it had none or its newest one deleted it.
func versionAsOf(tx *vtx, tenant string, ref domain.Ref, seq uint64) (Version, bool, error) {
	at, _, found := seekAtOrBelow(tx.Bucket(bucketHistoryIndex).Cursor(), key(tenant, ref.Type, ref.ID), seq)
	if !found {
		return Version{}, false, nil
	}
	ver, err := versionAt(tx, at)
	if err != nil {
		return Version{}, false, err
	}
	return ver, ver.EventType != ref.Type+".deleted", nil
}

// VersionAsOf is one record as it stood at position seq: its newest
// version at or below it, unless that version deleted it.
func (db *DB) VersionAsOf(tenant string, ref domain.Ref, seq uint64) (Version, bool, error) {
	var ver Version
	var ok bool
	err := db.view(func(tx *vtx) error {
		var err error
		ver, ok, err = versionAsOf(tx, tenant, ref, seq)
		return err
	})
	return ver, ok, err
}

// CountAsOf is how many records of a type a tenant had at position seq.
func (db *DB) CountAsOf(tenant, aggType string, seq uint64) (int, error) {
	var n uint64
	err := db.view(func(tx *vtx) error {
		n = liveCountAt(tx.Bucket(bucketLiveCount), key(tenant, aggType), seq)
		return nil
	})
	return int(n), err
}

// LiveAsOf calls fn with every record of a type that lived at position
// seq, as it stood then, in the order the records began (newest first with
// desc), until fn returns false.
func (db *DB) LiveAsOf(tenant, aggType string, seq uint64, desc bool, fn func(v Version) (bool, error)) error {
	return db.view(func(tx *vtx) error {
		return liveAsOf(tx, tenant, aggType, seq, desc, fn)
	})
}

func liveAsOf(tx *vtx, tenant, aggType string, seq uint64, desc bool, fn func(v Version) (bool, error)) error {
	typeKey := key(tenant, aggType)
	p := append(append([]byte{}, typeKey...), 0)
	c := tx.Bucket(bucketLives).Cursor()
	var k, v []byte
	next := c.Next
	if desc {
		k, v = lastAtOrBelow(c, typeKey, seq)
		next = c.Prev
	} else {
		k, v = c.Seek(p)
	}
	for ; k != nil && hasPrefix(k, p) && len(k) == len(p)+8 && len(v) >= 8; k, v = next() {
		if binary.BigEndian.Uint64(k[len(p):]) > seq {
			if desc {
				continue
			}
			return nil
		}
		if ended := binary.BigEndian.Uint64(v[:8]); ended != 0 && ended <= seq {
			continue
		}
		ver, ok, err := versionAsOf(tx, tenant, domain.Ref{Type: aggType, ID: string(v[8:])}, seq)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		more, err := fn(ver)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// RecordAsOf decodes one record of read model T as it stood at position
// seq; ok is false when it did not exist then. Any versioned read model can
// answer a single-record as_of with it.
func RecordAsOf[T any](db *DB, tenant string, ref domain.Ref, seq uint64) (T, bool, error) {
	var rec T
	ver, ok, err := db.VersionAsOf(tenant, ref, seq)
	if err != nil || !ok {
		return rec, false, err
	}
	return rec, true, ver.DecodeState(&rec)
}
