package domain

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Places (locations, buildings, spaces, locking systems, access points)
// form a hierarchy. A parent refuses to be deleted while it holds children,
// and it learns of them only through events on its own aggregate, appended in
// the same atomic batch as the child's own event: the refusal is then a
// decision on the parent's state alone, and a child created concurrently
// with the parent's deletion moves the parent's position, so one of the two
// appends is refused and decided again.

// IDSet is a sorted set of record ids an aggregate holds: its children, or
// the records linked to it. Its methods return a new set and never change
// the receiver, so a copy of an older aggregate state (held by a command
// that is still deciding) stays as it was while a newer one is applied.
type IDSet []string

// Has reports whether id is in the set.
func (s IDSet) Has(id string) bool {
	_, found := slices.BinarySearch(s, id)
	return found
}

// With returns the set plus ids.
func (s IDSet) With(ids ...string) IDSet {
	out := append(slices.Clip(slices.Clone(s)), ids...)
	slices.Sort(out)
	return slices.Compact(out)
}

// Without returns the set less ids.
func (s IDSet) Without(ids ...string) IDSet {
	drop := make(map[string]bool, len(ids))
	for _, id := range ids {
		drop[id] = true
	}
	out := slices.DeleteFunc(slices.Clone(s), func(id string) bool { return drop[id] })
	if len(out) == 0 {
		return nil
	}
	return out
}

// NamedChildren is how many children a conflict message names; the rest are
// counted. A message must stay readable for a building with a thousand rooms.
const NamedChildren = 3

// Head returns the ids a conflict message names.
func (s IDSet) Head() []string { return s[:min(len(s), NamedChildren)] }

// Children is one kind of record a parent still holds, for a conflict
// message: the ids of all of them and the names of those it will show
// (Names may lack an id whose record could not be read; it is shown bare).
type Children struct {
	Kind  string // plural, e.g. "buildings"
	IDs   IDSet
	Names map[string]string
}

// describe renders "2 buildings: b1 (HQ), b2 (Annex)" with at most
// NamedChildren named and the rest counted.
func (c Children) describe() string {
	return fmt.Sprintf("%d %s: %s", len(c.IDs), c.Kind, listIDs(c.IDs, c.Names))
}

// listIDs renders ids as "b1 (HQ), b2 and 3 more": at most NamedChildren,
// each with its name when names has one.
func listIDs(ids []string, names map[string]string) string {
	var b strings.Builder
	for i, id := range ids[:min(len(ids), NamedChildren)] {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(id)
		if n := names[id]; n != "" {
			fmt.Fprintf(&b, " (%s)", n)
		}
	}
	if more := len(ids) - NamedChildren; more > 0 {
		fmt.Fprintf(&b, " and %d more", more)
	}
	return b.String()
}

// childrenConflict is the refusal to delete a parent that still holds
// children, naming them; nil when it holds none.
func childrenConflict(what, id string, children ...Children) error {
	var parts []string
	for _, c := range children {
		if len(c.IDs) > 0 {
			parts = append(parts, c.describe())
		}
	}
	if len(parts) == 0 {
		return nil
	}
	return Errorf(CodeConflict, "%s %s still holds %s; delete or move them first", what, id, strings.Join(parts, " and "))
}

// deleteProtected is the refusal to delete a record marked delete_protected.
func deleteProtected(what, id string) error {
	return Errorf(CodeDeleteProtected, "%s %s is delete_protected; set delete_protected to false first", what, id)
}

// parentMissing is the answer when a field names a parent that is not a live
// record of the tenant. It is bad input naming the field (not NOT_FOUND),
// so that a client can tell it from a miss of the record in the path.
func parentMissing(field, what string) error {
	return Invalid(field, "names no %s of this tenant", what)
}

// checkName enforces a free-text field: trimmed by the caller, required or
// not, at most max characters, no control characters (read models use
// values as index keys, and a control character in a name is a mistake).
func checkName(field, value string, required bool, max int) error {
	if value == "" {
		if required {
			return Invalid(field, "is required")
		}
		return nil
	}
	if utf8.RuneCountInString(value) > max {
		return Invalid(field, "must be at most %d characters", max)
	}
	if strings.ContainsFunc(value, unicode.IsControl) {
		return Invalid(field, "must not contain control characters")
	}
	return nil
}

// checkRef enforces a field that names another record by id.
func checkRef(field, value string, required bool) error {
	if value == "" {
		if required {
			return Invalid(field, "is required")
		}
		return nil
	}
	if !ValidToken(value) {
		return Invalid(field, "is not a valid id")
	}
	return nil
}

// trimPtr trims an optional patch value.
func trimPtr(s *string) *string {
	if s == nil {
		return nil
	}
	t := strings.TrimSpace(*s)
	return &t
}

// changedBool keeps a patched flag only if it changes the current value.
func changedBool(cur bool, next *bool) *bool {
	if next == nil || *next == cur {
		return nil
	}
	return next
}

// checkIDList enforces a list of record ids in a request: at least one,
// each a valid id; repeats are dropped. Field is the list's name; an entry
// is named with its index.
func checkIDList(field string, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, Invalid(field, "must name at least one id")
	}
	out := make([]string, 0, len(ids))
	seen := make(map[string]bool, len(ids))
	for i, id := range ids {
		if !ValidToken(id) {
			return nil, Invalid(fmt.Sprintf("%s[%d]", field, i), "is not a valid id")
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out, nil
}
