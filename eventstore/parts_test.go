package eventstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/portcullis/portcullis/domain"
)

// These tests cover commands sent in parts (parts.go): what every reader
// sees of a command that was not stored whole, and how the writer voids it.

func partsEvent(id, cmd string, n int, name string) domain.Event {
	return domain.Event{
		ID: cmd + "-" + string(rune('a'+n)), Type: domain.TypeIndividualUpdated, Version: 1,
		Tenant: "t1", Aggregate: domain.Ref{Type: domain.AggregateIndividual, ID: id},
		Actor: "test", CommandID: cmd, OccurredAt: time.Unix(1700000000, 0).UTC(),
		Data: &domain.IndividualUpdated{IndividualPatch: domain.IndividualPatch{FirstName: &name}},
	}
}

func ref(id string) domain.Ref { return domain.Ref{Type: domain.AggregateIndividual, ID: id} }

func openParts(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(context.Background(), Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if s.w.syncer == nil {
		t.Fatal("the writer does not sync the log itself: commands would not go in parts")
	}
	return s
}

func mustAppendParts(t *testing.T, s *Store, events ...domain.Event) uint64 {
	t.Helper()
	pos, err := s.Append(context.Background(), events, nil)
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	return pos
}

// storedAt reads the message at a position, headers included.
func storedAt(t *testing.T, s *Store, seq uint64) *jetstream.RawStreamMsg {
	t.Helper()
	m, err := s.stream.GetMsg(context.Background(), seq)
	if err != nil {
		t.Fatalf("get %d: %v", seq, err)
	}
	return m
}

// follow reads a subscription until an event at or past seq; it returns
// every event read, gap events (empty Type) included.
func follow(t *testing.T, sub *Subscription, seq uint64) []domain.Event {
	t.Helper()
	var out []domain.Event
	done := make(chan error, 1)
	go func() {
		for {
			e, _, err := sub.Next()
			if err != nil {
				done <- err
				return
			}
			out = append(out, e)
			if e.Sequence >= seq {
				done <- nil
				return
			}
		}
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		sub.Stop()
		t.Fatalf("the subscription did not reach %d", seq)
	}
	return out
}

func requireIntact(t *testing.T, s *Store) ChainReport {
	t.Helper()
	rep, err := s.Verify(context.Background(), nil)
	if err != nil || rep.Break != nil {
		t.Fatalf("verify: %v, break %+v", err, rep.Break)
	}
	return rep
}

// TestCommandLeftIncompleteIsVoided stores the first part of a two-event
// command the way a writer does and stops, as a crash between the two
// publishes would leave the log. After a restart no reader counts that
// part, LastSequence ends before it, and the next append voids it first.
func TestCommandLeftIncompleteIsVoided(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openParts(t, dir)
	mustAppendParts(t, s, partsEvent("a", "c1", 0, "A"))
	whole := mustAppendParts(t, s, partsEvent("b", "c2", 0, "B"), partsEvent("c", "c2", 1, "C"))
	if f, _ := readFrame(storedAt(t, s, whole-1).Header); f != (frame{part: 1, of: 2}) {
		t.Fatalf("first event of a command of two is framed %+v, want part 1/2", f)
	}

	// The crash: part 1 of 2 on d, chained as the writer chains it.
	head, err := loadHead(ctx, s.stream)
	if err != nil {
		t.Fatal(err)
	}
	e := partsEvent("d", "c3", 0, "D")
	data, err := Encode(e)
	if err != nil {
		t.Fatal(err)
	}
	part := head.Seq + 1
	f := frame{part: 1, of: 2}
	h := chainHash(head.Hash, part, Subject("t1", e.Aggregate), f.hashed(), data)
	m := &nats.Msg{Subject: Subject("t1", e.Aggregate), Data: data, Header: nats.Header{}}
	f.set(m.Header)
	m.Header.Set(ChainHeader, link{Framed: true, Seq: part, Prev: head.Hash, Hash: h}.String())
	if _, err := s.js.PublishMsg(ctx, m); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s = openParts(t, dir)
	defer s.Close()
	if last, err := s.LastSequence(ctx); err != nil || last != whole {
		t.Fatalf("LastSequence = %d (%v), want %d: the incomplete part does not count", last, err, whole)
	}
	requireIntact(t, s)
	sub, err := s.Subscribe(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Stop()
	if got := follow(t, sub, whole); len(got) != 3 {
		t.Fatalf("before the repair: %d events, want 3", len(got))
	}
	// The part is held, and the subscription says once that nothing else
	// is behind: a runner that waits for "caught up" must not wait for it.
	held := make(chan domain.Event, 1)
	go func() {
		e, pending, err := sub.Next()
		if err != nil || pending != 0 {
			t.Errorf("Next over the held part: pending %d, err %v", pending, err)
		}
		held <- e
	}()
	select {
	case e := <-held:
		if e.Type != "" || e.Sequence != whole {
			t.Fatalf("Next over the held part gave %+v, want no event at %d", e, whole)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Next blocked on the held part without saying so")
	}

	after := mustAppendParts(t, s, partsEvent("e", "c4", 0, "E"))
	void := storedAt(t, s, part+1)
	if void.Subject != Subject("t1", ref("d")) || void.Header.Get(VoidHeader) != "4" || len(void.Data) != 0 {
		t.Fatalf("at %d: subject %s, void header %q, %d bytes; want a void marker of %d on d",
			part+1, void.Subject, void.Header.Get(VoidHeader), len(void.Data), part)
	}
	if after != part+2 {
		t.Fatalf("the append after the repair is at %d, want %d", after, part+2)
	}
	got := follow(t, sub, after)
	if len(got) != 2 || got[0].Type != "" || got[0].Sequence != part+1 || got[1].Sequence != after || got[1].Aggregate.ID != "e" {
		t.Fatalf("after the repair the subscription gave %+v; want a gap at %d, then e at %d", got, part+1, after)
	}
	events, last, err := s.Load(ctx, "t1", ref("d"))
	if err != nil || len(events) != 0 || last != part+1 {
		t.Fatalf("Load(d) = %d events, last %d (%v); want none, last %d (the void marker)", len(events), last, err, part+1)
	}
	seqs, err := s.SubjectSequences(ctx, TenantSubjects("t1"), 0, after)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range seqs {
		if x.Seq == part || x.Seq == part+1 {
			t.Fatalf("SubjectSequences lists %d: %+v", x.Seq, seqs)
		}
	}
	if len(seqs) != 4 {
		t.Fatalf("SubjectSequences = %+v, want the 4 events", seqs)
	}
	if rep := requireIntact(t, s); rep.Checked != after {
		t.Fatalf("verify checked %d, want %d (void markers are chained)", rep.Checked, after)
	}
	if s.AppendStats().Voided != 1 {
		t.Fatalf("stats: %+v, want 1 voided", s.AppendStats())
	}
}

// TestPartNotSentVoidsTheOnesBefore sends a command whose second event the
// connection refuses to send (it is larger than a message may be): the
// first part is stored and then voided, the caller gets the error, and a
// retry of the same command, now small enough, lands whole although its
// first message id was seen.
func TestPartNotSentVoidsTheOnesBefore(t *testing.T) {
	ctx := context.Background()
	s := openParts(t, t.TempDir())
	defer s.Close()
	before := mustAppendParts(t, s, partsEvent("a", "c1", 0, "A"))
	huge := strings.Repeat("x", int(s.nc.MaxPayload())+1)
	_, err := s.Append(ctx, []domain.Event{partsEvent("p", "big", 0, "P"), partsEvent("q", "big", 1, huge)}, nil)
	if err == nil || errors.Is(err, ErrConflict) {
		t.Fatalf("append with an event too large to send: err = %v, want a plain error", err)
	}
	if last, _ := s.LastSequence(ctx); last != before+2 {
		t.Fatalf("log ends at %d, want %d: the first part and its void marker", last, before+2)
	}
	if got := storedAt(t, s, before+2).Header.Get(VoidHeader); got != "2" {
		t.Fatalf("void header at %d = %q, want 2", before+2, got)
	}
	if events, _, _ := s.Load(ctx, "t1", ref("p")); len(events) != 0 {
		t.Fatalf("Load(p) = %d events, want none", len(events))
	}
	pos, err := s.Append(ctx, []domain.Event{partsEvent("p", "big", 0, "P"), partsEvent("q", "big", 1, "Q")}, nil)
	if err != nil || pos != before+4 {
		t.Fatalf("retry of the voided command: pos %d, err %v; want stored at %d", pos, err, before+4)
	}
	if _, err := s.Append(ctx, []domain.Event{partsEvent("p", "big", 0, "P"), partsEvent("q", "big", 1, "Q")}, nil); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("a repeat of the command that landed: err = %v, want ErrDuplicate", err)
	}
	if last, _ := s.LastSequence(ctx); last != before+4 {
		t.Fatalf("log ends at %d after the repeat, want %d", last, before+4)
	}
	events, _, _ := s.Load(ctx, "t1", ref("p"))
	if len(events) != 1 || events[0].Sequence != before+3 {
		t.Fatalf("Load(p) = %+v, want the retried part at %d", events, before+3)
	}
	requireIntact(t, s)

	// A durable consumer of the tenant skips the voided part and its void.
	d, err := s.OpenDurable(ctx, DurableConfig{Name: "parts", Tenant: "t1", AckWait: time.Minute, Window: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	var seen []uint64
	for len(seen) < 3 {
		dl, err := d.Next()
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, dl.Seq)
		_ = dl.AckAsync()
	}
	if seen[0] != before || seen[1] != before+3 || seen[2] != before+4 {
		t.Fatalf("durable delivered %v, want %d, %d, %d", seen, before, before+3, before+4)
	}
}

// TestFrameCoveredByTheChain checks that the chain commits to a part's
// frame: the same bytes framed otherwise hash differently.
func TestFrameCoveredByTheChain(t *testing.T) {
	var prev Hash
	plain := chainHash(prev, 7, "s", "", []byte("x"))
	one := chainHash(prev, 7, "s", frame{part: 1, of: 2}.hashed(), []byte("x"))
	two := chainHash(prev, 7, "s", frame{part: 2, of: 2}.hashed(), []byte("x"))
	if plain == one || one == two || plain == two {
		t.Fatal("a frame does not change the link")
	}
	for _, bad := range []string{"0/2", "3/2", "1/1", "x/2", "1-2"} {
		if _, err := readFrame(nats.Header{PartHeader: []string{bad}}); err == nil {
			t.Fatalf("part header %q accepted", bad)
		}
	}
}

// TestAssembler feeds the in-order reader's assembler the shapes a log can
// take and checks which positions count.
func TestAssembler(t *testing.T) {
	type in struct {
		seq uint64
		f   frame
	}
	p := func(seq uint64, i, k int) in { return in{seq, frame{part: i, of: k}} }
	one := func(seq uint64) in { return in{seq: seq} }
	void := func(seq, of uint64) in { return in{seq, frame{void: of}} }
	for _, c := range []struct {
		name string
		log  []in
		want []uint64
	}{
		{"whole commands", []in{one(1), p(2, 1, 2), p(3, 2, 2), p(4, 1, 3), p(5, 2, 3), p(6, 3, 3)}, []uint64{1, 2, 3, 4, 5, 6}},
		{"voided", []in{p(1, 1, 3), p(2, 2, 3), void(3, 1), void(4, 2), one(5)}, []uint64{5}},
		{"crash, then the next command", []in{p(1, 1, 2), p(2, 1, 2), p(3, 2, 2)}, []uint64{2, 3}},
		{"started inside a command", []in{p(5, 2, 3), p(6, 3, 3), one(7)}, []uint64{5, 6, 7}},
		{"only its last part", []in{p(6, 3, 3)}, []uint64{6}},
		{"a gap in positions", []in{p(1, 1, 2), p(3, 2, 2)}, []uint64{3}},
		{"still being stored", []in{one(1), p(2, 1, 2)}, []uint64{1}},
	} {
		var a assembler[uint64]
		var got []uint64
		for _, x := range c.log {
			ready, _ := a.add(x.seq, x.seq, x.f)
			got = append(got, ready...)
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s: counted %v, want %v", c.name, got, c.want)
		}
	}
}
