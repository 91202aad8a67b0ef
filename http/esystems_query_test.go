package http

import (
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/portcullis/portcullis/domain"
)

// esShape prints a filter tree with explicit nodes, so that a test shows
// what the parser built, not only its canonical text.
func esShape(e domain.Expr) string {
	list := func(name string, terms []domain.Expr) string {
		parts := make([]string, len(terms))
		for i, t := range terms {
			parts[i] = esShape(t)
		}
		return name + "(" + strings.Join(parts, ", ") + ")"
	}
	switch n := e.(type) {
	case nil:
		return "<nil>"
	case *domain.And:
		return list("And", n.Terms)
	case *domain.Or:
		return list("Or", n.Terms)
	case *domain.Not:
		return "Not(" + esShape(n.X) + ")"
	case *domain.Comparison:
		return "[" + n.String() + "]"
	}
	return "?"
}

func TestParseESystemsFilter(t *testing.T) {
	for _, tc := range []struct{ in, text, shape string }{
		{"", "", "<nil>"},
		{"  \t ", "", "<nil>"},
		{"(Name Like Door%) AND (CreatedOn > 2026-01-01)",
			"Name Like Door% AND CreatedOn > 2026-01-01",
			"And([Name Like Door%], [CreatedOn > 2026-01-01])"},
		{"a = 1 OR b = 2 AND c = 3", "a = 1 OR b = 2 AND c = 3", "Or([a = 1], And([b = 2], [c = 3]))"},
		{"(a = 1 OR b = 2) AND c = 3", "(a = 1 OR b = 2) AND c = 3", "And(Or([a = 1], [b = 2]), [c = 3])"},
		{"a=1 and (b=2 AND c=3)", "a = 1 AND b = 2 AND c = 3", "And([a = 1], [b = 2], [c = 3])"},
		{"a=1 or b=2 Or c=3", "a = 1 OR b = 2 OR c = 3", "Or([a = 1], [b = 2], [c = 3])"},
		{"((((a=1))))", "a = 1", "[a = 1]"},
		{"Id In (1,2,3)", "Id In (1, 2, 3)", "[Id In (1, 2, 3)]"},
		{`Name in ('a', "b")`, "Name In (a, b)", "[Name In (a, b)]"},
		{"Name NotIn ('x y')", "Name NotIn ('x y')", "[Name NotIn ('x y')]"},
		{"Name not in (a)", "Name NotIn (a)", "[Name NotIn (a)]"},
		{"Name NOT LIKE '%x%'", "Name NotLike %x%", "[Name NotLike %x%]"},
		{"Name notlike x", "Name NotLike x", "[Name NotLike x]"},
		{"AccessRoleId.Name = 'Bob Normal'", "AccessRoleId.Name = 'Bob Normal'", "[AccessRoleId.Name = 'Bob Normal']"},
		{"CreatedOn>=2026-01-01T12:00:00+02:00", "CreatedOn >= 2026-01-01T12:00:00+02:00", "[CreatedOn >= 2026-01-01T12:00:00+02:00]"},
		{`name='it''s' and x="say \"hi\""`, `name = 'it\'s' AND x = 'say "hi"'`, `And([name = 'it\'s'], [x = 'say "hi"'])`},
		{`x = 'a\nb\\c\td'`, `x = 'a\nb\\c\td'`, `[x = 'a\nb\\c\td']`},
		{"NOT (a = 1 OR b = 2)", "NOT (a = 1 OR b = 2)", "Not(Or([a = 1], [b = 2]))"},
		{"NOT NOT a=1", "NOT NOT a = 1", "Not(Not([a = 1]))"},
		{"not a = 1 and b = 2", "NOT a = 1 AND b = 2", "And(Not([a = 1]), [b = 2])"},
		{"NOT (a = 1) OR b = 2", "NOT a = 1 OR b = 2", "Or(Not([a = 1]), [b = 2])"},
		{"a <> 1 OR a != 2", "a <> 1 OR a <> 2", "Or([a <> 1], [a <> 2])"},
		{"x = 'AND'", "x = 'AND'", "[x = 'AND']"},
		{"x = ''", "x = ''", "[x = '']"},
		{"Ä_1 = Ünïcode", "Ä_1 = Ünïcode", "[Ä_1 = Ünïcode]"},
		{"Is_Active = true AND Id <= -5", "Is_Active = true AND Id <= -5", "And([Is_Active = true], [Id <= -5])"},
		{"Name Like [a-c]%", "Name Like '[a-c]%'", "[Name Like '[a-c]%']"},
		{"_x.y_2.z<'b'", "_x.y_2.z < b", "[_x.y_2.z < b]"},
	} {
		e, err := parseESystemsFilter(tc.in)
		if err != nil {
			t.Fatalf("%q: %v", tc.in, err)
		}
		text := ""
		if e != nil {
			text = e.String()
		}
		if text != tc.text || esShape(e) != tc.shape {
			t.Fatalf("%q:\n got %s  %s\nwant %s  %s", tc.in, text, esShape(e), tc.text, tc.shape)
		}
	}
}

func TestParseESystemsFilterErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Name Like", `position 10: expected a value after Like, found end of input`},
		{"(Name = 1", `position 10: expected AND, OR or ")" to close the "(" at position 1, found end of input`},
		{"Name = 1)", `position 9: expected AND, OR or end of input, found ")"`},
		{"a = 1 b = 2", `position 7: expected AND, OR or end of input, found "b"`},
		{"= 1", `position 1: expected a field name, found "="`},
		{"Name Door", `position 6: expected an operator (=, <>, >, >=, <, <=, In, NotIn, Like) after Name, found "Door"`},
		{"Name = 'abc", `position 8: string is not closed, expected ' before end of input`},
		{`Name = "a\`, `position 8: string is not closed`},
		{`Name = 'a\qb'`, `position 10: unknown escape \q`},
		{"Id In 1", `position 7: expected "(" and a list of values after In, found "1"`},
		{"Id In ()", `position 8: expected a value after In, found ")"`},
		{"Id In (1,)", `position 10: expected a value after In, found ")"`},
		{"Id In (1 2)", `position 10: expected "," or ")" in the list of In, found "2"`},
		{"Id NotIn (1", `position 12: expected "," or ")" in the list of NotIn, found end of input`},
		{"Name = AND", `position 8: expected a value after =, found the keyword AND`},
		{"Name = not", `position 8: expected a value after =, found the keyword NOT`},
		{"a = 1 AND", `position 10: expected a field name, found end of input`},
		{"a = 1 OR OR b = 2", `position 10: expected a field name, found "OR"`},
		{"In = 1", `position 1: expected a field name, found "In"`},
		{"a..b = 1", `position 1: "a..b" is not a field name`},
		{"1a = 1", `position 1: "1a" is not a field name`},
		{"a. = 1", `position 1: "a." is not a field name`},
		{"Door% = 1", `position 1: "Door%" is not a field name`},
		{"'Name' = 1", `position 1: expected a field name, found text "Name"`},
		{"a ! 1", `position 3: expected "!=", found "!"`},
		{"a NOT b", `position 7: expected In or Like after NOT, found "b"`},
		{"Näme ? x", `position 6: expected an operator`},
		{"ÄÖÜ = 'x' AND (", `position 16: expected a field name, found end of input`},
		{"a = 1\x01", `position 6: unexpected control character U+0001`},
		{"a = \xff", `invalid UTF-8 at position 5`},
		{"ä = \xffx", `invalid UTF-8 at position 5`},
		{strings.Repeat("a", 4097), `is 4097 characters long, at most 4096 are allowed`},
		{strings.Repeat("(", 33) + "a=1" + strings.Repeat(")", 33), `position 33: nested more than 32 levels deep`},
		{strings.Repeat("NOT ", 33) + "a=1", `position 129: nested more than 32 levels deep`},
		{"NOT (" + strings.Repeat("NOT ", 31) + "a=1)", `position 126: nested more than 32 levels deep`},
	} {
		_, err := parseESystemsFilter(tc.in)
		if err == nil {
			t.Fatalf("%q: no error, want %q", tc.in, tc.want)
		}
		if domain.ErrorCode(err) != domain.CodeInvalid || domain.ErrorField(err) != "Filters" {
			t.Fatalf("%q: got %v, want BAD_REQUEST naming Filters", tc.in, err)
		}
		if !strings.Contains(domain.ErrorMessage(err), tc.want) {
			t.Fatalf("%q:\n got %s\nwant …%s…", tc.in, domain.ErrorMessage(err), tc.want)
		}
	}
	// The bounds themselves are allowed.
	for _, in := range []string{
		strings.Repeat("(", 32) + "a=1" + strings.Repeat(")", 32),
		strings.Repeat("NOT ", 32) + "a=1",
		"x = '" + strings.Repeat("é", 4090) + "'",
	} {
		if _, err := parseESystemsFilter(in); err != nil {
			t.Fatalf("%.40q…: %v", in, err)
		}
	}
}

func TestParseESystemsOrdersAndFields(t *testing.T) {
	orders, err := parseESystemsOrders(" Name DESC, CreatedOn ASC,AccessRoleId.Name desc ,Id")
	want := []domain.Order{{Field: "Name", Desc: true}, {Field: "CreatedOn"}, {Field: "AccessRoleId.Name", Desc: true}, {Field: "Id"}}
	if err != nil || !slices.Equal(orders, want) {
		t.Fatalf("got %v, %v, want %v", orders, err, want)
	}
	if orders, err := parseESystemsOrders("  "); err != nil || orders != nil {
		t.Fatalf("blank Orders: got %v, %v", orders, err)
	}
	fields, err := parseESystemsFields("Id, AccessRoleId.Name ,Name")
	if err != nil || len(fields) != 3 || fields[1].String() != "AccessRoleId.Name" || len(fields[1]) != 2 {
		t.Fatalf("got %v, %v", fields, err)
	}
	for _, tc := range []struct {
		field, in, want string
	}{
		{"Orders", "Name DESC,", `position 11: expected a field name, found end of input`},
		{"Orders", ",Name", `position 1: expected a field name, found ","`},
		{"Orders", "Name DOWN", `position 6: expected ASC, DESC, "," or end of input after Name, found "DOWN"`},
		{"Orders", "Name DESC DESC", `position 11: expected "," or end of input after Name, found "DESC"`},
		{"Orders", "Name, name desc", `name at position 7 is ordered twice`},
		{"Orders", "'Name'", `position 1: expected a field name, found text "Name"`},
		{"Orders", "DESC", `position 1: expected a field name, found "DESC"`},
		{"Orders", "Name;", `position 1: "Name;" is not a field name`},
		{"Fields", "Id,,Name", `position 4: expected a field name, found ","`},
		{"Fields", "Id Name", `position 4: expected "," or end of input, found "Name"`},
		{"Fields", "Id,id", `id at position 4 is listed twice`},
		{"Fields", "Id,(Name)", `position 4: expected a field name, found "("`},
	} {
		var err error
		var n int
		if tc.field == "Orders" {
			var got []domain.Order
			got, err = parseESystemsOrders(tc.in)
			n = len(got)
		} else {
			var got []domain.FieldPath
			got, err = parseESystemsFields(tc.in)
			n = len(got)
		}
		if n != 0 || domain.ErrorField(err) != tc.field || !strings.Contains(domain.ErrorMessage(err), tc.want) {
			t.Fatalf("%s %q:\n got %v\nwant …%s…", tc.field, tc.in, err, tc.want)
		}
	}
}

// esRecord is a test record: values by dotted path, absent means null.
type esRecord struct {
	id     int64
	values map[string]domain.FieldValue
}

func (r esRecord) get(p domain.FieldPath) (domain.FieldValue, bool) {
	v, ok := r.values[p.String()]
	return v, ok
}

var esTestSchema = domain.Schema{
	"Id": domain.KindInt, "Name": domain.KindText, "Is_Active": domain.KindBool,
	"CreatedOn": domain.KindTime, "Score": domain.KindFloat,
	"AccessRoleId.Name": domain.KindText, "AccessRoleId.Id": domain.KindText,
}

func esTestRecords(t *testing.T) []esRecord {
	t.Helper()
	at := func(s string) domain.FieldValue {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return domain.TimeValue(tm)
	}
	return []esRecord{
		{1, map[string]domain.FieldValue{"Id": domain.IntValue(1), "Name": domain.TextValue("Door North"), "Is_Active": domain.BoolValue(true),
			"CreatedOn": at("2026-01-05T10:00:00Z"), "Score": domain.FloatValue(1.5), "AccessRoleId.Name": domain.TextValue("Admin")}},
		{2, map[string]domain.FieldValue{"Id": domain.IntValue(2), "Name": domain.TextValue("door_south"), "Is_Active": domain.BoolValue(false),
			"CreatedOn": at("2025-12-31T23:00:00Z"), "Score": domain.FloatValue(2)}},
		{3, map[string]domain.FieldValue{"Id": domain.IntValue(3), "Name": domain.TextValue("Gate 100%"), "Is_Active": domain.BoolValue(true),
			"CreatedOn": at("2026-01-01T00:00:00Z"), "Score": domain.FloatValue(-1), "AccessRoleId.Name": domain.TextValue("viewer")}},
	}
}

func TestESystemsFilterSemantics(t *testing.T) {
	records := esTestRecords(t)
	for _, tc := range []struct {
		filter string
		ids    []int64
	}{
		{"", []int64{1, 2, 3}},
		{"Name Like door%", []int64{1, 2}},
		{"Name Like 'DOOR N%'", []int64{1}},
		{"Name Like 'Door_North'", []int64{1}},
		{"Name Like door", nil},
		{"Name Like '%[%]'", []int64{3}},
		{"Name Like '%0_'", []int64{3}},
		{"Name Like '[d-g]%'", []int64{1, 2, 3}},
		{"Name Like '[^d]%'", []int64{3}},
		{"Name NOT LIKE '%th'", []int64{3}},
		{"Name = 'DOOR NORTH'", []int64{1}},
		{"name = 'door north '", nil},
		{"Name > 'E'", []int64{3}},
		{"Id In (1,3)", []int64{1, 3}},
		{"Id NotIn (1)", []int64{2, 3}},
		{"Id >= 2", []int64{2, 3}},
		{"CreatedOn >= 2026-01-01", []int64{1, 3}},
		{"CreatedOn = 2026-01-01", []int64{3}},
		{"CreatedOn <= 2026-01-01T01:00:00+01:00", []int64{2, 3}},
		{"CreatedOn In ('2026-01-01 00:00:00', 2026-01-05T12:00:00+02:00)", []int64{1, 3}},
		{"Is_Active = true", []int64{1, 3}},
		{"Is_Active = 0", []int64{2}},
		{"Is_Active < TRUE", []int64{2}},
		{"Score > 1", []int64{1, 2}},
		{"Score >= 2", []int64{2}},
		{"Score < -0.5e0", []int64{3}},
		// AND binds tighter than OR.
		{"Id = 1 OR Id = 3 AND Is_Active = false", []int64{1}},
		{"(Id = 1 OR Id = 3) AND Is_Active = false", nil},
		{"NOT Id = 1 AND Id <> 3", []int64{2}},
		// A null foreign key is unknown: it matches neither a test nor its negation.
		{"AccessRoleId.Name = admin", []int64{1}},
		{"AccessRoleId.Name <> admin", []int64{3}},
		{"NOT AccessRoleId.Name = admin", []int64{3}},
		{"AccessRoleId.Name NotIn (Admin)", []int64{3}},
		{"AccessRoleId.Name NotLike 'a%'", []int64{3}},
		{"NOT (AccessRoleId.Name = Admin AND Id = 2)", []int64{1, 3}},
		{"AccessRoleId.Name = Admin OR Id = 2", []int64{1, 2}},
		{"AccessRoleId.Id = x OR Id = 2", []int64{2}},
	} {
		q, err := parseESystemsQuery(tc.filter, "", "")
		if err == nil {
			err = q.Validate(esTestSchema)
		}
		if err != nil {
			t.Fatalf("%q: %v", tc.filter, err)
		}
		var got []int64
		for _, r := range records {
			if q.Match(r.get) {
				got = append(got, r.id)
			}
		}
		if !slices.Equal(got, tc.ids) {
			t.Fatalf("%q: got %v, want %v", tc.filter, got, tc.ids)
		}
	}
}

func TestESystemsQueryValidate(t *testing.T) {
	for _, tc := range []struct{ filters, orders, fields, field, want string }{
		{"Nme = 1", "", "", "Filters", "unknown field Nme at position 1"},
		{"Id = 1 AND CreatedOn > yesterday", "", "", "Filters",
			"cannot compare CreatedOn at position 12 with yesterday: CreatedOn is a date (2026-01-01 or 2026-01-01T12:00:00Z)"},
		{"Id = 1.5", "", "", "Filters", "cannot compare Id at position 1 with 1.5: Id is an integer"},
		{"Id In (1, x)", "", "", "Filters", "with x: Id is an integer"},
		{"Is_Active = yes", "", "", "Filters", "Is_Active is a boolean"},
		{"Score = NaN", "", "", "Filters", "Score is a number"},
		{"Id Like 1%", "", "", "Filters", "cannot use Like on Id at position 1: Like compares text and Id is an integer"},
		{"AccessRoleId = 1", "", "", "Filters", "unknown field AccessRoleId at position 1"},
		{"", "Nme DESC", "", "Orders", "unknown field Nme"},
		{"", "", "Id,Nme", "Fields", "unknown field Nme"},
	} {
		q, err := parseESystemsQuery(tc.filters, tc.orders, tc.fields)
		if err != nil {
			t.Fatalf("%+v: %v", tc, err)
		}
		err = q.Validate(esTestSchema)
		if domain.ErrorCode(err) != domain.CodeInvalid || domain.ErrorField(err) != tc.field ||
			!strings.Contains(domain.ErrorMessage(err), tc.want) {
			t.Fatalf("%+v:\n got %v", tc, err)
		}
	}

	// Names resolve case-insensitively to the schema's spelling.
	q, err := parseESystemsQuery("name like d% and accessroleid.NAME = admin", "accessRoleId.name desc, id", "ID,name")
	if err == nil {
		err = q.Validate(esTestSchema)
	}
	if err != nil {
		t.Fatal(err)
	}
	if got, want := q.Filter.String(), "Name Like d% AND AccessRoleId.Name = admin"; got != want {
		t.Fatalf("filter: got %s, want %s", got, want)
	}
	if q.Orders[0].Field != "AccessRoleId.Name" || q.Orders[1].Field != "Id" || q.Fields[0].String() != "Id" || q.Fields[1].String() != "Name" {
		t.Fatalf("got %+v", q)
	}
}

func TestESystemsQueryCompare(t *testing.T) {
	records := esTestRecords(t)
	for _, tc := range []struct {
		orders string
		ids    []int64
	}{
		{"AccessRoleId.Name", []int64{2, 1, 3}}, // null first, then case-insensitive
		{"AccessRoleId.Name DESC, Id", []int64{3, 1, 2}},
		{"Is_Active, CreatedOn DESC", []int64{2, 1, 3}},
		{"Name", []int64{1, 2, 3}},
		{"Score desc", []int64{2, 1, 3}},
	} {
		q, err := parseESystemsQuery("", tc.orders, "")
		if err == nil {
			err = q.Validate(esTestSchema)
		}
		if err != nil {
			t.Fatal(err)
		}
		sorted := slices.Clone(records)
		slices.SortStableFunc(sorted, func(a, b esRecord) int { return q.Compare(a.get, b.get) })
		var got []int64
		for _, r := range sorted {
			got = append(got, r.id)
		}
		if !slices.Equal(got, tc.ids) {
			t.Fatalf("%q: got %v, want %v", tc.orders, got, tc.ids)
		}
	}
}

// FuzzParseFilter holds the parser to two promises: no input makes it panic,
// and the canonical text of every tree it builds reads back as the same tree.
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{
		"(Name Like Door%) AND (CreatedOn > 2026-01-01)",
		"a = 1 OR b = 2 AND c = 3",
		"NOT (a = 1 OR b <> 'x') AND NOT NOT c In (1, 'two', \"three\")",
		`name='it''s' and x="say \"hi\"\n"`,
		"AccessRoleId.Name NOT IN ('a','b') or Id NotIn (1,2)",
		"CreatedOn>=2026-01-01T12:00:00+02:00 AND Name NOT LIKE '[a-c]%'",
		"x = 'AND' AND y = ''",
		"Ä_1 = Ünïcode",
		"((((a=1))))",
		"a != -1.5e3",
		"Name = 'abc",
		"Id In (1,)",
		"Name Like '[^a-c]_%' OR Name NotLike '%[%]'",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := parseESystemsFilter(s)
		if err != nil {
			if domain.ErrorCode(err) != domain.CodeInvalid || domain.ErrorField(err) != "Filters" {
				t.Fatalf("%q: got %v, want BAD_REQUEST naming Filters", s, err)
			}
			return
		}
		if e == nil {
			if strings.TrimFunc(s, unicode.IsSpace) != "" {
				t.Fatalf("%q: no filter from non-blank input", s)
			}
			return
		}
		text := e.String()
		// The canonical text may be longer than the input (spaces around
		// operators, escapes), so it is read back without the length bound.
		again, err := esParseFilter(text, -1, esMaxDepth)
		if err != nil {
			t.Fatalf("%q printed as %q, which does not parse: %v", s, text, err)
		}
		if again.String() != text || esShape(again) != esShape(e) {
			t.Fatalf("%q printed as %q, read back as %q / %s vs %s", s, text, again.String(), esShape(again), esShape(e))
		}
		// Evaluating any tree against any record kind must not panic, and
		// NOT must invert exactly where the outcome is known.
		for _, v := range []domain.FieldValue{domain.TextValue(s), domain.IntValue(int64(len(s))), domain.BoolValue(true)} {
			get := func(domain.FieldPath) (domain.FieldValue, bool) { return v, true }
			if e.Match(get) && (&domain.Not{X: e}).Match(get) {
				t.Fatalf("%q: both the filter and its negation match %+v", s, v)
			}
		}
	})
}
