package projections

import (
	"fmt"

	"github.com/portcullis/portcullis/domain"
)

// The views' share of the read benchmark: on top of the credential fixture
// (WriteCredentialFixture), a site whose access points every tenth
// credential is linked to, so that the locking plans and the spaces'
// active assignments grow with the tenant.

// viewBenchDoors is how many access points the view fixture has: two
// locking systems, and one space per two doors.
const viewBenchDoors = 40

func viewBenchID(kind string, i int) string { return fmt.Sprintf("%s-%04d", kind, i) }

// ViewReads are the view reads whose cost must not grow with the number
// of credentials: the dashboard, the overview, the first and the last page
// of a locking plan, and the first and the last full page of a space's
// active assignments. n is the tenant's size, as for CredentialReads.
func ViewReads(n int) []CredentialRead {
	linked := (n + 9) / 10
	planLast := (linked/2 + 99) / 100
	deep := max(linked/(viewBenchDoors/2)/20, 1) // the last full page of 20: a space holds 50 at 10k
	return []CredentialRead{
		{"dashboard", func(db *DB) error { _, err := db.Dashboard("t1", credentialBenchBase, 5); return err }},
		{"overview", func(db *DB) error {
			_, _, _, err := db.ControlSystemsOverview("t1", LockingSystemFilter{}, nil, domain.Page{Page: 1, Limit: 10})
			return err
		}},
		{"plan_page1", func(db *DB) error {
			_, _, err := db.LockingPlan("t1", viewBenchID("ls", 0), CredentialFilter{}, false, domain.Page{Page: 1, Limit: 100})
			return err
		}},
		{"plan_last", func(db *DB) error {
			_, _, err := db.LockingPlan("t1", viewBenchID("ls", 0), CredentialFilter{}, false, domain.Page{Page: planLast, Limit: 100})
			return err
		}},
		{"space_held_page1", func(db *DB) error {
			_, _, _, err := db.SpaceAssignments("t1", viewBenchID("space", 0), CredentialFilter{}, false, domain.Page{Page: 1, Limit: 20})
			return err
		}},
		{"space_held_deep", func(db *DB) error {
			_, _, _, err := db.SpaceAssignments("t1", viewBenchID("space", 0), CredentialFilter{}, false, domain.Page{Page: deep, Limit: 20})
			return err
		}},
	}
}

// ViewReadsAsOf are ViewReads through DB.At at the newest position: the
// same answers read through the versions (versions.go), so their cost
// against ViewReads is what as_of adds to a view.
func ViewReadsAsOf(n int) []CredentialRead {
	var out []CredentialRead
	for _, r := range ViewReads(n) {
		out = append(out, CredentialRead{Name: "asof_" + r.Name, Read: func(db *DB) error { return r.Read(db.At(^uint64(0) - 1)) }})
	}
	return out
}

// WriteViewFixture adds to a credential fixture of n credentials (tenant
// "t1") a location, a building, 20 spaces, 2 locking systems and 40 access
// points, and links every tenth credential to one access point (both sides
// of the link, as the commands append them) and holds it, straight through the place,
// credential and view projections, in transactions of 5000 events.
func WriteViewFixture(db *DB, n int) error {
	projs := []projection{credentialsProjection{}, locationsProjection{}, buildingsProjection{}, spacesProjection{},
		lockingSystemsProjection{}, accessPointsProjection{}, viewsProjection{}}
	seq := uint64(0)
	_ = db.view(func(tx *vtx) error {
		// Past every position the credential fixture used.
		seq = 3 * (getUint(tx.Bucket(bucketCredentialCounts), key("t1", credOrdinal, "")) +
			getUint(tx.Bucket(bucketCredentialCounts), key("t2", credOrdinal, "")))
		return nil
	})
	batch := make([]domain.Event, 0, 5000)
	flush := func() error {
		err := db.update(func(tx *vtx) error {
			for _, e := range batch {
				tx.pos = e.Sequence
				for _, p := range projs {
					if err := p.apply(tx, e); err != nil {
						return err
					}
				}
			}
			return nil
		})
		batch = batch[:0]
		return err
	}
	add := func(typ, id string, d domain.EventData) error {
		seq++
		batch = append(batch, domain.Event{Type: d.EventType(), Version: d.EventVersion(), Tenant: "t1",
			Aggregate: domain.Ref{Type: typ, ID: id}, OccurredAt: credentialBenchBase, Data: d, Sequence: seq})
		if len(batch) == cap(batch) {
			return flush()
		}
		return nil
	}
	steps := []struct {
		typ, id string
		d       domain.EventData
	}{
		{domain.AggregateLocation, "loc", &domain.LocationCreated{LocationFields: domain.LocationFields{Name: "Site", TimeZone: "Europe/Zurich"}}},
		{domain.AggregateBuilding, "bld", &domain.BuildingCreated{BuildingFields: domain.BuildingFields{Name: "Main", LocationID: "loc"}}},
	}
	for i := range 2 {
		steps = append(steps, struct {
			typ, id string
			d       domain.EventData
		}{domain.AggregateLockingSystem, viewBenchID("ls", i), &domain.LockingSystemCreated{LockingSystemFields: domain.LockingSystemFields{
			Name: fmt.Sprint("System ", i), SystemType: domain.SystemMechanical}}})
	}
	for _, s := range steps {
		if err := add(s.typ, s.id, s.d); err != nil {
			return err
		}
	}
	for i := range viewBenchDoors / 2 {
		if err := add(domain.AggregateSpace, viewBenchID("space", i), &domain.SpaceCreated{SpaceFields: domain.SpaceFields{
			Name: fmt.Sprint("Room ", i), BuildingID: "bld"}}); err != nil {
			return err
		}
	}
	for i := range viewBenchDoors {
		ap, space, ls := viewBenchID("ap", i), viewBenchID("space", i/2), viewBenchID("ls", i%2)
		if err := add(domain.AggregateAccessPoint, ap, &domain.AccessPointCreated{AccessPointFields: domain.AccessPointFields{
			PointName: fmt.Sprint("Door ", i), SpaceID: space, LockingSystemID: ls, Status: domain.AccessPointActive}}); err != nil {
			return err
		}
		if err := add(domain.AggregateSpace, space, &domain.SpaceAccessPointsAttached{AccessPointIDs: []string{ap}}); err != nil {
			return err
		}
		if err := add(domain.AggregateLockingSystem, ls, &domain.LockingSystemAccessPointsAttached{AccessPointIDs: []string{ap}}); err != nil {
			return err
		}
	}
	// Credential i is the fixture's i-th of t1 (ids as WriteCredentialFixture
	// names them); each link event carries up to 1000 of them.
	pending := make([][]string, viewBenchDoors)
	linkDoor := func(d int) error {
		if len(pending[d]) == 0 {
			return nil
		}
		ids := pending[d]
		pending[d] = nil
		return add(domain.AggregateAccessPoint, viewBenchID("ap", d), &domain.AccessPointCredentialsLinked{CredentialIDs: ids})
	}
	for i := 0; i < n; i += 10 {
		d, id := (i/10)%viewBenchDoors, fmt.Sprintf("%08x-c", i)
		if err := add(domain.AggregateCredential, id, &domain.CredentialAccessPointsLinked{AccessPointIDs: []string{viewBenchID("ap", d)}}); err != nil {
			return err
		}
		// Every linked credential is held: the fixture assigned every
		// seventh, the rest are reserved pending confirmation.
		if i%7 != 1 {
			if err := add(domain.AggregateCredential, id, &domain.CredentialReserved{Assignment: domain.Assignment{
				IndividualID: fmt.Sprint("p", i%500), Confirmation: &domain.Confirmation{Type: domain.ConfirmationDigital}}}); err != nil {
				return err
			}
		}
		if pending[d] = append(pending[d], id); len(pending[d]) == 1000 {
			if err := linkDoor(d); err != nil {
				return err
			}
		}
	}
	for d := range pending {
		if err := linkDoor(d); err != nil {
			return err
		}
	}
	if len(batch) > 0 {
		return flush()
	}
	return nil
}
