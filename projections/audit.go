package projections

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vmihailenco/msgpack/v5"

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
//
// For the length of a transaction it holds back the counters (written once
// per transaction, in key order) and remembers the newest version of every
// record it saw, so that the next event on the same record finds its
// "before" without a lookup.
//
// The index entries are held back too and written in key order at the end.
// Each filter value's entries are appended at the end of its range, in the
// middle of the bucket: bbolt splits a leaf only at commit, so inserting a
// transaction's entries in log order shifts the growing leaf's tail once per
// entry, while in key order every insert lands after the one before it.
type auditProjection struct {
	counts map[string]uint64     // counter key → increment held back
	names  fieldNames            // the records' field names, interned
	latest map[string][]rawField // record key → fields of its newest version (nil: none, or deleted)
	index  []auditIndexEntry     // index entries held back
}

// auditIndexEntry is one index entry held back: its key and the entry's
// time.
type auditIndexEntry struct {
	key []byte
	at  [8]byte
}

func (p *auditProjection) begin() {
	clear(p.counts)
	clear(p.latest)
	p.index = p.index[:0]
	if p.counts == nil {
		p.counts, p.latest, p.names = map[string]uint64{}, map[string][]rawField{}, fieldNames{}
	}
}

func (p *auditProjection) flush(tx *vtx) error {
	slices.SortFunc(p.index, func(x, y auditIndexEntry) int { return bytes.Compare(x.key, y.key) })
	idx := tx.Bucket(bucketAuditIndex)
	for i := range p.index {
		if err := idx.Put(p.index[i].key, p.index[i].at[:]); err != nil {
			return err
		}
	}
	counts := tx.Bucket(bucketAuditCounts)
	keys := make([]string, 0, len(p.counts))
	for k := range p.counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if err := addUint(counts, []byte(k), int64(p.counts[k])); err != nil {
			return err
		}
	}
	return nil
}

func (p *auditProjection) apply(tx *vtx, e domain.Event) error {
	changes, err := p.changes(tx, e)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	a := AuditEntry{Sequence: e.Sequence, OccurredAt: e.OccurredAt.UTC(), Tenant: e.Tenant, Actor: e.Actor,
		Face: e.Face, RequestID: e.RequestID, EntityType: e.Aggregate.Type,
		EntityID: e.Aggregate.ID, Action: e.Type, Changes: changes}
	data, err := marshal(&a)
	if err != nil {
		return err
	}
	at := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(data)), uint64(max(a.OccurredAt.UnixNano(), 0)))
	entries := tx.Bucket(bucketAudit)
	// A tenant's entries arrive in key order: full pages, not half-full
	// ones split for inserts that never come.
	entries.setFillPercent(0.95)
	if err := entries.Put(seqKey([]byte(e.Tenant), e.Sequence), append(at, data...)); err != nil {
		return err
	}
	p.counts[e.Tenant]++
	for _, f := range AuditFilters {
		k := key(e.Tenant, f, a.indexValue(f))
		p.index = append(p.index, auditIndexEntry{key: seqKey(k, e.Sequence), at: [8]byte(at[:8])})
		if f == AuditByEntityID {
			// Per-record counters would land all over the file; a record's
			// entries are few, so AuditCount counts them instead.
			continue
		}
		p.counts[string(k)]++
	}
	return nil
}

// changes is auditChanges with the record's newest version taken from
// what this transaction already saw of it, when it saw it.
func (p *auditProjection) changes(tx *vtx, e domain.Event) ([]AuditChange, error) {
	rec := string(key(e.Tenant, e.Aggregate.Type, e.Aggregate.ID))
	before, seen := p.latest[rec]
	if !seen {
		var err error
		if before, err = versionBefore(tx, e, p.names); err != nil {
			return nil, err
		}
	}
	var after []rawField
	if tx.stateSeq == e.Sequence {
		// The version this event made, as putVersion encoded it (only it
		// writes the history, at most once per event).
		var err error
		if after, err = stateFields(tx.state, p.names); err != nil {
			return nil, err
		}
		p.latest[rec] = after
	} else if !seen {
		p.latest[rec] = before
	}
	return auditChanges(e, before, after, p.names)
}

// bookkeeping are read-model fields that change with every event and say
// nothing an entry's own fields do not: left out of the changes.
var bookkeeping = []string{"version", "created_seq", "updated_at", "modified_at", "deleted"}

// auditChanges works out what an event changed. For a record with history
// it compares the record's version before the event (the newest below its
// position) with the version the event made; a deletion (<type>.deleted on
// an aggregate of that type) shows every field going away. For an event
// without a history version it shows the event's own fields, with their
// previous values when the record had history before. before and after are
// the fields of those two versions (nil: none, or marked deleted).
//
// Records are compared field by field in their stored encoding: a field
// whose encoding did not change is left alone without being decoded, and
// only the fields that differ are decoded and rendered as JSON.
func auditChanges(e domain.Event, before, after []rawField, names fieldNames) ([]AuditChange, error) {
	if e.Type == e.Aggregate.Type+".deleted" {
		after = nil
	} else if after == nil {
		// No version for this event (or one that marks the record deleted):
		// its payload is what changed.
		data, err := marshal(e.Data)
		if err != nil {
			return nil, err
		}
		if after, err = rawFields(data, names); err != nil {
			return nil, err
		}
		if before != nil {
			only := before[:0:0]
			for _, f := range before {
				if _, ok := findField(after, f.name); ok {
					only = append(only, f)
				}
			}
			before = only
		}
	}
	return diff(before, after)
}

// versionBefore is the fields of a record's newest version below the
// event's position, nil when it had none or that one marks it deleted.
func versionBefore(tx *vtx, e domain.Event, names fieldNames) ([]rawField, error) {
	// Seek lands on the first at or after the position (or nothing), and
	// the one before is older.
	prefix := key(e.Tenant, e.Aggregate.Type, e.Aggregate.ID)
	at, _, ok := seekAtOrBelow(tx.Bucket(bucketHistoryIndex).Cursor(), prefix, e.Sequence-1)
	if !ok {
		return nil, nil
	}
	v := tx.Bucket(bucketHistory).Get(historyKey(at))
	if v == nil {
		return nil, fmt.Errorf("projections: history: no version at %d", at)
	}
	// The bytes bbolt returns may move with later writes: keep a copy.
	return versionFields(bytes.Clone(v), names)
}

// rawField is one field of an encoded record: its name and its value's
// msgpack encoding.
type rawField struct {
	name string
	raw  []byte
}

// rawFields splits an encoded record (a msgpack map with string keys) into
// its fields, sorted by name. The values alias b. names (may be nil)
// interns the field names.
func rawFields(b []byte, names fieldNames) ([]rawField, error) {
	if out, ok := walkFields(b, names); ok {
		return out, nil
	}
	return libraryFields(b)
}

// libraryFields is rawFields through the msgpack library's decoder.
func libraryFields(b []byte) ([]rawField, error) {
	r := bytes.NewReader(b)
	d := msgpack.GetDecoder()
	defer msgpack.PutDecoder(d)
	d.Reset(r)
	n, err := d.DecodeMapLen()
	if err != nil || n < 0 {
		return nil, err // a nil map has no fields
	}
	out := make([]rawField, 0, n)
	for range n {
		name, err := d.DecodeString()
		if err != nil {
			return nil, err
		}
		start := len(b) - r.Len()
		if err := d.Skip(); err != nil {
			return nil, err
		}
		out = append(out, rawField{name: name, raw: b[start : len(b)-r.Len()]})
	}
	slices.SortFunc(out, func(x, y rawField) int { return strings.Compare(x.name, y.name) })
	return out, nil
}

// findField is the encoding of field name among fields sorted by name.
func findField(fields []rawField, name string) ([]byte, bool) {
	i, ok := slices.BinarySearchFunc(fields, name, func(f rawField, n string) int { return strings.Compare(f.name, n) })
	if !ok {
		return nil, false
	}
	return fields[i].raw, true
}

// msgpackTrue is how msgpack encodes true.
const msgpackTrue = 0xc3

// versionFields splits the record a stored history version holds into its
// fields; a record marked deleted has none.
func versionFields(v []byte, names fieldNames) ([]rawField, error) {
	ver, err := rawFields(v, names)
	if err != nil {
		return nil, err
	}
	state, _ := findField(ver, "state")
	return stateFields(state, names)
}

// stateFields splits an encoded record into its fields; a record marked
// deleted, or none, has none.
func stateFields(state []byte, names fieldNames) ([]rawField, error) {
	if len(state) == 0 {
		return nil, nil
	}
	fields, err := rawFields(state, names)
	if err != nil {
		return nil, err
	}
	if d, ok := findField(fields, "deleted"); ok && len(d) == 1 && d[0] == msgpackTrue {
		return nil, nil
	}
	return fields, nil
}

// diff lists the fields whose JSON differs between two records, by name,
// without secrets and bookkeeping. A missing or empty field counts as no
// value, so a creation lists only the fields it set. Both lists are sorted
// by name.
func diff(before, after []rawField) ([]AuditChange, error) {
	var out []AuditChange
	i, j := 0, 0
	for i < len(before) || j < len(after) {
		var name string
		var b, a []byte
		switch {
		case j == len(after) || (i < len(before) && before[i].name < after[j].name):
			name, b = before[i].name, before[i].raw
			i++
		case i == len(before) || after[j].name < before[i].name:
			name, a = after[j].name, after[j].raw
			j++
		default:
			name, b, a = before[i].name, before[i].raw, after[j].raw
			i++
			j++
		}
		if domain.SecretField(name) || slices.Contains(bookkeeping, name) {
			continue
		}
		if b != nil && a != nil && bytes.Equal(a, b) {
			// The same encoding decodes to the same value.
			continue
		}
		bj, err := rawJSON(b)
		if err != nil {
			return nil, err
		}
		aj, err := rawJSON(a)
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(aj, bj) {
			out = append(out, AuditChange{Field: name, Before: bj, After: aj})
		}
	}
	return out, nil
}

// rawJSON renders one encoded field value as auditJSON does; no encoding
// is no value.
func rawJSON(raw []byte) ([]byte, error) {
	if raw == nil {
		return nil, nil
	}
	// The common kinds without going through a decoded interface value;
	// the rendering is what auditJSON makes of them.
	switch c := raw[0]; {
	case c == 0xc0: // nil
		return nil, nil
	case c == 0xc2:
		return []byte("false"), nil
	case c == msgpackTrue:
		return []byte("true"), nil
	case c >= 0xa0 && c <= 0xbf, c == 0xd9, c == 0xda, c == 0xdb: // strings
		if out, ok, err := stringJSON(raw); ok {
			return out, err
		}
		var s string
		if err := msgpack.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		if s == "" {
			return nil, nil
		}
		return json.Marshal(s)
	}
	var v any
	if err := msgpack.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	return auditJSON(v)
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
