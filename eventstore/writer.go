package eventstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The writer is the one goroutine of a process that appends to the stream.
// It knows the chain head, so it can link every event to the one before it
// in stream order; and because it sees every append that is waiting, it
// commits them together (group commit): one atomic batch, fsynced once,
// with each command's own per-subject expectations. Every append states
// where it expects the stream to end (Nats-Expected-Last-Sequence), so an
// append by another process in between fails cleanly; the writer then
// reloads the head from the stream and sends again.

// Limits of one group.
const (
	// maxGroupMsgs bounds the messages of one group; JetStream refuses
	// atomic batches of more than 1000. A single command larger than this
	// is sent alone.
	maxGroupMsgs = 500
	// maxRounds bounds how often one append is sent again because other
	// processes moved the stream first; past it the command layer gets a
	// conflict and decides again.
	maxRounds = 50
	// maxWritten bounds the subjects the writer remembers.
	maxWritten = 1 << 16
	// batchPerMsg is what one more message adds to an atomic batch (the
	// rest of its cost is fixed), for the choice between a batch and plain
	// publishes.
	batchPerMsg = 20 * time.Microsecond
)

// errClosed is what appends get once the store is closing.
var errClosed = errors.New("eventstore: store closed")

// outMsg is one event ready to publish, without the headers the writer adds
// (chain link, stream expectation, batch headers), so it can be sent again.
type outMsg struct {
	subject   string
	data      []byte
	msgID     string
	hasExpect bool
	expect    uint64
}

// request states of an append waiting for the writer.
const (
	queued int32 = iota
	taken
	abandoned
)

// request is one Append: all its messages land together or none does.
type request struct {
	msgs     []outMsg
	queuedAt time.Time // set only when the writer observes its stages
	state    atomic.Int32
	done     chan result // buffered: the writer never blocks on a caller
	rounds   int
	subjects []string
}

type result struct {
	last uint64 // the stream position of the request's last event
	err  error
}

func (r *request) finish(last uint64, err error) { r.done <- result{last, err} }

// AppendStats counts what the writer did, for the bench and for operators.
type AppendStats struct {
	Appends   uint64 // requests that got an answer
	Groups    uint64 // groups formed from the requests waiting
	Batches   uint64 // atomic batches sent
	Publishes uint64 // plain publishes sent
	Syncs     uint64 // fsyncs by the writer itself (blocksync.go)
	Retries   uint64 // groups sent again after another process moved the stream
	Splits    uint64 // groups split because one of their appends was refused
	Voided    uint64 // parts of commands voided because the rest was not stored (parts.go)
}

type writer struct {
	js     jetstream.JetStream
	stream jetstream.Stream
	// inflight bounds atomic batches in flight; the writer has one at a
	// time, the raw bench shares the helper.
	inflight chan struct{}
	queue    chan *request
	stop     chan struct{}
	done     chan struct{}
	ctx      context.Context
	cancel   context.CancelFunc

	head      chainHead
	headKnown bool
	// written remembers where this writer last appended to each subject
	// (a lower bound of the subject's last position, whoever else writes):
	// an append expecting an older position is refused without a send.
	written map[string]uint64
	// plainCost and batchCost are running estimates (EWMA) of one plain
	// publish and of the fixed part of one atomic batch, from which the
	// writer chooses the cheaper way to send a group of single events.
	plainCost, batchCost time.Duration

	// syncer, when set, makes appends durable: the server does not sync
	// them (blocksync.go), so no append is answered before it did.
	syncer *blockSyncer
	// answers are the outcomes of the group being sent, given once it is
	// durable.
	answers []answer
	// synced carries the answers of sent groups to the sync loop
	// (syncLoop), which closes syncDone once it has answered the last.
	synced   chan []answer
	syncDone chan struct{}

	// observe, when set, is told how long each stage took (Config.Observe):
	// "append_queue" from Append to the writer taking the request,
	// "append_send" one group's publishes, "append_sync" one fsync,
	// "append_group" the requests of one group and "append_sync_groups"
	// the groups one fsync made durable (counts, as nanoseconds),
	// "append_total" from Append to its answer.
	observe func(stage string, d time.Duration)

	mu    sync.Mutex
	stats AppendStats
}

// answer is the outcome of one request, held until its group is durable.
type answer struct {
	r    *request
	last uint64
	err  error
}

// newWriter returns a writer; go w.run() starts it.
func newWriter(js jetstream.JetStream, stream jetstream.Stream, sync string) *writer {
	w := &writer{
		js: js, stream: stream,
		inflight: make(chan struct{}, 1),
		queue:    make(chan *request, 4096),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
		written:  map[string]uint64{},
		// Starting points measured on a 2-core VM with a local SSD; the
		// estimates follow what this machine does from the first send.
		plainCost: time.Millisecond,
		batchCost: 4500 * time.Microsecond,
	}
	if sync == SyncInterval {
		w.plainCost = 40 * time.Microsecond
	}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	return w
}

// close stops the writer after the group it is sending; appends still
// queued get errClosed.
func (w *writer) close() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
	w.cancel()
	if w.syncer != nil {
		w.syncer.close()
	}
}

// append hands a request to the writer and waits for its outcome. A caller
// that gives up before the writer took its request appended nothing; one
// that gives up later cannot know.
func (w *writer) append(ctx context.Context, r *request) (uint64, error) {
	r.done = make(chan result, 1)
	if w.observe != nil {
		r.queuedAt = time.Now()
		defer func() { w.observe("append_total", time.Since(r.queuedAt)) }()
	}
	select {
	case w.queue <- r:
	case <-w.done:
		return 0, errClosed
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	select {
	case res := <-r.done:
		return res.last, res.err
	case <-ctx.Done():
		if r.state.CompareAndSwap(queued, abandoned) {
			return 0, ctx.Err()
		}
		return 0, fmt.Errorf("%w: %w", ErrUnconfirmed, ctx.Err())
	}
}

func (w *writer) run() {
	defer close(w.done)
	if w.syncer != nil {
		w.synced, w.syncDone = make(chan []answer, 64), make(chan struct{})
		go w.syncLoop()
		defer func() {
			close(w.synced)
			<-w.syncDone
		}()
	}
	var carry []*request // sent again, or held back from the last group
	for {
		if len(carry) == 0 {
			select {
			case r := <-w.queue:
				carry = append(carry, r)
			case <-w.stop:
				w.failQueued(nil)
				return
			}
		}
		select {
		case <-w.stop:
			w.failQueued(carry)
			return
		default:
		}
		var group []*request
		group, carry = w.collect(carry)
		if len(group) > 0 {
			w.count(func(s *AppendStats) { s.Groups++ })
			start := time.Now()
			carry = append(w.send(group), carry...)
			if w.observe != nil {
				w.observe("append_send", time.Since(start))
				w.observe("append_group", time.Duration(len(group)))
			}
			w.settle()
		}
	}
}

// collect forms a group: the carried requests first, then every request
// already waiting, without waiting for more. Requests that touch a subject
// of the group wait for the next one: JetStream refuses a batch that
// expects a position on a subject an earlier message of the batch writes.
func (w *writer) collect(carry []*request) (group, rest []*request) {
	subjects := map[string]bool{}
	n := 0
	add := func(r *request) bool {
		if r.state.Load() == abandoned {
			return true
		}
		if len(group) > 0 && n+len(r.msgs) > maxGroupMsgs {
			return false
		}
		for _, s := range r.subjects {
			if subjects[s] {
				return false
			}
		}
		if r.state.Load() == queued && !r.state.CompareAndSwap(queued, taken) {
			return true // abandoned meanwhile
		}
		if w.observe != nil && r.rounds == 0 && !r.queuedAt.IsZero() {
			w.observe("append_queue", time.Since(r.queuedAt))
		}
		for _, s := range r.subjects {
			subjects[s] = true
		}
		group = append(group, r)
		n += len(r.msgs)
		return true
	}
	for _, r := range carry {
		if !add(r) {
			rest = append(rest, r)
		}
	}
	for n < maxGroupMsgs {
		select {
		case r := <-w.queue:
			if !add(r) {
				rest = append(rest, r)
			}
			continue
		default:
		}
		break
	}
	return group, rest
}

// failQueued answers every request that will not be sent.
func (w *writer) failQueued(carry []*request) {
	for _, r := range carry {
		r.finish(0, errClosed)
	}
	for {
		select {
		case r := <-w.queue:
			r.finish(0, errClosed)
		default:
			return
		}
	}
}

// send appends a group and answers its requests. It returns the requests to
// send again because another process appended first.
func (w *writer) send(group []*request) (again []*request) {
	if !w.headKnown {
		if err := w.loadHead(w.ctx); err != nil {
			for _, r := range group {
				w.answer(r, 0, err)
			}
			return nil
		}
	}
	var fresh []*request
	for _, r := range group {
		if err := w.check(r); err != nil {
			w.answer(r, 0, err)
		} else {
			fresh = append(fresh, r)
		}
	}
	if len(fresh) == 0 {
		return nil
	}
	return w.sendChosen(fresh)
}

// loadHead reads where the log ends and, when this writer sends commands
// in parts, voids an incomplete command it ends with (repairTail).
func (w *writer) loadHead(ctx context.Context) error {
	head, err := loadHead(ctx, w.stream)
	if err != nil {
		return err
	}
	w.head, w.headKnown = head, true
	if w.syncer != nil {
		if err := w.repairTail(ctx); err != nil {
			w.headKnown = false
			return err
		}
	}
	return nil
}

// check refuses, before any send, a request that expects a subject at a
// position this writer has itself appended past (written is a lower bound
// of each subject's position, whoever else writes). When it writes alone,
// written is exact and the check is exact too (precheck, parts.go).
func (w *writer) check(r *request) error {
	if w.syncer != nil {
		return w.precheck(r)
	}
	for _, m := range r.msgs {
		if m.hasExpect && w.written[m.subject] > m.expect {
			return ErrConflict
		}
	}
	return nil
}

// wrote records the positions of a request that was stored from first on.
func (w *writer) wrote(r *request, first uint64) {
	if len(w.written) >= maxWritten {
		clear(w.written)
	}
	for i, m := range r.msgs {
		w.written[m.subject] = first + uint64(i)
	}
}

// sendChosen sends a group the cheaper way it allows.
func (w *writer) sendChosen(group []*request) (again []*request) {
	if w.syncer != nil {
		return w.sendParts(group)
	}
	if w.plainIsCheaper(group) {
		return w.sendPlain(group)
	}
	return w.sendBatch(group)
}

// plainIsCheaper says whether a group of single events goes faster as
// plain publishes, one after the other, than as one atomic batch.
func (w *writer) plainIsCheaper(group []*request) bool {
	for _, r := range group {
		if len(r.msgs) != 1 {
			return false
		}
	}
	k := time.Duration(len(group))
	return len(group) == 1 || k*w.plainCost <= w.batchCost+k*batchPerMsg
}

// chain builds the messages of a group on the current head: each links to
// the one before, and the first expects the stream to end at the head.
// framed marks the parts of each request of several events (parts.go) and
// makes every message expect the stream to end where the one before it
// does.
func (w *writer) chain(group []*request, framed bool) ([]*nats.Msg, []Hash) {
	var msgs []*nats.Msg
	var hashes []Hash
	prev := w.head.Hash
	for _, r := range group {
		for j, o := range r.msgs {
			seq := w.head.Seq + uint64(len(msgs)) + 1
			var f frame
			if framed && len(r.msgs) > 1 {
				f = frame{part: j + 1, of: len(r.msgs)}
			}
			h := chainHash(prev, seq, o.subject, f.hashed(), o.data)
			m := &nats.Msg{Subject: o.subject, Data: o.data, Header: nats.Header{}}
			m.Header.Set(jetstream.MsgIDHeader, o.msgID)
			if o.hasExpect {
				m.Header.Set(jetstream.ExpectedLastSubjSeqHeader, strconv.FormatUint(o.expect, 10))
			}
			if framed {
				m.Header.Set(jetstream.ExpectedLastSeqHeader, strconv.FormatUint(seq-1, 10))
			}
			f.set(m.Header)
			m.Header.Set(ChainHeader, link{Framed: f.hashed() != "", Seq: seq, Prev: prev, Hash: h}.String())
			msgs = append(msgs, m)
			hashes = append(hashes, h)
			prev = h
		}
	}
	// Only the first message of a batch may carry the stream expectation.
	msgs[0].Header.Set(jetstream.ExpectedLastSeqHeader, strconv.FormatUint(w.head.Seq, 10))
	return msgs, hashes
}

// sendBatch appends a group as one atomic batch. If JetStream refuses it,
// nothing of it was stored: when the stream moved, the whole group goes
// again; otherwise one of its appends was refused on its own account, and
// the group is split until that one stands alone and gets the refusal.
func (w *writer) sendBatch(group []*request) (again []*request) {
	msgs, hashes := w.chain(group, false)
	start := time.Now()
	ack, err := publishAtomic(w.ctx, w.js, w.inflight, msgs)
	w.count(func(s *AppendStats) { s.Batches++ })
	if err == nil && ack.Sequence != w.head.Seq+uint64(len(msgs)) {
		err = fmt.Errorf("eventstore: batch of %d after %d acknowledged at %d", len(msgs), w.head.Seq, ack.Sequence)
		w.headKnown = false
		for _, r := range group {
			w.answer(r, 0, fmt.Errorf("%w: %w", ErrUnconfirmed, err))
		}
		return nil
	}
	if err == nil {
		w.batchCost = ewma(w.batchCost, time.Since(start)-time.Duration(len(msgs))*batchPerMsg)
		seq := w.head.Seq
		for _, r := range group {
			w.wrote(r, seq+1)
			seq += uint64(len(r.msgs))
			w.answer(r, seq, nil)
		}
		w.head = chainHead{Seq: seq, Hash: hashes[len(hashes)-1]}
		return nil
	}
	return w.refused(group, translate(err))
}

// sendPlain appends a group of single events as plain publishes, one after
// the other (each waits for the one before: its link and expectation name
// the stream position the one before took).
func (w *writer) sendPlain(group []*request) (again []*request) {
	for i, r := range group {
		msgs, hashes := w.chain(group[i:i+1], false)
		start := time.Now()
		ack, err := w.js.PublishMsg(w.ctx, msgs[0])
		w.count(func(s *AppendStats) { s.Publishes++ })
		switch {
		case err == nil && ack.Duplicate:
			w.answer(r, ack.Sequence, ErrDuplicate)
		case err == nil && ack.Sequence != w.head.Seq+1:
			w.headKnown = false
			w.answer(r, 0, fmt.Errorf("%w: appended after %d, acknowledged at %d", ErrUnconfirmed, w.head.Seq, ack.Sequence))
			return append(again, group[i+1:]...)
		case err == nil:
			w.plainCost = ewma(w.plainCost, time.Since(start))
			w.head = chainHead{Seq: ack.Sequence, Hash: hashes[0]}
			w.wrote(r, ack.Sequence)
			w.answer(r, ack.Sequence, nil)
		default:
			again = append(again, w.refused(group[i:i+1], translate(err))...)
			if !w.headKnown {
				// The outcome is unknown or the head could not be read:
				// the rest is sent on a fresh head in the next round.
				return append(again, group[i+1:]...)
			}
		}
	}
	return again
}

// refused handles a group JetStream did not store.
func (w *writer) refused(group []*request, err error) (again []*request) {
	if errors.Is(err, ErrUnconfirmed) {
		// It may have landed: the callers learn so, and the head is read
		// again before the next send.
		w.headKnown = false
		for _, r := range group {
			w.answer(r, 0, err)
		}
		return nil
	}
	head, lerr := loadHead(w.ctx, w.stream)
	if lerr != nil {
		w.headKnown = false
		for _, r := range group {
			w.answer(r, 0, fmt.Errorf("%w (and then: %w)", err, lerr))
		}
		return nil
	}
	if head != w.head {
		// Another process appended: nothing is known about our own
		// expectations yet, so the whole group goes again on the new head.
		w.head = head
		w.count(func(s *AppendStats) { s.Retries++ })
		for _, r := range group {
			r.rounds++
			if r.rounds >= maxRounds {
				w.answer(r, 0, ErrConflict)
				continue
			}
			again = append(again, r)
		}
		return again
	}
	if len(group) == 1 {
		w.answer(group[0], 0, err)
		return nil
	}
	w.count(func(s *AppendStats) { s.Splits++ })
	half := len(group) / 2
	if again = w.sendChosen(group[:half]); len(again) > 0 || !w.headKnown {
		return append(again, group[half:]...)
	}
	return w.sendChosen(group[half:])
}

func (w *writer) answer(r *request, last uint64, err error) {
	w.answers = append(w.answers, answer{r, last, err})
}

// settle answers the requests of the group just sent. When the writer is
// the one that syncs, the answers go to the sync loop instead, which
// answers them once an fsync that began after their publishes were
// acknowledged has returned; meanwhile the writer sends the next group, so
// a group's fsync overlaps the next group's send rather than adding to the
// time every waiting append queues for.
func (w *writer) settle() {
	answers := w.answers
	w.answers = nil
	if len(answers) == 0 {
		return
	}
	if w.syncer == nil {
		w.give(answers, nil)
		return
	}
	w.synced <- answers
}

// syncLoop makes what the writer stored durable: it takes every group
// sent since its last fsync, fsyncs once, and answers them all. It ends
// once the writer has stopped and every group it handed over is answered.
func (w *writer) syncLoop() {
	defer close(w.syncDone)
	for answers := range w.synced {
		groups := 1
	more:
		for {
			select {
			case next, ok := <-w.synced:
				if !ok {
					break more
				}
				answers = append(answers, next...)
				groups++
			default:
				break more
			}
		}
		var err error
		stored := false
		for _, a := range answers {
			stored = stored || a.err == nil || errors.Is(a.err, ErrDuplicate)
		}
		if stored {
			w.count(func(s *AppendStats) { s.Syncs++ })
			start := time.Now()
			err = w.syncer.sync()
			if w.observe != nil {
				w.observe("append_sync", time.Since(start))
				w.observe("append_sync_groups", time.Duration(groups))
			}
			if err != nil {
				// Stored but perhaps not on disk: the callers cannot be
				// told it is durable, and retrying is safe.
				err = fmt.Errorf("%w: sync the event log: %w", ErrUnconfirmed, err)
			}
		}
		w.give(answers, err)
	}
}

// give answers requests; a sync error replaces every success.
func (w *writer) give(answers []answer, syncErr error) {
	for _, a := range answers {
		if syncErr != nil && (a.err == nil || errors.Is(a.err, ErrDuplicate)) {
			a.last, a.err = 0, syncErr
		}
		w.count(func(s *AppendStats) { s.Appends++ })
		a.r.finish(a.last, a.err)
	}
}

func (w *writer) count(f func(*AppendStats)) {
	w.mu.Lock()
	f(&w.stats)
	w.mu.Unlock()
}

func (w *writer) statsNow() AppendStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stats
}

// ewma moves an estimate a tenth of the way toward a new sample.
func ewma(old, sample time.Duration) time.Duration {
	if sample < 0 {
		sample = 0
	}
	return old + (sample-old)/10
}
