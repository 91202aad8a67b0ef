package projections

import (
	"fmt"
	"time"

	"github.com/portcullis/portcullis/domain"
)

// CredentialRead is one read the credential benchmark times.
type CredentialRead struct {
	Name string
	Read func(db *DB) error
}

// CredentialReads are the reads whose cost must not grow with the number
// of credentials (issue 4: 1M within 2× of 10k): a page of 100 at the start,
// in the middle and at the end in both directions, the first page of one
// filter, the stats and the suggestion. n is the tenant's size.
func CredentialReads(n int) []CredentialRead {
	last := (n + 99) / 100
	page := func(p int, desc bool, f CredentialFilter) func(db *DB) error {
		var order []domain.Order
		if desc {
			order = []domain.Order{{Field: "created_at", Desc: true}}
		}
		return func(db *DB) error {
			_, _, err := db.Credentials("t1", f, order, domain.Page{Page: p, Limit: 100})
			return err
		}
	}
	now := credentialBenchBase
	return []CredentialRead{
		{"page1", page(1, false, CredentialFilter{})},
		{"middle", page(last/2, false, CredentialFilter{})},
		{"last", page(last, false, CredentialFilter{})},
		{"last_desc", page(last, true, CredentialFilter{})},
		{"lost_page1", page(1, false, CredentialFilter{Status: domain.CredentialLost})},
		{"stats", func(db *DB) error { _, err := db.CredentialStats("t1", now); return err }},
		{"suggest", func(db *DB) error { _, _, err := db.SuggestCredentialID("t1"); return err }},
	}
}

var credentialBenchBase = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// WriteCredentialFixture fills db with n credentials of tenant "t1" (and
// n/10 of a neighbour "t2") straight through the projection, in
// transactions of 5000 events as the runner applies them: every tenth lost,
// every seventh assigned with a due date, every fourth with a valid_until.
// It is the data of the credential read benchmarks.
func WriteCredentialFixture(db *DB, n int) error {
	seq := uint64(0)
	batch := make([]domain.Event, 0, 5000)
	flush := func() error {
		err := db.update(func(tx *vtx) error {
			for _, e := range batch {
				tx.pos = e.Sequence
				if err := (credentialsProjection{}).apply(tx, e); err != nil {
					return err
				}
			}
			return nil
		})
		batch = batch[:0]
		return err
	}
	add := func(tenant, id string, d domain.EventData) error {
		seq++
		batch = append(batch, domain.Event{Type: d.EventType(), Version: d.EventVersion(), Tenant: tenant,
			Aggregate: domain.Ref{Type: domain.AggregateCredential, ID: id}, OccurredAt: credentialBenchBase, Data: d, Sequence: seq})
		if len(batch) == cap(batch) {
			return flush()
		}
		return nil
	}
	for i := range n + n/10 {
		tenant, id := "t1", fmt.Sprintf("%08x-c", i)
		if i >= n {
			tenant = "t2"
		}
		f := domain.CredentialFields{CredentialID: fmt.Sprintf("K-%07d", i+1), CredentialName: fmt.Sprint("Key ", i),
			Type: domain.CredentialTypes[i%len(domain.CredentialTypes)], Status: domain.CredentialActive, Source: domain.CredentialManual}
		if i%4 == 0 {
			f.ValidUntil = credentialBenchBase.Add(time.Duration(i%2000-1000) * 24 * time.Hour)
		}
		if err := add(tenant, id, &domain.CredentialCreated{CredentialFields: f}); err != nil {
			return err
		}
		if i%10 == 3 {
			if err := add(tenant, id, &domain.CredentialStatusChanged{Status: domain.CredentialLost, Previous: domain.CredentialActive}); err != nil {
				return err
			}
		}
		if i%7 == 1 {
			a := domain.Assignment{IndividualID: fmt.Sprint("p", i%500), DueDate: credentialBenchBase.Add(time.Duration(i%400-200) * 24 * time.Hour)}
			if err := add(tenant, id, &domain.CredentialAssigned{Assignment: a}); err != nil {
				return err
			}
		}
	}
	if len(batch) > 0 {
		return flush()
	}
	return nil
}
