package eventstore_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/portcullis/portcullis/domain"
	"github.com/portcullis/portcullis/eventstore"
	"github.com/portcullis/portcullis/eventstore/storetest"
)

// The tamper tests write a log, stop the server, copy its data directory,
// change the copy's message blocks as an attacker with the disk would (see
// storetest/tamper.go), start a server on the copy and verify. The
// original is never touched.

const tamperEvents = 30

// tamperedLog writes tamperEvents events (single appends and atomic pairs)
// into a fresh store, signs a checkpoint of its head and stops it. It
// returns the data directory, the checkpoint and its key.
func tamperedLog(t *testing.T) (string, eventstore.Checkpoint, ed25519.PublicKey) {
	t.Helper()
	dir := t.TempDir()
	s, err := eventstore.Open(context.Background(), eventstore.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for n := 1; n <= tamperEvents; {
		cmd := fmt.Sprintf("c%02d", n)
		evs := []domain.Event{testEvent(fmt.Sprintf("i%d", n%7), cmd, n)}
		if n%3 == 0 && n < tamperEvents {
			evs = append(evs, testEvent("pair", cmd, n+1))
		}
		if _, err := s.Append(ctx, evs, nil); err != nil {
			t.Fatal(err)
		}
		n += len(evs)
	}
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	cps, err := eventstore.OpenCheckpointer(s, key, filepath.Join(dir, "checkpoints.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	cp, err := cps.Sign(ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if cp.Sequence != tamperEvents {
		t.Fatalf("checkpoint at %d, want %d", cp.Sequence, tamperEvents)
	}
	s.Close()
	return dir, cp, pub
}

func mustVerify(t *testing.T, s *eventstore.Store, cp *eventstore.Checkpoint) eventstore.ChainReport {
	t.Helper()
	rep, err := s.Verify(context.Background(), cp)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	return rep
}

func requireBreak(t *testing.T, rep eventstore.ChainReport, seq uint64, kind string) *eventstore.ChainBreak {
	t.Helper()
	b := rep.Break
	if b == nil {
		t.Fatalf("verify found no break (report %+v), want %s at %d", rep, kind, seq)
	}
	if b.Sequence != seq || b.Kind != kind {
		t.Fatalf("break = %+v, want %s at %d", *b, kind, seq)
	}
	return b
}

func TestVerifyCleanLog(t *testing.T) {
	dir, cp, pub := tamperedLog(t)
	if err := cp.Check(pub); err != nil {
		t.Fatalf("checkpoint does not verify with its key: %v", err)
	}
	s := mustOpen(t, eventstore.Config{DataDir: storetest.CopyDir(t, dir)})
	rep := mustVerify(t, s, &cp)
	if rep.Break != nil || rep.Checked != tamperEvents || rep.HeadSequence != tamperEvents || rep.HeadHash != cp.Hash ||
		rep.Checkpoint == nil || !rep.Checkpoint.Held {
		t.Fatalf("clean log: report %+v (break %v), want %d events, head = checkpoint, held", rep, rep.Break, tamperEvents)
	}
}

func TestVerifyNamesAlteredEvent(t *testing.T) {
	dir, cp, _ := tamperedLog(t)
	copied := storetest.CopyDir(t, dir)
	// Change one letter of the actor inside the stored envelope of event
	// 17; the length stays, the server is given a valid block checksum.
	storetest.AlterEvent(t, copied, 17, func(body []byte) {
		i := bytes.Index(body, []byte("test"))
		body[i+3] = 'x'
	})
	s := mustOpen(t, eventstore.Config{DataDir: copied})
	events, _, err := s.Load(context.Background(), "t1", domain.Ref{Type: domain.AggregateIndividual, ID: "i3"})
	served := false
	for _, e := range events {
		served = served || e.Sequence == 17 && e.Actor == "tesx"
	}
	if err != nil || !served {
		t.Fatalf("the server does not serve the altered event (err %v): the test did not tamper as intended", err)
	}
	for _, c := range []*eventstore.Checkpoint{nil, &cp} {
		b := requireBreak(t, mustVerify(t, s, c), 17, eventstore.BreakAltered)
		if b.EventID != "c17-17" || b.Subject != "pc.ev.t1.individual.i3" {
			t.Fatalf("break names event %q on %q, want c17-17 on pc.ev.t1.individual.i3", b.EventID, b.Subject)
		}
	}
}

func TestVerifyNamesRemovedEvent(t *testing.T) {
	dir, cp, _ := tamperedLog(t)
	copied := storetest.CopyDir(t, dir)
	storetest.RemoveEvent(t, copied, 12)
	s := mustOpen(t, eventstore.Config{DataDir: copied})
	for _, c := range []*eventstore.Checkpoint{nil, &cp} {
		b := requireBreak(t, mustVerify(t, s, c), 12, eventstore.BreakMissing)
		if !strings.Contains(b.Detail, "12 to 12") {
			t.Fatalf("break detail %q does not name position 12", b.Detail)
		}
	}
}

func TestVerifyNamesReorderedEvents(t *testing.T) {
	dir, cp, _ := tamperedLog(t)
	copied := storetest.CopyDir(t, dir)
	storetest.SwapEvents(t, copied, 20, 21)
	s := mustOpen(t, eventstore.Config{DataDir: copied})
	for _, c := range []*eventstore.Checkpoint{nil, &cp} {
		b := requireBreak(t, mustVerify(t, s, c), 20, eventstore.BreakReordered)
		if b.EventID != "c21-21" || !strings.Contains(b.Detail, "chained at position 21") {
			t.Fatalf("break = %+v, want event c21-21 found at 20, chained at 21", *b)
		}
	}
}

func TestVerifyFindsTruncationWithCheckpoint(t *testing.T) {
	dir, cp, _ := tamperedLog(t)
	copied := storetest.CopyDir(t, dir)
	storetest.TruncateAfter(t, copied, 25)
	s := mustOpen(t, eventstore.Config{DataDir: copied})
	// The chain alone cannot tell: a prefix of a chain is a chain.
	if rep := mustVerify(t, s, nil); rep.Break != nil || rep.HeadSequence != 25 {
		t.Fatalf("truncated log without checkpoint: %+v, want whole up to 25", rep)
	}
	b := requireBreak(t, mustVerify(t, s, &cp), 26, eventstore.BreakTruncated)
	if !strings.Contains(b.Detail, "26 to 30") {
		t.Fatalf("break detail %q does not name positions 26 to 30", b.Detail)
	}
	// New events written over the truncated ones reach the checkpoint's
	// position again, with other links.
	for i := range 10 {
		if _, err := s.Append(context.Background(), []domain.Event{testEvent("new", fmt.Sprintf("n%d", i), i)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if rep := mustVerify(t, s, nil); rep.Break != nil || rep.HeadSequence != 35 {
		t.Fatalf("log rewritten after truncation, without checkpoint: %+v, want whole up to 35", rep)
	}
	b = requireBreak(t, mustVerify(t, s, &cp), 30, eventstore.BreakAltered)
	if !strings.Contains(b.Detail, "checkpoint") {
		t.Fatalf("break detail %q does not mention the checkpoint", b.Detail)
	}
}

// TestUnchainedPrefixNotCovered writes events as a version before the chain
// did (plain publishes without a link), then appends through the store: the
// chain starts at the first new event and the old ones are reported as not
// covered, not as a break.
func TestUnchainedPrefixNotCovered(t *testing.T) {
	s := mustOpen(t, eventstore.Config{DataDir: t.TempDir()})
	ctx := context.Background()
	js, err := jetstream.New(s.Conn())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		e := testEvent("old", fmt.Sprintf("old%d", i), i)
		data, err := eventstore.Encode(e)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := js.PublishMsg(ctx, &nats.Msg{Subject: eventstore.Subject(e.Tenant, e.Aggregate), Data: data}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		if _, err := s.Append(ctx, []domain.Event{testEvent("new", fmt.Sprintf("new%d", i), i)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	rep := mustVerify(t, s, nil)
	if rep.Break != nil || rep.NotCovered != 5 || rep.FirstChained != 6 || rep.Checked != 3 || rep.HeadSequence != 8 {
		t.Fatalf("report %+v (break %v), want 5 not covered, chained from 6 to 8", rep, rep.Break)
	}
	// An unchained event after the chain began is a break.
	e := testEvent("old", "late", 9)
	data, _ := eventstore.Encode(e)
	if _, err := js.PublishMsg(ctx, &nats.Msg{Subject: eventstore.Subject(e.Tenant, e.Aggregate), Data: data}); err != nil {
		t.Fatal(err)
	}
	if b := requireBreak(t, mustVerify(t, s, nil), 9, eventstore.BreakAltered); b.EventID != "late-9" {
		t.Fatalf("break names %q, want late-9", b.EventID)
	}
}

func TestCheckpointer(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, eventstore.Config{DataDir: dir})
	ctx := context.Background()
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	path := filepath.Join(dir, "checkpoints.jsonl")
	cps, err := eventstore.OpenCheckpointer(s, key, path)
	if err != nil {
		t.Fatal(err)
	}
	first, err := cps.Sign(ctx, time.Now())
	if err != nil || first.Sequence != 0 {
		t.Fatalf("checkpoint of an empty log = %+v, %v; want position 0", first, err)
	}
	for i := range 4 {
		if _, err := s.Append(ctx, []domain.Event{testEvent("a", fmt.Sprintf("c%d", i), i)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	second, err := cps.Sign(ctx, time.Now())
	if err != nil || second.Sequence != 4 || second.Check(pub) != nil || eventstore.KeyID(pub) != second.KeyID {
		t.Fatalf("checkpoint = %+v, %v; want position 4 signed by the key", second, err)
	}
	again, err := cps.Sign(ctx, time.Now())
	if err != nil || again != second {
		t.Fatalf("signing an unmoved head gave %+v, want the same checkpoint", again)
	}
	// A changed field no longer verifies; nor does another key.
	forged := second
	forged.Sequence = 3
	if !errors.Is(forged.Check(pub), eventstore.ErrBadCheckpoint) {
		t.Fatal("a checkpoint with a changed position still verifies")
	}
	other, _, _ := ed25519.GenerateKey(rand.Reader)
	if !errors.Is(second.Check(other), eventstore.ErrBadCheckpoint) {
		t.Fatal("a checkpoint verifies with another key")
	}
	// Every checkpoint is in the file; a new checkpointer resumes from the
	// newest and walks on from there.
	all, err := eventstore.ReadCheckpoints(path)
	if err != nil || len(all) != 2 || all[1] != second {
		t.Fatalf("checkpoint file holds %+v (%v), want the two signed", all, err)
	}
	resumed, err := eventstore.OpenCheckpointer(s, key, path)
	if err != nil || resumed.Latest() == nil || *resumed.Latest() != second {
		t.Fatalf("resumed checkpointer starts at %+v (%v), want the newest", resumed.Latest(), err)
	}
	if _, err := s.Append(ctx, []domain.Event{testEvent("a", "c9", 9)}, nil); err != nil {
		t.Fatal(err)
	}
	third, err := resumed.Sign(ctx, time.Now())
	if err != nil || third.Sequence != 5 {
		t.Fatalf("checkpoint after resuming = %+v, %v; want position 5", third, err)
	}
	rep := mustVerify(t, s, &third)
	if rep.Break != nil || rep.HeadHash != third.Hash || !rep.Checkpoint.Held {
		t.Fatalf("verify against the new checkpoint: %+v", rep)
	}
}

// TestCheckpointerRefusesBrokenChain: a checkpoint never vouches for a log
// that is already broken.
func TestCheckpointerRefusesBrokenChain(t *testing.T) {
	dir, _, _ := tamperedLog(t)
	copied := storetest.CopyDir(t, dir)
	os.Remove(filepath.Join(copied, "checkpoints.jsonl"))
	storetest.AlterEvent(t, copied, 5, func(body []byte) {
		i := bytes.Index(body, []byte("test"))
		body[i] = 'T'
	})
	s := mustOpen(t, eventstore.Config{DataDir: copied})
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	cps, err := eventstore.OpenCheckpointer(s, key, filepath.Join(copied, "checkpoints.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cps.Sign(context.Background(), time.Now()); err == nil || !strings.Contains(err.Error(), "broken at 5") {
		t.Fatalf("signing a broken chain: err = %v, want it refused naming position 5", err)
	}
}
