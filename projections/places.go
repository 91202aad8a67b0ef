package projections

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/portcullis/portcullis/domain"
)

// The place read models (locations, buildings, spaces, locking systems,
// access points) share one way of listing: every live record has an entry
// in bucketPlaceIndex per dimension it can be filtered on (its parent, its
// status, …) and one under dimAll, each keyed by its creation position, with
// the entry counts in bucketCounts. A list in creation order with at most
// one filter walks one index and reads only its page; other lists walk the
// smallest index that applies and filter and sort what it yields.

var bucketPlaceIndex = []byte("place_index") // tenant,kind,dim,value,created seq → id

// dimAll is the dimension every live record is indexed under.
const dimAll = "all"

// dim is one value a record can be filtered on.
type dim struct{ name, value string }

// placeRecord is what the index needs of a read model.
type placeRecord interface {
	created() uint64
	live() bool
	dims() []dim
}

func placeIndexPrefix(tenant, kind string, d dim) []byte { return key(tenant, kind, d.name, d.value) }

func placeCountKey(tenant, kind string, d dim) []byte {
	return key(tenant, "places", kind, d.name, d.value)
}

// indexPlace brings the index entries of one record from before (nil for a
// new record) to after: entries that no longer apply go, new ones come, and
// the counts follow. A record that is no longer live has none.
func indexPlace[T placeRecord](tx *vtx, tenant, kind, id string, before *T, after T) error {
	var had, has []dim
	if before != nil && (*before).live() {
		had = append((*before).dims(), dim{dimAll, ""})
	}
	if after.live() {
		has = append(after.dims(), dim{dimAll, ""})
	}
	idx, counts := tx.Bucket(bucketPlaceIndex), tx.Bucket(bucketCounts)
	for _, d := range had {
		if slices.Contains(has, d) {
			continue
		}
		if err := idx.Delete(seqKey(placeIndexPrefix(tenant, kind, d), after.created())); err != nil {
			return err
		}
		if err := addUint(counts, placeCountKey(tenant, kind, d), -1); err != nil {
			return err
		}
	}
	for _, d := range has {
		if slices.Contains(had, d) {
			continue
		}
		if err := idx.Put(seqKey(placeIndexPrefix(tenant, kind, d), after.created()), []byte(id)); err != nil {
			return err
		}
		if err := addUint(counts, placeCountKey(tenant, kind, d), 1); err != nil {
			return err
		}
	}
	return nil
}

// placeQuery is one list request over a kind of place.
type placeQuery[T placeRecord] struct {
	bucket []byte
	kind   string
	// filters are equality filters on dimensions; empty values are unset.
	filters []dim
	// match, if set, keeps only the records it accepts (a search).
	match func(T) bool
	order []domain.Order
	// compare compares two records on one order field.
	compare func(a, b T, field string) int
	// asOf, when set, lists the records as they stood at that position
	// (see asof.go) instead of the live ones.
	asOf *uint64
}

// listPlaces answers a placeQuery with one page and the number that match.
func listPlaces[T placeRecord](db *DB, tenant string, q placeQuery[T], page domain.Page) ([]T, int, error) {
	if q.asOf != nil {
		return listPlacesAsOf(db, tenant, q, page)
	}
	var out []T
	total := 0
	err := db.view(func(tx *vtx) error {
		var err error
		out, total, err = listPlacesIn(tx, tenant, q, page)
		return err
	})
	return out, total, err
}

// listPlacesIn is the live listPlaces inside a read transaction, for reads
// that combine a list with other read models.
func listPlacesIn[T placeRecord](tx *vtx, tenant string, q placeQuery[T], page domain.Page) ([]T, int, error) {
	recs, counts := tx.Bucket(q.bucket), tx.Bucket(bucketCounts)
	get := func(id []byte) (T, error) {
		var r T
		_, err := getValue(recs, key(tenant, string(id)), &r)
		return r, err
	}
	// Drive the walk by the filter that leaves the fewest entries.
	drive, rest := dim{dimAll, ""}, []dim(nil)
	best := getUint(counts, placeCountKey(tenant, q.kind, drive))
	for _, f := range q.filters {
		if f.value == "" {
			continue
		}
		if n := getUint(counts, placeCountKey(tenant, q.kind, f)); drive.name == dimAll || n < best {
			if drive.name != dimAll {
				rest = append(rest, drive)
			}
			drive, best = f, n
		} else {
			rest = append(rest, f)
		}
	}
	prefix := placeIndexPrefix(tenant, q.kind, drive)
	if len(rest) == 0 && q.match == nil && q.defaultOrder() {
		out, err := walkIndex(tx.Bucket(bucketPlaceIndex), prefix, len(q.order) == 1 && q.order[0].Desc, page, get)
		return out, int(best), err
	}
	var all []T
	p := append(prefix, 0)
	c := tx.Bucket(bucketPlaceIndex).Cursor()
	for k, v := c.Seek(p); k != nil && hasPrefix(k, p); k, v = c.Next() {
		r, err := get(v)
		if err != nil {
			return nil, 0, err
		}
		if !hasDims(r, rest) || (q.match != nil && !q.match(r)) {
			continue
		}
		all = append(all, r)
	}
	out, total := q.sortAndPage(all, page)
	return out, total, nil
}

// defaultOrder reports whether the query lists in creation order (either
// way), the order of the indexes.
func (q placeQuery[T]) defaultOrder() bool {
	return len(q.order) == 0 || (len(q.order) == 1 && q.order[0].Field == "created_at")
}

// sortAndPage orders records that arrived in creation order and cuts one
// page out of them.
func (q placeQuery[T]) sortAndPage(all []T, page domain.Page) ([]T, int) {
	if !q.defaultOrder() {
		slices.SortStableFunc(all, func(a, b T) int {
			for _, o := range q.order {
				c := cmp.Compare(a.created(), b.created())
				if o.Field != "created_at" {
					c = q.compare(a, b, o.Field)
				}
				if o.Desc {
					c = -c
				}
				if c != 0 {
					return c
				}
			}
			return cmp.Compare(a.created(), b.created())
		})
	} else if len(q.order) == 1 && q.order[0].Desc {
		slices.Reverse(all)
	}
	lo, hi := page.Bounds(len(all))
	return all[lo:hi], len(all)
}

func hasDims[T placeRecord](r T, want []dim) bool {
	has := r.dims()
	for _, d := range want {
		if !slices.Contains(has, d) {
			return false
		}
	}
	return true
}

// getPlace reads one record of a tenant; found is false for a record that
// never existed, ever is true for one that existed, live or deleted.
func getPlace[T placeRecord](db *DB, bucket []byte, tenant, id string) (r T, found bool, err error) {
	err = db.view(func(tx *vtx) error {
		found, err = getValue(tx.Bucket(bucket), key(tenant, id), &r)
		return err
	})
	return r, found, err
}

// applyPlace folds one event into a place record: it reads the record
// (unless the event creates it), lets change update it, stamps the version,
// re-indexes it and writes it with its history entry.
func applyPlace[T placeRecord](tx *vtx, bucket []byte, kind string, e domain.Event, change func(r *T) bool) error {
	k := key(e.Tenant, e.Aggregate.ID)
	var before T
	found, err := getValue(tx.Bucket(bucket), k, &before)
	if err != nil {
		return err
	}
	after := before
	if !change(&after) {
		return nil
	}
	var prev *T
	if found {
		prev = &before
	}
	if err := indexPlace(tx, e.Tenant, kind, e.Aggregate.ID, prev, after); err != nil {
		return err
	}
	return putRecord(tx, bucket, k, e, after)
}

// placeSearch is the search of place lists: a case-insensitive substring of
// any of the fields.
func placeSearch(search string, fields ...string) bool {
	s := strings.ToLower(search)
	for _, f := range fields {
		if strings.Contains(strings.ToLower(f), s) {
			return true
		}
	}
	return false
}

// compareText orders names ignoring case.
func compareText(a, b string) int { return cmp.Compare(strings.ToLower(a), strings.ToLower(b)) }

// compareTimes orders times.
func compareTimes(a, b time.Time) int { return a.Compare(b) }

// stamp sets what every event does to a place record: its last change and
// version (the ETag, the position of the aggregate's last event).
func stamp(updatedAt *time.Time, version *uint64, e domain.Event) {
	*updatedAt = e.OccurredAt
	*version = e.Sequence
}
