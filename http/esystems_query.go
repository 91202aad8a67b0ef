package http

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/portcullis/portcullis/domain"
)

// The list-query syntax of the eSystems face: the Filters, Orders and Fields
// query parameters. This file only spells the language; what a filter means
// lives in domain/query.go, so a read model never sees this syntax.
//
//	filter     = [ or ] .
//	or         = and { "OR" and } .
//	and        = unary { "AND" unary } .
//	unary      = "NOT" unary | "(" or ")" | comparison .
//	comparison = path cmp value
//	           | path ( "Like" | "NotLike" | "NOT" "Like" ) value
//	           | path ( "In" | "NotIn" | "NOT" "In" ) "(" value { "," value } ")" .
//	cmp        = "=" | "<>" | "!=" | ">" | ">=" | "<" | "<=" .
//	value      = word | string .
//	path       = ident { "." ident } .
//	ident      = ( letter | "_" ) { letter | digit | "_" } .
//	orders     = [ order { "," order } ] .
//	order      = path [ "ASC" | "DESC" ] .
//	fields     = [ path { "," path } ] .
//
// Keywords are case-insensitive. A word is a run of characters other than
// white space, control characters and ( ) , ' " = < > !, so dates, times
// and Like patterns need no quotes; a keyword used as a value must be quoted.
// A string is quoted with ' or " and takes the escapes \\ \' \" \n \r \t and
// a doubled quote. NOT binds tighter than AND, AND tighter than OR.

// esMaxQueryLen and esMaxDepth bound the work one request can cause: the
// parser recurses once per nesting level and the evaluator once per node.
const (
	esMaxQueryLen = 4096
	esMaxDepth    = 32
)

// parseESystemsQuery reads the three list parameters of an eSystems list
// into a domain.Query that the handler validates against its Schema.
func parseESystemsQuery(filters, orders, fields string) (domain.Query, error) {
	var q domain.Query
	var err error
	if q.Filter, err = parseESystemsFilter(filters); err != nil {
		return q, err
	}
	if q.Orders, err = parseESystemsOrders(orders); err != nil {
		return q, err
	}
	q.Fields, err = parseESystemsFields(fields)
	return q, err
}

// parseESystemsFilter reads a Filters parameter; blank means no filter (nil).
// Errors are BAD_REQUEST naming "Filters" and the 1-based character position.
func parseESystemsFilter(s string) (domain.Expr, error) {
	return esParseFilter(s, esMaxQueryLen, esMaxDepth)
}

func esParseFilter(s string, maxLen, maxDepth int) (domain.Expr, error) {
	p, err := esNewParser("Filters", s, maxLen)
	if err != nil || p.tok.kind == esEOF {
		return nil, err
	}
	p.maxDepth = maxDepth
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != esEOF {
		return nil, p.expected("AND, OR or end of input")
	}
	return e, nil
}

// parseESystemsOrders reads an Orders parameter such as "Name DESC,
// CreatedOn"; the direction defaults to ascending. Field is a dotted path.
func parseESystemsOrders(s string) ([]domain.Order, error) {
	p, err := esNewParser("Orders", s, esMaxQueryLen)
	if err != nil || p.tok.kind == esEOF {
		return nil, err
	}
	var out []domain.Order
	seen := map[string]bool{}
	for {
		start := p.tok.pos
		path, err := p.path("ASC", "DESC")
		if err != nil {
			return nil, err
		}
		o := domain.Order{Field: path.String()}
		directed := esIsKeyword(p.tok, "ASC") || esIsKeyword(p.tok, "DESC")
		if directed {
			o.Desc = esIsKeyword(p.tok, "DESC")
			if err := p.advance(); err != nil {
				return nil, err
			}
		}
		key := strings.ToLower(o.Field)
		if seen[key] {
			return nil, domain.Invalid("Orders", "%s at position %d is ordered twice", o.Field, start)
		}
		seen[key] = true
		out = append(out, o)
		want := "\",\" or end of input"
		if !directed {
			want = "ASC, DESC, " + want
		}
		done, err := p.listNext(want, o.Field)
		if err != nil {
			return nil, err
		}
		if done {
			return out, nil
		}
	}
}

// parseESystemsFields reads a Fields projection such as "Id,Name".
func parseESystemsFields(s string) ([]domain.FieldPath, error) {
	p, err := esNewParser("Fields", s, esMaxQueryLen)
	if err != nil || p.tok.kind == esEOF {
		return nil, err
	}
	var out []domain.FieldPath
	seen := map[string]bool{}
	for {
		start := p.tok.pos
		path, err := p.path()
		if err != nil {
			return nil, err
		}
		key := strings.ToLower(path.String())
		if seen[key] {
			return nil, domain.Invalid("Fields", "%s at position %d is listed twice", path, start)
		}
		seen[key] = true
		out = append(out, path)
		done, err := p.listNext("\",\" or end of input", "")
		if err != nil {
			return nil, err
		}
		if done {
			return out, nil
		}
	}
}

type esTokenKind uint8

const (
	esEOF esTokenKind = iota
	esWord
	esString
	esLParen
	esRParen
	esComma
	esCmp // = <> != > >= < <=
)

// esToken is one lexeme and where it starts, so that every error can point
// at the character a client has to fix.
type esToken struct {
	kind esTokenKind
	text string // the word, the unescaped string or the operator
	pos  int    // 1-based character (not byte) position
}

// esParser is a recursive-descent parser over a lexer that is pulled one
// token at a time, so the first error in reading order is the one reported.
type esParser struct {
	field    string // the query parameter errors name
	src      string
	off      int // byte offset of the next rune
	pos      int // character position of off, 1-based
	tok      esToken
	depth    int
	maxDepth int
}

func esNewParser(field, s string, maxLen int) (*esParser, error) {
	for i, pos := 0, 1; i < len(s); pos++ {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			return nil, domain.Invalid(field, "invalid UTF-8 at position %d", pos)
		}
		i += n
	}
	if n := utf8.RuneCountInString(s); maxLen >= 0 && n > maxLen {
		return nil, domain.Invalid(field, "is %d characters long, at most %d are allowed", n, maxLen)
	}
	p := &esParser{field: field, src: s, pos: 1}
	return p, p.advance()
}

func (p *esParser) errorf(pos int, format string, args ...any) error {
	return domain.Invalid(p.field, "syntax error at position %d: %s", pos, fmt.Sprintf(format, args...))
}

// expected reports that the current token is not what the grammar needs.
func (p *esParser) expected(what string) error {
	return p.errorf(p.tok.pos, "expected %s, found %s", what, esDescribe(p.tok))
}

func esDescribe(t esToken) string {
	switch t.kind {
	case esEOF:
		return "end of input"
	case esString:
		r := []rune(t.text)
		if len(r) > 24 {
			return fmt.Sprintf("text %q…", string(r[:24]))
		}
		return fmt.Sprintf("text %q", t.text)
	}
	r := []rune(t.text)
	if len(r) > 24 {
		return fmt.Sprintf("%q…", string(r[:24]))
	}
	return fmt.Sprintf("%q", t.text)
}

func esIsKeyword(t esToken, kw string) bool {
	return t.kind == esWord && strings.EqualFold(t.text, kw)
}

// esFilterKeywords may not be field names or bare values in a filter.
var esFilterKeywords = []string{"AND", "OR", "NOT", "IN", "NOTIN", "LIKE", "NOTLIKE"}

func esAnyKeyword(t esToken, kws []string) (string, bool) {
	for _, kw := range kws {
		if esIsKeyword(t, kw) {
			return kw, true
		}
	}
	return "", false
}

// esWordRune reports whether r may appear in an unquoted word.
func esWordRune(r rune) bool {
	return !unicode.IsSpace(r) && !unicode.IsControl(r) && !strings.ContainsRune("()',\"=<>!", r)
}

func (p *esParser) read() (rune, bool) {
	if p.off >= len(p.src) {
		return 0, false
	}
	r, n := utf8.DecodeRuneInString(p.src[p.off:])
	p.off += n
	p.pos++
	return r, true
}

func (p *esParser) peek() rune {
	if p.off >= len(p.src) {
		return 0
	}
	r, _ := utf8.DecodeRuneInString(p.src[p.off:])
	return r
}

// advance lexes the next token into p.tok.
func (p *esParser) advance() error {
	for p.off < len(p.src) && unicode.IsSpace(p.peek()) {
		p.read()
	}
	start, from := p.pos, p.off
	r, ok := p.read()
	if !ok {
		p.tok = esToken{kind: esEOF, pos: start}
		return nil
	}
	tok := esToken{pos: start}
	switch {
	case r == '(':
		tok.kind = esLParen
	case r == ')':
		tok.kind = esRParen
	case r == ',':
		tok.kind = esComma
	case r == '=':
		tok.kind = esCmp
	case r == '<' || r == '>' || r == '!':
		tok.kind = esCmp
		if n := p.peek(); n == '=' || (r == '<' && n == '>') {
			p.read()
		} else if r == '!' {
			return p.errorf(start, "expected \"!=\", found \"!\"")
		}
	case r == '\'' || r == '"':
		text, err := p.quoted(r, start)
		if err != nil {
			return err
		}
		p.tok = esToken{kind: esString, text: text, pos: start}
		return nil
	case unicode.IsControl(r):
		return p.errorf(start, "unexpected control character U+%04X", r)
	default:
		for p.off < len(p.src) && esWordRune(p.peek()) {
			p.read()
		}
		tok.kind = esWord
	}
	tok.text = p.src[from:p.off]
	p.tok = tok
	return nil
}

// quoted reads the rest of a string opened by q at position start.
func (p *esParser) quoted(q rune, start int) (string, error) {
	var b strings.Builder
	for {
		at := p.pos
		r, ok := p.read()
		if !ok {
			return "", p.errorf(start, "string is not closed, expected %c before end of input", q)
		}
		switch {
		case r == q && p.peek() == q:
			p.read()
			b.WriteRune(q)
		case r == q:
			return b.String(), nil
		case r == '\\':
			e, ok := p.read()
			if !ok {
				return "", p.errorf(start, "string is not closed, expected %c before end of input", q)
			}
			switch e {
			case '\\', '\'', '"':
				b.WriteRune(e)
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			default:
				return "", p.errorf(at, `unknown escape \%c, expected one of \\ \' \" \n \r \t`, e)
			}
		default:
			b.WriteRune(r)
		}
	}
}

// enter counts one nesting level (a parenthesis or a NOT) at position pos.
func (p *esParser) enter(pos int) error {
	if p.depth++; p.depth > p.maxDepth {
		return p.errorf(pos, "nested more than %d levels deep", p.maxDepth)
	}
	return nil
}

func (p *esParser) or() (domain.Expr, error) {
	return p.chain("OR", p.and, func(terms []domain.Expr) domain.Expr { return &domain.Or{Terms: terms} })
}

func (p *esParser) and() (domain.Expr, error) {
	return p.chain("AND", p.unary, func(terms []domain.Expr) domain.Expr { return &domain.And{Terms: terms} })
}

// chain reads operands joined by keyword kw and flattens nested nodes of
// the same kind, so that "(a AND b) AND c" and "a AND b AND c" are one tree.
func (p *esParser) chain(kw string, operand func() (domain.Expr, error), build func([]domain.Expr) domain.Expr) (domain.Expr, error) {
	var terms []domain.Expr
	for {
		x, err := operand()
		if err != nil {
			return nil, err
		}
		switch n := x.(type) {
		case *domain.And:
			if kw == "AND" {
				terms = append(terms, n.Terms...)
				break
			}
			terms = append(terms, x)
		case *domain.Or:
			if kw == "OR" {
				terms = append(terms, n.Terms...)
				break
			}
			terms = append(terms, x)
		default:
			terms = append(terms, x)
		}
		if !esIsKeyword(p.tok, kw) {
			break
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
	}
	if len(terms) == 1 {
		return terms[0], nil
	}
	return build(terms), nil
}

func (p *esParser) unary() (domain.Expr, error) {
	start := p.tok.pos
	switch {
	case esIsKeyword(p.tok, "NOT"):
		if err := p.enter(start); err != nil {
			return nil, err
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		p.depth--
		return &domain.Not{X: x}, nil
	case p.tok.kind == esLParen:
		if err := p.enter(start); err != nil {
			return nil, err
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		x, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.tok.kind != esRParen {
			return nil, p.expected(fmt.Sprintf("AND, OR or \")\" to close the \"(\" at position %d", start))
		}
		p.depth--
		return x, p.advance()
	}
	return p.comparison()
}

func (p *esParser) comparison() (domain.Expr, error) {
	start := p.tok.pos
	path, err := p.path(esFilterKeywords...)
	if err != nil {
		return nil, err
	}
	c := &domain.Comparison{Path: path, Pos: start}
	if c.Op, err = p.operator(path); err != nil {
		return nil, err
	}
	if !c.Op.IsList() {
		v, err := p.value(c.Op)
		if err != nil {
			return nil, err
		}
		c.Values = []string{v}
		return c, nil
	}
	if p.tok.kind != esLParen {
		return nil, p.expected(fmt.Sprintf("\"(\" and a list of values after %s", c.Op))
	}
	for {
		if err := p.advance(); err != nil {
			return nil, err
		}
		v, err := p.value(c.Op)
		if err != nil {
			return nil, err
		}
		c.Values = append(c.Values, v)
		switch p.tok.kind {
		case esComma:
			continue
		case esRParen:
			return c, p.advance()
		}
		return nil, p.expected(fmt.Sprintf("\",\" or \")\" in the list of %s", c.Op))
	}
}

// path reads a field path; reserved words cannot be one.
func (p *esParser) path(reserved ...string) (domain.FieldPath, error) {
	if _, kw := esAnyKeyword(p.tok, reserved); p.tok.kind != esWord || kw {
		return nil, p.expected("a field name")
	}
	path := domain.SplitFieldPath(p.tok.text)
	for _, seg := range path {
		for i, r := range seg {
			if !(r == '_' || unicode.IsLetter(r) || (i > 0 && unicode.IsDigit(r))) {
				return nil, p.errorf(p.tok.pos, "%q is not a field name: expected letters, digits and _ joined by dots", p.tok.text)
			}
		}
		if seg == "" {
			return nil, p.errorf(p.tok.pos, "%q is not a field name: expected letters, digits and _ joined by dots", p.tok.text)
		}
	}
	return path, p.advance()
}

// operator reads a comparison operator after path.
func (p *esParser) operator(path domain.FieldPath) (domain.Operator, error) {
	want := fmt.Sprintf("an operator (=, <>, >, >=, <, <=, In, NotIn, Like) after %s", path)
	var op domain.Operator
	switch {
	case p.tok.kind == esCmp:
		op = domain.Operator(p.tok.text)
		if op == "!=" {
			op = domain.OpNe
		}
	case esIsKeyword(p.tok, "IN"):
		op = domain.OpIn
	case esIsKeyword(p.tok, "NOTIN"):
		op = domain.OpNotIn
	case esIsKeyword(p.tok, "LIKE"):
		op = domain.OpLike
	case esIsKeyword(p.tok, "NOTLIKE"):
		op = domain.OpNotLike
	case esIsKeyword(p.tok, "NOT"):
		if err := p.advance(); err != nil {
			return "", err
		}
		switch {
		case esIsKeyword(p.tok, "IN"):
			op = domain.OpNotIn
		case esIsKeyword(p.tok, "LIKE"):
			op = domain.OpNotLike
		default:
			return "", p.expected("In or Like after NOT")
		}
	default:
		return "", p.expected(want)
	}
	return op, p.advance()
}

// value reads one literal; a keyword must be quoted to be a value.
func (p *esParser) value(op domain.Operator) (string, error) {
	switch p.tok.kind {
	case esString:
		v := p.tok.text
		return v, p.advance()
	case esWord:
		if kw, ok := esAnyKeyword(p.tok, esFilterKeywords); ok {
			return "", p.errorf(p.tok.pos, "expected a value after %s, found the keyword %s (quote it to compare with the text)", op, kw)
		}
		v := p.tok.text
		return v, p.advance()
	}
	return "", p.expected(fmt.Sprintf("a value after %s", op))
}

// listNext moves past a "," in Orders or Fields and reports done at the end.
func (p *esParser) listNext(want, after string) (done bool, err error) {
	switch p.tok.kind {
	case esEOF:
		return true, nil
	case esComma:
		return false, p.advance()
	}
	if after != "" {
		want += " after " + after
	}
	return false, p.expected(want)
}
