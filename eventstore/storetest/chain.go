package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/portcullis/portcullis/domain"
	"github.com/portcullis/portcullis/eventstore"
)

// The chain and group-commit properties: whatever way appends arrive
// (alone, concurrently, refused, repeated), every acknowledged append is in
// the log exactly once, at the position it was told, and every event is
// linked to the one before it.

// mustVerify walks the chain and fails on a break or a count that does not
// cover the whole log.
func mustVerify(t *testing.T, s Store) eventstore.ChainReport {
	t.Helper()
	rep, err := s.Verify(ctx, nil)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if rep.Break != nil {
		t.Fatalf("chain broken: %+v", *rep.Break)
	}
	if last := lastSeq(t, s); rep.HeadSequence != last || rep.Checked+rep.NotCovered != last {
		t.Fatalf("verify walked to %d (%d checked, %d not covered), the log ends at %d", rep.HeadSequence, rep.Checked, rep.NotCovered, last)
	}
	return rep
}

func testChainWhole(t *testing.T, s Store) {
	if rep := mustVerify(t, s); rep.HeadSequence != 0 || rep.HeadHash != "" {
		t.Fatalf("empty log: head %d %q, want 0 and no hash", rep.HeadSequence, rep.HeadHash)
	}
	p := mustAppend(t, s, []domain.Event{event("a", "c1", 1)}, expect("a", 0))
	mustAppend(t, s, []domain.Event{event("a", "c2", 2), event("b", "c2", 3)}, expect("a", p), expect("b", 0))
	// Refused and repeated appends leave no trace in the chain.
	if _, err := s.Append(ctx, []domain.Event{event("a", "c3", 4)}, []eventstore.Expectation{expect("a", 0)}); !errors.Is(err, eventstore.ErrConflict) {
		t.Fatalf("stale append: err = %v, want ErrConflict", err)
	}
	if _, err := s.Append(ctx, []domain.Event{event("a", "c1", 1)}, nil); !errors.Is(err, eventstore.ErrDuplicate) {
		t.Fatalf("repeated append: err = %v, want ErrDuplicate", err)
	}
	mustAppend(t, s, []domain.Event{event("c", "c4", 5)})
	rep := mustVerify(t, s)
	if rep.Checked != 4 || rep.NotCovered != 0 || rep.FirstChained != 1 || len(rep.HeadHash) != 64 {
		t.Fatalf("report = %+v, want 4 chained events from 1 with a head hash", rep)
	}
}

// testConcurrentAppends runs many writers on separate aggregates and on one
// shared aggregate (each retrying on conflict from a fresh load), then
// checks every acknowledged append against the log.
func testConcurrentAppends(t *testing.T, s Store) {
	const writers, each = 16, 6
	type acked struct {
		id   string
		cmd  string
		last uint64
		n    int
	}
	var mu sync.Mutex
	var all []acked
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			own := fmt.Sprintf("own%d", w)
			var seq uint64
			for i := range each {
				cmd := fmt.Sprintf("w%d-%d", w, i)
				// Own aggregate: two events when i is odd (an atomic pair).
				evs := []domain.Event{event(own, cmd, 2*i)}
				if i%2 == 1 {
					evs = append(evs, event(own, cmd, 2*i+1))
				}
				last, err := s.Append(ctx, evs, []eventstore.Expectation{expect(own, seq)})
				if err != nil {
					t.Errorf("append %s: %v", cmd, err)
					return
				}
				seq = last
				mu.Lock()
				all = append(all, acked{own, cmd, last, len(evs)})
				mu.Unlock()
				// Shared aggregate: load, expect, retry on conflict.
				scmd := "s" + cmd
				for attempt := 0; ; attempt++ {
					_, at, err := s.Load(ctx, "t1", domain.Ref{Type: domain.AggregateIndividual, ID: "shared"})
					if err != nil {
						t.Errorf("load shared: %v", err)
						return
					}
					last, err := s.Append(ctx, []domain.Event{event("shared", scmd, i)}, []eventstore.Expectation{expect("shared", at)})
					if errors.Is(err, eventstore.ErrConflict) && attempt < 1000 {
						continue
					}
					if err != nil {
						t.Errorf("append %s: %v", scmd, err)
						return
					}
					mu.Lock()
					all = append(all, acked{"shared", scmd, last, 1})
					mu.Unlock()
					break
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	// Every acknowledged append is in the log once, its events ending at
	// the position it was told and contiguous before it.
	at := map[uint64]domain.Event{}
	count := map[string]int{}
	for _, id := range append([]string{"shared"}, func() []string {
		var ids []string
		for w := range writers {
			ids = append(ids, fmt.Sprintf("own%d", w))
		}
		return ids
	}()...) {
		events, _, err := s.Load(ctx, "t1", domain.Ref{Type: domain.AggregateIndividual, ID: id})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range events {
			at[e.Sequence] = e
			count[e.CommandID]++
		}
	}
	for _, a := range all {
		if count[a.cmd] != a.n {
			t.Fatalf("append %s has %d events in the log, want %d", a.cmd, count[a.cmd], a.n)
		}
		for k := range a.n {
			e, ok := at[a.last-uint64(k)]
			if !ok || e.CommandID != a.cmd || e.Aggregate.ID != a.id {
				t.Fatalf("append %s was told it ended at %d, but position %d holds %+v", a.cmd, a.last, a.last-uint64(k), e)
			}
		}
	}
	if got, want := len(at), writers*each*2+writers*each/2; got != want {
		t.Fatalf("%d events in the log, want %d", got, want)
	}
	mustVerify(t, s)
}

// testRefusedAlone sends many appends at once, one of them with a stale
// expectation and one a repeat: only those two are refused, whether or not
// they shared a durable write with the others.
func testRefusedAlone(t *testing.T, s Store) {
	mustAppend(t, s, []domain.Event{event("stale", "s0", 0)}, expect("stale", 0))
	mustAppend(t, s, []domain.Event{event("rep", "r0", 0), event("rep2", "r0", 1)})
	const n = 32
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			switch i {
			case 7:
				_, errs[i] = s.Append(ctx, []domain.Event{event("stale", "s1", 1)}, []eventstore.Expectation{expect("stale", 0)})
			case 19:
				_, errs[i] = s.Append(ctx, []domain.Event{event("rep", "r0", 0), event("rep2", "r0", 1)}, nil)
			default:
				id := fmt.Sprintf("ok%d", i)
				_, errs[i] = s.Append(ctx, []domain.Event{event(id, id, 0), event(id, id, 1)}, []eventstore.Expectation{expect(id, 0)})
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		switch {
		case i == 7 && !errors.Is(err, eventstore.ErrConflict):
			t.Fatalf("stale append: err = %v, want ErrConflict", err)
		case i == 19 && !errors.Is(err, eventstore.ErrDuplicate):
			t.Fatalf("repeated append: err = %v, want ErrDuplicate", err)
		case i != 7 && i != 19 && err != nil:
			t.Fatalf("append %d failed beside a refused one: %v", i, err)
		}
	}
	if got, want := lastSeq(t, s), uint64(3+2*(n-2)); got != want {
		t.Fatalf("log ends at %d, want %d", got, want)
	}
	mustVerify(t, s)
}

// testOwnPositions checks that concurrent multi-event appends are each
// stored contiguously and told their own last position.
func testOwnPositions(t *testing.T, s Store) {
	const n = 40
	lasts := make([]uint64, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			id := fmt.Sprintf("p%d", i)
			evs := make([]domain.Event, 1+i%4)
			for k := range evs {
				evs[k] = event(id, id, k)
			}
			var err error
			if lasts[i], err = s.Append(ctx, evs, nil); err != nil {
				t.Errorf("append %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	for i := range n {
		id := fmt.Sprintf("p%d", i)
		events, last, err := s.Load(ctx, "t1", domain.Ref{Type: domain.AggregateIndividual, ID: id})
		if err != nil {
			t.Fatal(err)
		}
		if last != lasts[i] || len(events) != 1+i%4 {
			t.Fatalf("append %d: told %d, log has %d events ending at %d", i, lasts[i], len(events), last)
		}
		for k, e := range events {
			if want := last - uint64(len(events)-1-k); e.Sequence != want {
				t.Fatalf("append %d: event %d at %d, want %d (contiguous)", i, k, e.Sequence, want)
			}
		}
	}
	mustVerify(t, s)
}
