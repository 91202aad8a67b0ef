package domain

// Order is one sort key of a list: a field and a direction.
type Order struct {
	Field string
	Desc  bool
}

// Page is the window of a list a client asked for. Page counts from 1.
type Page struct {
	Page  int
	Limit int
}

// Offset is the number of items before the window.
func (p Page) Offset() int { return (p.Page - 1) * p.Limit }

// Bounds returns the window [lo, hi) of a list of n items, empty beyond the
// last page.
func (p Page) Bounds(n int) (lo, hi int) {
	lo = min(p.Offset(), n)
	return lo, min(lo+p.Limit, n)
}
