package projections

import (
	"slices"
	"strings"

	"github.com/portcullis/portcullis/domain"
)

// The views read model answers the access-control-systems overview, active
// list and locking plan, the space overview, individuals, active
// assignments and recent activity, and the dashboard, each from indexes and
// counters kept as events arrive, never by scanning a tenant's records.
//
// Links are read from the access point's side of the link (the
// access_point.credentials_linked/unlinked events, which carry exactly the
// ids that changed). Every credential linked to at least one access point
// has a credentialLinks entry naming those access points and the groups
// they put it in: the locking system and the space of each access point,
// and the tenant as a whole, each with a count of the access points that
// put it there. A credential becomes a member of a group when its count
// leaves 0 and stops being one when it returns to 0; a member is listed
// under the group's sets (all, and held/assigned/pending while someone
// holds it) in creation order, and each set has a counter.
var (
	// tenant,access point → placement: where each access point is, so that
	// a move knows where it came from
	bucketViewPlacements = []byte("view_placements")
	// tenant,credential → credentialLinks
	bucketViewLinks = []byte("view_links")
	// tenant,kind,group,set 0x00 be64 credential ordinal → credential id,
	// a blocked index (blockindex.go)
	bucketViewMembers = []byte("view_members")
	// tenant,kind,group,counter → be64 count
	bucketViewCounts = []byte("view_counts")
	// tenant,space 0x00 be64 position → empty: the events that concerned a
	// space, its access points or the credentials linked to them, a
	// blocked index
	bucketViewActivity = []byte("view_activity")
	// tenant,individual → person: the department each person is listed under
	bucketViewPeople = []byte("view_people")
	// tenant,folded department 0x00 be64 creation position → individual id
	bucketViewDepartments = []byte("view_departments")
	// tenant 0x00 be64 creation position → locking system id, for every
	// live locking system with at least one access point
	bucketViewActiveSystems = []byte("view_active_systems")
)

// Kinds of groups a linked credential belongs to.
const (
	groupSystem = "system"
	groupSpace  = "space"
	groupTenant = "tenant"
)

// Sets of a group's members, each ordered by credential creation and
// counted. setHeld is assigned ∪ pending: the active assignments.
const (
	setAll      = "all"
	setHeld     = "held"
	setAssigned = domain.AssignmentAssigned
	setPending  = domain.AssignmentPending
)

// Counters that are not member sets.
const (
	counterActivity      = "activity"       // kind space: entries of its recent activity
	counterActiveSystems = "active_systems" // kind tenant: locking systems in use
	counterPeople        = "people"         // kind department: people listed under it
)

// kindDepartment is the counter kind of the department index.
const kindDepartment = "department"

// placement is where an access point is, and what a locking plan shows of
// it (the access point's own record also carries every linked credential,
// too much to read for a column).
type placement struct {
	Space     string `msgpack:"space"`
	System    string `msgpack:"system"`
	PointName string `msgpack:"point_name"`
	Label     string `msgpack:"label"`
	Status    string `msgpack:"status"`
}

// moved reports whether the access point changed space or locking system.
func (p placement) moved(to placement) bool { return p.Space != to.Space || p.System != to.System }

// groups are the groups a link to an access point at p puts a credential in.
func (p placement) groups() []groupCount {
	out := []groupCount{{Kind: groupTenant}}
	if p.System != "" {
		out = append(out, groupCount{Kind: groupSystem, ID: p.System})
	}
	if p.Space != "" {
		out = append(out, groupCount{Kind: groupSpace, ID: p.Space})
	}
	return out
}

// credentialLinks is what the views know of a linked credential.
type credentialLinks struct {
	Ordinal      uint64       `msgpack:"ordinal"`
	Hold         string       `msgpack:"hold"`          // assigned, pending or "" (available or deleted)
	AccessPoints []string     `msgpack:"access_points"` // sorted
	Groups       []groupCount `msgpack:"groups"`        // sorted by kind, then id
}

// groupCount is one group of a credential and how many of its access points
// put it there.
type groupCount struct {
	Kind string `msgpack:"kind"`
	ID   string `msgpack:"id"`
	N    int    `msgpack:"n"`
}

// person is what the department index knows of an individual.
type person struct {
	Department string `msgpack:"department"` // folded; "" for none
	Created    uint64 `msgpack:"created"`
}

// foldDepartment is the form departments are indexed and matched in:
// trimmed and lower-cased, as access rules compare them.
func foldDepartment(d string) string { return strings.ToLower(strings.TrimSpace(d)) }

// setsOf are the member sets of a credential that is held as hold.
func setsOf(hold string) []string {
	if hold == "" {
		return []string{setAll}
	}
	return []string{setAll, setHeld, hold}
}

// holdOf is how a credential counts in the views: assigned, pending, or
// not held.
func holdOf(c *Credential) string {
	if c.Deleted || c.AssignmentStatus == domain.AssignmentAvailable {
		return ""
	}
	return c.AssignmentStatus
}

func groupKey(tenant, kind, group, name string) []byte { return key(tenant, kind, group, name) }

type viewsProjection struct{}

// apply runs after the read models it reads (credentials, places,
// individuals) have applied the same event.
func (viewsProjection) apply(tx *vtx, e domain.Event) error {
	switch e.Aggregate.Type {
	case domain.AggregateAccessPoint:
		return applyAccessPointView(tx, e)
	case domain.AggregateCredential:
		return applyCredentialView(tx, e)
	case domain.AggregateSpace:
		return recordActivity(tx, e, e.Aggregate.ID)
	case domain.AggregateLockingSystem:
		return applyActiveSystem(tx, e)
	case domain.AggregateIndividual:
		return applyPerson(tx, e)
	}
	return nil
}

func applyAccessPointView(tx *vtx, e domain.Event) error {
	places := tx.Bucket(bucketViewPlacements)
	k := key(e.Tenant, e.Aggregate.ID)
	var before placement
	known, err := getValue(places, k, &before)
	if err != nil {
		return err
	}
	stored := known
	var ap AccessPoint
	if _, err := getValue(tx.Bucket(bucketAccessPoints), k, &ap); err != nil {
		return err
	}
	after := placement{Space: ap.SpaceID, System: ap.LockingSystemID, PointName: ap.PointName, Label: ap.Label, Status: ap.Status}
	switch d := e.Data.(type) {
	case *domain.AccessPointCreated:
		known = true
	case *domain.AccessPointUpdated:
		if known && before.moved(after) {
			for _, id := range ap.CredentialIDs {
				if err := relinkCredential(tx, e.Tenant, id, before, after); err != nil {
					return err
				}
			}
		}
	case *domain.AccessPointDeleted:
		for _, id := range ap.CredentialIDs {
			if err := linkCredential(tx, e.Tenant, id, e.Aggregate.ID, before, false); err != nil {
				return err
			}
		}
	case *domain.AccessPointCredentialsLinked:
		for _, id := range d.CredentialIDs {
			if err := linkCredential(tx, e.Tenant, id, e.Aggregate.ID, after, true); err != nil {
				return err
			}
		}
	case *domain.AccessPointCredentialsUnlinked:
		for _, id := range d.CredentialIDs {
			if err := linkCredential(tx, e.Tenant, id, e.Aggregate.ID, after, false); err != nil {
				return err
			}
		}
	}
	if !known {
		return nil // an event for an access point the log never created
	}
	for _, s := range []string{before.Space, after.Space} {
		if err := recordActivity(tx, e, s); err != nil {
			return err
		}
	}
	if _, deleted := e.Data.(*domain.AccessPointDeleted); deleted {
		return places.Delete(k)
	}
	if stored && before == after {
		// Most events of an access point (its links) leave its place
		// alone: writing it again would add a version equal to the last.
		return nil
	}
	return putValue(places, k, &after)
}

// loadLinks reads a credential's links; a credential without any starts
// from its read model (its ordinal and how it is held).
func loadLinks(tx *vtx, tenant, id string) (credentialLinks, bool, error) {
	var l credentialLinks
	found, err := getValue(tx.Bucket(bucketViewLinks), key(tenant, id), &l)
	if err != nil || found {
		return l, found, err
	}
	var c Credential
	ok, err := getValue(tx.Bucket(bucketCredentials), key(tenant, id), &c)
	if err != nil || !ok {
		return l, false, err
	}
	l.Ordinal, l.Hold = c.Ordinal, holdOf(&c)
	return l, true, nil
}

func saveLinks(tx *vtx, tenant, id string, l *credentialLinks) error {
	k := key(tenant, id)
	if len(l.AccessPoints) == 0 && len(l.Groups) == 0 {
		return tx.Bucket(bucketViewLinks).Delete(k)
	}
	return putValue(tx.Bucket(bucketViewLinks), k, l)
}

// linkCredential adds (or with link false removes) the link of credential
// id to access point ap at p.
func linkCredential(tx *vtx, tenant, id, ap string, p placement, link bool) error {
	l, found, err := loadLinks(tx, tenant, id)
	if err != nil || !found {
		return err // a credential the log never created
	}
	i, has := slices.BinarySearch(l.AccessPoints, ap)
	if has == link {
		return nil // already so
	}
	delta := 1
	if link {
		l.AccessPoints = slices.Insert(l.AccessPoints, i, ap)
	} else {
		l.AccessPoints = slices.Delete(l.AccessPoints, i, i+1)
		delta = -1
	}
	for _, g := range p.groups() {
		if err := l.count(tx, tenant, id, g, delta); err != nil {
			return err
		}
	}
	return saveLinks(tx, tenant, id, &l)
}

// relinkCredential moves one access point's share of a credential's groups
// from where the access point was to where it is.
func relinkCredential(tx *vtx, tenant, id string, from, to placement) error {
	l, found, err := loadLinks(tx, tenant, id)
	if err != nil || !found {
		return err
	}
	for _, g := range from.groups() {
		if err := l.count(tx, tenant, id, g, -1); err != nil {
			return err
		}
	}
	for _, g := range to.groups() {
		if err := l.count(tx, tenant, id, g, 1); err != nil {
			return err
		}
	}
	return saveLinks(tx, tenant, id, &l)
}

// count changes the credential's count in group g by delta; leaving or
// reaching 0 makes it a member or ends its membership.
func (l *credentialLinks) count(tx *vtx, tenant, id string, g groupCount, delta int) error {
	i, found := slices.BinarySearchFunc(l.Groups, g, compareGroups)
	if !found {
		if delta < 0 {
			return nil
		}
		l.Groups = slices.Insert(l.Groups, i, groupCount{Kind: g.Kind, ID: g.ID})
	}
	was := l.Groups[i].N
	l.Groups[i].N += delta
	switch {
	case was == 0 && l.Groups[i].N > 0:
		return l.member(tx, tenant, id, g, setsOf(l.Hold), 1)
	case was > 0 && l.Groups[i].N <= 0:
		l.Groups = slices.Delete(l.Groups, i, i+1)
		return l.member(tx, tenant, id, g, setsOf(l.Hold), -1)
	}
	return nil
}

func compareGroups(a, b groupCount) int {
	if c := strings.Compare(a.Kind, b.Kind); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}

// member lists (delta 1) or unlists (delta -1) the credential under sets of
// group g. The tenant group keeps counters only.
func (l *credentialLinks) member(tx *vtx, tenant, id string, g groupCount, sets []string, delta int64) error {
	counts := tx.Bucket(bucketViewCounts)
	for _, set := range sets {
		k := groupKey(tenant, g.Kind, g.ID, set)
		if g.Kind != groupTenant {
			members := blockedIndex(tx, bucketViewMembers, k, ordinalBlockShift)
			var err error
			if delta > 0 {
				err = members.put(l.Ordinal, []byte(id))
			} else {
				err = members.delete(l.Ordinal)
			}
			if err != nil {
				return err
			}
		}
		if err := addUint(counts, k, delta); err != nil {
			return err
		}
	}
	return nil
}

// applyCredentialView follows how a linked credential is held, and records
// the event in the activity of the spaces it opens.
func applyCredentialView(tx *vtx, e domain.Event) error {
	var l credentialLinks
	found, err := getValue(tx.Bucket(bucketViewLinks), key(e.Tenant, e.Aggregate.ID), &l)
	if err != nil {
		return err
	}
	if found {
		var c Credential
		if _, err := getValue(tx.Bucket(bucketCredentials), key(e.Tenant, e.Aggregate.ID), &c); err != nil {
			return err
		}
		if hold := holdOf(&c); hold != l.Hold {
			was, is := setsOf(l.Hold), setsOf(hold)
			for _, g := range l.Groups {
				if err := l.member(tx, e.Tenant, e.Aggregate.ID, g, without(was, is), -1); err != nil {
					return err
				}
				if err := l.member(tx, e.Tenant, e.Aggregate.ID, g, without(is, was), 1); err != nil {
					return err
				}
			}
			l.Hold = hold
			if err := saveLinks(tx, e.Tenant, e.Aggregate.ID, &l); err != nil {
				return err
			}
		}
	}
	var spaces []string
	for _, g := range l.Groups {
		if g.Kind == groupSpace {
			spaces = append(spaces, g.ID)
		}
	}
	var named []string
	switch d := e.Data.(type) {
	case *domain.CredentialAccessPointsLinked:
		named = d.AccessPointIDs
	case *domain.CredentialAccessPointsUnlinked:
		named = d.AccessPointIDs
	}
	for _, ap := range named {
		var p placement
		if _, err := getValue(tx.Bucket(bucketViewPlacements), key(e.Tenant, ap), &p); err != nil {
			return err
		}
		spaces = append(spaces, p.Space)
	}
	for _, s := range spaces {
		if err := recordActivity(tx, e, s); err != nil {
			return err
		}
	}
	return nil
}

// without returns the elements of a not in b.
func without(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// recordActivity lists event e in the recent activity of space, once.
func recordActivity(tx *vtx, e domain.Event, space string) error {
	if space == "" {
		return nil
	}
	b := blockedIndex(tx, bucketViewActivity, key(e.Tenant, space), positionBlockShift)
	if b.entries.Get(seqKey(b.prefix, e.Sequence)) != nil {
		return nil
	}
	if err := b.put(e.Sequence, []byte{}); err != nil {
		return err
	}
	return addUint(tx.Bucket(bucketViewCounts), groupKey(e.Tenant, groupSpace, space, counterActivity), 1)
}

// applyActiveSystem keeps the index of locking systems in use: live, with
// at least one access point.
func applyActiveSystem(tx *vtx, e domain.Event) error {
	var ls LockingSystem
	found, err := getValue(tx.Bucket(bucketLockingSystems), key(e.Tenant, e.Aggregate.ID), &ls)
	if err != nil || !found || ls.CreatedSeq == 0 {
		return err
	}
	b := tx.Bucket(bucketViewActiveSystems)
	k := seqKey([]byte(e.Tenant), ls.CreatedSeq)
	active, listed := ls.live() && ls.AccessPointCount > 0, b.Get(k) != nil
	if active == listed {
		return nil
	}
	counter := groupKey(e.Tenant, groupTenant, "", counterActiveSystems)
	if active {
		if err := b.Put(k, []byte(ls.ID)); err != nil {
			return err
		}
		return addUint(tx.Bucket(bucketViewCounts), counter, 1)
	}
	if err := b.Delete(k); err != nil {
		return err
	}
	return addUint(tx.Bucket(bucketViewCounts), counter, -1)
}

// applyPerson keeps the index of live individuals by department.
func applyPerson(tx *vtx, e domain.Event) error {
	switch d := e.Data.(type) {
	case *domain.IndividualUpdated:
		if d.Department == nil {
			// The person's department, creation and deletion stay as
			// they were, and so does everything kept here.
			return nil
		}
	case *domain.IndividualCredentialsAssigned, *domain.IndividualCredentialsConfirmed, *domain.IndividualCredentialsReturned:
		return nil
	}
	var ind Individual
	found, err := getValue(tx.Bucket(bucketIndividuals), key(e.Tenant, e.Aggregate.ID), &ind)
	if err != nil {
		return err
	}
	people := tx.Bucket(bucketViewPeople)
	k := key(e.Tenant, e.Aggregate.ID)
	var before person
	if _, err := getValue(people, k, &before); err != nil {
		return err
	}
	var after person
	if found && !ind.Deleted {
		after = person{Department: foldDepartment(ind.Department), Created: ind.CreatedSeq}
	}
	if after == before {
		return nil
	}
	depts, counts := tx.Bucket(bucketViewDepartments), tx.Bucket(bucketViewCounts)
	if before.Department != "" {
		if err := depts.Delete(seqKey(key(e.Tenant, before.Department), before.Created)); err != nil {
			return err
		}
		if err := addUint(counts, groupKey(e.Tenant, kindDepartment, before.Department, counterPeople), -1); err != nil {
			return err
		}
	}
	if after.Department != "" {
		if err := depts.Put(seqKey(key(e.Tenant, after.Department), after.Created), []byte(e.Aggregate.ID)); err != nil {
			return err
		}
		if err := addUint(counts, groupKey(e.Tenant, kindDepartment, after.Department, counterPeople), 1); err != nil {
			return err
		}
	}
	if after == (person{}) {
		return people.Delete(k)
	}
	return putValue(people, k, &after)
}
