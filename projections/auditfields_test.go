package projections

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// TestWalkFieldsAgreesWithTheLibrary splits records of every msgpack kind
// by hand and through the library's decoder: same fields, same encodings.
func TestWalkFieldsAgreesWithTheLibrary(t *testing.T) {
	long := strings.Repeat("x", 300)
	huge := strings.Repeat("y", 70_000)
	records := []any{
		map[string]any{},
		map[string]any{"a": 1, "b": -1, "c": -100, "d": 200, "e": 70_000, "f": -70_000, "g": uint64(math.MaxUint64), "h": int64(math.MinInt64)},
		map[string]any{"f32": float32(1.5), "f64": 2.25, "t": true, "f": false, "n": nil},
		map[string]any{"s": "", "short": "abc", "str8": long, "str16": huge},
		map[string]any{"bin": []byte{1, 2, 3}, "bin16": bytes.Repeat([]byte{7}, 300)},
		map[string]any{"arr": []any{1, "two", []any{3, map[string]any{"four": 4}}}, "arr16": make([]int, 20)},
		map[string]any{"map": map[string]any{"x": map[string]any{"y": []string{"z"}}}},
		map[string]any{"at": time.Date(2026, 11, 23, 1, 2, 3, 4, time.UTC), "zero": time.Time{}, "secs": time.Unix(1_700_000_000, 0)},
		&Individual{ID: "i1", FirstName: "Ada", Held: []string{"c1", "c2"}, CreatedAt: time.Now(), CreatedSeq: 7, Version: 9},
		&Version{Sequence: 3, EventType: "individual.created", State: msgpack.RawMessage{0x80}},
	}
	big := map[string]any{}
	for i := range 40 {
		big[strings.Repeat("k", i+1)] = i
	}
	records = append(records, big)
	for i, rec := range records {
		data, err := msgpack.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		want, err := libraryFields(data)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := walkFields(data, fieldNames{})
		if !ok {
			t.Fatalf("record %d: the walk gave up on %x", i, data)
		}
		if len(got) != len(want) {
			t.Fatalf("record %d: %d fields, want %d", i, len(got), len(want))
		}
		for j := range got {
			if got[j].name != want[j].name || !bytes.Equal(got[j].raw, want[j].raw) {
				t.Fatalf("record %d field %d: %s %x, want %s %x", i, j, got[j].name, got[j].raw, want[j].name, want[j].raw)
			}
		}
	}
	for _, bad := range [][]byte{{0x81, 0xa1, 'a'}, {0x81, 0x01, 0x02}, {0x92}, {0xc1}, {0x81, 0xa1, 'a', 0xd9}} {
		if _, ok := walkFields(bad, nil); ok {
			t.Errorf("walkFields(%x) accepted a broken or odd record", bad)
		}
	}
}

// TestStringJSONAgreesWithEncodingJSON renders strings the short way and
// through encoding/json: the same bytes.
func TestStringJSONAgreesWithEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", "with space", `quo"te`, `back\slash`, "<b>&amp;", "tab\there", "ünïcode", "\x7f", strings.Repeat("z", 300)} {
		raw, err := msgpack.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		got, ok, err := stringJSON(raw)
		if err != nil || !ok {
			t.Fatalf("stringJSON(%q) = %v, %v", s, ok, err)
		}
		var want []byte
		if s != "" {
			want, _ = json.Marshal(s)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("stringJSON(%q) = %s, want %s", s, got, want)
		}
	}
}
