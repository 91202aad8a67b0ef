package projections

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/portcullis/portcullis/domain"
)

// credentialLog builds a log of credential events: n creations in two
// tenants, then deletions, status changes, assignments with due dates,
// returns and links, so that the indexes see every kind of change.
func credentialLog(n int, base time.Time) []domain.Event {
	var out []domain.Event
	seq := uint64(0)
	add := func(tenant, id string, at time.Time, d domain.EventData) {
		seq++
		out = append(out, domain.Event{ID: fmt.Sprint("e", seq), Type: d.EventType(), Version: d.EventVersion(), Tenant: tenant,
			Aggregate: domain.Ref{Type: domain.AggregateCredential, ID: id}, OccurredAt: at, Data: d, Sequence: seq})
	}
	id := func(i int) string { return fmt.Sprintf("c%05d", i) }
	tenant := func(i int) string {
		if i%10 == 9 {
			return "other"
		}
		return "t1"
	}
	for i := range n {
		f := domain.CredentialFields{CredentialID: fmt.Sprintf("K-%05d", i+1), CredentialName: fmt.Sprint("Key ", i),
			Type: domain.CredentialTypes[i%len(domain.CredentialTypes)], Status: domain.CredentialActive, Source: domain.CredentialManual}
		if i%4 == 0 {
			f.ValidUntil = base.Add(time.Duration(i-n/2) * time.Hour)
		}
		if i%97 == 0 {
			f.CredentialID = fmt.Sprint("MASTER-", i)
		}
		add(tenant(i), id(i), base, &domain.CredentialCreated{CredentialFields: f})
	}
	for i := range n {
		at := base.Add(time.Minute)
		switch {
		case i%7 == 0:
			add(tenant(i), id(i), at, &domain.CredentialDeleted{})
		case i%5 == 0:
			add(tenant(i), id(i), at, &domain.CredentialStatusChanged{Status: domain.CredentialLost, Previous: domain.CredentialActive})
		case i%3 == 0:
			a := domain.Assignment{IndividualID: fmt.Sprint("p", i%4), DueDate: base.Add(time.Duration(i%50-25) * 24 * time.Hour)}
			add(tenant(i), id(i), at, &domain.CredentialAssigned{Assignment: a})
			if i%6 == 0 {
				add(tenant(i), id(i), at, &domain.CredentialReturned{IndividualID: a.IndividualID})
			}
		case i%11 == 1:
			add(tenant(i), id(i), at, &domain.CredentialReserved{Assignment: domain.Assignment{IndividualID: "p9",
				Confirmation: &domain.Confirmation{Type: domain.ConfirmationDigital}}})
		}
		if i%13 == 2 {
			add(tenant(i), id(i), at, &domain.CredentialAccessPointsLinked{AccessPointIDs: []string{"ap1", fmt.Sprint("ap", i%3)}})
			if i%26 == 2 {
				add(tenant(i), id(i), at, &domain.CredentialAccessPointsUnlinked{AccessPointIDs: []string{"ap1"}})
			}
		}
	}
	return out
}

func mustApplyCredentials(t *testing.T, events []domain.Event) *DB {
	t.Helper()
	db, err := OpenDB(filepath.Join(t.TempDir(), "rm.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for len(events) > 0 {
		batch := events[:min(len(events), 500)]
		events = events[len(batch):]
		err := db.update(func(tx *vtx) error {
			for _, e := range batch {
				tx.pos = e.Sequence
				if err := (credentialsProjection{}).apply(tx, e); err != nil {
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

// allCredentials reads every live credential of a tenant by a plain scan,
// the reference the indexed queries are checked against.
func allCredentials(t *testing.T, db *DB, tenant string) []Credential {
	t.Helper()
	var out []Credential
	err := db.view(func(tx *vtx) error {
		p := append([]byte(tenant), 0)
		c := tx.Bucket(bucketCredentials).Cursor()
		for k, v := c.Seek(p); k != nil && hasPrefix(k, p); k, v = c.Next() {
			var cr Credential
			if err := unmarshal(v, &cr); err != nil {
				return err
			}
			if !cr.Deleted {
				out = append(out, cr)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(out, func(a, b Credential) int { return int(a.Ordinal) - int(b.Ordinal) })
	return out
}

func credentialIDs(cs []Credential) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

// Every list the indexes answer (block walks at any depth in both
// directions, single-index walks, multi-filter walks, overdue, other
// orders) returns what a plain scan, filter and sort returns.
func TestCredentialListsMatchAScan(t *testing.T) {
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	const n = 3100
	db := mustApplyCredentials(t, credentialLog(n, base))
	all := allCredentials(t, db, "t1")
	if len(all) < 2*credentialBlock {
		t.Fatalf("only %d live credentials: the walk would not cross blocks", len(all))
	}
	filters := []CredentialFilter{
		{}, {Status: domain.CredentialLost}, {Type: domain.CredentialCard}, {Assignment: domain.AssignmentAssigned},
		{Assignment: domain.AssignmentPending}, {Holder: "p1"}, {AccessPointID: "ap1"}, {AccessPointID: "ap2"},
		{Type: domain.CredentialFob, Assignment: domain.AssignmentAvailable}, {Search: "key 1"}, {Search: "master"},
		{Status: domain.CredentialActive, Type: domain.CredentialMobile, Search: "7"},
		{Overdue: true, Now: base}, {Overdue: true, Now: base, Holder: "p2"}, {Holder: "nobody"},
	}
	orders := [][]domain.Order{nil, {{Field: "created_at", Desc: true}}, {{Field: "credential_id", Desc: true}},
		{{Field: "due_date"}, {Field: "created_at", Desc: true}}}
	pages := []domain.Page{{Page: 1, Limit: 10}, {Page: 2, Limit: 100}, {Page: 11, Limit: 100}, {Page: 12, Limit: 100},
		{Page: 103, Limit: 10}, {Page: 24, Limit: 100}, {Page: 1000, Limit: 100}}
	for _, f := range filters {
		var want []Credential
		for _, c := range all {
			if f.match(&c) {
				want = append(want, c)
			}
		}
		for _, o := range orders {
			sorted := slices.Clone(want)
			sortCredentials(sorted, o)
			for _, p := range pages {
				got, total, err := db.Credentials("t1", f, o, p)
				if err != nil {
					t.Fatal(err)
				}
				lo, hi := p.Bounds(len(sorted))
				if total != len(sorted) || !slices.Equal(credentialIDs(got), credentialIDs(sorted[lo:hi])) {
					t.Fatalf("filter %+v order %v page %+v: got %d items of %d, want %d of %d\n got %v\nwant %v",
						f, o, p, len(got), total, hi-lo, len(sorted), credentialIDs(got), credentialIDs(sorted[lo:hi]))
				}
			}
		}
	}
}

// The stats are counters; they agree with a scan at any moment, and the
// suggestion follows the scheme most numbers have.
func TestCredentialStatsAndSuggestion(t *testing.T) {
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	db := mustApplyCredentials(t, credentialLog(1500, base))
	all := allCredentials(t, db, "t1")
	for _, now := range []time.Time{base.Add(-400 * 24 * time.Hour), base, base.Add(90 * time.Minute), base.Add(10 * 24 * time.Hour),
		base.Add(17*time.Hour + 3*time.Second), base.Add(400 * 24 * time.Hour)} {
		st, err := db.CredentialStats("t1", now)
		if err != nil {
			t.Fatal(err)
		}
		var want CredentialStats
		want.ByStatus, want.ByType, want.ByAssignmentStatus = map[string]int{}, map[string]int{}, map[string]int{}
		for _, v := range domain.CredentialStatuses {
			want.ByStatus[v] = 0
		}
		for _, v := range domain.CredentialTypes {
			want.ByType[v] = 0
		}
		for _, v := range domain.AssignmentStatuses {
			want.ByAssignmentStatus[v] = 0
		}
		for _, c := range all {
			want.Total++
			want.ByStatus[c.Status]++
			want.ByType[c.Type]++
			want.ByAssignmentStatus[c.AssignmentStatus]++
			if !c.ValidUntil.IsZero() && c.ValidUntil.Before(now) {
				want.Expired++
			}
			if c.AssignedTo != "" && !c.DueDate.IsZero() {
				if c.DueDate.Before(now) {
					want.Overdue++
				} else if c.DueDate.Before(now.Add(DueSoonWindow)) {
					want.DueSoon++
				}
			}
		}
		if fmt.Sprint(st) != fmt.Sprint(want) {
			t.Fatalf("stats at %s:\n got %+v\nwant %+v", now, st, want)
		}
	}
	got, scheme, err := db.SuggestCredentialID("t1")
	if err != nil {
		t.Fatal(err)
	}
	requireSuggestion(t, got, scheme, "K-01499", "K-#####") // K-01499 was deleted, K-01500 is another tenant's
	got, scheme, err = db.SuggestCredentialID("empty")
	if err != nil {
		t.Fatal(err)
	}
	requireSuggestion(t, got, scheme, "0001", "####")
}

func requireSuggestion(t *testing.T, got, scheme, want, wantScheme string) {
	t.Helper()
	if got != want || scheme != wantScheme {
		t.Fatalf("suggestion: got %q (%q), want %q (%q)", got, scheme, want, wantScheme)
	}
}

func TestNumberShapes(t *testing.T) {
	for _, c := range []struct {
		in, shape string
		n         uint64
		ok        bool
		next      string
	}{
		{"0042", "####", 42, true, "0043"},
		{"K-0042", "K-####", 42, true, "K-0043"},
		{"A12-007b", "A12-###b", 7, true, "A12-008b"},
		{"9", "#", 9, true, "10"},
		{"MASTER", "", 0, false, ""},
		{"1234567890123456789", "", 0, false, ""},
	} {
		shape, n, ok := numberShape(c.in)
		if ok != c.ok || (ok && (describeShape(shape) != c.shape || n != c.n || formatShape(shape, n+1) != c.next)) {
			t.Fatalf("%q: got %q %d %v", c.in, describeShape(shape), n, ok)
		}
	}
}
