package eventstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// A command of several events without an atomic batch.
//
// When the writer makes appends durable itself (blocksync.go: nothing but
// this process can reach the embedded server), an atomic batch is the
// slowest way to store a command: the server stages every batch in a file
// store of its own, and takes one batch at a time. So the writer sends a
// command of k > 1 events as k plain publishes in a row, each expecting
// the stream to end where the one before it left it, and marks each with
// its part: PartHeader "i/k". A command counts once all its k parts are
// stored, and they are always stored at k consecutive positions.
//
// The writer checks a command's expectations before sending it (it alone
// writes, so it knows every subject's position), so the server refuses
// only first parts, which leaves nothing stored. If a later part is not
// stored all the same (not sent, a refusal nobody foresaw), or the process
// stops between two parts, the parts already stored are voided: for each
// of them a void marker follows on the same subject, with VoidHeader
// naming its position and no body, before anything else is appended. A
// writer voids an incomplete command it finds at the end of the log before
// it appends anything (repairTail); until then LastSequence ends before
// it, and readers hold it as a command still being stored. A void marker
// moves its subject's position, so a decision made on a part that was
// voided later fails its expectation.
//
// Every reader of this package hides void markers and the parts they void
// (frames of the same command that never completed); downstream readers of
// the stream follow the same rule (docs/events.md). Both headers are
// covered by the hash chain (chain.go, link version 2).
const (
	PartHeader = "Pc-Part"
	VoidHeader = "Pc-Void"
)

// frame is what a message's headers say of its place in a command.
type frame struct {
	part, of int    // i and k of a part of a k-event command; 0 otherwise
	void     uint64 // for a void marker: the position of the part it voids
}

// readFrame reads the frame headers of a stored message.
func readFrame(h nats.Header) (frame, error) {
	var f frame
	if h == nil {
		return f, nil
	}
	if v := h.Get(PartHeader); v != "" {
		i, k, ok := strings.Cut(v, "/")
		a, err1 := strconv.Atoi(i)
		b, err2 := strconv.Atoi(k)
		if !ok || err1 != nil || err2 != nil || a < 1 || b < 2 || a > b {
			return f, fmt.Errorf("malformed part header %q", v)
		}
		f.part, f.of = a, b
	}
	if v := h.Get(VoidHeader); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n == 0 || f.of > 0 {
			return f, fmt.Errorf("malformed void header %q", v)
		}
		f.void = n
	}
	return f, nil
}

// isPart says whether the message is one part of a command of several.
func (f frame) isPart() bool { return f.of > 0 }

// hashed is the frame as the chain commits to it ("" when unframed).
func (f frame) hashed() string {
	switch {
	case f.void > 0:
		return "void " + strconv.FormatUint(f.void, 10)
	case f.of > 0:
		return "part " + strconv.Itoa(f.part) + "/" + strconv.Itoa(f.of)
	}
	return ""
}

// set writes the frame's headers into h.
func (f frame) set(h nats.Header) {
	switch {
	case f.void > 0:
		h.Set(VoidHeader, strconv.FormatUint(f.void, 10))
	case f.of > 0:
		h.Set(PartHeader, strconv.Itoa(f.part)+"/"+strconv.Itoa(f.of))
	}
}

// assembler holds the parts of a command, for a reader that takes the log
// in order, until the command's last part arrives. Anything else arriving
// first (a void marker, another command, a gap in positions) means the
// command never completed: its parts are dropped. A command's events all
// belong to one tenant, so a reader of one tenant's subjects sees them all.
type assembler[M any] struct {
	held []M
	next int    // the part expected next, while holding
	of   int    // the parts of the command held
	seq  uint64 // the position of the last part held
}

// add takes the next message, its position and its frame, and returns the
// messages that now count, in order (often none, or just m). dropped says
// that m, or parts held before it, will never count.
func (a *assembler[M]) add(m M, seq uint64, f frame) (ready []M, dropped bool) {
	if len(a.held) > 0 && !(f.isPart() && f.part == a.next && f.of == a.of && seq == a.seq+1) {
		a.held, dropped = a.held[:0], true
	}
	switch {
	case f.void > 0:
		return nil, true
	case !f.isPart():
		return []M{m}, dropped
	case f.part == f.of && len(a.held) == 0:
		// The last part alone: the ones before it came before this
		// reader's start (the command completed, or it would not be).
		return []M{m}, dropped
	}
	// A first part, a part that continues the command held, or a middle
	// part of a command that began before this reader's start.
	a.held = append(a.held, m)
	a.next, a.of, a.seq = f.part+1, f.of, seq
	if f.part < f.of {
		return nil, dropped
	}
	ready = append([]M(nil), a.held...)
	a.held = a.held[:0]
	return ready, dropped
}

// partFate says what became of the part of a command stored at seq with
// frame f, by the message at the position its command's last part would
// take: complete (that message is the last part), voided (anything else
// is there), or pending (the log does not reach it yet).
type partFate int

const (
	partComplete partFate = iota
	partVoided
	partPending
)

func (s *Store) partFate(ctx context.Context, seq uint64, f frame) (partFate, error) {
	return fateOf(ctx, s.stream, seq, f)
}

func fateOf(ctx context.Context, stream jetstream.Stream, seq uint64, f frame) (partFate, error) {
	if !f.isPart() || f.part == f.of {
		return partComplete, nil
	}
	at := seq + uint64(f.of-f.part)
	m, err := stream.GetMsg(ctx, at)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		// Not stored yet, or stored since the get: the stream's end says
		// which, and a message stored is never removed (DenyDelete).
		info, ierr := stream.Info(ctx)
		if ierr != nil {
			return partPending, fmt.Errorf("eventstore: stream info: %w", ierr)
		}
		if info.State.LastSeq < at {
			return partPending, nil
		}
		m, err = stream.GetMsg(ctx, at)
	}
	if err != nil {
		return partPending, fmt.Errorf("eventstore: get %d: %w", at, err)
	}
	last, err := readFrame(m.Header)
	if err != nil {
		return partVoided, nil
	}
	if last.of == f.of && last.part == f.of {
		return partComplete, nil
	}
	return partVoided, nil
}

// voidedBy collects the positions that void markers among msgs name.
func voidedBy(msgs []*jetstream.RawStreamMsg) map[uint64]bool {
	var out map[uint64]bool
	for _, m := range msgs {
		if v := m.Header.Get(VoidHeader); v != "" {
			if n, err := strconv.ParseUint(v, 10, 64); err == nil {
				if out == nil {
					out = map[uint64]bool{}
				}
				out[n] = true
			}
		}
	}
	return out
}

// Outcomes of a publish of a group other than the server's answer.
var (
	// errNoAck: the acknowledgement did not come; the message may be stored.
	errNoAck = errors.New("no acknowledgement")
	// errNotSent: the publish never left this process.
	errNotSent = errors.New("not sent")
)

// partsAckWait bounds the wait for the acknowledgements of one group.
const partsAckWait = 30 * time.Second

// pubOutcome is what the server answered to one publish of a group.
type pubOutcome struct {
	ack *jetstream.PubAck
	err error
}

// publishAll sends msgs back to back, without waiting in between, and
// collects the server's answers. A message that could not be sent gets
// the send error and the ones after it errNotSent.
func (w *writer) publishAll(msgs []*nats.Msg) []pubOutcome {
	out := make([]pubOutcome, len(msgs))
	futs := make([]jetstream.PubAckFuture, 0, len(msgs))
	for i, m := range msgs {
		f, err := w.js.PublishMsgAsync(m)
		if err != nil {
			out[i].err = fmt.Errorf("%w: %w", errNotSent, err)
			for j := i + 1; j < len(msgs); j++ {
				out[j].err = errNotSent
			}
			break
		}
		futs = append(futs, f)
	}
	timeout := time.NewTimer(partsAckWait)
	defer timeout.Stop()
	for i, f := range futs {
		select {
		case ack := <-f.Ok():
			out[i].ack = ack
			continue
		case err := <-f.Err():
			out[i].err = err
			continue
		case <-timeout.C:
		case <-w.ctx.Done():
		}
		for j := i; j < len(futs); j++ {
			out[j].err = errNoAck
		}
		break
	}
	return out
}

// sendParts appends a group as plain publishes, every part of every
// request back to back (see the top of this file), and answers its
// requests. It returns the requests to send again: those after the first
// message the server did not store.
// Its requests passed precheck (writer.check).
func (w *writer) sendParts(group []*request) (again []*request) {
	msgs, hashes := w.chain(group, true)
	outs := w.publishAll(msgs)
	w.count(func(s *AppendStats) { s.Publishes += uint64(len(msgs)) })
	base := w.head.Seq
	stored := len(msgs) // messages stored, from the first on
	for i, o := range outs {
		if o.err != nil || o.ack.Duplicate || o.ack.Sequence != base+uint64(i)+1 {
			stored = i
			break
		}
	}
	if stored > 0 {
		w.head = chainHead{Seq: base + uint64(stored), Hash: hashes[stored-1]}
	}
	at := 0 // index of the current request's first message
	for i, r := range group {
		if at+len(r.msgs) <= stored {
			w.wrote(r, base+uint64(at)+1)
			w.answer(r, base+uint64(at+len(r.msgs)), nil)
			at += len(r.msgs)
			continue
		}
		// r holds the first message not stored.
		rest := group[i+1:]
		o := outs[stored]
		switch {
		case o.err == nil && !o.ack.Duplicate:
			// Stored where this writer did not expect it: another process
			// appends too. What this group holds is unknown.
			w.unconfirmed(group[i:], fmt.Errorf("eventstore: stored at %d, expected at %d", o.ack.Sequence, base+uint64(stored)+1))
			return nil
		case errors.Is(o.err, errNoAck):
			w.unconfirmed(group[i:], o.err)
			return nil
		case stored == at && o.err == nil:
			// Its first part is a duplicate: of a command that completed,
			// or of one whose parts were voided and that must go again.
			return append(w.duplicate(r, o.ack.Sequence), rest...)
		case stored == at && errors.Is(o.err, errNotSent):
			w.answer(r, 0, o.err)
			return rest
		case stored == at:
			// Refused before any of it was stored, as a plain publish is.
			return append(w.refused(group[i:i+1], translate(o.err)), rest...)
		}
		// Some of its parts are stored and the next is not: void them
		// before anything else goes (the expectations were checked
		// beforehand, so this takes a refusal nobody foresaw).
		switch err := o.err; {
		case err == nil:
			w.answer(r, 0, fmt.Errorf("%w: part %d of %d is a duplicate of an older append", ErrConflict, stored-at+1, len(r.msgs)))
		case errors.Is(err, errNotSent):
			w.answer(r, 0, err)
		default:
			w.answer(r, 0, translate(err))
		}
		var partial []voidTarget
		for j := range stored - at {
			partial = append(partial, voidTarget{subject: r.msgs[j].subject, seq: base + uint64(at+j) + 1})
		}
		if err := w.sendVoids(partial); err != nil {
			// The parts stay at the end of the log until the next send
			// repairs it (headKnown is false): nothing goes before.
			w.unconfirmed(rest, err)
			return nil
		}
		return rest
	}
	return nil
}

// precheck refuses a request of several events whose expectation on a
// later part's aggregate is stale, so that the server refuses only first
// parts, which leaves nothing to void. With no other writer, written
// holds the exact position of every subject in it; another subject's is
// read from the log.
func (w *writer) precheck(r *request) error {
	for j, m := range r.msgs {
		if !m.hasExpect {
			continue
		}
		known, ok := w.written[m.subject]
		if !ok && j > 0 {
			last, err := w.stream.GetLastMsgForSubject(w.ctx, m.subject)
			switch {
			case errors.Is(err, jetstream.ErrMsgNotFound):
				known, ok = 0, true
			case err != nil:
				return fmt.Errorf("eventstore: position of %s: %w", m.subject, err)
			default:
				known, ok = last.Sequence, true
			}
			w.written[m.subject] = known
		}
		if ok && known != m.expect {
			return ErrConflict
		}
	}
	return nil
}

// duplicate handles a request whose first part the server found in its
// duplicate window at position at. If that earlier append completed, so
// did this command (ErrDuplicate, nothing stored); if it was voided, the
// command never landed and goes again under new message ids.
func (w *writer) duplicate(r *request, at uint64) (again []*request) {
	if len(r.msgs) == 1 {
		w.answer(r, at, ErrDuplicate)
		return nil
	}
	fate, err := fateOf(w.ctx, w.stream, at, frame{part: 1, of: len(r.msgs)})
	switch {
	case err != nil:
		w.answer(r, 0, fmt.Errorf("%w: %w", ErrUnconfirmed, err))
	case fate == partComplete:
		w.answer(r, at+uint64(len(r.msgs))-1, ErrDuplicate)
	case fate == partPending:
		w.answer(r, 0, fmt.Errorf("%w: an earlier append of the same command is not complete", ErrUnconfirmed))
	default:
		for j := range r.msgs {
			r.msgs[j].msgID += "~" + strconv.FormatUint(at, 10)
		}
		return []*request{r}
	}
	return nil
}

// unconfirmed answers requests whose outcome is unknown; the head is read
// again, and the log's end repaired, before the next send.
func (w *writer) unconfirmed(group []*request, err error) {
	w.headKnown = false
	for _, r := range group {
		w.answer(r, 0, fmt.Errorf("%w: %w", ErrUnconfirmed, err))
	}
}

// voidTarget is a stored part to void: its subject and position.
type voidTarget struct {
	subject string
	seq     uint64
}

// sendVoids appends a void marker for each target, back to back.
func (w *writer) sendVoids(targets []voidTarget) error {
	if len(targets) == 0 {
		return nil
	}
	msgs := make([]*nats.Msg, len(targets))
	hashes := make([]Hash, len(targets))
	prev := w.head.Hash
	for i, t := range targets {
		seq := w.head.Seq + uint64(i) + 1
		f := frame{void: t.seq}
		h := chainHash(prev, seq, t.subject, f.hashed(), nil)
		m := &nats.Msg{Subject: t.subject, Header: nats.Header{}}
		m.Header.Set(jetstream.ExpectedLastSeqHeader, strconv.FormatUint(seq-1, 10))
		f.set(m.Header)
		m.Header.Set(ChainHeader, link{Framed: true, Seq: seq, Prev: prev, Hash: h}.String())
		msgs[i], hashes[i], prev = m, h, h
	}
	outs := w.publishAll(msgs)
	for i, o := range outs {
		if o.err != nil || o.ack.Sequence != w.head.Seq+1 {
			w.headKnown = false
			if o.err == nil {
				o.err = fmt.Errorf("stored at %d", o.ack.Sequence)
			}
			return fmt.Errorf("eventstore: void the part at %d: %w", targets[i].seq, o.err)
		}
		w.head = chainHead{Seq: o.ack.Sequence, Hash: hashes[i]}
		w.written[targets[i].subject] = o.ack.Sequence
	}
	w.count(func(s *AppendStats) { s.Voided += uint64(len(targets)) })
	return nil
}

// repairTail voids the parts of a command that the log ends with and that
// never completed (the writing process stopped between two parts), so
// that nothing is appended after them. It walks back over void markers
// already written for them.
func (w *writer) repairTail(ctx context.Context) error {
	named := map[uint64]bool{}
	seq := w.head.Seq
	var f frame
	for ; seq > 0; seq-- {
		m, err := w.stream.GetMsg(ctx, seq)
		if err != nil {
			return fmt.Errorf("eventstore: read the log's end at %d: %w", seq, err)
		}
		if f, err = readFrame(m.Header); err != nil {
			return fmt.Errorf("eventstore: the log's end at %d: %w", seq, err)
		}
		if f.void == 0 {
			break
		}
		if named[f.void] = true; len(named) > maxGroupMsgs {
			return fmt.Errorf("eventstore: the log ends with more than %d void markers", maxGroupMsgs)
		}
	}
	if !f.isPart() || f.part == f.of {
		return nil
	}
	var targets []voidTarget
	for p := seq - uint64(f.part) + 1; p <= seq; p++ {
		if named[p] {
			continue
		}
		m, err := w.stream.GetMsg(ctx, p)
		if err != nil {
			return fmt.Errorf("eventstore: read the part at %d: %w", p, err)
		}
		targets = append(targets, voidTarget{subject: m.Subject, seq: p})
	}
	if err := w.sendVoids(targets); err != nil {
		return err
	}
	if w.syncer != nil {
		return w.syncer.sync()
	}
	return nil
}
