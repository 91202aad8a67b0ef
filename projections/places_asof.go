package projections

import (
	"github.com/portcullis/portcullis/domain"
)

// listPlacesAsOf answers a place list as the read models stood at position
// *q.asOf: the records alive then (asof.go), in creation order, with the
// same filters, search, order and paging as the live list.
func listPlacesAsOf[T placeRecord](db *DB, tenant string, q placeQuery[T], page domain.Page) ([]T, int, error) {
	var want []dim
	for _, f := range q.filters {
		if f.value != "" {
			want = append(want, f)
		}
	}
	var all []T
	err := db.LiveAsOf(tenant, q.kind, *q.asOf, false, func(v Version) (bool, error) {
		var r T
		if err := v.DecodeState(&r); err != nil {
			return false, err
		}
		if r.live() && hasDims(r, want) && (q.match == nil || q.match(r)) {
			all = append(all, r)
		}
		return true, nil
	})
	if err != nil {
		return nil, 0, err
	}
	out, total := q.sortAndPage(all, page)
	return out, total, nil
}
