package http

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portcullis/portcullis/commands"
	"github.com/portcullis/portcullis/domain"
	"github.com/portcullis/portcullis/eventstore"
	"github.com/portcullis/portcullis/projections"
)

// session is one turn of this node at a webhook's consumer, from opening it
// to stopping. It sends events of different records side by side (up to
// Parallel attempts) and the events of one record strictly one after the
// other: an event goes out only once every earlier event of its record is
// acknowledged.
//
// Acknowledgements arrive out of order, so the consumer's ack floor (every
// event up to it is acknowledged) trails the events this node has done.
// Inside one turn this node knows what it holds and what it acknowledged;
// what it does not know is the fate of events handed out before the turn
// began, to a node that died, to an earlier turn cut short, or released at
// a clean stop. Those lie between the ack floor and the consumer's
// delivered position as read when the turn began (guardTo): until the floor
// passes guardTo, an event waits while its record has an earlier event in
// that range that this turn has not acknowledged and the floor has not
// passed. The server hands each such event out again (after a Release at
// once, otherwise after the lease), so the wait ends.
type session struct {
	d   *Dispatcher
	w   *worker
	dur *eventstore.Durable
	ctx context.Context // ends when the session stops

	held    map[uint64]*heldEvent   // every event this turn holds, by position
	queues  map[string][]*heldEvent // per record (subject), by position; the first may be out
	done    map[uint64]bool         // acknowledged in this turn, above the floor
	results chan *heldEvent
	slots   chan struct{}   // one per attempt in flight
	work    chan *heldEvent // events whose first attempt may start, for the workers
	heads   sync.WaitGroup  // the workers and every goroutine retrying an event

	pin     string              // the pin of the current turn
	guarded bool                // the floor is below guardTo
	guardTo uint64              // the consumer's delivered position when the turn began
	base    uint64              // the floor when the turn began
	floor   uint64              // the floor as last read
	earlier map[string][]uint64 // per record, its positions in (base, guardTo]
	scanned bool                // earlier holds every record of the range
	blocked map[string]bool     // records whose first event waits for the guard
	beyond  bool                // a replay was handed an event past its end
}

// heldEvent is one event a session holds until it is acknowledged or
// handed back.
type heldEvent struct {
	dl        atomic.Pointer[eventstore.Delivery] // the latest hand-out; acks go to it
	event     domain.Event
	subject   string
	attempt   uint64 // the number of the next attempt
	body      []byte // the public form, rendered at the first attempt
	renderErr error
	out       bool // a goroutine is delivering it
	ok        bool // delivered and acknowledged (set by that goroutine before it reports)
}

// turnInput is what the reader passes on: a hand-out, or why it stopped.
type turnInput struct {
	dl  *eventstore.Delivery
	err error
}

// runSession delivers from an open consumer until ctx ends or the consumer
// fails (false: open it again) or a replay reached its end (true).
func (d *Dispatcher) runSession(ctx context.Context, w *worker, dur *eventstore.Durable) bool {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s := &session{d: d, w: w, dur: dur, ctx: sctx, held: map[uint64]*heldEvent{}, queues: map[string][]*heldEvent{},
		done: map[uint64]bool{}, results: make(chan *heldEvent, d.cfg.Webhook.Window),
		slots: make(chan struct{}, d.cfg.Webhook.Parallel), work: make(chan *heldEvent, d.cfg.Webhook.Window),
		blocked: map[string]bool{}}
	// Long-lived workers make the first attempts: a goroutine per event
	// would grow a fresh stack for every delivery.
	for range d.cfg.Webhook.Parallel {
		s.heads.Go(func() {
			for h := range s.work {
				s.deliver(h, true)
			}
		})
	}
	// The reader runs a little ahead of the loop, so that the two do not
	// take turns on every event (stop hands back what it left unread).
	in := make(chan turnInput, d.cfg.Webhook.Parallel)
	go func() {
		defer close(in)
		for {
			dl, err := dur.Next()
			if dl == nil && errors.Is(err, eventstore.ErrClosed) {
				return
			}
			in <- turnInput{dl, err}
			if dl == nil {
				return
			}
		}
	}()
	finished := s.loop(in)
	cancel()
	s.stop(in)
	return finished
}

// loop is the session's one goroutine that touches its state.
func (s *session) loop(in <-chan turnInput) bool {
	lease := s.d.cfg.Webhook.Lease
	extend := time.NewTicker(lease / 3)
	defer extend.Stop()
	poll := time.NewTicker(100 * time.Millisecond)
	defer poll.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return false
		case x, ok := <-in:
			if !ok || x.dl == nil {
				if ok && s.ctx.Err() == nil {
					s.d.log.Debug("webhooks: pull", slog.String("consumer", s.w.name), slog.Any("err", x.err))
					sleep(s.ctx, 100*time.Millisecond)
				}
				return false
			}
			s.admit(x.dl, x.err)
		case h := <-s.results:
			s.finish(h)
		case <-extend.C:
			for _, h := range s.held {
				_ = h.dl.Load().Extend()
			}
			if s.refresh() { // also forgets what is done below the floor
				return true
			}
		case <-poll.C:
			if s.guarded || s.w.replay != nil {
				if s.refresh() {
					return true
				}
			}
		}
	}
}

// admit takes one hand-out from the consumer.
func (s *session) admit(dl *eventstore.Delivery, decodeErr error) {
	if dl.Pin != s.pin {
		s.newTurn(dl.Pin)
	}
	if decodeErr != nil {
		// An event this node cannot read (written by newer code): leave
		// it to one that can, later.
		s.d.log.Error("webhooks: undecodable event", slog.String("consumer", s.w.name), slog.Any("err", decodeErr))
		_ = dl.Retry(time.Minute)
		return
	}
	if h, ok := s.held[dl.Seq]; ok {
		h.dl.Store(dl) // handed out again (a lease ran out): answer the newest
		return
	}
	if s.done[dl.Seq] {
		// Our acknowledgement was lost or is still waiting for the
		// delivery log: repeat it once the log has the attempt.
		s.d.cfg.Deliveries.AfterQueued(func() { _ = dl.AckAsync() })
		return
	}
	if s.w.replay != nil && dl.Seq > s.w.replay.to {
		_ = dl.Skip()
		s.beyond = true
		return
	}
	if t := s.w.target.Load(); dl.Event.Aggregate.Type == domain.AggregateIntegrationConnection && dl.Event.Aggregate.ID == t.id {
		// A change to this webhook: what comes after it goes out as it
		// says (see newTurn).
		s.d.catchUp(s.ctx, dl.Seq+1)
	}
	if !domain.MatchEventType(s.w.target.Load().filters, dl.Event.Type) {
		// Not sent, so its order does not matter.
		_ = dl.AckAsync()
		s.done[dl.Seq] = true
		return
	}
	h := &heldEvent{event: dl.Event, subject: dl.Subject, attempt: dl.Attempt}
	h.dl.Store(dl)
	s.held[dl.Seq] = h
	q := s.queues[dl.Subject]
	i, _ := slices.BinarySearchFunc(q, dl.Seq, func(x *heldEvent, seq uint64) int { return cmpSeq(x.event.Sequence, seq) })
	s.queues[dl.Subject] = slices.Insert(q, i, h)
	s.kick(dl.Subject)
}

func cmpSeq(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// newTurn starts a turn: this node was just given the consumer (or given it
// back), so whatever was handed out before is of unknown fate.
func (s *session) newTurn(pin string) {
	s.pin = pin
	info, err := s.dur.Info(s.ctx)
	if err != nil {
		// Without the consumer's state, guard everything up to where
		// the log stands.
		s.d.log.Warn("webhooks: consumer state", slog.String("consumer", s.w.name), slog.Any("err", err))
		info.Delivered, _ = s.d.cfg.Store.LastSequence(s.ctx)
	}
	s.base, s.floor, s.guardTo = info.AckFloor, info.AckFloor, info.Delivered
	s.guarded = s.guardTo > s.floor
	s.earlier, s.scanned = nil, false
	// Every event must go out under the webhook as every change to it
	// before the event left it (a rotation signs with the new secret from
	// there on, a disable stops there). Within a turn the consumer hands
	// out the tenant's events in log order, so a change is admitted before
	// the events after it, and admit waits for the read models to apply it.
	// What came before the turn is caught up here, once: up to the
	// webhook's last change in the log.
	t := s.w.target.Load()
	last, err := s.d.cfg.Store.LastPosition(s.ctx, t.tenant, domain.Ref{Type: domain.AggregateIntegrationConnection, ID: t.id})
	if err != nil {
		last, _ = s.d.cfg.Store.LastSequence(s.ctx)
	}
	s.d.catchUp(s.ctx, last+1)
}

// guardScan is the longest guarded range read whole at the start of a
// turn; a longer one (an event stuck for long while many behind it went
// out) is read record by record as records come up.
const guardScan = 4096

// clear reports whether h, the first held event of its record, may go out:
// no earlier event of its record can still be outstanding elsewhere.
func (s *session) clear(subject string, h *heldEvent) bool {
	if !s.guarded {
		return true
	}
	if s.earlier == nil && s.guardTo-s.base <= guardScan {
		// A short range: read it once for every record.
		all, err := s.d.cfg.Store.SubjectSequences(s.ctx, eventstore.TenantSubjects(s.w.target.Load().tenant), s.base, s.guardTo)
		if err != nil {
			return false // asked again at the next poll
		}
		s.earlier = map[string][]uint64{}
		for _, x := range all {
			s.earlier[x.Subject] = append(s.earlier[x.Subject], x.Seq)
		}
		s.scanned = true
	}
	seqs, ok := s.earlier[subject]
	if !ok && !s.scanned {
		all, err := s.d.cfg.Store.SubjectSequences(s.ctx, subject, s.base, s.guardTo)
		if err != nil {
			return false
		}
		if s.earlier == nil {
			s.earlier = map[string][]uint64{}
		}
		for _, x := range all {
			seqs = append(seqs, x.Seq)
		}
		s.earlier[subject] = seqs
	}
	for _, p := range seqs {
		if p >= h.event.Sequence {
			break
		}
		if p > s.floor && !s.done[p] {
			return false
		}
	}
	return true
}

// kick starts delivering a record's first held event if it may go.
func (s *session) kick(subject string) {
	q := s.queues[subject]
	if len(q) == 0 || q[0].out {
		return
	}
	if !s.clear(subject, q[0]) {
		s.blocked[subject] = true
		return
	}
	delete(s.blocked, subject)
	h := q[0]
	h.out = true
	select {
	case s.work <- h:
	default: // not expected (the window bounds what is held), but never block here
		s.heads.Go(func() { s.deliver(h, false) })
	}
}

// finish takes a delivering goroutine's report.
func (s *session) finish(h *heldEvent) {
	h.out = false
	subject := h.subject
	if !h.ok {
		return // stopping: handed back in stop
	}
	seq := h.event.Sequence
	s.done[seq] = true
	delete(s.held, seq)
	if q := s.queues[subject]; len(q) > 0 && q[0] == h {
		if len(q) == 1 {
			delete(s.queues, subject)
		} else {
			s.queues[subject] = q[1:]
		}
	}
	s.kick(subject)
	if s.guarded {
		// An event of another record may have waited for this one.
		for subj := range s.blocked {
			s.kick(subj)
		}
	}
}

// refresh reads the consumer's state: it lifts the guard once the floor has
// passed it, and reports whether a replay is complete.
func (s *session) refresh() bool {
	if s.pin == "" {
		return false // nothing handed out yet
	}
	info, err := s.dur.Info(s.ctx)
	if err != nil {
		return false
	}
	s.floor = max(s.floor, info.AckFloor)
	for seq := range s.done {
		if seq <= s.floor {
			delete(s.done, seq)
		}
	}
	if s.guarded {
		if s.floor >= s.guardTo {
			s.guarded, s.earlier = false, nil
		}
		for subj := range s.blocked {
			s.kick(subj)
		}
	}
	if r := s.w.replay; r != nil && len(s.held) == 0 && !s.guarded && info.AckPending == 0 &&
		(s.beyond || info.Pending == 0 || info.Delivered >= r.to) {
		s.d.finishReplay(s.w)
		return true
	}
	return false
}

// stop ends the session: pulling stops, every attempt in flight ends (one
// that got its 2xx is acknowledged), and every other held event, including
// those still in the reader's buffer, is handed back at once; then the pin
// is given up so another node (or the next start) takes over without
// waiting.
func (s *session) stop(in <-chan turnInput) {
	s.dur.Drain()
	for x := range in {
		if x.dl != nil {
			if _, ok := s.held[x.dl.Seq]; !ok {
				_ = x.dl.Release()
			}
		}
	}
	close(s.work) // the workers end once they reported what they were given
	go func() {
		s.heads.Wait()
		close(s.results)
	}()
	for h := range s.results {
		h.out = false
		if h.ok {
			delete(s.held, h.event.Sequence)
		}
	}
	for _, h := range s.held {
		_ = h.dl.Load().Release()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.dur.Unpin(ctx); err != nil {
		s.d.log.Debug("webhooks: unpin", slog.String("consumer", s.w.name), slog.Any("err", err))
	}
}

// deliver attempts an event until it gets a 2xx or the session stops, and
// reports it. A delivered event is acknowledged by the delivery log once
// its attempt is on disk (attemptOnce), and its record's next event goes
// out without waiting for that: the first arrival of each event keeps its
// record's order either way, and an acknowledgement lost to a crash only
// brings the event back as a repeat (after a restart, the guard holds the
// record's later events until it came back). On a worker (pooled), an
// event that has to wait for a retry continues on a goroutine of its own,
// so that the worker goes on with others.
func (s *session) deliver(h *heldEvent, pooled bool) {
	ok, wait, again := s.d.attemptOnce(s.ctx, s.w, s.slots, h)
	if again && pooled {
		s.heads.Go(func() {
			for again {
				sleep(s.ctx, wait)
				ok, wait, again = s.d.attemptOnce(s.ctx, s.w, s.slots, h)
			}
			h.ok = ok
			s.results <- h
		})
		return
	}
	for again {
		sleep(s.ctx, wait)
		ok, wait, again = s.d.attemptOnce(s.ctx, s.w, s.slots, h)
	}
	h.ok = ok
	s.results <- h
}

// attemptOnce makes one attempt (taking a slot) and logs it: delivered
// (ok), or failed and to be tried again after wait (again), or neither when
// ctx ended or the webhook was disabled.
func (d *Dispatcher) attemptOnce(ctx context.Context, w *worker, slots chan struct{}, h *heldEvent) (ok bool, wait time.Duration, again bool) {
	e := h.event
	if h.body == nil && h.renderErr == nil {
		h.body, h.renderErr = h.dl.Load().Body()
	}
	select {
	case slots <- struct{}{}:
	case <-ctx.Done():
		return false, 0, false
	}
	t := w.target.Load()
	res := d.attempt(ctx, t, e, h.body, h.renderErr)
	<-slots
	if ctx.Err() != nil && res.status == 0 {
		return false, 0, false
	}
	rec := projections.DeliveryAttempt{Tenant: t.tenant, ConnectionID: t.id, EventID: e.ID, EventType: e.Type,
		Sequence: e.Sequence, Attempt: h.attempt, HTTPStatus: res.status, Latency: res.latency,
		Response: res.snippet, Error: res.err, At: res.at.UTC()}
	if w.replay != nil {
		rec.Replay = w.replay.id
	}
	if res.ok() {
		rec.Status = projections.DeliveryDelivered
		w.succeeded()
		// The consumer hears of it once the log has it, so that no
		// crash leaves a delivery acknowledged and not logged.
		d.cfg.Deliveries.Record(rec, func() { _ = h.dl.Load().AckAsync() })
		return true, 0, false
	}
	rec.Status = projections.DeliveryFailed
	since := w.failed(res.at)
	delay := domain.RetryDelay(d.cfg.Webhook.RetrySchedule, int(h.attempt)+1, rand.Float64())
	if w.replay == nil && res.at.Sub(since) >= d.cfg.Webhook.DisableAfter && d.disable(ctx, t, since, res) {
		d.cfg.Deliveries.Record(rec, nil)
		<-ctx.Done() // the webhook list stops this worker; the event waits for an enable
		return false, 0, false
	}
	rec.NextAttempt = res.at.Add(delay).UTC()
	d.cfg.Deliveries.Record(rec, nil)
	h.attempt++
	return false, delay, true
}

// failed notes a failed attempt and returns when the current run of
// failures began.
func (w *worker) failed(at time.Time) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.failing.IsZero() {
		w.failing = at
	}
	return w.failing
}

// succeeded ends a run of failures.
func (w *worker) succeeded() {
	w.mu.Lock()
	w.failing = time.Time{}
	w.mu.Unlock()
}

// disable records that an endpoint failed for too long. Every node that
// reaches the same conclusion names the same command, so it lands once; so
// do several records of one webhook that reach it at once.
func (d *Dispatcher) disable(ctx context.Context, t *webhookTarget, since time.Time, res attemptResult) bool {
	reason := "the endpoint failed every attempt for " + res.at.Sub(since).Round(time.Second).String() + "; last: " + res.summary()
	meta := commands.Meta{Tenant: t.tenant, Actor: "system:webhooks",
		CommandID: "webhook-disable-" + t.id + "-" + since.UTC().Format("20060102T150405.000000000")}
	if _, err := d.cfg.Commands.DisableWebhook(ctx, meta, t.id, reason, since); err != nil {
		d.log.Error("webhooks: disable", slog.String("connection", t.id), slog.Any("err", err))
		return false
	}
	d.log.Warn("webhooks: disabled a failing endpoint", slog.String("tenant", t.tenant), slog.String("connection", t.id),
		slog.Time("failing_since", since))
	return true
}
