package eventstore_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/portcullis/portcullis/domain"
	"github.com/portcullis/portcullis/eventstore"
)

// A copied prefix holds the same events at the same positions, verifies as
// a whole chain, and takes appends after it like the original would.
func TestCopyPrefix(t *testing.T) {
	ctx := context.Background()
	src := mustOpen(t, eventstore.Config{DataDir: t.TempDir()})
	ref := domain.Ref{Type: "individual", ID: "i1"}
	var expect uint64
	for i := range 30 {
		// Batches of two events and single events, as commands append.
		events := []domain.Event{{ID: fmt.Sprint("e", i), Tenant: "t1", Aggregate: ref, Actor: "test", Face: domain.FaceNative,
			CommandID: fmt.Sprint("c", i), Data: &domain.IndividualUpdated{}}}
		exp := []eventstore.Expectation{{Tenant: "t1", Ref: ref, Seq: expect}}
		if i%3 == 0 {
			other := domain.Ref{Type: "unique_value", ID: fmt.Sprint("u", i)}
			events = append(events, domain.Event{ID: fmt.Sprint("u", i), Tenant: "t1", Aggregate: other, Actor: "test",
				CommandID: fmt.Sprint("c", i), Data: &domain.UniqueValueClaimed{Kind: "k", Owner: "i1"}})
			exp = append(exp, eventstore.Expectation{Tenant: "t1", Ref: other})
		}
		last, err := src.Append(ctx, events, exp)
		if err != nil {
			t.Fatal(err)
		}
		expect = last - uint64(len(events)) + 1
	}
	dst := mustOpen(t, eventstore.Config{DataDir: t.TempDir(), Sync: eventstore.SyncInterval})
	var reports int
	last, err := src.CopyPrefix(ctx, dst, func(e domain.Event) bool { return e.ID != "e25" }, func(pos, head uint64) { reports++ })
	if err != nil {
		t.Fatal(err)
	}
	srcEvents, _, _ := src.Load(ctx, "t1", ref)
	var want uint64
	for _, e := range srcEvents {
		if e.ID == "e25" {
			want = e.Sequence - 1
		}
	}
	if last != want || reports == 0 {
		t.Fatalf("copied up to %d (%d reports), want %d", last, reports, want)
	}
	got, seq, err := dst.Load(ctx, "t1", ref)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range got {
		a, _ := eventstore.Encode(e)
		b, _ := eventstore.Encode(srcEvents[i])
		if e.Sequence != srcEvents[i].Sequence || string(a) != string(b) {
			t.Fatalf("copied event %d differs: %+v vs %+v", i, e, srcEvents[i])
		}
	}
	if seq >= want+1 || len(got) != 25 {
		t.Fatalf("copy holds %d events of the aggregate, the last at %d", len(got), seq)
	}
	rep, err := dst.Verify(ctx, nil)
	if err != nil || rep.Break != nil || rep.HeadSequence != want || rep.Checked != want {
		t.Fatalf("verify the copy: %+v, %v", rep, err)
	}
	// The copy goes on like a log of its own.
	if _, err := dst.Append(ctx, []domain.Event{{ID: "after", Tenant: "t1", Aggregate: ref, Actor: "test",
		Data: &domain.IndividualDeleted{}}}, []eventstore.Expectation{{Tenant: "t1", Ref: ref, Seq: seq}}); err != nil {
		t.Fatal(err)
	}
	if rep, err := dst.Verify(ctx, nil); err != nil || rep.Break != nil || rep.HeadSequence != want+1 {
		t.Fatalf("verify after an append: %+v, %v", rep, err)
	}
	// A copy only goes into an empty store.
	if _, err := src.CopyPrefix(ctx, dst, func(domain.Event) bool { return true }, nil); err == nil {
		t.Fatal("copying into a store that holds events succeeded")
	}
}
