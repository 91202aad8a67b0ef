package domain

import (
	"strings"
	"testing"
	"time"
)

func TestLikePatterns(t *testing.T) {
	for _, tc := range []struct {
		pattern, text string
		want          bool
	}{
		{"", "", true},
		{"", "a", false},
		{"%", "", true},
		{"%", "anything", true},
		{"%%", "x", true},
		{"a%", "ABC", true},
		{"%c", "abc", true},
		{"%b%", "abc", true},
		{"a%b%c", "axxbyyc", true},
		{"a%b%c", "axxbyy", false},
		{"a%a", "a", false},
		{"a%a", "aa", true},
		{"_", "", false},
		{"_", "é", true}, // one character, two bytes
		{"__", "é", false},
		{"a_c", "abc", true},
		{"a_c", "ac", false},
		{"[abc]", "B", true},
		{"[abc]", "d", false},
		{"[^abc]", "d", true},
		{"[^abc]", "A", false},
		{"[a-c]x", "Cx", true},
		{"[A-C]", "b", true},
		{"[z-a]", "m", false},
		{"[%]", "%", true},
		{"[%]", "x", false},
		{"100[%]", "100%", true},
		{"[_]%", "_x", true},
		{"[_]%", "ax", false},
		{"[]]", "]", true},
		{"[^]]", "a", true},
		{"[a-]", "-", true},
		{"[", "[", true},
		{"a[b", "a[b", true},
		{"[]", "[]", true},
		{"straße", "STRASSE", false},
		{"straße", "STRAẞE", true},
		{"K", "\u212a", true}, // Kelvin sign folds to K
		{"%door%", "Front DOOR 1", true},
		{strings.Repeat("%a", 30) + "b", strings.Repeat("a", 200), false},
	} {
		if got := qCompileLike(tc.pattern).match(tc.text); got != tc.want {
			t.Fatalf("%q Like %q: got %v, want %v", tc.text, tc.pattern, got, tc.want)
		}
	}
}

func TestParseFieldValue(t *testing.T) {
	day := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		kind FieldKind
		text string
		want FieldValue
		ok   bool
	}{
		{KindText, "", TextValue(""), true},
		{KindInt, "-42", IntValue(-42), true},
		{KindInt, "9223372036854775807", IntValue(1<<63 - 1), true},
		{KindInt, "9223372036854775808", FieldValue{}, false},
		{KindInt, "1.0", FieldValue{}, false},
		{KindInt, "", FieldValue{}, false},
		{KindFloat, "1.5e3", FloatValue(1500), true},
		{KindFloat, "7", FloatValue(7), true},
		{KindFloat, "NaN", FieldValue{}, false},
		{KindFloat, "Inf", FieldValue{}, false},
		{KindFloat, "1e999", FieldValue{}, false},
		{KindFloat, "0x10", FieldValue{}, false},
		{KindFloat, "1_000", FieldValue{}, false},
		{KindBool, "TRUE", BoolValue(true), true},
		{KindBool, "0", BoolValue(false), true},
		{KindBool, "yes", FieldValue{}, false},
		{KindTime, "2026-01-02", TimeValue(day), true},
		{KindTime, "2026-01-02T00:00:00Z", TimeValue(day), true},
		{KindTime, "2026-01-02T02:00:00+02:00", TimeValue(day), true},
		{KindTime, "2026-01-02T00:00:00.000", TimeValue(day), true},
		{KindTime, "2026-01-02 00:00:00", TimeValue(day), true},
		{KindTime, "2026-01-02 01:00:00+01:00", TimeValue(day), true},
		{KindTime, "2026-13-02", FieldValue{}, false},
		{KindTime, "02.01.2026", FieldValue{}, false},
		{0, "x", FieldValue{}, false},
	} {
		got, ok := ParseFieldValue(tc.kind, tc.text)
		if ok != tc.ok {
			t.Fatalf("%v %q: got ok %v, want %v", tc.kind, tc.text, ok, tc.ok)
		}
		if !ok {
			continue
		}
		if c, cmp := CompareFieldValues(got, tc.want); !cmp || c != 0 || got.Kind() != tc.kind {
			t.Fatalf("%v %q: got %+v, want %+v", tc.kind, tc.text, got, tc.want)
		}
	}
}

func TestCompareFieldValues(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		a, b FieldValue
		want int
		ok   bool
	}{
		{TextValue("abc"), TextValue("ABC"), 0, true},
		{TextValue("a"), TextValue("B"), -1, true},
		{TextValue("ab"), TextValue("a"), 1, true},
		{TextValue("Ärger"), TextValue("ärger"), 0, true},
		{IntValue(2), IntValue(10), -1, true},
		{IntValue(2), FloatValue(1.5), 1, true},
		{FloatValue(2), IntValue(2), 0, true},
		{BoolValue(false), BoolValue(true), -1, true},
		{TimeValue(t0), TimeValue(t0.In(time.FixedZone("X", 3600))), 0, true},
		{TimeValue(t0), TimeValue(t0.Add(time.Nanosecond)), -1, true},
		{TextValue("1"), IntValue(1), 0, false},
		{BoolValue(true), IntValue(1), 0, false},
		{FieldValue{}, FieldValue{}, 0, false},
	} {
		got, ok := CompareFieldValues(tc.a, tc.b)
		if got != tc.want || ok != tc.ok {
			t.Fatalf("%+v vs %+v: got %d %v, want %d %v", tc.a, tc.b, got, ok, tc.want, tc.ok)
		}
	}
	// Case-insensitive equality is exactly strings.EqualFold, and the order
	// agrees with it, so sorting and filtering never disagree.
	words := []string{"a", "A", "b", "ß", "ẞ", "k", "K", "\u212a", "é", "É", "_", "z", "Z", ""}
	for _, x := range words {
		for _, y := range words {
			c := qCompareFold(x, y)
			if (c == 0) != strings.EqualFold(x, y) || c != -qCompareFold(y, x) {
				t.Fatalf("%q vs %q: %d", x, y, c)
			}
		}
	}
}

func TestFormatLiteral(t *testing.T) {
	for in, want := range map[string]string{
		"Door%":                "Door%",
		"2026-01-01T12:00:00Z": "2026-01-01T12:00:00Z",
		"-1.5e3":               "-1.5e3",
		"":                     "''",
		"and":                  "'and'",
		"NotIn":                "'NotIn'",
		"a b":                  "'a b'",
		`it's \ "x"`:           `'it\'s \\ "x"'`,
		"a\nb\tc\rd":           `'a\nb\tc\rd'`,
		"[a-c]%":               "'[a-c]%'",
		"Ünïcode_1":            "Ünïcode_1",
	} {
		if got := qFormatLiteral(in); got != want {
			t.Fatalf("%q: got %s, want %s", in, got, want)
		}
	}
}

func TestUnvalidatedTreeMatchesByRecordKind(t *testing.T) {
	// A tree built in code and never validated still evaluates: literals are
	// read as the kind of the value the record holds; an unreadable one is
	// unknown, not an error.
	rec := map[string]FieldValue{"Id": IntValue(7), "Name": TextValue("Gate")}
	get := func(p FieldPath) (FieldValue, bool) { v, ok := rec[p.String()]; return v, ok }
	for _, tc := range []struct {
		e    Expr
		want bool
	}{
		{&Comparison{Path: FieldPath{"Id"}, Op: OpEq, Values: []string{"7"}}, true},
		{&Comparison{Path: FieldPath{"Id"}, Op: OpIn, Values: []string{"x", "7"}}, true},
		{&Comparison{Path: FieldPath{"Id"}, Op: OpNotIn, Values: []string{"x", "8"}}, false},
		{&Comparison{Path: FieldPath{"Id"}, Op: OpGt, Values: []string{"x"}}, false},
		{&Not{X: &Comparison{Path: FieldPath{"Id"}, Op: OpGt, Values: []string{"x"}}}, false},
		{&Comparison{Path: FieldPath{"Id"}, Op: OpLike, Values: []string{"7"}}, false},
		{&Comparison{Path: FieldPath{"Name"}, Op: OpLike, Values: []string{"g%"}}, true},
		{&Comparison{Path: FieldPath{"Name"}, Op: OpEq}, false},
		{&Comparison{Path: FieldPath{"Name"}, Op: "~", Values: []string{"Gate"}}, false},
		{&Or{Terms: []Expr{&Comparison{Path: FieldPath{"Nope"}, Op: OpEq, Values: []string{"1"}},
			&Comparison{Path: FieldPath{"Id"}, Op: OpLe, Values: []string{"7"}}}}, true},
		{&And{}, true},
		{&Or{}, false},
	} {
		if got := tc.e.Match(get); got != tc.want {
			t.Fatalf("%s: got %v, want %v", tc.e, got, tc.want)
		}
	}
	// Validate refuses what evaluation would have treated as unknown.
	s := Schema{"Id": KindInt, "Name": KindText}
	for _, e := range []Expr{
		&Comparison{Path: FieldPath{"Name"}, Op: "~", Values: []string{"Gate"}},
		&Comparison{Path: FieldPath{"Name"}, Op: OpEq},
		&Comparison{Path: FieldPath{"Name"}, Op: OpEq, Values: []string{"a", "b"}},
	} {
		if err := e.Validate(s); ErrorCode(err) != CodeInvalid || ErrorField(err) != "Filters" {
			t.Fatalf("%s: got %v", e, err)
		}
	}
}
