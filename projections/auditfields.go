package projections

import (
	"encoding/binary"
	"encoding/json"
	"slices"
	"strings"
)

// The audit diff reads every record version it compares field by field.
// Walking the msgpack encoding by hand (rather than through the library's
// decoder, which allocates a reader per record and a string per field
// name) matters because it runs for every event; anything it does not
// recognise goes to the library's walk, which stays the reference.

// msgpackLen is the length of the msgpack value at the start of b, or -1
// when b does not start with a complete value this walk knows.
func msgpackLen(b []byte) int {
	if len(b) == 0 {
		return -1
	}
	c := b[0]
	var head, body, items int // items: nested values that follow
	switch {
	case c <= 0x7f, c >= 0xe0, c == 0xc0, c == 0xc2, c == 0xc3:
		head = 1
	case c >= 0x80 && c <= 0x8f:
		head, items = 1, 2*int(c&0x0f)
	case c >= 0x90 && c <= 0x9f:
		head, items = 1, int(c&0x0f)
	case c >= 0xa0 && c <= 0xbf:
		head, body = 1, int(c&0x1f)
	default:
		n, ok := 0, true
		switch c {
		case 0xcc, 0xd0:
			head = 2
		case 0xcd, 0xd1:
			head = 3
		case 0xca, 0xce, 0xd2:
			head = 5
		case 0xcb, 0xcf, 0xd3:
			head = 9
		case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8: // fixext 1, 2, 4, 8, 16 and their type byte
			head = 2 + 1<<(c-0xd4)
		case 0xc4, 0xd9: // bin8, str8
			n, ok = sizeAt(b, 1)
			head, body = 2, n
		case 0xc5, 0xda:
			n, ok = sizeAt(b, 2)
			head, body = 3, n
		case 0xc6, 0xdb:
			n, ok = sizeAt(b, 4)
			head, body = 5, n
		case 0xc7: // ext8: size, type
			n, ok = sizeAt(b, 1)
			head, body = 3, n
		case 0xc8:
			n, ok = sizeAt(b, 2)
			head, body = 4, n
		case 0xc9:
			n, ok = sizeAt(b, 4)
			head, body = 6, n
		case 0xdc:
			n, ok = sizeAt(b, 2)
			head, items = 3, n
		case 0xdd:
			n, ok = sizeAt(b, 4)
			head, items = 5, n
		case 0xde:
			n, ok = sizeAt(b, 2)
			head, items = 3, 2*n
		case 0xdf:
			n, ok = sizeAt(b, 4)
			head, items = 5, 2*n
		default:
			return -1
		}
		if !ok {
			return -1
		}
	}
	at := head + body
	if at > len(b) || at < 0 {
		return -1
	}
	for range items {
		n := msgpackLen(b[at:])
		if n < 0 {
			return -1
		}
		at += n
	}
	return at
}

// sizeAt is the big-endian size of width bytes after the type byte.
func sizeAt(b []byte, width int) (int, bool) {
	if len(b) < 1+width {
		return 0, false
	}
	switch width {
	case 1:
		return int(b[1]), true
	case 2:
		return int(binary.BigEndian.Uint16(b[1:])), true
	default:
		return int(binary.BigEndian.Uint32(b[1:])), true
	}
}

// msgpackStr is the bytes of the msgpack string at the start of b and its
// encoded length; ok is false for anything but a string.
func msgpackStr(b []byte) (s []byte, n int, ok bool) {
	if len(b) == 0 {
		return nil, 0, false
	}
	var head, size int
	switch c := b[0]; {
	case c >= 0xa0 && c <= 0xbf:
		head, size = 1, int(c&0x1f)
	case c == 0xd9 || c == 0xda || c == 0xdb:
		w := 1 << (c - 0xd9)
		sz, okSize := sizeAt(b, w)
		if !okSize {
			return nil, 0, false
		}
		head, size = 1+w, sz
	default:
		return nil, 0, false
	}
	if head+size > len(b) {
		return nil, 0, false
	}
	return b[head : head+size], head + size, true
}

// fieldNames interns the field names the walk meets: records have few
// distinct ones, and each would otherwise be a new string per version.
type fieldNames map[string]string

func (f fieldNames) name(b []byte) string {
	if s, ok := f[string(b)]; ok {
		return s
	}
	s := string(b)
	if f != nil && len(f) < 4096 {
		f[s] = s
	}
	return s
}

// walkFields is rawFields by hand: a msgpack map whose keys are strings,
// split into its fields, sorted by name. ok is false for anything else
// (rawFields then asks the library).
func walkFields(b []byte, names fieldNames) ([]rawField, bool) {
	if len(b) == 0 {
		return nil, false
	}
	var n, at int
	switch c := b[0]; {
	case c == 0xc0:
		return nil, true // a nil map has no fields
	case c >= 0x80 && c <= 0x8f:
		n, at = int(c&0x0f), 1
	case c == 0xde:
		sz, ok := sizeAt(b, 2)
		if !ok {
			return nil, false
		}
		n, at = sz, 3
	default:
		return nil, false
	}
	out := make([]rawField, 0, n)
	for range n {
		name, size, ok := msgpackStr(b[at:])
		if !ok {
			return nil, false
		}
		at += size
		vlen := msgpackLen(b[at:])
		if vlen < 0 {
			return nil, false
		}
		out = append(out, rawField{name: names.name(name), raw: b[at : at+vlen]})
		at += vlen
	}
	slices.SortFunc(out, func(x, y rawField) int { return strings.Compare(x.name, y.name) })
	return out, true
}

// plainJSONString renders s as encoding/json does when that is s between
// quotes: printable ASCII without quotes, backslashes or the characters
// json escapes for HTML. ok is false otherwise (json.Marshal then).
func plainJSONString(s []byte) ([]byte, bool) {
	for _, c := range s {
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return nil, false
		}
	}
	out := make([]byte, 0, len(s)+2)
	out = append(out, '"')
	out = append(out, s...)
	return append(out, '"'), true
}

// stringJSON renders one encoded string as rawJSON does.
func stringJSON(raw []byte) ([]byte, bool, error) {
	s, _, ok := msgpackStr(raw)
	if !ok {
		return nil, false, nil
	}
	if len(s) == 0 {
		return nil, true, nil
	}
	if out, ok := plainJSONString(s); ok {
		return out, true, nil
	}
	out, err := json.Marshal(string(s))
	return out, true, err
}
