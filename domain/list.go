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
