package projections

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/commands"
	"github.com/portcullis/portcullis/domain"
	"github.com/portcullis/portcullis/eventstore"
)

// viewsWorld is a tenant built through the real commands for the views
// tests: places, people in departments, credentials, and the ids of each.
type viewsWorld struct {
	cmd     *commands.Commands
	spaces  []string // 0 top, 1 inside 0, 2 inside 1, 3 top
	systems []string
	aps     []string
	people  []string
	creds   []string
	last    uint64
}

func (w *viewsWorld) meta() commands.Meta {
	return commands.Meta{Tenant: "t1", Actor: "test", CommandID: commands.NewCommandID()}
}

// note keeps the newest position; domain refusals (already assigned, not
// linked, …) are part of a random walk and leave the log as it was.
func (w *viewsWorld) note(t *testing.T, pos uint64, err error) {
	t.Helper()
	if err != nil {
		if domain.ErrorCode(err) == "" {
			t.Fatal(err)
		}
		return
	}
	w.last = max(w.last, pos)
}

func newViewsWorld(t *testing.T, store *eventstore.Store) *viewsWorld {
	t.Helper()
	ctx := context.Background()
	w := &viewsWorld{cmd: commands.New(store)}
	must := func(pos uint64, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		w.last = max(w.last, pos)
	}
	loc, err := w.cmd.CreateLocation(ctx, w.meta(), domain.LocationFields{Name: "L", TimeZone: "Europe/Zurich"})
	must(loc.Position, err)
	b, err := w.cmd.CreateBuilding(ctx, w.meta(), domain.BuildingFields{Name: "B", LocationID: loc.Record.ID})
	must(b.Position, err)
	for i, parent := range []int{-1, 0, 1, -1} {
		in := domain.SpaceFields{Name: fmt.Sprint("S", i), BuildingID: b.Record.ID}
		if parent >= 0 {
			in.ParentID = w.spaces[parent]
		}
		s, err := w.cmd.CreateSpace(ctx, w.meta(), in)
		must(s.Position, err)
		w.spaces = append(w.spaces, s.Record.ID)
	}
	for i := range 3 {
		ls, err := w.cmd.CreateLockingSystem(ctx, w.meta(), domain.LockingSystemFields{Name: fmt.Sprint("LS", i), SystemType: domain.SystemMechanical})
		must(ls.Position, err)
		w.systems = append(w.systems, ls.Record.ID)
	}
	for i := range 6 {
		ap, err := w.cmd.CreateAccessPoint(ctx, w.meta(), domain.AccessPointFields{PointName: fmt.Sprint("AP", i),
			SpaceID: w.spaces[i%4], LockingSystemID: w.systems[i%2], Status: domain.AccessPointActive})
		must(ap.Position, err)
		w.aps = append(w.aps, ap.Record.ID)
	}
	depts := []string{"Ops", " ops", "Dev", "", "DEV ", "Sales"}
	for i := range 12 {
		ind, err := w.cmd.CreateIndividual(ctx, w.meta(), domain.IndividualFields{FirstName: fmt.Sprint("P", i), LastName: "L",
			Department: depts[i%len(depts)]})
		must(ind.Position, err)
		w.people = append(w.people, ind.Individual.ID)
	}
	for i := range 20 {
		cr, err := w.cmd.CreateCredential(ctx, w.meta(), domain.CredentialFields{CredentialID: fmt.Sprintf("K-%03d", i),
			Type: domain.CredentialTypes[i%3], Status: domain.CredentialActive, Source: domain.CredentialManual})
		must(cr.Position, err)
		w.creds = append(w.creds, cr.Credential.ID)
	}
	return w
}

// step does one random change that concerns the views.
func (w *viewsWorld) step(t *testing.T, rng *rand.Rand) {
	ctx := context.Background()
	pick := func(ids []string) string { return ids[rng.IntN(len(ids))] }
	some := func(ids []string) []string {
		var out []string
		for _, id := range ids {
			if rng.IntN(4) == 0 {
				out = append(out, id)
			}
		}
		if len(out) == 0 {
			out = []string{pick(ids)}
		}
		return out
	}
	switch rng.IntN(14) {
	case 0, 1, 2:
		r, err := w.cmd.LinkCredentials(ctx, w.meta(), pick(w.aps), some(w.creds))
		w.note(t, r.Position, err)
	case 3:
		r, err := w.cmd.LinkAccessPoints(ctx, w.meta(), pick(w.creds), some(w.aps))
		w.note(t, r.Position, err)
	case 4:
		r, err := w.cmd.UnlinkCredentials(ctx, w.meta(), pick(w.aps), []string{pick(w.creds)})
		w.note(t, r.Position, err)
	case 5:
		r, err := w.cmd.UnlinkAccessPoints(ctx, w.meta(), pick(w.creds), []string{pick(w.aps)})
		w.note(t, r.Position, err)
	case 6, 7:
		a := domain.Assignment{IndividualID: pick(w.people)}
		if rng.IntN(2) == 0 {
			a.Confirmation = &domain.Confirmation{Type: domain.ConfirmationDigital}
		}
		r, err := w.cmd.AssignCredentials(ctx, w.meta(), []string{pick(w.creds)}, a)
		w.note(t, r.Position, err)
	case 8:
		r, err := w.cmd.ConfirmCredentials(ctx, w.meta(), []string{pick(w.creds)}, "")
		w.note(t, r.Position, err)
	case 9:
		r, err := w.cmd.ReturnCredentials(ctx, w.meta(), []string{pick(w.creds)}, "", "")
		w.note(t, r.Position, err)
	case 10:
		space, system := pick(w.spaces), pick(w.systems)
		p := domain.AccessPointPatch{SpaceID: &space}
		if rng.IntN(2) == 0 {
			p.LockingSystemID = &system
		}
		r, err := w.cmd.UpdateAccessPoint(ctx, w.meta(), pick(w.aps), p)
		w.note(t, r.Position, err)
	case 11:
		dept := []string{"Ops", "dev", "Sales", ""}[rng.IntN(4)]
		r, err := w.cmd.UpdateIndividual(ctx, w.meta(), pick(w.people), domain.IndividualPatch{Department: &dept})
		w.note(t, r.Position, err)
	case 12:
		var rules []domain.AccessRule
		for range rng.IntN(3) {
			rules = append(rules, domain.AccessRule{Departments: some([]string{"ops", "Dev", "SALES", "nobody"}),
				IndividualIDs: some(w.people)[:rng.IntN(2)]})
		}
		for i := range rules {
			if len(rules[i].IndividualIDs) == 0 && rng.IntN(3) == 0 {
				rules[i].Departments, rules[i].IndividualIDs = nil, []string{pick(w.people)}
			}
		}
		r, err := w.cmd.ReplaceAccessRules(ctx, w.meta(), pick(w.spaces), rules)
		w.note(t, r.Position, err)
	case 13:
		// Deleting a credential ends its links in the same append (one
		// that is held is refused); deleting a person ends their rules'
		// reach.
		if rng.IntN(3) == 0 {
			r, err := w.cmd.DeleteIndividual(ctx, w.meta(), pick(w.people))
			w.note(t, r.Position, err)
		} else {
			r, err := w.cmd.DeleteCredential(ctx, w.meta(), pick(w.creds))
			w.note(t, r.Position, err)
		}
	}
}

// scanGroup is what a plain scan of the access points says about one
// group: the live credentials linked to its access points, by ordinal.
func scanGroup(t *testing.T, db *DB, inGroup func(AccessPoint) bool) []Credential {
	t.Helper()
	aps, _, err := db.AccessPoints("t1", AccessPointFilter{}, nil, domain.Page{Page: 1, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var out []Credential
	for _, ap := range aps {
		if !inGroup(ap) {
			continue
		}
		for _, id := range ap.CredentialIDs {
			c, ok, err := db.Credential("t1", id)
			if err != nil || !ok {
				t.Fatalf("access point %s links credential %s: %v %v", ap.ID, id, ok, err)
			}
			if !seen[id] {
				seen[id] = true
				out = append(out, c)
			}
		}
	}
	slices.SortFunc(out, func(a, b Credential) int { return cmp.Compare(a.Ordinal, b.Ordinal) })
	return out
}

func credIDs(cs []Credential) []string {
	out := []string{}
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

func countHeld(cs []Credential) LinkCounts {
	n := LinkCounts{Linked: len(cs)}
	for _, c := range cs {
		switch c.AssignmentStatus {
		case domain.AssignmentAssigned:
			n.Assigned++
			n.Held++
		case domain.AssignmentPending:
			n.Pending++
			n.Held++
		}
	}
	return n
}

func keepHeld(cs []Credential, status string) []Credential {
	var out []Credential
	for _, c := range cs {
		if c.AssignmentStatus == status || (status == setHeld && c.AssignmentStatus != domain.AssignmentAvailable) {
			out = append(out, c)
		}
	}
	return out
}

// requireViewsMatchAScan checks every view against a plain scan of the
// records: the plans and counts of every locking system, the active
// assignments, individuals and counts of every space.
func requireViewsMatchAScan(t *testing.T, db *DB, w *viewsWorld) {
	t.Helper()
	all := domain.Page{Page: 1, Limit: 100}
	var active []string
	for _, ls := range w.systems {
		want := scanGroup(t, db, func(ap AccessPoint) bool { return ap.LockingSystemID == ls })
		plan, found, err := db.LockingPlan("t1", ls, CredentialFilter{}, false, all)
		if err != nil || !found {
			t.Fatalf("plan of %s: %v %v", ls, found, err)
		}
		var got []Credential
		for _, row := range plan.Rows {
			got = append(got, row.Credential)
			var wantAPs []string
			for _, ap := range plan.AccessPoints {
				if slices.Contains(row.Credential.LinkedTo, ap.ID) {
					wantAPs = append(wantAPs, ap.ID)
				}
			}
			if !slices.Equal(row.AccessPointIDs, wantAPs) || len(wantAPs) == 0 {
				t.Fatalf("plan of %s: credential %s opens %v, want %v", ls, row.Credential.ID, row.AccessPointIDs, wantAPs)
			}
		}
		if !slices.Equal(credIDs(got), credIDs(want)) || plan.Total != len(want) {
			t.Fatalf("plan of %s: rows %v (total %d), want %v", ls, credIDs(got), plan.Total, credIDs(want))
		}
		for _, status := range []string{domain.AssignmentAssigned, domain.AssignmentPending, domain.AssignmentAvailable} {
			p, _, err := db.LockingPlan("t1", ls, CredentialFilter{Assignment: status}, true, domain.Page{Page: 1, Limit: 100})
			wantRows := credIDs(slices.DeleteFunc(slices.Clone(want), func(c Credential) bool { return c.AssignmentStatus != status }))
			slices.Reverse(wantRows)
			if err != nil || !slices.Equal(credIDs(rowCreds(p.Rows)), wantRows) || p.Total != len(wantRows) {
				t.Fatalf("plan of %s, %s newest first: %v (%d), want %v (%v)", ls, status, credIDs(rowCreds(p.Rows)), p.Total, wantRows, err)
			}
		}
		sys, _, _ := db.LockingSystem("t1", ls)
		if sys.AccessPointCount > 0 {
			active = append(active, ls)
		}
		_, items, _, err := db.ControlSystemsOverview("t1", LockingSystemFilter{}, nil, all)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			if it.ID == ls && it.Credentials != countHeld(want) {
				t.Fatalf("overview of %s: %+v, want %+v", ls, it.Credentials, countHeld(want))
			}
		}
	}
	act, total, err := db.ActiveSystems("t1", LockingSystemFilter{}, nil, all)
	var actIDs []string
	for _, a := range act {
		actIDs = append(actIDs, a.ID)
	}
	if err != nil || !slices.Equal(actIDs, active) || total != len(active) {
		t.Fatalf("active systems %v (%d), want %v (%v)", actIDs, total, active, err)
	}
	sum, _, _, _ := db.ControlSystemsOverview("t1", LockingSystemFilter{}, nil, all)
	if want := countHeld(scanGroup(t, db, func(AccessPoint) bool { return true })); sum.Credentials != want || sum.ActiveLockingSystems != len(active) {
		t.Fatalf("summary %+v, want %+v and %d active", sum, want, len(active))
	}

	people, _, err := db.Individuals("t1", IndividualFilter{}, nil, domain.Page{Page: 1, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, sp := range w.spaces {
		linked := scanGroup(t, db, func(ap AccessPoint) bool { return ap.SpaceID == sp })
		for _, status := range []string{setHeld, domain.AssignmentAssigned, domain.AssignmentPending} {
			f := CredentialFilter{}
			if status != setHeld {
				f.Assignment = status
			}
			got, total, found, err := db.SpaceAssignments("t1", sp, f, false, all)
			want := keepHeld(linked, status)
			var gotIDs []string
			for _, a := range got {
				gotIDs = append(gotIDs, a.Credential.ID)
				if a.Holder.ID != a.Credential.AssignedTo || len(a.AccessPointIDs) == 0 {
					t.Fatalf("assignment of %s in %s: holder %s, doors %v", a.Credential.ID, sp, a.Holder.ID, a.AccessPointIDs)
				}
			}
			if err != nil || !found || !slices.Equal(gotIDs, credIDs(want)) || total != len(want) {
				t.Fatalf("space %s %s assignments: %v (%d), want %v (%v)", sp, status, gotIDs, total, credIDs(want), err)
			}
		}
		// Who the rules of the space and the spaces around it name.
		var chain []Space
		for id := sp; id != ""; {
			s, _, _ := db.Space("t1", id)
			chain = append(chain, s)
			id = s.ParentID
		}
		var want []string
		for _, ind := range people {
			named := false
			for _, s := range chain {
				for _, r := range s.Rules {
					named = named || slices.Contains(r.IndividualIDs, ind.ID) || (strings.TrimSpace(ind.Department) != "" &&
						slices.ContainsFunc(r.Departments, func(d string) bool { return strings.EqualFold(strings.TrimSpace(d), strings.TrimSpace(ind.Department)) }))
				}
			}
			if named {
				want = append(want, ind.ID)
			}
		}
		for _, limit := range []int{100, 2} {
			var got []string
			total := 0
			for page := 1; page <= 50; page++ {
				items, n, found, err := db.SpaceIndividuals("t1", sp, false, domain.Page{Page: page, Limit: limit})
				if err != nil || !found {
					t.Fatal(err)
				}
				total = n
				for _, it := range items {
					got = append(got, it.Individual.ID)
					if len(it.Rules) == 0 {
						t.Fatalf("space %s lists %s without a rule", sp, it.Individual.ID)
					}
				}
				if len(items) < limit {
					break
				}
			}
			if !slices.Equal(got, want) || total != len(want) {
				t.Fatalf("space %s individuals by %d: %v (%d), want %v", sp, limit, got, total, want)
			}
		}
		o, found, err := db.SpaceOverview("t1", sp)
		if err != nil || !found || o.Individuals != len(want) || o.Credentials != countHeld(linked) {
			t.Fatalf("overview of %s: %d individuals, %+v; want %d, %+v (%v)", sp, o.Individuals, o.Credentials, len(want), countHeld(linked), err)
		}
	}
}

func rowCreds(rows []PlanRow) []Credential {
	var out []Credential
	for _, r := range rows {
		out = append(out, r.Credential)
	}
	return out
}

// Every view answers what a plain scan of the records finds, at several
// points of a random walk of links, moves, assignments, rules and
// deletions, and a rebuild writes the same bytes.
func TestViewsMatchAScan(t *testing.T) {
	store := mustOpenStore(t)
	w := newViewsWorld(t, store)
	db := mustOpenDB(t, filepath.Join(t.TempDir(), "rm.db"))
	r, err := NewRunner(db, store)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(4, 2))
	for round := range 4 {
		for range 60 {
			w.step(t, rng)
		}
		if err := r.CatchUp(context.Background(), w.last, nil); err != nil {
			t.Fatal(err)
		}
		t.Logf("round %d: log at %d", round, w.last)
		requireViewsMatchAScan(t, db, w)
	}
	views := [][]byte{bucketViewPlacements, bucketViewLinks, bucketViewMembers, bucketViewCounts, bucketViewActivity,
		bucketViewPeople, bucketViewDepartments, bucketViewActiveSystems, bucketViewBlocks}
	before := dumpBuckets(t, db, views...)
	if err := r.Rebuild(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, dumpBuckets(t, db, views...)) {
		t.Fatal("the views after a rebuild differ from the ones built live")
	}
}
