package eventstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/vmihailenco/msgpack/v5"
)

// Kinds of chain break, from the first thing found wrong at a position.
const (
	// BreakAltered: the stored event no longer matches its own link, has
	// lost its link, or differs from a signed checkpoint at its position.
	BreakAltered = "altered"
	// BreakMissing: positions are absent from the stream (removed events).
	BreakMissing = "missing"
	// BreakReordered: the event was chained at another position than the
	// one it is stored at, or does not follow the event stored before it.
	BreakReordered = "reordered"
	// BreakTruncated: the stream ends before a signed checkpoint's head.
	BreakTruncated = "truncated"
)

// ChainBreak is the first place where the stored log contradicts its chain.
type ChainBreak struct {
	Sequence uint64 `json:"sequence"`
	Subject  string `json:"subject,omitempty"`
	EventID  string `json:"event_id,omitempty"`
	Kind     string `json:"kind"`
	Detail   string `json:"detail"`
}

// ChainReport is the outcome of walking the chain.
type ChainReport struct {
	// Checked counts the chained events whose links were checked.
	Checked uint64 `json:"checked"`
	// NotCovered counts the events stored before the chain began (appended
	// by a version without it); they are not a break, and nothing vouches
	// for them. FirstChained is the position of the first chained event.
	NotCovered   uint64 `json:"not_covered"`
	FirstChained uint64 `json:"first_chained,omitempty"`
	// HeadSequence and HeadHash are the newest event walked and its link
	// (empty while no event is chained).
	HeadSequence uint64 `json:"head_sequence"`
	HeadHash     string `json:"head_hash,omitempty"`
	// Checkpoint says whether the log still holds the checkpoint's head,
	// when one was given.
	Checkpoint *CheckpointCheck `json:"checkpoint,omitempty"`
	// Break is the first break, nil when the chain is whole.
	Break *ChainBreak `json:"break"`
	// Elapsed is how long the walk took.
	Elapsed time.Duration `json:"-"`
}

// CheckpointCheck reports a signed checkpoint against the log.
type CheckpointCheck struct {
	Sequence uint64    `json:"sequence"`
	Hash     string    `json:"hash"`
	Time     time.Time `json:"time"`
	// Held is true when the event at Sequence is in the log with that link.
	Held bool `json:"held"`
}

// Verify walks the whole log in order and checks every link: that each
// event's stored bytes hash to its link, that the link names the position
// the event is stored at, and that it follows the link of the event before
// it. With a checkpoint (already checked for its signature by the caller),
// it also checks that the log still holds the checkpoint's head unchanged,
// so that removing the newest events is found too. The walk stops at the
// first break. A read error is an error, not a break.
func (s *Store) Verify(ctx context.Context, cp *Checkpoint) (ChainReport, error) {
	return s.VerifyTo(ctx, cp, 0)
}

// VerifyTo is Verify of the log up to position upTo (0: all of it): the
// chain as it stood then, for a verification as of a past instant. A
// checkpoint past upTo is not checked.
func (s *Store) VerifyTo(ctx context.Context, cp *Checkpoint, upTo uint64) (ChainReport, error) {
	if cp != nil && upTo > 0 && cp.Sequence > upTo {
		cp = nil
	}
	start := time.Now()
	rep, err := s.verify(ctx, cp, upTo)
	rep.Elapsed = time.Since(start)
	return rep, err
}

func (s *Store) verify(ctx context.Context, cp *Checkpoint, upTo uint64) (ChainReport, error) {
	var rep ChainReport
	var want Hash
	if cp != nil {
		h, err := ParseHash(cp.Hash)
		if err != nil {
			return rep, fmt.Errorf("eventstore: checkpoint: %w", err)
		}
		want = h
		rep.Checkpoint = &CheckpointCheck{Sequence: cp.Sequence, Hash: cp.Hash, Time: cp.Time}
	}
	info, err := s.stream.Info(ctx)
	if err != nil {
		return rep, fmt.Errorf("eventstore: verify: %w", err)
	}
	end := info.State.LastSeq
	if upTo > 0 {
		end = min(end, upTo)
	}
	w := chainWalk{rep: &rep}
	if end > 0 {
		if err := s.walkFrom(ctx, 1, end, func(m *jetstream.RawStreamMsg) bool {
			if !w.next(m) {
				return false
			}
			if cp != nil && m.Sequence == cp.Sequence {
				if w.prev != want {
					w.breakAt(m, BreakAltered, fmt.Sprintf(
						"its link %s differs from the checkpoint signed at %s, which holds %s",
						w.prev, cp.Time.UTC().Format(time.RFC3339), cp.Hash))
					return false
				}
				rep.Checkpoint.Held = true
			}
			return true
		}); err != nil {
			return rep, err
		}
	}
	if rep.Break == nil && rep.HeadSequence < end {
		rep.Break = &ChainBreak{Sequence: rep.HeadSequence + 1, Kind: BreakMissing,
			Detail: fmt.Sprintf("the stream reports events up to %d, but positions %d to %d cannot be read",
				end, rep.HeadSequence+1, end)}
	}
	if rep.Break == nil && cp != nil && !rep.Checkpoint.Held {
		rep.Break = &ChainBreak{Sequence: rep.HeadSequence + 1, Kind: BreakTruncated,
			Detail: fmt.Sprintf("the log ends at %d, but a checkpoint signed at %s covers events up to %d: "+
				"events %d to %d were removed", rep.HeadSequence, cp.Time.UTC().Format(time.RFC3339),
				cp.Sequence, rep.HeadSequence+1, cp.Sequence)}
	}
	return rep, nil
}

// chainWalk is the state of a walk: the last position seen and its link.
type chainWalk struct {
	rep     *ChainReport
	prev    Hash
	chained bool
}

// next checks one stored event; false means a break was recorded.
func (w *chainWalk) next(m *jetstream.RawStreamMsg) bool {
	rep := w.rep
	if m.Sequence != rep.HeadSequence+1 {
		rep.Break = &ChainBreak{Sequence: rep.HeadSequence + 1, Kind: BreakMissing,
			Detail: fmt.Sprintf("positions %d to %d are absent; the next stored event is at %d",
				rep.HeadSequence+1, m.Sequence-1, m.Sequence)}
		return false
	}
	l, ok, err := parseLink(m.Header)
	switch {
	case err != nil:
		w.breakAt(m, BreakAltered, err.Error())
		return false
	case !ok && w.chained:
		w.breakAt(m, BreakAltered, "it has no chain link, but the events before it are chained")
		return false
	case !ok:
		rep.NotCovered++
		rep.HeadSequence = m.Sequence
		return true
	}
	fr, err := readFrame(m.Header)
	switch {
	case err != nil:
		w.breakAt(m, BreakAltered, err.Error())
		return false
	case l.Framed && fr.hashed() == "":
		w.breakAt(m, BreakAltered, "its link covers a frame (part or void header) that it no longer has")
		return false
	case !l.Framed && fr.hashed() != "":
		w.breakAt(m, BreakAltered, "it has a part or void header that its link does not cover")
		return false
	}
	if chainHash(l.Prev, l.Seq, m.Subject, fr.hashed(), m.Data) != l.Hash {
		w.breakAt(m, BreakAltered, "its stored bytes or subject no longer hash to its link")
		return false
	}
	if l.Seq != m.Sequence {
		w.breakAt(m, BreakReordered, fmt.Sprintf("it was chained at position %d but is stored at %d", l.Seq, m.Sequence))
		return false
	}
	if l.Prev != w.prev {
		if !w.chained {
			w.breakAt(m, BreakAltered, "it is the first chained event but names a predecessor: "+
				"the links of the events before it were removed")
		} else {
			w.breakAt(m, BreakReordered, fmt.Sprintf(
				"it does not follow the event stored before it (%d): that event was replaced, or events were moved", m.Sequence-1))
		}
		return false
	}
	if !w.chained {
		w.chained = true
		rep.FirstChained = m.Sequence
	}
	w.prev = l.Hash
	rep.Checked++
	rep.HeadSequence = m.Sequence
	rep.HeadHash = l.Hash.String()
	return true
}

func (w *chainWalk) breakAt(m *jetstream.RawStreamMsg, kind, detail string) {
	w.rep.Break = &ChainBreak{Sequence: m.Sequence, Subject: m.Subject, EventID: eventID(m.Data), Kind: kind, Detail: detail}
}

// eventID reads only the id of a stored envelope, which may be damaged.
func eventID(data []byte) string {
	var e struct {
		ID string `msgpack:"id"`
	}
	if msgpack.Unmarshal(data, &e) != nil {
		return ""
	}
	return e.ID
}

// walkIdle is how long a walk waits for a stored message that does not come.
const walkIdle = 5 * time.Second

// walkFrom hands every stored message from position start up to end to fn,
// in order, with an ordered consumer (no server-side state is left behind),
// until fn returns false.
func (s *Store) walkFrom(ctx context.Context, start, end uint64, fn func(*jetstream.RawStreamMsg) bool) error {
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy}
	if start > 1 {
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, start
	}
	cons, err := s.js.OrderedConsumer(ctx, StreamName, cfg)
	if err != nil {
		return fmt.Errorf("eventstore: verify: %w", err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(4096))
	if err != nil {
		return fmt.Errorf("eventstore: verify: %w", err)
	}
	defer it.Stop()
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	for {
		m, err := it.Next(jetstream.NextMaxWait(walkIdle))
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(err, nats.ErrTimeout) {
				// Nothing more can be read although the stream claims
				// more: the caller reports the positions it did not see.
				return nil
			}
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return fmt.Errorf("eventstore: verify: stopped")
			}
			return fmt.Errorf("eventstore: verify: %w", err)
		}
		md, err := m.Metadata()
		if err != nil {
			return fmt.Errorf("eventstore: verify: %w", err)
		}
		raw := &jetstream.RawStreamMsg{Subject: m.Subject(), Sequence: md.Sequence.Stream, Header: m.Headers(), Data: m.Data()}
		if !fn(raw) || raw.Sequence >= end || md.NumPending == 0 {
			return nil
		}
	}
}
