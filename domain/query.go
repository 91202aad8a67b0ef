package domain

import (
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// The list-query language: a filter tree, sort keys and a projection that a
// face parses from its own syntax and a read model evaluates. It lives here,
// pure and without I/O, so that every face and every read model share one
// meaning of "Name Like Door%": the faces only own the spelling.
//
// The semantics follow SQL Server, the database eSystems clients know:
//   - text compares case-insensitively (simple Unicode case folding) and
//     orders by code point after folding, not by a linguistic collation;
//   - Like matches the whole text, % is any run of characters, _ is exactly
//     one, [abc], [a-z] and [^abc] are character classes, [%] is a literal %;
//     a [ without a closing ] is a literal [;
//   - a missing value (a null foreign key) is unknown: every comparison with
//     it is unknown, so neither "X = 1" nor "X <> 1" nor "NOT X = 1" matches,
//     and AND, OR and NOT follow three-valued logic;
//   - a date without a time is midnight UTC and a time without a zone is UTC;
//     times compare as instants;
//   - false orders before true; integers and numbers compare numerically.

// Query is a list request's filter, sort keys and projection, parsed from a
// face's syntax. A handler checks it against its resource's Schema once and
// hands it to the read model, which only calls Match and Compare.
type Query struct {
	// Filter selects records; nil selects every record.
	Filter Expr
	// Orders sort the result; each Field is a dotted path.
	Orders []Order
	// Fields is the projection; nil means every field.
	Fields []FieldPath
}

// Validate checks every path against s and reads every literal as its
// field's kind, so that a bad query fails as one BAD_REQUEST before any
// record is read. It rewrites paths to the schema's spelling and binds the
// literals in place: call it before sharing q between goroutines. Errors
// name the query part: "Filters", "Orders" or "Fields".
func (q *Query) Validate(s Schema) error {
	if q.Filter != nil {
		if err := q.Filter.Validate(s); err != nil {
			return err
		}
	}
	seen := map[string]bool{}
	for i, o := range q.Orders {
		p, _, ok := s.resolve(SplitFieldPath(o.Field))
		if !ok {
			return Invalid("Orders", "unknown field %s", o.Field)
		}
		if seen[p.String()] {
			return Invalid("Orders", "%s is ordered twice", p)
		}
		seen[p.String()] = true
		q.Orders[i].Field = p.String()
	}
	clear(seen)
	for i, f := range q.Fields {
		p, _, ok := s.resolve(f)
		if !ok {
			return Invalid("Fields", "unknown field %s", f)
		}
		if seen[p.String()] {
			return Invalid("Fields", "%s is listed twice", p)
		}
		seen[p.String()] = true
		q.Fields[i] = p
	}
	return nil
}

// Match reports whether the record behind get passes the filter; a query
// without a filter matches every record.
func (q Query) Match(get Getter) bool {
	return q.Filter == nil || q.Filter.Match(get)
}

// Compare orders two records by q.Orders, for slices.SortStableFunc. As in
// SQL Server, a missing value sorts before every value when ascending. Ties
// return 0, so the read model adds its own final key (such as Id) to keep
// paging stable.
func (q Query) Compare(a, b Getter) int {
	for _, o := range q.Orders {
		p := SplitFieldPath(o.Field)
		va, oka := a(p)
		vb, okb := b(p)
		var c int
		switch {
		case !oka || !okb:
			c = qCompareInt(qBool(oka), qBool(okb))
		default:
			var ok bool
			if c, ok = CompareFieldValues(va, vb); !ok {
				c = qCompareInt(int64(va.kind), int64(vb.kind))
			}
		}
		if o.Desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

func qBool(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// Expr is a node of a filter tree. The set of nodes is closed (And, Or, Not,
// Comparison) so that every face can print and every read model can
// evaluate any tree.
type Expr interface {
	// Match reports whether the record behind get passes; unknown is false.
	Match(get Getter) bool
	// Validate checks paths and literals against s and binds them.
	Validate(s Schema) error
	// String is the canonical text of the tree, in the filter syntax of
	// the eSystems face, with only the parentheses precedence needs.
	String() string
	eval(get Getter) qTruth
}

// qTruth is a value of SQL's three-valued logic.
type qTruth int8

const (
	qUnknown qTruth = iota
	qFalse
	qTrue
)

func qNot(t qTruth) qTruth {
	switch t {
	case qTrue:
		return qFalse
	case qFalse:
		return qTrue
	}
	return qUnknown
}

// And matches when every term does. Parsers flatten nested Ands, so a term
// is never an And itself.
type And struct{ Terms []Expr }

// Or matches when any term does. Parsers flatten nested Ors.
type Or struct{ Terms []Expr }

// Not inverts its operand; unknown stays unknown, as in SQL.
type Not struct{ X Expr }

var (
	_ Expr = (*And)(nil)
	_ Expr = (*Or)(nil)
	_ Expr = (*Not)(nil)
	_ Expr = (*Comparison)(nil)
)

// Match implements Expr.
func (e *And) Match(get Getter) bool { return e.eval(get) == qTrue }

// Match implements Expr.
func (e *Or) Match(get Getter) bool { return e.eval(get) == qTrue }

// Match implements Expr.
func (e *Not) Match(get Getter) bool { return e.eval(get) == qTrue }

func (e *And) eval(get Getter) qTruth {
	t := qTrue
	for _, x := range e.Terms {
		switch x.eval(get) {
		case qFalse:
			return qFalse
		case qUnknown:
			t = qUnknown
		}
	}
	return t
}

func (e *Or) eval(get Getter) qTruth {
	t := qFalse
	for _, x := range e.Terms {
		switch x.eval(get) {
		case qTrue:
			return qTrue
		case qUnknown:
			t = qUnknown
		}
	}
	return t
}

func (e *Not) eval(get Getter) qTruth { return qNot(e.X.eval(get)) }

// Validate implements Expr.
func (e *And) Validate(s Schema) error { return qValidateAll(e.Terms, s) }

// Validate implements Expr.
func (e *Or) Validate(s Schema) error { return qValidateAll(e.Terms, s) }

// Validate implements Expr.
func (e *Not) Validate(s Schema) error { return e.X.Validate(s) }

func qValidateAll(terms []Expr, s Schema) error {
	for _, x := range terms {
		if err := x.Validate(s); err != nil {
			return err
		}
	}
	return nil
}

// String implements Expr; an Or inside an And needs parentheses.
func (e *And) String() string {
	parts := make([]string, len(e.Terms))
	for i, x := range e.Terms {
		parts[i] = x.String()
		if _, ok := x.(*Or); ok {
			parts[i] = "(" + parts[i] + ")"
		}
	}
	return strings.Join(parts, " AND ")
}

// String implements Expr; AND binds tighter, so no term needs parentheses.
func (e *Or) String() string {
	parts := make([]string, len(e.Terms))
	for i, x := range e.Terms {
		parts[i] = x.String()
	}
	return strings.Join(parts, " OR ")
}

// String implements Expr; NOT binds tighter than AND and OR.
func (e *Not) String() string {
	switch e.X.(type) {
	case *And, *Or:
		return "NOT (" + e.X.String() + ")"
	}
	return "NOT " + e.X.String()
}

// Operator is a comparison operator, spelled as clients write it, so that
// the canonical text needs no translation table.
type Operator string

// The operators. NotIn and NotLike are the negations of In and Like under
// three-valued logic: a missing value matches neither.
const (
	OpEq      Operator = "="
	OpNe      Operator = "<>"
	OpGt      Operator = ">"
	OpGe      Operator = ">="
	OpLt      Operator = "<"
	OpLe      Operator = "<="
	OpIn      Operator = "In"
	OpNotIn   Operator = "NotIn"
	OpLike    Operator = "Like"
	OpNotLike Operator = "NotLike"
)

// IsList reports whether op takes a parenthesized list of values.
func (op Operator) IsList() bool { return op == OpIn || op == OpNotIn }

// Comparison tests one field against literal values. Values stay text until
// Validate reads them as the field's kind, because only the schema knows
// whether 1 is an Id or a name.
type Comparison struct {
	Path   FieldPath
	Op     Operator
	Values []string
	// Pos is the 1-based character position of Path in the text it was
	// parsed from, so that Validate can point at it; 0 when unknown.
	Pos int

	bound []FieldValue  // Values read as the field's kind, set by Validate
	like  *qLikePattern // the compiled Like pattern, set by Validate
}

// Validate implements Expr: the path must be in s, Like needs text, and
// every literal must read as the field's kind.
func (c *Comparison) Validate(s Schema) error {
	at := ""
	if c.Pos > 0 {
		at = " at position " + strconv.Itoa(c.Pos)
	}
	p, k, ok := s.resolve(c.Path)
	if !ok {
		return Invalid("Filters", "unknown field %s%s", c.Path, at)
	}
	switch c.Op {
	case OpEq, OpNe, OpGt, OpGe, OpLt, OpLe, OpIn, OpNotIn, OpLike, OpNotLike:
	default:
		return Invalid("Filters", "unknown operator %q%s", string(c.Op), at)
	}
	if n := len(c.Values); n == 0 || (n > 1 && !c.Op.IsList()) {
		return Invalid("Filters", "%s %s needs %s%s", p, c.Op, qArity(c.Op), at)
	}
	if (c.Op == OpLike || c.Op == OpNotLike) && k != KindText {
		return Invalid("Filters", "cannot use %s on %s%s: %s compares text and %s is %s", c.Op, p, at, c.Op, p, k)
	}
	bound := make([]FieldValue, len(c.Values))
	for i, lit := range c.Values {
		v, ok := ParseFieldValue(k, lit)
		if !ok {
			return Invalid("Filters", "cannot compare %s%s with %s: %s is %s", p, at, qFormatLiteral(lit), p, k)
		}
		bound[i] = v
	}
	c.Path, c.bound, c.like = p, bound, nil
	if c.Op == OpLike || c.Op == OpNotLike {
		pat := qCompileLike(c.Values[0])
		c.like = &pat
	}
	return nil
}

func qArity(op Operator) string {
	if op.IsList() {
		return "at least one value"
	}
	return "exactly one value"
}

// Match implements Expr.
func (c *Comparison) Match(get Getter) bool { return c.eval(get) == qTrue }

func (c *Comparison) eval(get Getter) qTruth {
	v, ok := get(c.Path)
	if !ok {
		return qUnknown
	}
	switch c.Op {
	case OpIn, OpNotIn:
		t := qFalse
		for i := range c.Values {
			lit, ok := c.literal(i, v.kind)
			if !ok {
				t = qUnknown
				continue
			}
			if n, ok := CompareFieldValues(v, lit); !ok {
				t = qUnknown
			} else if n == 0 {
				t = qTrue
				break
			}
		}
		if c.Op == OpNotIn {
			return qNot(t)
		}
		return t
	case OpLike, OpNotLike:
		if v.kind != KindText || len(c.Values) == 0 {
			return qUnknown
		}
		var pat qLikePattern
		if c.like != nil {
			pat = *c.like
		} else {
			pat = qCompileLike(c.Values[0])
		}
		t := qFalse
		if pat.match(v.text) {
			t = qTrue
		}
		if c.Op == OpNotLike {
			return qNot(t)
		}
		return t
	}
	if len(c.Values) == 0 {
		return qUnknown
	}
	lit, ok := c.literal(0, v.kind)
	if !ok {
		return qUnknown
	}
	n, ok := CompareFieldValues(v, lit)
	if !ok {
		return qUnknown
	}
	var r bool
	switch c.Op {
	case OpEq:
		r = n == 0
	case OpNe:
		r = n != 0
	case OpGt:
		r = n > 0
	case OpGe:
		r = n >= 0
	case OpLt:
		r = n < 0
	case OpLe:
		r = n <= 0
	default:
		return qUnknown
	}
	if r {
		return qTrue
	}
	return qFalse
}

// literal is Values[i] as a value of kind k: bound by Validate, or read on
// the fly for a tree that was never validated.
func (c *Comparison) literal(i int, k FieldKind) (FieldValue, bool) {
	if len(c.bound) == len(c.Values) {
		return c.bound[i], true
	}
	return ParseFieldValue(k, c.Values[i])
}

// String implements Expr.
func (c *Comparison) String() string {
	var b strings.Builder
	b.WriteString(c.Path.String())
	b.WriteByte(' ')
	b.WriteString(string(c.Op))
	b.WriteByte(' ')
	if c.Op.IsList() {
		b.WriteByte('(')
		for i, v := range c.Values {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(qFormatLiteral(v))
		}
		b.WriteByte(')')
	} else if len(c.Values) > 0 {
		b.WriteString(qFormatLiteral(c.Values[0]))
	}
	return b.String()
}

// qKeywords are the words of the filter syntax; a literal spelled like one
// is printed quoted so that it cannot be read back as syntax.
var qKeywords = []string{"and", "or", "not", "in", "notin", "like", "notlike"}

// qFormatLiteral prints a literal bare when it is a plain word (letters,
// digits and _ . - : + %), which covers names, numbers, dates and times and
// most Like patterns, and single-quoted with backslash escapes otherwise.
func qFormatLiteral(s string) string {
	bare := s != "" && !slices.ContainsFunc(qKeywords, func(kw string) bool { return strings.EqualFold(kw, s) }) &&
		!strings.ContainsFunc(s, func(r rune) bool {
			return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune("_.-:+%", r)
		})
	if bare {
		return s
	}
	var b strings.Builder
	b.WriteByte('\'')
	for _, r := range s {
		switch r {
		case '\\':
			b.WriteString(`\\`)
		case '\'':
			b.WriteString(`\'`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('\'')
	return b.String()
}
