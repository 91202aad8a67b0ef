// Package storetest is the conformance suite of the event log: what every
// way of running it (embedded server, external server or cluster) must
// guarantee to the command layer and the consumers.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis/domain"
	"github.com/portcullis/portcullis/eventstore"
)

// Store is the part of *eventstore.Store the suite exercises.
type Store interface {
	Append(ctx context.Context, events []domain.Event, expect []eventstore.Expectation) (uint64, error)
	Load(ctx context.Context, tenant string, ref domain.Ref) ([]domain.Event, uint64, error)
	LastSequence(ctx context.Context) (uint64, error)
	Subscribe(ctx context.Context, from uint64) (*eventstore.Subscription, error)
	Verify(ctx context.Context, cp *eventstore.Checkpoint) (eventstore.ChainReport, error)
}

// Run runs the suite; open returns a store over an empty log.
func Run(t *testing.T, open func(t *testing.T) Store) {
	for _, c := range []struct {
		name string
		fn   func(*testing.T, Store)
	}{
		{"AppendAndLoad", testAppendAndLoad},
		{"LoadUnknown", testLoadUnknown},
		{"StaleExpectationAppendsNothing", testStaleExpectation},
		{"MultiAggregateAtomic", testMultiAggregateAtomic},
		{"RetriedCommandNotAppendedTwice", testDuplicate},
		{"ConcurrentSameExpectationOneWins", testConcurrentOneWins},
		{"LoadLongAggregate", testLoadLong},
		{"SubscribeFromPosition", testSubscribe},
		{"ChainWholeAfterEveryKindOfAppend", testChainWhole},
		{"ConcurrentAppendsLandOnceAndChain", testConcurrentAppends},
		{"RefusedAppendDoesNotFailOthers", testRefusedAlone},
		{"ReportedPositionIsTheAppendsOwn", testOwnPositions},
	} {
		t.Run(c.name, func(t *testing.T) { c.fn(t, open(t)) })
	}
}

var ctx = context.Background()

// event builds an event of the test payload type on an individual.
func event(id, cmd string, n int) domain.Event {
	name := fmt.Sprintf("n%d", n)
	return domain.Event{
		ID: fmt.Sprintf("%s-%d", cmd, n), Type: domain.TypeIndividualUpdated, Version: 1,
		Tenant: "t1", Aggregate: domain.Ref{Type: domain.AggregateIndividual, ID: id},
		Actor: "test", CommandID: cmd, OccurredAt: time.Unix(1700000000, 0).UTC(),
		Data: &domain.IndividualUpdated{IndividualPatch: domain.IndividualPatch{FirstName: &name}},
	}
}

func expect(id string, seq uint64) eventstore.Expectation {
	return eventstore.Expectation{Tenant: "t1", Ref: domain.Ref{Type: domain.AggregateIndividual, ID: id}, Seq: seq}
}

func mustAppend(t *testing.T, s Store, events []domain.Event, x ...eventstore.Expectation) uint64 {
	t.Helper()
	pos, err := s.Append(ctx, events, x)
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	return pos
}

func lastSeq(t *testing.T, s Store) uint64 {
	t.Helper()
	n, err := s.LastSequence(ctx)
	if err != nil {
		t.Fatalf("last sequence: %v", err)
	}
	return n
}

func testAppendAndLoad(t *testing.T, s Store) {
	p1 := mustAppend(t, s, []domain.Event{event("a", "c1", 1)}, expect("a", 0))
	p2 := mustAppend(t, s, []domain.Event{event("a", "c2", 2)}, expect("a", p1))
	events, seq, err := s.Load(ctx, "t1", domain.Ref{Type: domain.AggregateIndividual, ID: "a"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := seq, p2; got != want {
		t.Fatalf("last seq = %d, want %d", got, want)
	}
	if got, want := len(events), 2; got != want {
		t.Fatalf("loaded %d events, want %d", got, want)
	}
	e := events[1]
	if e.Sequence != p2 || e.Type != domain.TypeIndividualUpdated || e.Actor != "test" || e.CommandID != "c2" ||
		!e.OccurredAt.Equal(time.Unix(1700000000, 0)) {
		t.Fatalf("envelope did not round-trip: %+v", e)
	}
	if got := *e.Data.(*domain.IndividualUpdated).FirstName; got != "n2" {
		t.Fatalf("payload first_name = %q, want n2", got)
	}
}

func testLoadUnknown(t *testing.T, s Store) {
	events, seq, err := s.Load(ctx, "t1", domain.Ref{Type: domain.AggregateIndividual, ID: "nobody"})
	if err != nil || len(events) != 0 || seq != 0 {
		t.Fatalf("load unknown = %d events, seq %d, err %v; want none", len(events), seq, err)
	}
}

func testStaleExpectation(t *testing.T, s Store) {
	mustAppend(t, s, []domain.Event{event("a", "c1", 1)}, expect("a", 0))
	before := lastSeq(t, s)
	_, err := s.Append(ctx, []domain.Event{event("a", "c2", 2)}, []eventstore.Expectation{expect("a", 0)})
	if !errors.Is(err, eventstore.ErrConflict) {
		t.Fatalf("append on stale expectation: err = %v, want ErrConflict", err)
	}
	if got := lastSeq(t, s); got != before {
		t.Fatalf("stream moved from %d to %d on a refused append", before, got)
	}
}

func testMultiAggregateAtomic(t *testing.T, s Store) {
	mustAppend(t, s, []domain.Event{event("b", "c0", 0)}, expect("b", 0))
	// Two aggregates, one expectation stale: nothing of the batch may land.
	before := lastSeq(t, s)
	_, err := s.Append(ctx, []domain.Event{event("a", "c1", 1), event("a", "c1", 2), event("b", "c1", 3)},
		[]eventstore.Expectation{expect("a", 0), expect("b", 0)})
	if !errors.Is(err, eventstore.ErrConflict) {
		t.Fatalf("batch with a stale expectation: err = %v, want ErrConflict", err)
	}
	if got := lastSeq(t, s); got != before {
		t.Fatalf("a refused batch left events: stream moved from %d to %d", before, got)
	}
	pos := mustAppend(t, s, []domain.Event{event("a", "c2", 1), event("a", "c2", 2), event("b", "c2", 3)},
		expect("a", 0), expect("b", before))
	if got, want := pos, before+3; got != want {
		t.Fatalf("batch ended at %d, want %d (contiguous)", got, want)
	}
	a, _, _ := s.Load(ctx, "t1", domain.Ref{Type: domain.AggregateIndividual, ID: "a"})
	b, _, _ := s.Load(ctx, "t1", domain.Ref{Type: domain.AggregateIndividual, ID: "b"})
	if len(a) != 2 || len(b) != 2 {
		t.Fatalf("after batch: a has %d events, b has %d; want 2 and 2", len(a), len(b))
	}
}

func testDuplicate(t *testing.T, s Store) {
	p := mustAppend(t, s, []domain.Event{event("a", "same", 1)})
	_, err := s.Append(ctx, []domain.Event{event("a", "same", 1)}, nil)
	if !errors.Is(err, eventstore.ErrDuplicate) {
		t.Fatalf("retried single append: err = %v, want ErrDuplicate", err)
	}
	mustAppend(t, s, []domain.Event{event("b", "batch", 1), event("c", "batch", 2)})
	before := lastSeq(t, s)
	_, err = s.Append(ctx, []domain.Event{event("b", "batch", 1), event("c", "batch", 2)}, nil)
	if !errors.Is(err, eventstore.ErrDuplicate) {
		t.Fatalf("retried batch append: err = %v, want ErrDuplicate", err)
	}
	if got := lastSeq(t, s); got != before || p == 0 {
		t.Fatalf("retries appended: stream moved from %d to %d", before, got)
	}
}

func testConcurrentOneWins(t *testing.T, s Store) {
	const n = 16
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, conflicts := 0, 0
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Append(ctx, []domain.Event{event("race", fmt.Sprintf("c%d", i), i)},
				[]eventstore.Expectation{expect("race", 0)})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, eventstore.ErrConflict):
				conflicts++
			default:
				t.Errorf("append %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 || conflicts != n-1 {
		t.Fatalf("%d wins and %d conflicts, want 1 and %d", wins, conflicts, n-1)
	}
}

func testLoadLong(t *testing.T, s Store) {
	const n = 600 // more than one direct-get batch
	var seq uint64
	for i := range n {
		seq = mustAppend(t, s, []domain.Event{event("long", fmt.Sprintf("c%d", i), i)}, expect("long", seq))
		mustAppend(t, s, []domain.Event{event("other", fmt.Sprintf("o%d", i), i)})
	}
	events, last, err := s.Load(ctx, "t1", domain.Ref{Type: domain.AggregateIndividual, ID: "long"})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != n || last != seq {
		t.Fatalf("loaded %d events up to %d, want %d up to %d", len(events), last, n, seq)
	}
	for i, e := range events {
		if got, want := *e.Data.(*domain.IndividualUpdated).FirstName, fmt.Sprintf("n%d", i); got != want {
			t.Fatalf("event %d is %q, want %q: out of order", i, got, want)
		}
	}
}

func testSubscribe(t *testing.T, s Store) {
	for i := range 10 {
		mustAppend(t, s, []domain.Event{event("s", fmt.Sprintf("c%d", i), i)})
	}
	sub, err := s.Subscribe(ctx, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Stop()
	for want := uint64(4); want <= 10; want++ {
		e, pending, err := sub.Next()
		if err != nil {
			t.Fatal(err)
		}
		if e.Sequence != want || pending != 10-want {
			t.Fatalf("got position %d with %d pending, want %d with %d", e.Sequence, pending, want, 10-want)
		}
	}
	// A live event arrives after the backlog.
	appended := make(chan error, 1)
	go func() {
		_, err := s.Append(ctx, []domain.Event{event("s", "live", 11)}, nil)
		appended <- err
	}()
	e, _, err := sub.Next()
	if err != nil || e.Sequence != 11 {
		t.Fatalf("live event: position %d, err %v; want 11", e.Sequence, err)
	}
	if err := <-appended; err != nil {
		t.Fatalf("live append: %v", err)
	}
	sub.Stop()
	if _, _, err := sub.Next(); !errors.Is(err, eventstore.ErrClosed) {
		t.Fatalf("Next after Stop: err = %v, want ErrClosed", err)
	}
}
