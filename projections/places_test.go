package projections

import (
	"cmp"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/domain"
)

// accessPointLog builds a log of n access points in two tenants, spread over
// spaces, locking systems and statuses, then moves, renames, status changes,
// credential links and deletions, so that every index entry is added,
// moved and removed.
func accessPointLog(n int) []domain.Event {
	var out []domain.Event
	seq := uint64(0)
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	add := func(i int, d domain.EventData) {
		seq++
		tenant := "t1"
		if i%10 == 9 {
			tenant = "other"
		}
		out = append(out, domain.Event{ID: fmt.Sprint("e", seq), Type: d.EventType(), Version: d.EventVersion(), Tenant: tenant,
			Aggregate:  domain.Ref{Type: domain.AggregateAccessPoint, ID: fmt.Sprintf("ap%05d", i)},
			OccurredAt: base.Add(time.Duration(seq) * time.Second), Data: d, Sequence: seq})
	}
	str := func(s string) *string { return &s }
	for i := range n {
		add(i, &domain.AccessPointCreated{AccessPointFields: domain.AccessPointFields{
			PointName: fmt.Sprintf("Door %d", (i*7919)%n), Label: fmt.Sprint("L", i%5), SpaceID: fmt.Sprint("s", i%4),
			LockingSystemID: fmt.Sprint("ls", i%3), Status: domain.AccessPointStatuses[i%len(domain.AccessPointStatuses)]}})
	}
	for i := range n {
		switch {
		case i%7 == 0:
			add(i, &domain.AccessPointDeleted{})
		case i%5 == 0:
			add(i, &domain.AccessPointUpdated{AccessPointPatch: domain.AccessPointPatch{SpaceID: str("s9"), Status: str("inactive")}})
		case i%3 == 0:
			add(i, &domain.AccessPointUpdated{AccessPointPatch: domain.AccessPointPatch{LockingSystemID: str("ls9"), PointName: str("Gate")}})
		case i%11 == 1:
			add(i, &domain.AccessPointCredentialsLinked{CredentialIDs: []string{"c2", "c1"}})
			add(i, &domain.AccessPointCredentialsUnlinked{CredentialIDs: []string{"c2"}})
		}
	}
	return out
}

func mustApplyAccessPoints(t testing.TB, events []domain.Event) *DB {
	t.Helper()
	db, err := OpenDB(filepath.Join(t.TempDir(), "rm.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for len(events) > 0 {
		batch := events[:min(len(events), 2000)]
		events = events[len(batch):]
		err := db.update(func(tx *vtx) error {
			for _, e := range batch {
				tx.pos = e.Sequence
				if err := (accessPointsProjection{}).apply(tx, e); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// Every list of access points the index answers (walks of one index in
// both directions, walks of the smallest of several, searches, other
// orders, pages past the end) returns what a plain scan, filter and sort of
// the records returns, with the same total.
func TestPlaceListsMatchAScan(t *testing.T) {
	db := mustApplyAccessPoints(t, accessPointLog(1200))
	var all []AccessPoint
	err := db.view(func(tx *vtx) error {
		p := append([]byte("t1"), 0)
		c := tx.Bucket(bucketAccessPoints).Cursor()
		for k, v := c.Seek(p); k != nil && hasPrefix(k, p); k, v = c.Next() {
			var a AccessPoint
			if err := unmarshal(v, &a); err != nil {
				return err
			}
			if !a.Deleted {
				all = append(all, a)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(all, func(a, b AccessPoint) int { return cmp.Compare(a.CreatedSeq, b.CreatedSeq) })

	filters := []AccessPointFilter{{}, {SpaceID: "s1"}, {SpaceID: "s9"}, {LockingSystemID: "ls9"}, {Status: "inactive"},
		{SpaceID: "s2", Status: "active"}, {SpaceID: "s9", LockingSystemID: "ls1", Status: "inactive"}, {Search: "gate"},
		{SpaceID: "s0", Search: "door 1"}, {SpaceID: "nowhere"}}
	orders := [][]domain.Order{nil, {{Field: "created_at", Desc: true}}, {{Field: "point_name"}},
		{{Field: "status", Desc: true}, {Field: "label"}}, {{Field: "updated_at", Desc: true}}}
	pages := []domain.Page{{Page: 1, Limit: 10}, {Page: 3, Limit: 7}, {Page: 1, Limit: 100}, {Page: 500, Limit: 10}}
	for _, f := range filters {
		var want []AccessPoint
		for _, a := range all {
			if (f.SpaceID == "" || a.SpaceID == f.SpaceID) && (f.LockingSystemID == "" || a.LockingSystemID == f.LockingSystemID) &&
				(f.Status == "" || a.Status == f.Status) &&
				(f.Search == "" || strings.Contains(strings.ToLower(a.PointName+" "+a.Label), f.Search)) {
				want = append(want, a)
			}
		}
		for _, o := range orders {
			sorted := slices.Clone(want)
			slices.SortStableFunc(sorted, func(a, b AccessPoint) int {
				for _, x := range o {
					var c int
					switch x.Field {
					case "created_at":
						c = cmp.Compare(a.CreatedSeq, b.CreatedSeq)
					case "updated_at":
						c = a.UpdatedAt.Compare(b.UpdatedAt)
					case "point_name":
						c = cmp.Compare(strings.ToLower(a.PointName), strings.ToLower(b.PointName))
					case "status":
						c = cmp.Compare(a.Status, b.Status)
					case "label":
						c = cmp.Compare(strings.ToLower(a.Label), strings.ToLower(b.Label))
					}
					if x.Desc {
						c = -c
					}
					if c != 0 {
						return c
					}
				}
				return cmp.Compare(a.CreatedSeq, b.CreatedSeq)
			})
			for _, p := range pages {
				got, total, err := db.AccessPoints("t1", f, o, p)
				if err != nil {
					t.Fatal(err)
				}
				lo, hi := p.Bounds(len(sorted))
				if total != len(sorted) || !slices.EqualFunc(got, sorted[lo:hi], func(a, b AccessPoint) bool { return a.ID == b.ID }) {
					t.Fatalf("filter %+v order %v page %+v: got %d of %d, want %d of %d", f, o, p, len(got), total, hi-lo, len(sorted))
				}
			}
		}
	}
	// The linked credentials are kept sorted, less the unlinked ones.
	a, ok, err := db.AccessPoint("t1", "ap00001")
	if err != nil || !ok || !slices.Equal(a.CredentialIDs, []string{"c1"}) {
		t.Fatalf("ap00001: %+v %v %v", a, ok, err)
	}
	// Another tenant's records never show.
	other, total, _ := db.AccessPoints("other", AccessPointFilter{}, nil, domain.Page{Page: 1, Limit: 100})
	for _, a := range other {
		if !strings.HasSuffix(a.ID, "9") {
			t.Fatalf("tenant other lists %s", a.ID)
		}
	}
	if total == 0 {
		t.Fatal("tenant other lists nothing")
	}
}

// A page in creation order, with or without one filter, reads only its
// page through the index: its cost does not grow with the records.
//
//	go test ./projections -run '^$' -bench PlaceListPage
func BenchmarkPlaceListPage(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		db := mustApplyAccessPoints(b, accessPointLog(n))
		for _, c := range []struct {
			name string
			f    AccessPointFilter
			page domain.Page
		}{
			{"all/first", AccessPointFilter{}, domain.Page{Page: 1, Limit: 20}},
			{"space/first", AccessPointFilter{SpaceID: "s1"}, domain.Page{Page: 1, Limit: 20}},
			{"space/page10", AccessPointFilter{SpaceID: "s1"}, domain.Page{Page: 10, Limit: 20}},
		} {
			b.Run(fmt.Sprintf("%d/%s", n, c.name), func(b *testing.B) {
				for b.Loop() {
					if _, _, err := db.AccessPoints("t1", c.f, nil, c.page); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
