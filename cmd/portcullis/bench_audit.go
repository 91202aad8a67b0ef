package main

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"time"

	"github.com/portcullis/portcullis/domain"
	"github.com/portcullis/portcullis/projections"
)

// The audit side of the bench: whether the consumer that writes the audit
// log (the projection runner, which writes it in the same transaction as
// every other read model) outpaces the fastest command path of the same
// run, and how long time-travel and audit-log queries take over read
// models of 10k and, on request, 1M events.

// benchAuditFigures are the figures of this file, in report order.
func benchAuditFigures() []benchFigureSpec {
	var out []benchFigureSpec
	out = append(out, benchFigureSpec{"ingest_peak", "fastest command path of this run, in events (creates append 2)", "events/s"})
	for _, tier := range []string{"10k", "1m"} {
		out = append(out,
			benchFigureSpec{"asof_get_" + tier, "as_of one individual (instant → position, record), " + tier + " events", "queries/s"},
			benchFigureSpec{"asof_list_" + tier, "as_of list, first page of 10 in creation order, " + tier + " events", "queries/s"},
			benchFigureSpec{"asof_filtered_" + tier, "as_of list filtered by status, first page of 10 (status index as of), " + tier + " events", "queries/s"},
			benchFigureSpec{"asof_filtered_scan_" + tier, "as_of list filtered by status, ordered by last name (reads every record alive then), " + tier + " events", "queries/s"},
			benchFigureSpec{"asof_dashboard_" + tier, "as_of dashboard (every counter and the latest activity as of), " + tier + " events", "queries/s"},
			benchFigureSpec{"asof_count_" + tier, "as_of count of individuals, " + tier + " events", "queries/s"},
			benchFigureSpec{"audit_page_" + tier, "audit page of 100, actor+action filter, mid-log cursor, " + tier + " events", "queries/s"},
		)
	}
	return out
}

// ingestPeak derives the fastest command path measured in this run, in
// events per second: the rate the audit consumer has to keep up with.
func (b *bench) ingestPeak() {
	var best *benchSpent
	for name, events := range map[string]int{"inproc_update_c64": 1, "http_update_c64": 1, "inproc_create_c64": 2,
		"http_create_c64": 2, "inproc_update_c1": 1, "inproc_create_c1": 2} {
		x, ok := b.spent[name]
		if !ok || x.d <= 0 {
			continue
		}
		cand := &benchSpent{count: x.count * events, d: x.d}
		if best == nil || float64(cand.count)/cand.d.Seconds() > float64(best.count)/best.d.Seconds() {
			best = cand
		}
	}
	if best != nil {
		b.spent["ingest_peak"] = best
	}
}

// timeTravel builds read models of size events of one tenant's
// individuals (creates, updates, deletes by five actors, a millisecond
// apart) and times the queries an auditor makes, at the log's midpoint.
func (b *bench) timeTravel(size int, tier string) error {
	b.step("time travel: read models of %d synthetic events", size)
	db, err := projections.OpenDB(filepath.Join(b.dir, "asof-"+tier+".db"))
	if err != nil {
		return err
	}
	defer db.Close()
	rng := rand.New(rand.NewPCG(uint64(size), 7))
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var alive, ids []string
	const tenant = "bench"
	events := make([]domain.Event, 0, min(size, 100_000))
	flush := func() error {
		err := db.ApplyEvents(events)
		events = events[:0]
		return err
	}
	statuses := []string{"active", "inactive", "suspended"}
	for i := 1; i <= size; i++ {
		e := domain.Event{ID: strconv.Itoa(i), Tenant: tenant, Actor: fmt.Sprintf("service_user:bench-%d", i%5),
			Face: domain.FaceNative, RequestID: "req_" + strconv.Itoa(i), OccurredAt: base.Add(time.Duration(i) * time.Millisecond),
			Sequence: uint64(i)}
		switch k := rng.IntN(10); {
		case k < 3 || len(alive) < 10:
			id := fmt.Sprintf("ind-%08d", i)
			e.Aggregate = domain.Ref{Type: domain.AggregateIndividual, ID: id}
			e.Data = &domain.IndividualCreated{IndividualFields: domain.IndividualFields{ExtID: id, FirstName: "Ada",
				LastName: "Bench" + strconv.Itoa(i), Email: id + "@example.test", Status: "active"}}
			alive, ids = append(alive, id), append(ids, id)
		case k < 9:
			st := statuses[rng.IntN(3)]
			e.Aggregate = domain.Ref{Type: domain.AggregateIndividual, ID: alive[rng.IntN(len(alive))]}
			e.Data = &domain.IndividualUpdated{IndividualPatch: domain.IndividualPatch{Status: &st}}
		default:
			j := rng.IntN(len(alive))
			e.Aggregate = domain.Ref{Type: domain.AggregateIndividual, ID: alive[j]}
			e.Data = &domain.IndividualDeleted{}
			alive[j] = alive[len(alive)-1]
			alive = alive[:len(alive)-1]
		}
		e.Type, e.Version = e.Data.EventType(), e.Data.EventVersion()
		events = append(events, e)
		if len(events) == cap(events) {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	mid := base.Add(time.Duration(size/2) * time.Millisecond)
	midPos, err := db.PositionAt(mid)
	if err != nil {
		return err
	}
	early := ids[:len(ids)/2]
	page := domain.Page{Page: 1, Limit: 10}
	queries := []struct {
		name string
		n    int
		fn   func(i int) error
	}{
		{"asof_get_" + tier, 2000, func(i int) error {
			pos, err := db.PositionAt(mid)
			if err == nil {
				_, _, err = db.IndividualAsOf(tenant, early[rng.IntN(len(early))], pos)
			}
			return err
		}},
		{"asof_list_" + tier, 200, func(i int) error {
			_, _, err := db.IndividualsAsOf(tenant, projections.IndividualFilter{}, nil, page, midPos)
			return err
		}},
		{"asof_filtered_" + tier, 200, func(i int) error {
			_, _, err := db.IndividualsAsOf(tenant, projections.IndividualFilter{Status: "inactive"}, nil, page, midPos)
			return err
		}},
		{"asof_filtered_scan_" + tier, 3, func(i int) error {
			_, _, err := db.IndividualsAsOf(tenant, projections.IndividualFilter{Status: "inactive"},
				[]domain.Order{{Field: "last_name"}}, page, midPos)
			return err
		}},
		{"asof_dashboard_" + tier, 200, func(i int) error {
			_, err := db.At(midPos).Dashboard(tenant, mid, 5)
			return err
		}},
		{"asof_count_" + tier, 2000, func(i int) error {
			_, err := db.CountAsOf(tenant, domain.AggregateIndividual, midPos)
			return err
		}},
		{"audit_page_" + tier, 200, func(i int) error {
			_, _, err := db.AuditEntries(tenant, projections.AuditQuery{After: midPos, Equal: map[string]string{
				projections.AuditByActor: "service_user:bench-3", projections.AuditByAction: domain.TypeIndividualDeleted}}, 0, 100)
			return err
		}},
	}
	for _, q := range queries {
		b.step("time travel: %d × %s", q.n, q.name)
		if err := b.measureEach(q.name, q.n, func() (time.Duration, []time.Duration, error) {
			lat := make([]time.Duration, q.n)
			start := time.Now()
			for i := range q.n {
				t := time.Now()
				if err := q.fn(i); err != nil {
					return 0, nil, err
				}
				lat[i] = time.Since(t)
			}
			return time.Since(start), lat, nil
		}); err != nil {
			return err
		}
	}
	return nil
}
