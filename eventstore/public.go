package eventstore

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/portcullis/portcullis/domain"
)

// redactedKeys are the payload keys that never leave Portcullis in an
// event's public form: whatever names a secret, a hash of one or sealed
// material, in any event type, present or future.
var redactedKeys = []string{"secret", "hash", "sealed", "password", "nonce"}

func redacted(key string) bool {
	k := strings.ToLower(key)
	for _, r := range redactedKeys {
		if strings.Contains(k, r) {
			return true
		}
	}
	return false
}

// PublicEvent is the documented JSON form of an event (docs/events.md):
// the body of a webhook and the data of a live-feed message.
type PublicEvent struct {
	ID               string          `json:"id"`
	Type             string          `json:"type"`
	Version          int             `json:"version"`
	Timestamp        string          `json:"timestamp"`
	Tenant           string          `json:"tenant"`
	Aggregate        PublicAggregate `json:"aggregate"`
	Actor            string          `json:"actor"`
	RequestID        string          `json:"request_id,omitempty"`
	OccurredAt       string          `json:"occurred_at"`
	ConsistencyToken string          `json:"consistency_token"`
	Data             map[string]any  `json:"data"`
}

// PublicAggregate names the record an event changed.
type PublicAggregate struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// PublicJSON renders an event in its public form. The payload's field names
// are those of the log (snake_case); times are RFC 3339 in UTC, bytes
// base64; fields that name secrets, hashes or sealed material are left out.
func PublicJSON(e domain.Event) ([]byte, error) {
	data, err := PublicPayload(e.Data)
	if err != nil {
		return nil, err
	}
	at := e.OccurredAt.UTC().Format(time.RFC3339Nano)
	return json.Marshal(PublicEvent{ID: e.ID, Type: e.Type, Version: e.Version, Timestamp: at, Tenant: e.Tenant,
		Aggregate: PublicAggregate{Type: e.Aggregate.Type, ID: e.Aggregate.ID}, Actor: e.Actor, RequestID: e.RequestID,
		OccurredAt: at, ConsistencyToken: strconv.FormatUint(e.Sequence, 10), Data: data})
}

// PublicPayload renders a payload as JSON-ready values, without the
// fields PublicJSON leaves out.
func PublicPayload(d domain.EventData) (map[string]any, error) {
	b, err := msgpack.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("encode %s payload: %w", d.EventType(), err)
	}
	var v any
	if err := msgpack.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("decode %s payload: %w", d.EventType(), err)
	}
	m, ok := publicValue(v).(map[string]any)
	if !ok {
		m = map[string]any{}
	}
	return m, nil
}

func publicValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			if !redacted(k) {
				out[k] = publicValue(val)
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = publicValue(x[i])
		}
		return out
	case time.Time:
		if x.IsZero() {
			return nil
		}
		return x.UTC().Format(time.RFC3339Nano)
	case []byte:
		return base64.StdEncoding.EncodeToString(x)
	}
	return v
}

// PublicJSONOf renders the event stored in a message (b, at position seq)
// in its public form, as PublicJSON would, straight from the stored
// msgpack: the payload is walked once and written as JSON, without
// decoding it into its Go type and a map first. Webhooks render every
// delivery this way. A payload the walk does not know how to render (an
// extension type other than time, a map keyed by something other than
// strings) is rendered through PublicJSON instead.
func PublicJSONOf(b []byte, seq uint64) ([]byte, error) {
	e, payload, err := decodeEnvelope(b, seq)
	if err != nil {
		return nil, err
	}
	return publicJSON(e, payload, b)
}

// publicJSON renders envelope e (of the message stored) with its payload's
// msgpack.
func publicJSON(e domain.Event, payload, stored []byte) ([]byte, error) {
	out := make([]byte, 0, 256+2*len(payload))
	at := e.OccurredAt.UTC()
	out = append(out, `{"id":`...)
	out = appendJSONString(out, e.ID)
	out = append(out, `,"type":`...)
	out = appendJSONString(out, e.Type)
	out = append(out, `,"version":`...)
	out = strconv.AppendInt(out, int64(e.Version), 10)
	out = append(out, `,"timestamp":"`...)
	out = at.AppendFormat(out, time.RFC3339Nano)
	out = append(out, `","tenant":`...)
	out = appendJSONString(out, e.Tenant)
	out = append(out, `,"aggregate":{"type":`...)
	out = appendJSONString(out, e.Aggregate.Type)
	out = append(out, `,"id":`...)
	out = appendJSONString(out, e.Aggregate.ID)
	out = append(out, `},"actor":`...)
	out = appendJSONString(out, e.Actor)
	if e.RequestID != "" {
		out = append(out, `,"request_id":`...)
		out = appendJSONString(out, e.RequestID)
	}
	out = append(out, `,"occurred_at":"`...)
	out = at.AppendFormat(out, time.RFC3339Nano)
	out = append(out, `","consistency_token":"`...)
	out = strconv.AppendUint(out, e.Sequence, 10)
	out = append(out, `","data":`...)
	p := &mpWalk{b: payload}
	data, ok := p.value(out)
	if !ok || p.i != len(p.b) || data[len(out)] != '{' {
		full, err := Decode(stored, e.Sequence)
		if err != nil {
			return nil, err
		}
		return PublicJSON(full)
	}
	return append(data, '}'), nil
}

// mpWalk reads one msgpack value at a time from b and writes it as the
// JSON PublicPayload and encoding/json would give: map keys sorted, keys
// that name secrets left out at every depth, times in RFC 3339 UTC (the
// zero time as null), bytes in base64.
type mpWalk struct {
	b []byte
	i int
}

// value appends the next value to out; false when it cannot (the caller
// then renders the slow way).
func (p *mpWalk) value(out []byte) ([]byte, bool) {
	if p.i >= len(p.b) {
		return out, false
	}
	c := p.b[p.i]
	p.i++
	switch {
	case c <= 0x7f: // positive fixint
		return strconv.AppendInt(out, int64(c), 10), true
	case c >= 0xe0: // negative fixint
		return strconv.AppendInt(out, int64(int8(c)), 10), true
	case c >= 0x80 && c <= 0x8f:
		return p.mapBody(out, int(c&0x0f))
	case c >= 0x90 && c <= 0x9f:
		return p.arrayBody(out, int(c&0x0f))
	case c >= 0xa0 && c <= 0xbf:
		s, ok := p.take(int(c & 0x1f))
		return appendJSONString(out, string(s)), ok
	}
	switch c {
	case 0xc0:
		return append(out, "null"...), true
	case 0xc2:
		return append(out, "false"...), true
	case 0xc3:
		return append(out, "true"...), true
	case 0xd9, 0xda, 0xdb: // str 8/16/32
		n, ok := p.length(c - 0xd9)
		s, ok2 := p.take(n)
		return appendJSONString(out, string(s)), ok && ok2
	case 0xc4, 0xc5, 0xc6: // bin 8/16/32
		n, ok := p.length(c - 0xc4)
		s, ok2 := p.take(n)
		out = append(out, '"')
		out = base64.StdEncoding.AppendEncode(out, s)
		return append(out, '"'), ok && ok2
	case 0xdc, 0xdd: // array 16/32
		n, ok := p.length(c - 0xdc + 1)
		if !ok {
			return out, false
		}
		return p.arrayBody(out, n)
	case 0xde, 0xdf: // map 16/32
		n, ok := p.length(c - 0xde + 1)
		if !ok {
			return out, false
		}
		return p.mapBody(out, n)
	case 0xcc, 0xcd, 0xce, 0xcf: // uint 8/16/32/64
		v, ok := p.uint(1 << (c - 0xcc))
		return strconv.AppendUint(out, v, 10), ok
	case 0xd0, 0xd1, 0xd2, 0xd3: // int 8/16/32/64
		size := 1 << (c - 0xd0)
		v, ok := p.uint(size)
		shift := 64 - 8*size
		return strconv.AppendInt(out, int64(v<<shift)>>shift, 10), ok
	case 0xca: // float 32
		v, ok := p.uint(4)
		js, err := json.Marshal(math.Float32frombits(uint32(v)))
		return append(out, js...), ok && err == nil
	case 0xcb: // float 64
		v, ok := p.uint(8)
		js, err := json.Marshal(math.Float64frombits(v))
		return append(out, js...), ok && err == nil
	case 0xd6, 0xd7, 0xd8, 0xc7: // fixext 4/8/16, ext 8: a time
		n := 4 << (c - 0xd6) // fixext 4, 8, 16
		if c == 0xc7 {
			var ok bool
			if n, ok = p.length(0); !ok {
				return out, false
			}
		}
		typ, ok := p.take(1)
		body, ok2 := p.take(n)
		if !ok || !ok2 || int8(typ[0]) != -1 {
			return out, false
		}
		var t time.Time
		switch len(body) {
		case 4:
			t = time.Unix(int64(binary.BigEndian.Uint32(body)), 0)
		case 8:
			v := binary.BigEndian.Uint64(body)
			t = time.Unix(int64(v&0x3ffffffff), int64(v>>34))
		case 12:
			t = time.Unix(int64(binary.BigEndian.Uint64(body[4:])), int64(binary.BigEndian.Uint32(body)))
		default:
			return out, false
		}
		if t.IsZero() {
			return append(out, "null"...), true
		}
		out = append(out, '"')
		out = t.UTC().AppendFormat(out, time.RFC3339Nano)
		return append(out, '"'), true
	}
	return out, false
}

// length reads a big-endian length of 1, 2 or 4 bytes (size 0, 1, 2).
func (p *mpWalk) length(size byte) (int, bool) {
	v, ok := p.uint(1 << size)
	return int(v), ok && v <= uint64(len(p.b))
}

func (p *mpWalk) uint(size int) (uint64, bool) {
	s, ok := p.take(size)
	if !ok {
		return 0, false
	}
	var v uint64
	for _, x := range s {
		v = v<<8 | uint64(x)
	}
	return v, true
}

func (p *mpWalk) take(n int) ([]byte, bool) {
	if n < 0 || len(p.b)-p.i < n {
		return nil, false
	}
	s := p.b[p.i : p.i+n]
	p.i += n
	return s, true
}

func (p *mpWalk) arrayBody(out []byte, n int) ([]byte, bool) {
	out = append(out, '[')
	for j := range n {
		if j > 0 {
			out = append(out, ',')
		}
		var ok bool
		if out, ok = p.value(out); !ok {
			return out, false
		}
	}
	return append(out, ']'), true
}

// mapBody writes a map of n entries with its keys sorted, as
// encoding/json writes a map.
func (p *mpWalk) mapBody(out []byte, n int) ([]byte, bool) {
	type entry struct {
		key        string
		start, end int // the value's JSON in scratch
	}
	entries := make([]entry, 0, n)
	var scratch []byte
	for range n {
		if p.i >= len(p.b) {
			return out, false
		}
		c := p.b[p.i]
		var k []byte
		var ok bool
		switch {
		case c >= 0xa0 && c <= 0xbf:
			p.i++
			k, ok = p.take(int(c & 0x1f))
		case c >= 0xd9 && c <= 0xdb:
			p.i++
			var l int
			if l, ok = p.length(c - 0xd9); ok {
				k, ok = p.take(l)
			}
		}
		if !ok {
			return out, false // a key that is not a string
		}
		start := len(scratch)
		if scratch, ok = p.value(scratch); !ok {
			return out, false
		}
		if key := string(k); !redacted(key) {
			entries = append(entries, entry{key, start, len(scratch)})
		}
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.key, b.key) })
	out = append(out, '{')
	for j, e := range entries {
		if j > 0 {
			out = append(out, ',')
		}
		out = appendJSONString(out, e.key)
		out = append(out, ':')
		out = append(out, scratch[e.start:e.end]...)
	}
	return append(out, '}'), true
}

// appendJSONString writes s as encoding/json does: quoted, with <, > and &
// escaped for HTML, invalid UTF-8 replaced and U+2028/U+2029 escaped.
func appendJSONString(out []byte, s string) []byte {
	const hex = "0123456789abcdef"
	out = append(out, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			out = append(out, s[start:i]...)
			switch c {
			case '"', '\\':
				out = append(out, '\\', c)
			case '\b':
				out = append(out, '\\', 'b')
			case '\f':
				out = append(out, '\\', 'f')
			case '\n':
				out = append(out, '\\', 'n')
			case '\r':
				out = append(out, '\\', 'r')
			case '\t':
				out = append(out, '\\', 't')
			default:
				out = append(out, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			out = append(out, s[start:i]...)
			out = append(out, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			out = append(out, s[start:i]...)
			out = append(out, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	out = append(out, s[start:]...)
	return append(out, '"')
}
