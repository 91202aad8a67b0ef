package domain

import (
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// FieldPath names a field of a record and follows foreign keys with one
// segment per hop (AccessRoleId.Name), because clients filter and sort on
// what they see in a record, including the summaries of what it points at.
type FieldPath []string

// SplitFieldPath reads the dotted spelling that Order.Field and Schema keys
// use, so that paths survive as plain strings where a struct wants one.
func SplitFieldPath(s string) FieldPath { return strings.Split(s, ".") }

// String is the dotted spelling, the one key a Schema is indexed by.
func (p FieldPath) String() string { return strings.Join(p, ".") }

// FieldKind is the type of a field's values. Literals in a query are text
// until checked against a field, so the kind decides how "1" or "2026-01-01"
// is read and how two values compare.
type FieldKind uint8

// Field kinds. The zero FieldKind is no kind, so a forgotten schema entry
// cannot pass for text.
const (
	KindText FieldKind = iota + 1
	KindInt
	KindFloat
	KindBool
	KindTime
)

// String names the kind the way error messages speak to a client.
func (k FieldKind) String() string {
	switch k {
	case KindText:
		return "text"
	case KindInt:
		return "an integer"
	case KindFloat:
		return "a number"
	case KindBool:
		return "a boolean (true or false)"
	case KindTime:
		return "a date (2026-01-01 or 2026-01-01T12:00:00Z)"
	}
	return "of unknown kind"
}

// FieldValue is one typed value of a record, as a read model hands it to the
// evaluator. It is a small tagged union so that comparisons need no
// reflection and no allocation.
type FieldValue struct {
	kind FieldKind
	text string
	num  int64
	flt  float64
	tm   time.Time
}

// TextValue wraps a text field value.
func TextValue(s string) FieldValue { return FieldValue{kind: KindText, text: s} }

// IntValue wraps an integer field value, such as an eSystems Id.
func IntValue(i int64) FieldValue { return FieldValue{kind: KindInt, num: i} }

// FloatValue wraps a fractional number.
func FloatValue(f float64) FieldValue { return FieldValue{kind: KindFloat, flt: f} }

// BoolValue wraps a flag such as Is_Active.
func BoolValue(b bool) FieldValue {
	v := FieldValue{kind: KindBool}
	if b {
		v.num = 1
	}
	return v
}

// TimeValue wraps an instant such as CreatedOn.
func TimeValue(t time.Time) FieldValue { return FieldValue{kind: KindTime, tm: t} }

// Kind tells which constructor made v; the zero FieldValue has no kind.
func (v FieldValue) Kind() FieldKind { return v.kind }

// qTimeLayouts are the spellings of a time literal, tried in order. Go reads
// optional fractional seconds after any seconds field.
var qTimeLayouts = []string{
	time.RFC3339,
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04:05",
	"2006-01-02",
}

// ParseFieldValue reads a query literal as a value of kind k. It reports
// false when the text is not such a value, so that the caller can name the
// field in its message.
func ParseFieldValue(k FieldKind, s string) (FieldValue, bool) {
	switch k {
	case KindText:
		return TextValue(s), true
	case KindInt:
		i, err := strconv.ParseInt(s, 10, 64)
		return IntValue(i), err == nil
	case KindFloat:
		// ParseFloat also reads hex, underscores, Inf and NaN: none of them
		// is a number a client means, and NaN would break ordering.
		if s == "" || strings.ContainsFunc(s, func(r rune) bool {
			return !strings.ContainsRune("0123456789+-.eE", r)
		}) {
			return FieldValue{}, false
		}
		f, err := strconv.ParseFloat(s, 64)
		return FloatValue(f), err == nil && !math.IsInf(f, 0)
	case KindBool:
		switch strings.ToLower(s) {
		case "true", "1":
			return BoolValue(true), true
		case "false", "0":
			return BoolValue(false), true
		}
	case KindTime:
		for _, layout := range qTimeLayouts {
			if t, err := time.Parse(layout, s); err == nil {
				return TimeValue(t), true
			}
		}
	}
	return FieldValue{}, false
}

// CompareFieldValues orders two values of the same kind (an integer and a
// number compare numerically). It reports false for values that do not
// compare, which the evaluator treats as unknown rather than guessing.
func CompareFieldValues(a, b FieldValue) (int, bool) {
	if a.kind != b.kind {
		if (a.kind == KindInt || a.kind == KindFloat) && (b.kind == KindInt || b.kind == KindFloat) {
			return qCompareFloat(a.asFloat(), b.asFloat()), true
		}
		return 0, false
	}
	switch a.kind {
	case KindText:
		return qCompareFold(a.text, b.text), true
	case KindInt, KindBool:
		return qCompareInt(a.num, b.num), true
	case KindFloat:
		return qCompareFloat(a.flt, b.flt), true
	case KindTime:
		return a.tm.Compare(b.tm), true
	}
	return 0, false
}

func (v FieldValue) asFloat() float64 {
	if v.kind == KindInt {
		return float64(v.num)
	}
	return v.flt
}

func qCompareInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func qCompareFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// qFold maps a rune to the smallest rune of its simple case-folding orbit,
// so that equality under qCompareFold is exactly strings.EqualFold and the
// order it induces is consistent with that equality.
func qFold(r rune) rune {
	m := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f < m {
			m = f
		}
	}
	return m
}

// qCompareFold is the case-insensitive text order of the query language.
func qCompareFold(a, b string) int {
	for a != "" && b != "" {
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		if fa, fb := qFold(ra), qFold(rb); fa != fb {
			return qCompareInt(int64(fa), int64(fb))
		}
		a, b = a[na:], b[nb:]
	}
	return qCompareInt(int64(len(a)), int64(len(b)))
}

// Schema lists the fields a list may be filtered, sorted and projected on,
// by dotted path, with the kind each holds. It is the allow-list between a
// client's query and a read model: a path that is not in it is refused, not
// ignored, so a typo never silently matches everything.
type Schema map[string]FieldKind

// resolve finds p case-insensitively, as SQL Server resolves column names,
// and returns the schema's own spelling so that getters see one spelling.
func (s Schema) resolve(p FieldPath) (FieldPath, FieldKind, bool) {
	name := p.String()
	if k, ok := s[name]; ok {
		return p, k, true
	}
	best, found := "", false
	for key := range s {
		if strings.EqualFold(key, name) && (!found || key < best) {
			best, found = key, true
		}
	}
	if !found {
		return nil, 0, false
	}
	return SplitFieldPath(best), s[best], true
}

// Getter reads one field of the record under test; it reports false when
// the record has no value there (a null foreign key), which the evaluator
// treats as SQL's NULL.
type Getter func(path FieldPath) (FieldValue, bool)
