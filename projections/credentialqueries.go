package projections

import (
	"cmp"
	"encoding/binary"
	"slices"
	"strings"
	"time"

	"github.com/portcullis/portcullis/domain"
)

// CredentialOrderFields are the fields a list of credentials sorts on.
var CredentialOrderFields = []string{"created_at", "updated_at", "credential_id", "credential_name", "type", "status",
	"status_assignment", "valid_until", "due_date"}

// CredentialFilter narrows a list of credentials. Empty fields do not
// filter. Search matches the number and the name, case-insensitively.
// Overdue keeps held credentials whose due date is before Now.
type CredentialFilter struct {
	Status        string
	Type          string
	Assignment    string
	Holder        string
	AccessPointID string
	Search        string
	Overdue       bool
	Now           time.Time
}

// DueSoonWindow is how far ahead a due date counts as "due soon" in the
// stats.
const DueSoonWindow = 7 * 24 * time.Hour

// equalities are the filter's index lookups: (index, value) pairs.
func (f CredentialFilter) equalities() [][2]string {
	var out [][2]string
	for _, c := range [][2]string{{credIdxStatus, f.Status}, {credIdxType, f.Type}, {credIdxAssignment, f.Assignment},
		{credIdxHolder, f.Holder}, {credIdxAccessPt, f.AccessPointID}} {
		if c[1] != "" {
			out = append(out, c)
		}
	}
	return out
}

// match applies the whole filter to one record.
func (f CredentialFilter) match(c *Credential) bool {
	switch {
	case c.Deleted,
		f.Status != "" && c.Status != f.Status,
		f.Type != "" && c.Type != f.Type,
		f.Assignment != "" && c.AssignmentStatus != f.Assignment,
		f.Holder != "" && c.AssignedTo != f.Holder,
		f.AccessPointID != "" && !slices.Contains(c.LinkedTo, f.AccessPointID),
		f.Overdue && (c.AssignedTo == "" || c.DueDate.IsZero() || !c.DueDate.Before(f.Now)):
		return false
	}
	if f.Search != "" {
		s := strings.ToLower(f.Search)
		return strings.Contains(strings.ToLower(c.CredentialID), s) || strings.Contains(strings.ToLower(c.CredentialName), s)
	}
	return true
}

// Credential returns one live credential of a tenant.
func (db *DB) Credential(tenant, id string) (Credential, bool, error) {
	var c Credential
	var found bool
	err := db.view(func(tx *vtx) error {
		var err error
		found, err = getValue(tx.Bucket(bucketCredentials), key(tenant, id), &c)
		return err
	})
	if c.Deleted {
		return Credential{}, false, err
	}
	return c, found, err
}

// Credentials returns one page of a tenant's live credentials and how many
// match.
//
// In creation order (the default), a list with at most one of the equality
// filters and no search walks that filter's index and reads only the page,
// with its total from a counter; without filters, the block counters take
// it to any page's first entry. With several filters, the index with the
// fewest entries is walked and the others are checked on each record. The
// overdue filter walks the due-date index up to Now. Other orders collect
// the matches and sort them.
func (db *DB) Credentials(tenant string, f CredentialFilter, order []domain.Order, page domain.Page) ([]Credential, int, error) {
	var out []Credential
	var total int
	byCreation := len(order) == 0 || (len(order) == 1 && order[0].Field == "created_at")
	desc := byCreation && len(order) == 1 && order[0].Desc
	err := db.view(func(tx *vtx) error {
		recs, idx, counts := tx.Bucket(bucketCredentials), tx.Bucket(bucketCredentialIndex), tx.Bucket(bucketCredentialCounts)
		load := func(id []byte) (Credential, error) {
			var c Credential
			_, err := getValue(recs, key(tenant, string(id)), &c)
			return c, err
		}
		eq := f.equalities()
		source := [2]string{credIdxAll, ""}
		for _, e := range eq {
			if getUint(counts, key(tenant, e[0], e[1])) < getUint(counts, key(tenant, source[0], source[1])) || source[0] == credIdxAll {
				source = e
			}
		}
		var err error
		if byCreation && len(eq) <= 1 && f.Search == "" && !f.Overdue {
			total = int(getUint(counts, key(tenant, source[0], source[1])))
			if source[0] == credIdxAll {
				out, err = walkBlocks(tx, tenant, desc, page, load)
			} else {
				out, err = walkIndex(idx, key(tenant, source[0], source[1]), desc, page, load)
			}
			return err
		}
		var all []Credential
		lo, hi := page.Offset(), page.Offset()+page.Limit
		keep := func(c Credential) {
			if f.match(&c) {
				if !byCreation || f.Overdue || (total >= lo && total < hi) {
					all = append(all, c)
				}
				total++
			}
		}
		if f.Overdue {
			err = eachTimeBefore(tx, tenant, credTimeDue, f.Now, func(id []byte) error {
				c, err := load(id)
				keep(c)
				return err
			})
		} else {
			err = eachInIndex(idx, key(tenant, source[0], source[1]), desc, func(id []byte) error {
				c, err := load(id)
				keep(c)
				return err
			})
		}
		if err != nil {
			return err
		}
		if byCreation && !f.Overdue {
			out = all
			return nil
		}
		sortCredentials(all, order)
		l, h := page.Bounds(len(all))
		out = all[l:h]
		return nil
	})
	return out, total, err
}

// eachInIndex calls fn with every id under an index prefix, in order.
func eachInIndex(idx *vbucket, prefix []byte, desc bool, fn func(id []byte) error) error {
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
	for ; k != nil && hasPrefix(k, p); k, v = next() {
		if err := fn(v); err != nil {
			return err
		}
	}
	return nil
}

// walkBlocks reads one page of a tenant's credentials in creation order.
// The block counters say which block holds the page's first entry, so the
// walk skips whole blocks without touching their entries.
func walkBlocks(tx *vtx, tenant string, desc bool, page domain.Page, load func(id []byte) (Credential, error)) ([]Credential, error) {
	prefix := append([]byte(tenant), 0)
	bc := tx.Bucket(bucketCredentialBlocks).Cursor()
	var k, v []byte
	nextBlock := bc.Next
	if desc {
		k, v = bc.Seek(append([]byte(tenant), 1))
		if k == nil {
			k, v = bc.Last()
		} else {
			k, v = bc.Prev()
		}
		nextBlock = bc.Prev
	} else {
		k, v = bc.Seek(prefix)
	}
	skip := page.Offset()
	var block uint64
	found := false
	for ; k != nil && hasPrefix(k, prefix); k, v = nextBlock() {
		n := int(binary.BigEndian.Uint64(v))
		if n > skip {
			block, found = binary.BigEndian.Uint64(k[len(prefix):]), true
			break
		}
		skip -= n
	}
	if !found {
		return nil, nil
	}
	all := key(tenant, credIdxAll, "")
	p := append(append([]byte{}, all...), 0)
	c := tx.Bucket(bucketCredentialIndex).Cursor()
	next := c.Next
	if desc {
		k, v = c.Seek(seqKey(all, (block+1)*credentialBlock))
		if k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
		next = c.Prev
	} else {
		k, v = c.Seek(seqKey(all, block*credentialBlock))
	}
	out := make([]Credential, 0, page.Limit)
	for ; k != nil && hasPrefix(k, p) && len(out) < page.Limit; k, v = next() {
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
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// eachTimeBefore calls fn with every id in a time index before t, earliest
// first.
func eachTimeBefore(tx *vtx, tenant, kind string, t time.Time, fn func(id []byte) error) error {
	p := append(key(tenant, kind), 0)
	end := seqKey(key(tenant, kind), timeBits(t))
	c := tx.Bucket(bucketCredentialTimes).Cursor()
	for k, v := c.Seek(p); k != nil && hasPrefix(k, p) && string(k[:len(end)]) < string(end); k, v = c.Next() {
		if err := fn(v); err != nil {
			return err
		}
	}
	return nil
}

// countTimeBefore counts the entries of a time index before t: whole days
// from the day counters, the day of t itself from the index.
func countTimeBefore(tx *vtx, tenant, kind string, t time.Time) int {
	n := 0
	p := append(key(tenant, kind), 0)
	today := seqKey(key(tenant, kind), dayOf(t))
	c := tx.Bucket(bucketCredentialTimeDays).Cursor()
	for k, v := c.Seek(p); k != nil && hasPrefix(k, p) && string(k) < string(today); k, v = c.Next() {
		n += int(binary.BigEndian.Uint64(v))
	}
	dayStart := time.Unix(dayNumber(t)*86400, 0)
	start := seqKey(key(tenant, kind), timeBits(dayStart))
	end := seqKey(key(tenant, kind), timeBits(t))
	tc := tx.Bucket(bucketCredentialTimes).Cursor()
	for k, _ := tc.Seek(start); k != nil && hasPrefix(k, p) && string(k[:len(end)]) < string(end); k, _ = tc.Next() {
		n++
	}
	return n
}

func sortCredentials(all []Credential, order []domain.Order) {
	if len(order) == 0 {
		order = []domain.Order{{Field: "created_at"}}
	}
	slices.SortStableFunc(all, func(a, b Credential) int {
		for _, o := range order {
			var c int
			switch o.Field {
			case "created_at":
				c = cmp.Compare(a.Ordinal, b.Ordinal)
			case "updated_at":
				c = a.UpdatedAt.Compare(b.UpdatedAt)
			case "credential_id":
				c = cmp.Compare(strings.ToLower(a.CredentialID), strings.ToLower(b.CredentialID))
			case "credential_name":
				c = cmp.Compare(strings.ToLower(a.CredentialName), strings.ToLower(b.CredentialName))
			case "type":
				c = cmp.Compare(a.Type, b.Type)
			case "status":
				c = cmp.Compare(a.Status, b.Status)
			case "status_assignment":
				c = cmp.Compare(a.AssignmentStatus, b.AssignmentStatus)
			case "valid_until":
				c = a.ValidUntil.Compare(b.ValidUntil)
			case "due_date":
				c = a.DueDate.Compare(b.DueDate)
			}
			if o.Desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return cmp.Compare(a.Ordinal, b.Ordinal)
	})
}

// CredentialStats are a tenant's credential counts, all read from counters.
type CredentialStats struct {
	Total              int
	ByStatus           map[string]int
	ByType             map[string]int
	ByAssignmentStatus map[string]int
	// Expired counts credentials whose valid_until is before now.
	Expired int
	// Overdue counts held credentials whose due date is before now; DueSoon
	// those due within DueSoonWindow from now.
	Overdue int
	DueSoon int
}

// CredentialStats counts a tenant's credentials as of now.
func (db *DB) CredentialStats(tenant string, now time.Time) (CredentialStats, error) {
	var s CredentialStats
	err := db.view(func(tx *vtx) error {
		s = credentialStats(tx, tenant, now)
		return nil
	})
	return s, err
}

// credentialStats counts inside a read transaction, for reads that combine
// the stats with other read models.
func credentialStats(tx *vtx, tenant string, now time.Time) CredentialStats {
	var s CredentialStats
	counts := tx.Bucket(bucketCredentialCounts)
	count := func(idx string, values []string) map[string]int {
		m := make(map[string]int, len(values))
		for _, v := range values {
			m[v] = int(getUint(counts, key(tenant, idx, v)))
		}
		return m
	}
	s.Total = int(getUint(counts, key(tenant, credIdxAll, "")))
	s.ByStatus = count(credIdxStatus, domain.CredentialStatuses)
	s.ByType = count(credIdxType, domain.CredentialTypes)
	s.ByAssignmentStatus = count(credIdxAssignment, domain.AssignmentStatuses)
	s.Expired = countTimeBefore(tx, tenant, credTimeValidUntil, now)
	s.Overdue = countTimeBefore(tx, tenant, credTimeDue, now)
	s.DueSoon = countTimeBefore(tx, tenant, credTimeDue, now.Add(DueSoonWindow)) - s.Overdue
	return s
}

// maxSuggestSkips bounds how many taken numbers a suggestion steps over.
const maxSuggestSkips = 10000

// SuggestCredentialID proposes the next free credential number in the
// tenant's scheme: the shape most of its numbers have (prefix, zero-padded
// width, suffix; ties go to the shape that sorts first), one past the
// highest number in it, stepping over numbers already taken in any shape.
// With no numbered credentials yet the scheme is four digits from 0001.
// It also returns the scheme, rendered with # for digits ("K-####").
func (db *DB) SuggestCredentialID(tenant string) (string, string, error) {
	var out, scheme string
	err := db.view(func(tx *vtx) error {
		prefix := append([]byte(tenant), 0)
		var best string
		var bestCount uint64
		c := tx.Bucket(bucketCredentialShapes).Cursor()
		for k, v := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, v = c.Next() {
			if n := binary.BigEndian.Uint64(v); n > bestCount {
				best, bestCount = string(k[len(prefix):]), n
			}
		}
		next := uint64(1)
		if best == "" {
			best = "\x01\x014"
		} else {
			nc := tx.Bucket(bucketCredentialShapeNumbers).Cursor()
			sp := key(tenant, best)
			k, _ := nc.Seek(append(append([]byte{}, sp...), 1))
			if k == nil {
				k, _ = nc.Last()
			} else {
				k, _ = nc.Prev()
			}
			if k != nil && hasPrefix(k, append(sp, 0)) {
				next = binary.BigEndian.Uint64(k[len(k)-8:]) + 1
			}
		}
		numbers := tx.Bucket(bucketCredentialNumbers)
		for range maxSuggestSkips {
			out = formatShape(best, next)
			if numbers.Get(key(tenant, domain.NormalizeCredentialNumber(out))) == nil {
				break
			}
			next++
		}
		scheme = describeShape(best)
		return nil
	})
	return out, scheme, err
}

// CredentialAsOf returns one credential as it stood at position seq (see
// asof.go), not found if it did not live then.
func (db *DB) CredentialAsOf(tenant, id string, seq uint64) (Credential, bool, error) {
	c, ok, err := RecordAsOf[Credential](db, tenant, domain.Ref{Type: domain.AggregateCredential, ID: id}, seq)
	if err != nil || !ok || c.Deleted {
		return Credential{}, false, err
	}
	return c, true, nil
}

// CredentialsAsOf answers Credentials as the read models stood at position
// seq, from the history: the credentials that lived then, filtered, sorted
// and paged by the same code as the live list.
func (db *DB) CredentialsAsOf(tenant string, f CredentialFilter, order []domain.Order, page domain.Page, seq uint64) ([]Credential, int, error) {
	var all []Credential
	err := db.LiveAsOf(tenant, domain.AggregateCredential, seq, false, func(v Version) (bool, error) {
		var c Credential
		err := v.DecodeState(&c)
		if err == nil && f.match(&c) {
			all = append(all, c)
		}
		return true, err
	})
	if err != nil {
		return nil, 0, err
	}
	sortCredentials(all, order)
	lo, hi := page.Bounds(len(all))
	return all[lo:hi], len(all), nil
}
