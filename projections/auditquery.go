package projections

import (
	"encoding/binary"
	"time"
)

// AuditGrace is how far past a `to` bound the audit log looks for entries
// stamped before it: an event is stamped when its command appends it, and
// one that took long to land can sit behind later-stamped ones. An append
// that takes longer than this (it would have failed long before) would be
// missed by a `to` filter near its time.
const AuditGrace = time.Minute

// AuditQuery selects entries of one tenant's audit log. Equality filters are
// by AuditFilters name; From and To bound the entries' time (inclusive, zero
// for none). After, when not zero, resumes past that position: above it in
// ascending order, below it in descending order. UpTo, when not zero, is
// the newest position considered, so that a long export does not chase the
// log's head.
type AuditQuery struct {
	Equal    map[string]string
	From, To time.Time
	Desc     bool
	After    uint64
	UpTo     uint64
}

// AuditEntries returns up to limit entries matching q after skipping skip
// matches, and whether more match beyond them. Each filter seeks its own
// index, and the indexes are intersected by leapfrogging: every step seeks,
// none scans, so a page costs the same at the start of a log of millions as
// at its end.
func (db *DB) AuditEntries(tenant string, q AuditQuery, skip, limit int) ([]AuditEntry, bool, error) {
	var out []AuditEntry
	more := false
	err := db.view(func(tx *vtx) error {
		entries := tx.Bucket(bucketAudit)
		return walkAudit(tx, tenant, q, func(seq uint64) (bool, error) {
			if skip > 0 {
				skip--
				return true, nil
			}
			if len(out) == limit {
				more = true
				return false, nil
			}
			a, err := decodeAuditEntry(entries.Get(seqKey([]byte(tenant), seq)))
			if err != nil {
				return false, err
			}
			out = append(out, a)
			return true, nil
		})
	})
	return out, more, err
}

// AuditCount is the number of entries that match q, when the read models
// know it without a scan: no filter, or one equality filter and no time
// bounds (a record's entries, few, are counted). ok is false otherwise.
func (db *DB) AuditCount(tenant string, q AuditQuery) (n int, ok bool, err error) {
	if !q.From.IsZero() || !q.To.IsZero() || len(q.Equal) > 1 || q.UpTo > 0 {
		return 0, false, nil
	}
	k := []byte(tenant)
	for f, v := range q.Equal {
		k = key(tenant, f, v)
		if f == AuditByEntityID {
			return db.countPostings(k)
		}
	}
	err = db.view(func(tx *vtx) error {
		n = int(getUint(tx.Bucket(bucketAuditCounts), k))
		return nil
	})
	return n, true, err
}

// auditCountLimit bounds counting a record's entries one by one; past it
// the count is unknown (a record with that many changes is rare).
const auditCountLimit = 10_000

// countPostings counts the entries of one index key, up to auditCountLimit.
func (db *DB) countPostings(k []byte) (n int, ok bool, err error) {
	p := append(append([]byte{}, k...), 0)
	err = db.view(func(tx *vtx) error {
		c := tx.Bucket(bucketAuditIndex).Cursor()
		for ik, _ := c.Seek(p); ik != nil && hasPrefix(ik, p) && n <= auditCountLimit; ik, _ = c.Next() {
			n++
		}
		return nil
	})
	return n, n <= auditCountLimit, err
}

// auditSource is one ordered set of positions: the tenant's entries, or one
// index key's postings. Keys are prefix, 0, be64 position.
type auditSource struct {
	c      *vcursor
	prefix []byte // with the trailing 0
}

// seek returns the first position ≥ seq (ascending) or ≤ seq (descending)
// in the source, and the time stamped on it.
func (s auditSource) seek(seq uint64, desc bool) (uint64, uint64, bool) {
	target := binary.BigEndian.AppendUint64(append([]byte{}, s.prefix...), seq)
	k, v := s.c.Seek(target)
	if desc && (k == nil || string(k) != string(target)) {
		if k == nil {
			k, v = s.c.Last()
		} else {
			k, v = s.c.Prev()
		}
	}
	if k == nil || len(k) != len(s.prefix)+8 || !hasPrefix(k, s.prefix) || len(v) < 8 {
		return 0, 0, false
	}
	return binary.BigEndian.Uint64(k[len(s.prefix):]), binary.BigEndian.Uint64(v[:8]), true
}

// walkAudit calls fn with the position of every entry matching q, in order,
// until fn returns false.
func walkAudit(tx *vtx, tenant string, q AuditQuery, fn func(seq uint64) (bool, error)) error {
	lo, hi := uint64(1), ^uint64(0)
	if !q.From.IsZero() {
		lo = firstPositionFrom(tx, q.From)
	}
	if !q.To.IsZero() {
		hi = positionAt(tx, q.To.Add(AuditGrace))
	}
	if q.UpTo > 0 {
		hi = min(hi, q.UpTo)
	}
	if q.After > 0 {
		if q.Desc {
			hi = min(hi, q.After-1)
		} else {
			lo = max(lo, q.After+1)
		}
	}
	if lo > hi || hi == 0 {
		return nil
	}
	var sources []auditSource
	if len(q.Equal) == 0 {
		sources = append(sources, auditSource{c: tx.Bucket(bucketAudit).Cursor(), prefix: append([]byte(tenant), 0)})
	}
	for _, f := range AuditFilters {
		if v, ok := q.Equal[f]; ok {
			sources = append(sources, auditSource{c: tx.Bucket(bucketAuditIndex).Cursor(),
				prefix: append(key(tenant, f, v), 0)})
		}
	}
	from, to := q.From.UnixNano(), q.To.UnixNano()
	target := lo
	if q.Desc {
		target = hi
	}
	for {
		// Leapfrog: move every source to the target; a source that lands
		// past it moves the target, and the round starts over. All agree
		// only on a position every source holds.
		var at uint64
		agreed := true
		for _, s := range sources {
			seq, t, ok := s.seek(target, q.Desc)
			if !ok || seq < lo || seq > hi {
				return nil
			}
			if seq != target {
				target, agreed = seq, false
				break
			}
			at = t
		}
		if !agreed {
			continue
		}
		inTime := (q.From.IsZero() || int64(at) >= from) && (q.To.IsZero() || int64(at) <= to)
		if inTime {
			more, err := fn(target)
			if err != nil || !more {
				return err
			}
		}
		if q.Desc {
			if target == lo {
				return nil
			}
			target--
		} else {
			if target == hi {
				return nil
			}
			target++
		}
	}
}
