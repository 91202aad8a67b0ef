package domain

import "unicode"

// qLikePattern is a compiled Like pattern: one element per character it
// consumes, except % which consumes any run.
type qLikePattern []qLikeElem

type qLikeElem struct {
	any    bool      // %
	one    bool      // _
	lit    rune      // a literal, already folded
	ranges [][2]rune // a class [..]; lit unused
	negate bool      // [^..]
}

// qCompileLike reads a pattern; it never fails, since every text is a
// pattern (an unclosed [ is a literal), so no client input is an error here.
func qCompileLike(p string) qLikePattern {
	rs := []rune(p)
	var out qLikePattern
	for i := 0; i < len(rs); i++ {
		switch r := rs[i]; r {
		case '%':
			if len(out) == 0 || !out[len(out)-1].any {
				out = append(out, qLikeElem{any: true})
			}
		case '_':
			out = append(out, qLikeElem{one: true})
		case '[':
			if e, n, ok := qCompileClass(rs[i+1:]); ok {
				out = append(out, e)
				i += n
				continue
			}
			out = append(out, qLikeElem{lit: qFold(r)})
		default:
			out = append(out, qLikeElem{lit: qFold(r)})
		}
	}
	return out
}

// qCompileClass reads the inside of a [..] class from rs, which starts just
// after the [; it returns the runes consumed including the closing ]. A ]
// right after [ or [^ is a member, as in most glob dialects.
func qCompileClass(rs []rune) (qLikeElem, int, bool) {
	var e qLikeElem
	i := 0
	if i < len(rs) && rs[i] == '^' {
		e.negate = true
		i++
	}
	start := i
	for i < len(rs) {
		if rs[i] == ']' && i > start {
			return e, i + 1, true
		}
		lo, hi := rs[i], rs[i]
		if i+2 < len(rs) && rs[i+1] == '-' && rs[i+2] != ']' {
			hi = rs[i+2]
			i += 2
		}
		e.ranges = append(e.ranges, [2]rune{lo, hi})
		i++
	}
	return qLikeElem{}, 0, false
}

func (e qLikeElem) matches(r rune) bool {
	switch {
	case e.one:
		return true
	case e.ranges == nil:
		return qFold(r) == e.lit
	}
	in := false
	// Case-insensitive: r is in the class when any rune of its fold orbit is.
	f := r
	for {
		for _, rg := range e.ranges {
			if rg[0] <= f && f <= rg[1] {
				in = true
			}
		}
		if f = unicode.SimpleFold(f); f == r || in {
			break
		}
	}
	return in != e.negate
}

// match reports whether the whole of s fits the pattern. It backtracks only
// to the last %, which keeps it linear in practice and O(len(s)·len(p)) at
// worst, so a hostile pattern cannot stall a list.
func (p qLikePattern) match(s string) bool {
	rs := []rune(s)
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(rs) {
		switch {
		case pi < len(p) && p[pi].any:
			star, mark = pi, si
			pi++
		case pi < len(p) && p[pi].matches(rs[si]):
			pi++
			si++
		case star >= 0:
			mark++
			pi, si = star+1, mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi].any {
		pi++
	}
	return pi == len(p)
}
