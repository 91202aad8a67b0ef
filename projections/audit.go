package projections

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/vmihailenco/msgpack/v5"
	bolt "go.etcd.io/bbolt"

	"github.com/portcullis/portcullis/domain"
)

// The audit log: one entry per event of every face, kept per tenant in log
// order, with secondary indexes that let a filtered page seek straight to
// its entries. An entry says who (actor), through which face, when, on
// which record, what happened (the event type) and what changed, field by
// field, before → after. Secrets never enter it: fields that domain.SecretField
// names are dropped before anything is stored.
var (
	bucketAudit       = []byte("audit")        // tenant, be64 position → be64 time (unix ns) ‖ AuditEntry
	bucketAuditIndex  = []byte("audit_index")  // tenant, filter, value, be64 position → be64 time
	bucketAuditCounts = []byte("audit_counts") // tenant[, filter, value] → be64 count (no entity_id counts)
)

// The filters the audit log has an index for, by their query names.
const (
	AuditByActor      = "actor"
	AuditByEntityType = "entity_type"
	AuditByEntityID   = "entity_id"
	AuditByAction     = "action"
)

// AuditFilters lists the indexed filters.
var AuditFilters = []string{AuditByActor, AuditByEntityType, AuditByEntityID, AuditByAction}

// AuditEntry is one entry of the audit log.
type AuditEntry struct {
	Sequence   uint64        `msgpack:"seq"` // the stream position: the consistency token
	OccurredAt time.Time     `msgpack:"at"`
	Tenant     string        `msgpack:"tenant"`
	Actor      string        `msgpack:"actor"`
	Face       string        `msgpack:"face"`
	RequestID  string        `msgpack:"req"`
	EntityType string        `msgpack:"entity_type"`
	EntityID   string        `msgpack:"entity_id"`
	Action     string        `msgpack:"action"` // the event type
	Changes    []AuditChange `msgpack:"changes"`
}

// AuditChange is one changed field. Before and After are JSON values; nil
// means the field had no value (a creation's before, a deletion's after).
type AuditChange struct {
	Field  string `msgpack:"field"`
	Before []byte `msgpack:"before"`
	After  []byte `msgpack:"after"`
}

// indexValue is the value under which an entry is indexed by filter.
func (a *AuditEntry) indexValue(filter string) string {
	switch filter {
	case AuditByActor:
		return a.Actor
	case AuditByEntityType:
		return a.EntityType
	case AuditByEntityID:
		return a.EntityID
	default:
		return a.Action
	}
}

// auditProjection must run after every projection that writes history:
// it reads the version those wrote for the same event.
type auditProjection struct{}

func (auditProjection) apply(tx *bolt.Tx, e domain.Event) error {
	changes, err := auditChanges(tx, e)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	a := AuditEntry{Sequence: e.Sequence, OccurredAt: e.OccurredAt.UTC(), Tenant: e.Tenant, Actor: e.Actor,
		Face: e.Face, RequestID: e.RequestID, EntityType: e.Aggregate.Type,
		EntityID: e.Aggregate.ID, Action: e.Type, Changes: changes}
	data, err := msgpack.Marshal(&a)
	if err != nil {
		return err
	}
	at := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(data)), uint64(max(a.OccurredAt.UnixNano(), 0)))
	entries := tx.Bucket(bucketAudit)
	// A tenant's entries arrive in key order: full pages, not half-full
	// ones split for inserts that never come.
	entries.FillPercent = 0.95
	if err := entries.Put(seqKey([]byte(e.Tenant), e.Sequence), append(at, data...)); err != nil {
		return err
	}
	counts := tx.Bucket(bucketAuditCounts)
	if err := addUint(counts, []byte(e.Tenant), 1); err != nil {
		return err
	}
	idx := tx.Bucket(bucketAuditIndex)
	for _, f := range AuditFilters {
		k := key(e.Tenant, f, a.indexValue(f))
		if err := idx.Put(seqKey(k, e.Sequence), at[:8]); err != nil {
			return err
		}
		if f == AuditByEntityID {
			// Per-record counters would land all over the file; a record's
			// entries are few, so AuditCount counts them instead.
			continue
		}
		if err := addUint(counts, k, 1); err != nil {
			return err
		}
	}
	return nil
}

// bookkeeping are read-model fields that change with every event and say
// nothing an entry's own fields do not: left out of the changes.
var bookkeeping = []string{"version", "created_seq", "updated_at", "modified_at", "deleted"}

// auditChanges works out what an event changed. For a record with history
// it compares the record's version before the event (the newest below its
// position) with the version the event made; a deletion (<type>.deleted on
// an aggregate of that type) shows every field going away. For an event
// without a history version it shows the event's own fields, with their
// previous values when the record had history before.
func auditChanges(tx *bolt.Tx, e domain.Event) ([]AuditChange, error) {
	h := tx.Bucket(bucketHistory)
	prefix := key(e.Tenant, e.Aggregate.Type, e.Aggregate.ID)
	var before, after map[string]any
	var err error
	if v := h.Get(seqKey(prefix, e.Sequence)); v != nil {
		if after, err = versionFields(v); err != nil {
			return nil, err
		}
	}
	// The newest version below the event's position: Seek lands on the
	// first at or after it (or nothing), and the one before is older.
	c := h.Cursor()
	k, v := c.Seek(seqKey(prefix, e.Sequence))
	if k == nil {
		k, v = c.Last()
	} else {
		k, v = c.Prev()
	}
	if k != nil && hasPrefix(k, append(append([]byte{}, prefix...), 0)) {
		if before, err = versionFields(v); err != nil {
			return nil, err
		}
	}
	if e.Type == e.Aggregate.Type+".deleted" {
		after = nil
	} else if after == nil {
		// No version for this event: its payload is what changed.
		if after, err = fields(e.Data); err != nil {
			return nil, err
		}
		if before != nil {
			only := make(map[string]any, len(after))
			for f := range after {
				if v, ok := before[f]; ok {
					only[f] = v
				}
			}
			before = only
		}
	}
	return diff(before, after)
}

// versionFields decodes the record a history version holds.
func versionFields(v []byte) (map[string]any, error) {
	var ver Version
	if err := unmarshal(v, &ver); err != nil {
		return nil, err
	}
	var m map[string]any
	if err := msgpack.Unmarshal(ver.State, &m); err != nil {
		return nil, err
	}
	if m["deleted"] == true {
		return nil, nil
	}
	return m, nil
}

// fields decodes an event payload into its fields by their stored names.
func fields(d domain.EventData) (map[string]any, error) {
	b, err := msgpack.Marshal(d)
	if err != nil {
		return nil, err
	}
	m := map[string]any{}
	if err := msgpack.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// diff lists the fields whose JSON differs between two records, by name,
// without secrets and bookkeeping. A missing or empty field counts as no
// value, so a creation lists only the fields it set.
func diff(before, after map[string]any) ([]AuditChange, error) {
	names := make([]string, 0, len(before)+len(after))
	for f := range before {
		names = append(names, f)
	}
	for f := range after {
		if _, ok := before[f]; !ok {
			names = append(names, f)
		}
	}
	slices.Sort(names)
	var out []AuditChange
	for _, f := range names {
		if domain.SecretField(f) || slices.Contains(bookkeeping, f) {
			continue
		}
		b, err := auditJSON(before[f])
		if err != nil {
			return nil, err
		}
		a, err := auditJSON(after[f])
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(a, b) {
			out = append(out, AuditChange{Field: f, Before: b, After: a})
		}
	}
	return out, nil
}

// auditJSON renders a decoded value as JSON, with nested secrets dropped
// and times in UTC; an empty value is nil.
func auditJSON(v any) ([]byte, error) {
	v = redact(v)
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		if x == "" {
			return nil, nil
		}
	case time.Time:
		if x.IsZero() {
			return nil, nil
		}
	case []any:
		if len(x) == 0 {
			return nil, nil
		}
	case map[string]any:
		if len(x) == 0 {
			return nil, nil
		}
	}
	return json.Marshal(v)
}

// redact returns v with every secret field of nested objects removed and
// times in UTC. encoding/json sorts map keys, so the rendering is stable.
func redact(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			if !domain.SecretField(k) {
				out[k] = redact(val)
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = redact(val)
		}
		return out
	case time.Time:
		return x.UTC()
	case []byte:
		// Raw bytes in a record are digests or keys: never shown.
		return nil
	default:
		return v
	}
}

// decodeAuditEntry decodes a stored entry (time prefix, then the entry).
func decodeAuditEntry(v []byte) (AuditEntry, error) {
	var a AuditEntry
	if len(v) < 8 {
		return a, fmt.Errorf("audit: short entry")
	}
	err := msgpack.Unmarshal(v[8:], &a)
	a.OccurredAt = a.OccurredAt.UTC()
	return a, err
}
