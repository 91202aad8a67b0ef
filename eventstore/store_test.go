package eventstore_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis/domain"
	"github.com/portcullis/portcullis/eventstore"
	"github.com/portcullis/portcullis/eventstore/storetest"
)

var _ storetest.Store = (*eventstore.Store)(nil)

// mustOpen opens a store and closes it when the test ends.
func mustOpen(t testing.TB, cfg eventstore.Config) *eventstore.Store {
	t.Helper()
	s, err := eventstore.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestEmbedded(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store {
		return mustOpen(t, eventstore.Config{DataDir: t.TempDir()})
	})
}

// TestExternal runs the suite against a separate nats-server reached by URL,
// as a deployment on an external cluster would.
func TestExternal(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store {
		return mustOpen(t, eventstore.Config{URL: storetest.StartServer(t)})
	})
}

// TestReopenKeepsEvents checks that the embedded server's files survive a
// restart: the log is the system of record.
func TestReopenKeepsEvents(t *testing.T) {
	dir := t.TempDir()
	s, err := eventstore.Open(context.Background(), eventstore.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	before, _ := s.LastSequence(ctx)
	s.Close()
	s = mustOpen(t, eventstore.Config{DataDir: dir})
	after, err := s.LastSequence(ctx)
	if err != nil || after != before {
		t.Fatalf("after reopen last sequence = %d (err %v), want %d", after, err, before)
	}
}

func TestUnknownSyncModeRefused(t *testing.T) {
	_, err := eventstore.Open(context.Background(), eventstore.Config{DataDir: t.TempDir(), Sync: "sometimes"})
	if err == nil {
		t.Fatal("open with sync mode \"sometimes\" succeeded, want an error")
	}
}

// TestTwoWritersKeepOneChain runs two stores on one log, as two Portcullis
// processes on one cluster would, appending at once to their own aggregates
// and to shared ones: each store's writer only knows its own appends, so
// every time the other one got in first its append must fail on the stream
// expectation, reload the head and go again. Afterwards every acknowledged
// append is in the log once and the chain is unbroken.
func TestTwoWritersKeepOneChain(t *testing.T) {
	url := storetest.StartServer(t)
	stores := []*eventstore.Store{
		mustOpen(t, eventstore.Config{URL: url}),
		mustOpen(t, eventstore.Config{URL: url}),
	}
	ctx := context.Background()
	const perStore, each = 8, 10
	var wg sync.WaitGroup
	var mu sync.Mutex
	type told struct {
		last uint64
		n    int
	}
	acked := map[string]told{} // command id → where its append ended, how many events
	for si, s := range stores {
		for g := range perStore {
			wg.Go(func() {
				for i := range each {
					cmd := fmt.Sprintf("s%d-g%d-%d", si, g, i)
					// Own aggregates get pairs; the shared ones, contended by
					// both stores, get single events without expectations.
					evs := []domain.Event{
						testEvent(fmt.Sprintf("own-%d-%d", si, g), cmd, 0),
						testEvent(fmt.Sprintf("pair-%d-%d", si, g), cmd, 1),
					}
					if i%3 == 0 {
						evs = []domain.Event{testEvent(fmt.Sprintf("shared%d", i%2), cmd, 0)}
					}
					last, err := s.Append(ctx, evs, nil)
					if err != nil {
						t.Errorf("append %s: %v", cmd, err)
						return
					}
					mu.Lock()
					acked[cmd] = told{last, len(evs)}
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	retries := stores[0].AppendStats().Retries + stores[1].AppendStats().Retries
	t.Logf("appends re-sent after the other store moved the stream: %d", retries)
	// Every acknowledged append is at the position it was told, once.
	seen := map[string]int{}
	sub, err := stores[0].Subscribe(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Stop()
	last, _ := stores[0].LastSequence(ctx)
	for range last {
		e, _, err := sub.Next()
		if err != nil {
			t.Fatal(err)
		}
		seen[e.CommandID]++
		a := acked[e.CommandID]
		if e.Sequence > a.last || e.Sequence <= a.last-uint64(a.n) {
			t.Fatalf("event of %s at %d, outside the %d positions ending at %d it was told", e.CommandID, e.Sequence, a.n, a.last)
		}
	}
	for cmd, a := range acked {
		if seen[cmd] != a.n {
			t.Fatalf("append %s: %d events in the log, want %d", cmd, seen[cmd], a.n)
		}
	}
	if got, want := len(acked), 2*perStore*each; got != want {
		t.Fatalf("%d appends acknowledged, want %d", got, want)
	}
	for _, s := range stores {
		rep, err := s.Verify(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Break != nil || rep.Checked != last || rep.HeadSequence != last {
			t.Fatalf("verify = %+v (break %+v), want %d events chained", rep, rep.Break, last)
		}
	}
}

func testEvent(id, cmd string, n int) domain.Event {
	name := fmt.Sprintf("n%d", n)
	return domain.Event{
		ID: fmt.Sprintf("%s-%d", cmd, n), Type: domain.TypeIndividualUpdated, Version: 1,
		Tenant: "t1", Aggregate: domain.Ref{Type: domain.AggregateIndividual, ID: id},
		Actor: "test", CommandID: cmd, OccurredAt: time.Unix(1700000000, 0).UTC(),
		Data: &domain.IndividualUpdated{IndividualPatch: domain.IndividualPatch{FirstName: &name}},
	}
}
