package projections

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"slices"

	"github.com/portcullis/portcullis/domain"
)

// The space views: a space's overview, who may enter it, the credentials
// assigned that open its doors, and its recent activity. Each reads the
// space, its chain of enclosing spaces and the views' indexes (views.go),
// never every record of the tenant.

// maxParentChain bounds the walk from a space outwards. The commands refuse
// cycles; the bound keeps a read safe whatever the file holds.
const maxParentChain = 64

// spaceChain reads a live space and the spaces around it, the space first.
// found is false for a space that is not live.
func spaceChain(tx *vtx, tenant, id string) (chain []Space, found bool, err error) {
	recs := tx.Bucket(bucketSpaces)
	for depth := 0; id != "" && depth < maxParentChain; depth++ {
		var s Space
		ok, err := getValue(recs, key(tenant, id), &s)
		if err != nil {
			return nil, false, err
		}
		if !ok || !s.live() {
			break
		}
		chain = append(chain, s)
		id = s.ParentID
	}
	return chain, len(chain) > 0, nil
}

// RuleRef names one access rule that lets an individual into a space: the
// rule, the space that holds it (the space itself or one around it), and
// whether it names the individual or their department.
type RuleRef struct {
	RuleID     string
	SpaceID    string
	Via        string // RuleViaIndividual or RuleViaDepartment
	Department string // the department as the rule names it, for Via department
}

// How a rule names an individual.
const (
	RuleViaIndividual = "individual"
	RuleViaDepartment = "department"
)

// spaceAccess is who the rules of a chain of spaces name: individuals by
// id and departments by folded name, each with the rules that name them,
// the space's own rules first.
type spaceAccess struct {
	direct      map[string][]RuleRef
	departments map[string][]RuleRef
	deptOrder   []string // folded departments, in the order first named
}

func accessOf(chain []Space) spaceAccess {
	a := spaceAccess{direct: map[string][]RuleRef{}, departments: map[string][]RuleRef{}}
	for _, s := range chain {
		for _, r := range s.Rules {
			for _, id := range r.IndividualIDs {
				a.direct[id] = append(a.direct[id], RuleRef{RuleID: r.ID, SpaceID: s.ID, Via: RuleViaIndividual})
			}
			for _, d := range r.Departments {
				f := foldDepartment(d)
				if _, seen := a.departments[f]; !seen {
					a.deptOrder = append(a.deptOrder, f)
				}
				a.departments[f] = append(a.departments[f], RuleRef{RuleID: r.ID, SpaceID: s.ID, Via: RuleViaDepartment, Department: d})
			}
		}
	}
	return a
}

// people are the live individuals the rules name directly and who are not
// also named by department, ordered by creation, and how many people the
// rules name in all: departments hold disjoint sets of people (everyone
// has one department at most), so the total is their counters plus these.
func (a spaceAccess) people(tx *vtx, tenant string) ([]indexEntry, int, error) {
	counts, people := tx.Bucket(bucketViewCounts), tx.Bucket(bucketViewPeople)
	total := 0
	for _, d := range a.deptOrder {
		total += int(getUint(counts, groupKey(tenant, kindDepartment, d, counterPeople)))
	}
	var direct []indexEntry
	for id := range a.direct {
		var p person
		found, err := getValue(people, key(tenant, id), &p)
		if err != nil {
			return nil, 0, err
		}
		if _, byDept := a.departments[p.Department]; !found || (p.Department != "" && byDept) {
			continue
		}
		direct = append(direct, indexEntry{seq: p.Created, id: []byte(id)})
	}
	sortEntries(direct)
	return direct, total + len(direct), nil
}

// SpaceOverview is a space with where it is and what it holds.
type SpaceOverview struct {
	Space    Space
	Building Building
	Location Location
	// Parents are the spaces around it, from its parent outwards.
	Parents     []Space
	ChildSpaces int // spaces directly inside it
	// Individuals counts the live individuals the rules of the space or
	// of a space around it name, directly or by department.
	Individuals int
	// Credentials counts the distinct credentials linked to its access
	// points; Held of them are its active assignments.
	Credentials LinkCounts
	// Activity counts the entries of its recent activity; LastActivity is
	// the newest, nil for none.
	Activity     int
	LastActivity *AuditEntry
}

// SpaceOverview reads the overview of a live space; found is false
// otherwise.
func (db *DB) SpaceOverview(tenant, id string) (SpaceOverview, bool, error) {
	var o SpaceOverview
	found := false
	err := db.view(func(tx *vtx) error {
		chain, ok, err := spaceChain(tx, tenant, id)
		if err != nil || !ok {
			return err
		}
		found = true
		o.Space, o.Parents = chain[0], chain[1:]
		if _, err := getValue(tx.Bucket(bucketBuildings), key(tenant, o.Space.BuildingID), &o.Building); err != nil {
			return err
		}
		if _, err := getValue(tx.Bucket(bucketLocations), key(tenant, o.Building.LocationID), &o.Location); err != nil {
			return err
		}
		o.ChildSpaces = int(getUint(tx.Bucket(bucketCounts), placeCountKey(tenant, domain.AggregateSpace, dim{"parent_id", id})))
		if _, o.Individuals, err = accessOf(chain).people(tx, tenant); err != nil {
			return err
		}
		o.Credentials = linkCounts(tx, tenant, groupSpace, id)
		o.Activity = int(getUint(tx.Bucket(bucketViewCounts), groupKey(tenant, groupSpace, id, counterActivity)))
		entries, err := spaceActivity(tx, tenant, id, true, domain.Page{Page: 1, Limit: 1})
		if len(entries) > 0 {
			o.LastActivity = &entries[0]
		}
		return err
	})
	return o, found, err
}

// SpaceIndividual is an individual who may enter a space, with the rules
// that let them in.
type SpaceIndividual struct {
	Individual Individual
	Rules      []RuleRef
}

// SpaceIndividuals returns one page of the live individuals the rules of a
// live space or of a space around it name, directly or by department, in
// creation order, and how many there are. found is false for a space that
// is not live. The page merges the department indexes and the individuals
// named directly by creation position, reading only up to the page's end.
func (db *DB) SpaceIndividuals(tenant, id string, desc bool, page domain.Page) ([]SpaceIndividual, int, bool, error) {
	var out []SpaceIndividual
	total := 0
	found := false
	err := db.view(func(tx *vtx) error {
		chain, ok, err := spaceChain(tx, tenant, id)
		if err != nil || !ok {
			return err
		}
		found = true
		access := accessOf(chain)
		direct, n, err := access.people(tx, tenant)
		if err != nil {
			return err
		}
		total = n
		streams := []*entryStream{sliceStream(direct, desc)}
		for _, d := range access.deptOrder {
			streams = append(streams, indexStream(tx.Bucket(bucketViewDepartments), key(tenant, d), desc))
		}
		recs := tx.Bucket(bucketIndividuals)
		skip := page.Offset()
		for len(out) < page.Limit {
			e, ok := nextMerged(streams, desc)
			if !ok {
				break
			}
			if skip > 0 {
				skip--
				continue
			}
			var ind Individual
			if _, err := getValue(recs, key(tenant, string(e.id)), &ind); err != nil {
				return err
			}
			rules := append(append([]RuleRef{}, access.direct[ind.ID]...), access.departments[foldDepartment(ind.Department)]...)
			out = append(out, SpaceIndividual{Individual: ind, Rules: rules})
		}
		return nil
	})
	return out, total, found, err
}

// SpaceAssignment is a credential someone holds (or has reserved) that
// opens access points of a space: the credential, its holder (zero if the
// holder's record is gone), and the space's access points it opens.
type SpaceAssignment struct {
	Credential     Credential
	Holder         Individual
	AccessPointIDs []string
}

// SpaceAssignments returns one page of the active assignments of a live
// space: the credentials assigned or pending that are linked to its access
// points, in creation order, narrowed by f (status, type,
// status_assignment, assigned_to, search), and how many match. found is
// false for a space that is not live.
func (db *DB) SpaceAssignments(tenant, id string, f CredentialFilter, desc bool, page domain.Page) ([]SpaceAssignment, int, bool, error) {
	var out []SpaceAssignment
	total := 0
	found := false
	err := db.view(func(tx *vtx) error {
		_, ok, err := spaceChain(tx, tenant, id)
		if err != nil || !ok {
			return err
		}
		found = true
		column := map[string]int{}
		n := 0
		err = eachInIndex(tx.Bucket(bucketPlaceIndex), placeIndexPrefix(tenant, domain.AggregateAccessPoint, dim{"space_id", id}), false,
			func(apID []byte) error {
				column[string(apID)] = n
				n++
				return nil
			})
		if err != nil {
			return err
		}
		creds, t, err := groupMembers(tx, tenant, groupSpace, id, setHeld, f, desc, page)
		if err != nil {
			return err
		}
		total = t
		recs := tx.Bucket(bucketIndividuals)
		for _, c := range creds {
			a := SpaceAssignment{Credential: c, AccessPointIDs: columnsOf(c.LinkedTo, column)}
			if c.AssignedTo != "" {
				if _, err := getValue(recs, key(tenant, c.AssignedTo), &a.Holder); err != nil {
					return err
				}
			}
			out = append(out, a)
		}
		return nil
	})
	return out, total, found, err
}

// SpaceActivity returns one page of the recent activity of a live space
// (the audit entries of the events that changed it, its access points or
// the credentials linked to them), newest first unless asc, and how many
// there are. found is false for a space that is not live.
func (db *DB) SpaceActivity(tenant, id string, asc bool, page domain.Page) ([]AuditEntry, int, bool, error) {
	var out []AuditEntry
	total := 0
	found := false
	err := db.view(func(tx *vtx) error {
		_, ok, err := spaceChain(tx, tenant, id)
		if err != nil || !ok {
			return err
		}
		found = true
		total = int(getUint(tx.Bucket(bucketViewCounts), groupKey(tenant, groupSpace, id, counterActivity)))
		out, err = spaceActivity(tx, tenant, id, !asc, page)
		return err
	})
	return out, total, found, err
}

func spaceActivity(tx *vtx, tenant, id string, desc bool, page domain.Page) ([]AuditEntry, error) {
	var out []AuditEntry
	found, err := blockedIndex(tx, bucketViewActivity, key(tenant, id), positionBlockShift).page(desc, page)
	if err != nil {
		return nil, err
	}
	entries := tx.Bucket(bucketAudit)
	for _, e := range found {
		v := entries.Get(seqKey([]byte(tenant), e.seq))
		if v == nil {
			continue // not possible while the audit log keeps every event
		}
		a, err := decodeAuditEntry(v)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// indexEntry is one entry of a position-ordered index: the position its
// key ends with and its value.
type indexEntry struct {
	seq uint64
	id  []byte
}

func sortEntries(es []indexEntry) {
	slices.SortFunc(es, func(a, b indexEntry) int { return cmp.Compare(a.seq, b.seq) })
}

// entryStream yields the entries of one ordered source, with one entry of
// lookahead for merging.
type entryStream struct {
	next func() (indexEntry, bool)
	head indexEntry
	ok   bool
	read bool
}

// indexStream walks the entries under prefix (keys prefix 0x00 be64 seq)
// in order, or newest first with desc.
func indexStream(b *vbucket, prefix []byte, desc bool) *entryStream {
	p := append(append([]byte{}, prefix...), 0)
	c := b.Cursor()
	started := false
	return &entryStream{next: func() (indexEntry, bool) {
		var k, v []byte
		switch {
		case !started && desc:
			k, v = c.Seek(append(append([]byte{}, prefix...), 1))
			if k == nil {
				k, v = c.Last()
			} else {
				k, v = c.Prev()
			}
		case !started:
			k, v = c.Seek(p)
		case desc:
			k, v = c.Prev()
		default:
			k, v = c.Next()
		}
		started = true
		if k == nil || !bytes.HasPrefix(k, p) || len(k) != len(p)+8 {
			return indexEntry{}, false
		}
		return indexEntry{seq: binary.BigEndian.Uint64(k[len(p):]), id: v}, true
	}}
}

// sliceStream yields sorted entries in order, or backwards with desc.
func sliceStream(es []indexEntry, desc bool) *entryStream {
	i := 0
	return &entryStream{next: func() (indexEntry, bool) {
		if i >= len(es) {
			return indexEntry{}, false
		}
		e := es[i]
		if desc {
			e = es[len(es)-1-i]
		}
		i++
		return e, true
	}}
}

func (s *entryStream) peek() (indexEntry, bool) {
	if !s.read {
		s.head, s.ok = s.next()
		s.read = true
	}
	return s.head, s.ok
}

// nextMerged takes the lowest (or with desc the highest) head of the
// streams.
func nextMerged(streams []*entryStream, desc bool) (indexEntry, bool) {
	best := -1
	var bestEntry indexEntry
	for i, s := range streams {
		e, ok := s.peek()
		if !ok {
			continue
		}
		if best < 0 || (!desc && e.seq < bestEntry.seq) || (desc && e.seq > bestEntry.seq) {
			best, bestEntry = i, e
		}
	}
	if best < 0 {
		return indexEntry{}, false
	}
	streams[best].read = false
	return bestEntry, true
}
