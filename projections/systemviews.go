package projections

import (
	"cmp"
	"slices"

	"github.com/portcullis/portcullis/domain"
)

// The access control systems views: the overview of a tenant's locking
// systems with their counts, the list of those in use, and the locking plan
// of one (which credential opens which of its access points). Counts come
// from the views' counters, pages from their member indexes (views.go).

// LinkCounts are the counts of the distinct credentials linked to a group
// (a locking system, a space, or the whole tenant): all of them, and those
// someone holds (assigned or pending confirmation).
type LinkCounts struct {
	Linked   int
	Held     int
	Assigned int
	Pending  int
}

func linkCounts(tx *vtx, tenant, kind, group string) LinkCounts {
	counts := tx.Bucket(bucketViewCounts)
	get := func(set string) int { return int(getUint(counts, groupKey(tenant, kind, group, set))) }
	return LinkCounts{Linked: get(setAll), Held: get(setHeld), Assigned: get(setAssigned), Pending: get(setPending)}
}

// SystemOverview is a locking system with the counts of the credentials
// linked to its access points.
type SystemOverview struct {
	LockingSystem
	Credentials LinkCounts
}

// ControlSystemSummary sums up a tenant's access control systems.
type ControlSystemSummary struct {
	LockingSystems       int
	ActiveLockingSystems int
	AccessPoints         int
	// Credentials counts the distinct credentials linked to any access
	// point.
	Credentials LinkCounts
}

func controlSystemSummary(tx *vtx, tenant string) ControlSystemSummary {
	counts := tx.Bucket(bucketCounts)
	return ControlSystemSummary{
		LockingSystems:       int(getUint(counts, placeCountKey(tenant, domain.AggregateLockingSystem, dim{dimAll, ""}))),
		ActiveLockingSystems: int(getUint(tx.Bucket(bucketViewCounts), groupKey(tenant, groupTenant, "", counterActiveSystems))),
		AccessPoints:         int(getUint(counts, placeCountKey(tenant, domain.AggregateAccessPoint, dim{dimAll, ""}))),
		Credentials:          linkCounts(tx, tenant, groupTenant, ""),
	}
}

func withCounts(tx *vtx, tenant string, systems []LockingSystem) []SystemOverview {
	out := make([]SystemOverview, len(systems))
	for i, ls := range systems {
		out[i] = SystemOverview{LockingSystem: ls, Credentials: linkCounts(tx, tenant, groupSystem, ls.ID)}
	}
	return out
}

// ControlSystemsOverview answers the overview: the summary, and one page of
// the tenant's locking systems (filtered and ordered as the locking systems
// list) with their counts, and how many match.
func (db *DB) ControlSystemsOverview(tenant string, f LockingSystemFilter, order []domain.Order, page domain.Page) (ControlSystemSummary, []SystemOverview, int, error) {
	var sum ControlSystemSummary
	var out []SystemOverview
	var total int
	err := db.view(func(tx *vtx) error {
		sum = controlSystemSummary(tx, tenant)
		systems, n, err := listPlacesIn(tx, tenant, lockingSystemQuery(f, order), page)
		out, total = withCounts(tx, tenant, systems), n
		return err
	})
	return sum, out, total, err
}

// ActiveSystems returns one page of the locking systems in use (live, with
// at least one access point), filtered and ordered as the locking systems
// list, with their counts, and how many match. In creation order without a
// filter it reads only the page from the index of systems in use; other
// lists read every system in use.
func (db *DB) ActiveSystems(tenant string, f LockingSystemFilter, order []domain.Order, page domain.Page) ([]SystemOverview, int, error) {
	var out []SystemOverview
	var total int
	q := lockingSystemQuery(f, order)
	err := db.view(func(tx *vtx) error {
		recs := tx.Bucket(bucketLockingSystems)
		get := func(id []byte) (LockingSystem, error) {
			var ls LockingSystem
			_, err := getValue(recs, key(tenant, string(id)), &ls)
			return ls, err
		}
		idx := tx.Bucket(bucketViewActiveSystems)
		if f == (LockingSystemFilter{}) && q.defaultOrder() {
			systems, err := walkIndex(idx, []byte(tenant), len(order) == 1 && order[0].Desc, page, get)
			out = withCounts(tx, tenant, systems)
			total = int(getUint(tx.Bucket(bucketViewCounts), groupKey(tenant, groupTenant, "", counterActiveSystems)))
			return err
		}
		var want []dim
		for _, d := range q.filters {
			if d.value != "" {
				want = append(want, d)
			}
		}
		var all []LockingSystem
		err := eachInIndex(idx, []byte(tenant), false, func(id []byte) error {
			ls, err := get(id)
			if err == nil && hasDims(ls, want) && (q.match == nil || q.match(ls)) {
				all = append(all, ls)
			}
			return err
		})
		if err != nil {
			return err
		}
		systems, n := q.sortAndPage(all, page)
		out, total = withCounts(tx, tenant, systems), n
		return nil
	})
	return out, total, err
}

// LockingPlan is the matrix of a locking system: its access points (the
// columns, in creation order) and one page of the credentials linked to
// any of them (the rows, in creation order), each with the access points
// it opens.
type LockingPlan struct {
	System       LockingSystem
	AccessPoints []PlanColumn
	Rows         []PlanRow
	Total        int // rows that match
}

// PlanColumn is one access point of a locking plan.
type PlanColumn struct {
	ID        string
	PointName string
	Label     string
	SpaceID   string
	Status    string
}

// PlanRow is one credential of a locking plan and the ids of the system's
// access points it opens, in the order of the columns.
type PlanRow struct {
	Credential     Credential
	AccessPointIDs []string
}

// LockingPlan reads the plan of locking system id; found is false for a
// system that is not live. The filter narrows the rows (status, type,
// status_assignment, assigned_to, search).
func (db *DB) LockingPlan(tenant, id string, f CredentialFilter, desc bool, page domain.Page) (LockingPlan, bool, error) {
	var plan LockingPlan
	found := false
	err := db.view(func(tx *vtx) error {
		ok, err := getValue(tx.Bucket(bucketLockingSystems), key(tenant, id), &plan.System)
		if err != nil || !ok || !plan.System.live() {
			return err
		}
		found = true
		places := tx.Bucket(bucketViewPlacements)
		column := map[string]int{}
		err = eachInIndex(tx.Bucket(bucketPlaceIndex), placeIndexPrefix(tenant, domain.AggregateAccessPoint, dim{"locking_system_id", id}), false,
			func(apID []byte) error {
				var p placement
				_, err := getValue(places, key(tenant, string(apID)), &p)
				column[string(apID)] = len(plan.AccessPoints)
				plan.AccessPoints = append(plan.AccessPoints, PlanColumn{ID: string(apID), PointName: p.PointName, Label: p.Label,
					SpaceID: p.Space, Status: p.Status})
				return err
			})
		if err != nil {
			return err
		}
		creds, total, err := groupMembers(tx, tenant, groupSystem, id, setAll, f, desc, page)
		plan.Total = total
		for _, c := range creds {
			plan.Rows = append(plan.Rows, PlanRow{Credential: c, AccessPointIDs: columnsOf(c.LinkedTo, column)})
		}
		return err
	})
	return plan, found, err
}

// columnsOf keeps the linked access points that are columns, in column
// order.
func columnsOf(linked []string, column map[string]int) []string {
	out := []string{}
	for _, id := range linked {
		if _, ok := column[id]; ok {
			out = append(out, id)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return cmp.Compare(column[a], column[b]) })
	return out
}

// groupMembers reads one page of the credentials of a group's member set,
// in creation order, and how many match the filter. A filter on
// status_assignment assigned or pending walks that set instead. Without
// other filters the block counters lead to the page, only the page is read
// and the total is a counter; with them every member of the set is read.
func groupMembers(tx *vtx, tenant, kind, group, set string, f CredentialFilter, desc bool, page domain.Page) ([]Credential, int, error) {
	switch f.Assignment {
	case setAssigned, setPending:
		set, f.Assignment = f.Assignment, ""
	}
	recs := tx.Bucket(bucketCredentials)
	load := func(id []byte) (Credential, error) {
		var c Credential
		_, err := getValue(recs, key(tenant, string(id)), &c)
		return c, err
	}
	prefix := groupKey(tenant, kind, group, set)
	members := tx.Bucket(bucketViewMembers)
	if f == (CredentialFilter{}) {
		entries, err := blockedIndex(tx, bucketViewMembers, prefix, ordinalBlockShift).page(desc, page)
		if err != nil {
			return nil, 0, err
		}
		out := make([]Credential, 0, len(entries))
		for _, e := range entries {
			c, err := load(e.id)
			if err != nil {
				return nil, 0, err
			}
			out = append(out, c)
		}
		return out, int(getUint(tx.Bucket(bucketViewCounts), prefix)), nil
	}
	var out []Credential
	total := 0
	lo, hi := page.Offset(), page.Offset()+page.Limit
	err := eachInIndex(members, prefix, desc, func(id []byte) error {
		c, err := load(id)
		if err != nil || !f.match(&c) {
			return err
		}
		if total >= lo && total < hi {
			out = append(out, c)
		}
		total++
		return nil
	})
	return out, total, err
}
