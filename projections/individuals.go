package projections

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/portcullis/portcullis/domain"
)

var (
	bucketIndividuals          = []byte("individuals")            // tenant,id → Individual
	bucketIndividualsByCreated = []byte("individuals_by_created") // tenant,created seq → id
	bucketIndividualsByExtID   = []byte("individuals_by_ext_id")  // tenant,ext_id → id
	bucketCounts               = []byte("counts")                 // tenant,kind → count
	// tenant,status 0x00 be64 created seq → id: the live individuals of
	// each status in creation order, counted under tenant,"individuals",
	// "status",status in bucketCounts. Versioned like every index, it also
	// answers a status-filtered list as of any position with a seek.
	bucketIndividualsByStatus = []byte("individuals_by_status")
)

// statusCountKey counts a tenant's live individuals of one status.
func statusCountKey(tenant, status string) []byte {
	return key(tenant, "individuals", "status", status)
}

// indexStatus adds (delta 1) or removes (-1) a live individual from the
// index of its status.
func indexStatus(tx *vtx, tenant string, ind *Individual, delta int64) error {
	k := seqKey(key(tenant, ind.Status), ind.CreatedSeq)
	var err error
	if delta > 0 {
		err = tx.Bucket(bucketIndividualsByStatus).Put(k, []byte(ind.ID))
	} else {
		err = tx.Bucket(bucketIndividualsByStatus).Delete(k)
	}
	if err != nil {
		return err
	}
	return addUint(tx.Bucket(bucketCounts), statusCountKey(tenant, ind.Status), delta)
}

// Individual is the read model of a person.
type Individual struct {
	ID          string `msgpack:"id"`
	ExtID       string `msgpack:"ext_id"`
	FirstName   string `msgpack:"first_name"`
	LastName    string `msgpack:"last_name"`
	Email       string `msgpack:"email"`
	MobilePhone string `msgpack:"mobile_phone"`
	Department  string `msgpack:"department"`
	Status      string `msgpack:"status"`
	LoginID     string `msgpack:"login_id,omitempty"` // the nevisIDM loginId, if any
	// Held are the ids of the access credentials the person holds or has
	// reserved, sorted: versioned with the person, so that an access
	// decision as of an earlier instant knows what they held then.
	Held       []string  `msgpack:"held,omitempty"`
	CreatedAt  time.Time `msgpack:"created_at"`
	UpdatedAt  time.Time `msgpack:"updated_at"`
	Deleted    bool      `msgpack:"deleted,omitempty"`
	CreatedSeq uint64    `msgpack:"created_seq"`
	Version    uint64    `msgpack:"version"` // position of the last event that changed it: the ETag
}

// IndividualOrderFields are the fields a list of individuals sorts on.
var IndividualOrderFields = []string{"created_at", "updated_at", "first_name", "last_name", "email", "status"}

// IndividualFilter narrows a list of individuals. Search matches names and
// email, case-insensitively.
type IndividualFilter struct {
	Search string
	Status string
}

// matches reports whether a live individual passes the filter.
func (f IndividualFilter) matches(ind Individual) bool {
	if ind.Deleted || (f.Status != "" && ind.Status != f.Status) {
		return false
	}
	search := strings.ToLower(f.Search)
	return search == "" || strings.Contains(strings.ToLower(ind.FirstName+" "+ind.LastName+" "+ind.Email), search)
}

// inCreationOrder reports whether a list is unfiltered and in creation
// order (and which way), the one kind of list an index answers without
// reading every record.
func (f IndividualFilter) inCreationOrder(order []domain.Order) (bool, bool) {
	if f != (IndividualFilter{}) || len(order) > 1 || (len(order) == 1 && order[0].Field != "created_at") {
		return false, false
	}
	return true, len(order) == 1 && order[0].Desc
}

// inStatusOrder reports whether a list is filtered by status alone and in
// creation order (and which way): the status index answers it.
func (f IndividualFilter) inStatusOrder(order []domain.Order) (bool, bool) {
	if f.Status == "" || f.Search != "" || len(order) > 1 || (len(order) == 1 && order[0].Field != "created_at") {
		return false, false
	}
	return true, len(order) == 1 && order[0].Desc
}

type individualsProjection struct{}

func (individualsProjection) apply(tx *vtx, e domain.Event) error {
	if e.Aggregate.Type != domain.AggregateIndividual {
		return nil
	}
	b := tx.Bucket(bucketIndividuals)
	k := key(e.Tenant, e.Aggregate.ID)
	var ind Individual
	switch e.Data.(type) {
	case *domain.IndividualUpdated, *domain.IndividualDeleted:
		// Only changes read the record; a creation writes it whole.
		if _, err := getValue(b, k, &ind); err != nil {
			return err
		}
	case *domain.IndividualCredentialsAssigned, *domain.IndividualCredentialsConfirmed, *domain.IndividualCredentialsReturned:
		// Handing over or taking back a credential leaves the person's
		// fields (and updated_at) alone, but it is a version of the
		// person: the ETag follows it, and the history shows it.
		found, err := getValue(b, k, &ind)
		if err != nil || !found || ind.Deleted {
			return err
		}
		switch d := e.Data.(type) {
		case *domain.IndividualCredentialsAssigned:
			ind.Held = domain.IDSet(ind.Held).With(d.CredentialIDs...)
		case *domain.IndividualCredentialsReturned:
			ind.Held = domain.IDSet(ind.Held).Without(d.CredentialIDs...)
		}
		ind.Version = e.Sequence
		return putRecord(tx, bucketIndividuals, k, e, &ind)
	}
	switch d := e.Data.(type) {
	case *domain.IndividualCreated:
		f := d.IndividualFields
		ind = Individual{ID: e.Aggregate.ID, ExtID: f.ExtID, FirstName: f.FirstName, LastName: f.LastName,
			Email: f.Email, MobilePhone: f.MobilePhone, Department: f.Department, Status: f.Status,
			LoginID: f.LoginID, CreatedAt: e.OccurredAt, CreatedSeq: e.Sequence}
		if err := tx.Bucket(bucketIndividualsByCreated).Put(seqKey([]byte(e.Tenant), e.Sequence), []byte(ind.ID)); err != nil {
			return err
		}
		if err := tx.Bucket(bucketIndividualsByExtID).Put(key(e.Tenant, f.ExtID), []byte(ind.ID)); err != nil {
			return err
		}
		if err := addUint(tx.Bucket(bucketCounts), key(e.Tenant, "individuals"), 1); err != nil {
			return err
		}
		if err := indexStatus(tx, e.Tenant, &ind, 1); err != nil {
			return err
		}
	case *domain.IndividualUpdated:
		if d.Status != nil && *d.Status != ind.Status && !ind.Deleted && ind.ID != "" {
			if err := indexStatus(tx, e.Tenant, &ind, -1); err != nil {
				return err
			}
			moved := ind
			moved.Status = *d.Status
			if err := indexStatus(tx, e.Tenant, &moved, 1); err != nil {
				return err
			}
		}
		set := func(dst *string, src *string) {
			if src != nil {
				*dst = *src
			}
		}
		set(&ind.FirstName, d.FirstName)
		set(&ind.LastName, d.LastName)
		set(&ind.Email, d.Email)
		set(&ind.MobilePhone, d.MobilePhone)
		set(&ind.Department, d.Department)
		set(&ind.Status, d.Status)
		set(&ind.LoginID, d.LoginID)
	case *domain.IndividualDeleted:
		ind.Deleted = true
		if err := tx.Bucket(bucketIndividualsByCreated).Delete(seqKey([]byte(e.Tenant), ind.CreatedSeq)); err != nil {
			return err
		}
		if err := tx.Bucket(bucketIndividualsByExtID).Delete(key(e.Tenant, ind.ExtID)); err != nil {
			return err
		}
		if err := addUint(tx.Bucket(bucketCounts), key(e.Tenant, "individuals"), -1); err != nil {
			return err
		}
		if err := indexStatus(tx, e.Tenant, &ind, -1); err != nil {
			return err
		}
	default:
		return nil
	}
	ind.UpdatedAt = e.OccurredAt
	ind.Version = e.Sequence
	// One encoding serves both the record and its history entry.
	data, err := marshal(&ind)
	if err != nil {
		return err
	}
	if err := b.Put(k, data); err != nil {
		return err
	}
	return putVersion(tx, e, data)
}

// Individual returns one live individual of a tenant.
func (db *DB) Individual(tenant, id string) (Individual, bool, error) {
	var ind Individual
	var found bool
	err := db.view(func(tx *vtx) error {
		var err error
		found, err = getValue(tx.Bucket(bucketIndividuals), key(tenant, id), &ind)
		return err
	})
	if ind.Deleted {
		return Individual{}, false, err
	}
	return ind, found, err
}

// IndividualExists reports whether id was ever an individual of tenant, live
// or deleted: its history stays readable after a delete.
func (db *DB) IndividualExists(tenant, id string) (bool, error) {
	var found bool
	err := db.view(func(tx *vtx) error {
		found = tx.Bucket(bucketIndividuals).Get(key(tenant, id)) != nil
		return nil
	})
	return found, err
}

// Individuals returns one page of a tenant's live individuals and the number
// that match. Unfiltered lists in creation order walk an index and read only
// the page; filtered or otherwise ordered lists scan the tenant's records.
func (db *DB) Individuals(tenant string, f IndividualFilter, order []domain.Order, page domain.Page) ([]Individual, int, error) {
	var out []Individual
	var total int
	err := db.view(func(tx *vtx) error {
		recs := tx.Bucket(bucketIndividuals)
		load := func(id []byte) (Individual, error) {
			var ind Individual
			_, err := getValue(recs, key(tenant, string(id)), &ind)
			return ind, err
		}
		if byCreation, desc := f.inCreationOrder(order); byCreation {
			total = int(getUint(tx.Bucket(bucketCounts), key(tenant, "individuals")))
			var err error
			out, err = walkIndex(tx.Bucket(bucketIndividualsByCreated), []byte(tenant), desc, page, load)
			return err
		}
		if byStatus, desc := f.inStatusOrder(order); byStatus {
			total = int(getUint(tx.Bucket(bucketCounts), statusCountKey(tenant, f.Status)))
			var err error
			out, err = walkIndex(tx.Bucket(bucketIndividualsByStatus), key(tenant, f.Status), desc, page, load)
			return err
		}
		var all []Individual
		prefix := append([]byte(tenant), 0)
		c := recs.Cursor()
		for k, v := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, v = c.Next() {
			var ind Individual
			if err := unmarshal(v, &ind); err != nil {
				return err
			}
			if f.matches(ind) {
				all = append(all, ind)
			}
		}
		sortIndividuals(all, order)
		total = len(all)
		lo, hi := page.Bounds(len(all))
		out = all[lo:hi]
		return nil
	})
	return out, total, err
}

// IndividualAsOf returns one individual as it stood at position seq (see
// asof.go), not found if it did not live then.
func (db *DB) IndividualAsOf(tenant, id string, seq uint64) (Individual, bool, error) {
	ind, ok, err := RecordAsOf[Individual](db, tenant, domain.Ref{Type: domain.AggregateIndividual, ID: id}, seq)
	if err != nil || !ok || ind.Deleted {
		return Individual{}, false, err
	}
	return ind, true, nil
}

// IndividualsAsOf answers Individuals as the read models stood at position
// seq, with the same filter, order and paging, from the history.
func (db *DB) IndividualsAsOf(tenant string, f IndividualFilter, order []domain.Order, page domain.Page, seq uint64) ([]Individual, int, error) {
	var out []Individual
	decode := func(v Version) (Individual, error) {
		var ind Individual
		return ind, v.DecodeState(&ind)
	}
	if byStatus, _ := f.inStatusOrder(order); byStatus {
		// The live list's status index, read as of seq (versions.go).
		return db.At(seq).Individuals(tenant, f, order, page)
	}
	if byCreation, desc := f.inCreationOrder(order); byCreation {
		total, err := db.CountAsOf(tenant, domain.AggregateIndividual, seq)
		if err != nil {
			return nil, 0, err
		}
		skip := page.Offset()
		err = db.LiveAsOf(tenant, domain.AggregateIndividual, seq, desc, func(v Version) (bool, error) {
			if skip > 0 {
				skip--
				return true, nil
			}
			ind, err := decode(v)
			out = append(out, ind)
			return len(out) < page.Limit, err
		})
		return out, total, err
	}
	var all []Individual
	err := db.LiveAsOf(tenant, domain.AggregateIndividual, seq, false, func(v Version) (bool, error) {
		ind, err := decode(v)
		if err == nil && f.matches(ind) {
			all = append(all, ind)
		}
		return true, err
	})
	if err != nil {
		return nil, 0, err
	}
	sortIndividuals(all, order)
	lo, hi := page.Bounds(len(all))
	return all[lo:hi], len(all), nil
}

// walkIndex reads one page through a position-ordered index under prefix.
func walkIndex[T any](idx *vbucket, prefix []byte, desc bool, page domain.Page, load func(id []byte) (T, error)) ([]T, error) {
	var out []T
	p := append(append([]byte{}, prefix...), 0)
	c := idx.Cursor()
	var k, v []byte
	next := c.Next
	if desc {
		k, v = c.Seek(append(append([]byte{}, prefix...), 1))
		if k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
		next = c.Prev
	} else {
		k, v = c.Seek(p)
	}
	for skip := page.Offset(); k != nil && hasPrefix(k, p) && len(out) < page.Limit; k, v = next() {
		if skip > 0 {
			skip--
			continue
		}
		item, err := load(v)
		if err != nil {
			return nil, err
		}
		out = append(out, item)
	}
	return out, nil
}

func sortIndividuals(all []Individual, order []domain.Order) {
	if len(order) == 0 {
		order = []domain.Order{{Field: "created_at"}}
	}
	slices.SortStableFunc(all, func(a, b Individual) int {
		for _, o := range order {
			var c int
			switch o.Field {
			case "created_at":
				c = cmp.Compare(a.CreatedSeq, b.CreatedSeq)
			case "updated_at":
				c = a.UpdatedAt.Compare(b.UpdatedAt)
			case "first_name":
				c = cmp.Compare(strings.ToLower(a.FirstName), strings.ToLower(b.FirstName))
			case "last_name":
				c = cmp.Compare(strings.ToLower(a.LastName), strings.ToLower(b.LastName))
			case "email":
				c = cmp.Compare(a.Email, b.Email)
			case "status":
				c = cmp.Compare(a.Status, b.Status)
			}
			if o.Desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return cmp.Compare(a.CreatedSeq, b.CreatedSeq)
	})
}
