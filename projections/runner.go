package projections

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/portcullis/portcullis/domain"
	"github.com/portcullis/portcullis/eventstore"
)

// maxBatch bounds how many events share one bbolt transaction: large enough
// that the commit's fsync is amortized, small enough that readers waiting on
// a consistency token do not wait long behind a rebuild.
const maxBatch = 2000

// rebuildBatch is maxBatch for a rebuild, which nobody reads while it runs
// (it runs before the server serves, or offline). Four times as many
// events per transaction made a bare bbolt replay of the scenario mix's
// rebuild ~1.4× faster (docs/performance.md, "The ceiling of the apply"),
// but a rebuild of 1M events then peaked at 3.4 GiB resident with a read-
// model file of 2.7 GiB, against issue 9's memory goal: it stays at
// maxBatch until that is measured side by side.
const rebuildBatch = maxBatch

// commitInterval is the least time between two commits of a caught-up
// runner whose commits fsync. An event that finds the runner idle for
// longer is committed at once; under a steady stream of appends, the events
// of one interval share a transaction, so the read models cost the disk two
// fsyncs per interval instead of two per event, and the log's own fsyncs do
// not queue behind them. It is also the most a read-your-writes request
// waits on top of that.
//
// Commits that do not fsync (unsynced.go) cost only CPU: a caught-up runner
// then waits after a commit only as long as that commit took (at most
// commitInterval), so it spends at most about half of one core committing
// under any stream of appends, and an event waits for about one commit
// rather than a fixed interval. At half the peak command rate of the bench
// mix that cut the runner's own wait from ~5 ms to the ~1–2 ms a commit
// takes (docs/performance.md, "Where a paced command's time goes").
const commitInterval = 5 * time.Millisecond

// residentCheckInterval is how often a following runner checks the read
// models' pages resident in the process (residency.go) when no commit did.
const residentCheckInterval = time.Second

// projection is one read model: the buckets it owns and how an event changes
// them. Apply runs inside the runner's write transaction.
type projection interface {
	apply(tx *vtx, e domain.Event) error
}

// batched is a projection that holds writes back for the length of one
// transaction: begin forgets what an earlier (possibly failed) transaction
// held, and flush writes what this one held, in the same transaction,
// before the checkpoint. Counters bumped by every event are then written
// once per transaction instead of once per event. Live apply and rebuild
// both go through commit, so both hold back and flush alike.
type batched interface {
	begin()
	flush(tx *vtx) error
}

// Runner follows the event log and keeps the read models in the DB at its
// position.
type Runner struct {
	db    *DB
	store *eventstore.Store
	projs []projection

	pos     atomic.Uint64
	mu      sync.Mutex
	changed chan struct{} // closed and replaced after every commit
	failure atomic.Pointer[error]
	// behind is set while the runner commits full batches of a backlog;
	// the file's pages are then left mapped until it has caught up.
	behind atomic.Bool
	// observe, when set (Observe), is told how long each stage took.
	observe func(stage string, d time.Duration)
}

// Observe makes the runner tell f how long each stage of following the log
// took: "runner_event_age" from an event's decision (OccurredAt) to the
// applier taking it, "runner_wait" from the first event of a transaction
// reaching the applier to the transaction's start (the wait after the last
// commit, and the events behind it), "runner_apply" applying the events,
// "runner_commit" the rest of the transaction (versions, bbolt's commit),
// of which "runner_commit_spill" and "runner_commit_write" are bbolt's own,
// "runner_committed_age" from the last event's decision to its commit; and
// as counts (in nanoseconds) "runner_batch" the events and
// "runner_commit_pages_batch" the pages written by one transaction. It is
// for the bench's per-stage figures (--stages); call it before Run.
func (r *Runner) Observe(f func(stage string, d time.Duration)) { r.observe = f }

// NewRunner prepares a runner over every read model of this package.
func NewRunner(db *DB, store *eventstore.Store) (*Runner, error) {
	r := &Runner{db: db, store: store, changed: make(chan struct{})}
	r.projs = []projection{tenantsProjection{}, individualsProjection{}, serviceUsersProjection{}, oauthClientsProjection{}, rolesProjection{}, nevisProjection{}, accessGroupsProjection{}, connectionsProjection{}, credentialsProjection{},
		locationsProjection{}, buildingsProjection{}, spacesProjection{}, lockingSystemsProjection{}, accessPointsProjection{}}
	// The views read the records the models above wrote for the same event.
	r.projs = append(r.projs, viewsProjection{})
	// The audit log reads the history versions the read models above wrote
	// for the same event, so it comes after all of them.
	r.projs = append(r.projs, &timelineProjection{}, &auditProjection{})
	cp, err := db.Checkpoint()
	if err != nil {
		return nil, err
	}
	r.pos.Store(cp)
	return r, nil
}

// Position is the stream position the read models reflect.
func (r *Runner) Position() uint64 { return r.pos.Load() }

// Err is the failure that stopped the runner, if any.
func (r *Runner) Err() error {
	if p := r.failure.Load(); p != nil {
		return *p
	}
	return nil
}

// WaitFor blocks until the read models reflect position seq or ctx ends.
func (r *Runner) WaitFor(ctx context.Context, seq uint64) error {
	for {
		r.mu.Lock()
		ch := r.changed
		r.mu.Unlock()
		if r.pos.Load() >= seq {
			return nil
		}
		if err := r.Err(); err != nil {
			return err
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Run follows the log until ctx ends. Its error is also kept for Err, so
// readiness can report a projection that stopped.
func (r *Runner) Run(ctx context.Context) error {
	// Reads map the file's pages in as well as commits do: while the
	// runner follows, the budget is also checked when no event comes.
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Go(func() {
		t := time.NewTicker(residentCheckInterval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				if !r.behind.Load() {
					r.db.trimResident()
				}
			case <-ctx.Done():
				return
			}
		}
	})
	err := r.follow(ctx, 0, nil, maxBatch)
	if err != nil && !errors.Is(err, context.Canceled) {
		r.failure.Store(&err)
		r.signal()
	}
	return err
}

// Progress reports a rebuild: position reached out of the target.
type Progress func(pos, target uint64)

// Rebuild empties the read models and replays the log from position 1 up to
// the log's newest event at the time of the call.
func (r *Runner) Rebuild(ctx context.Context, progress Progress) error {
	target, err := r.store.LastSequence(ctx)
	if err != nil {
		return err
	}
	if err := r.db.reset(); err != nil {
		return fmt.Errorf("projections: reset: %w", err)
	}
	r.pos.Store(0)
	if target == 0 {
		if progress != nil {
			progress(0, 0)
		}
		return nil
	}
	return r.follow(ctx, target, progress, rebuildBatch)
}

// CatchUp applies events until the read models reach target, then returns.
func (r *Runner) CatchUp(ctx context.Context, target uint64, progress Progress) error {
	if r.pos.Load() >= target {
		return nil
	}
	return r.follow(ctx, target, progress, maxBatch)
}

// follow applies events from the checkpoint on. With target > 0 it returns
// once the position reaches target; otherwise it runs until ctx ends. At
// most batchMax events share a transaction.
//
// A reader goroutine takes events off the subscription and decodes them
// while this one applies and commits, so decoding overlaps the bbolt commit
// and its fsync. Events that arrive during a commit are applied together in
// the next transaction: under a steady stream of appends the runner commits
// once per fsync, not once per event, and leaves the disk to the log.
func (r *Runner) follow(ctx context.Context, target uint64, progress Progress, batchMax int) error {
	sub, err := r.store.Subscribe(ctx, r.pos.Load()+1)
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, sub.Stop)
	defer stop()

	in := make(chan delivery, batchMax)
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { read(sub, target, in, quit) })
	defer func() {
		close(quit)
		sub.Stop()
		wg.Wait()
	}()

	batch := make([]domain.Event, 0, batchMax)
	lastReport, lastCommit := time.Time{}, time.Time{}
	var lastTook time.Duration // how long the last commit took
	// linger is armed while a caught-up batch waits out the commit interval.
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	defer linger.Stop()
	lingering := false
	var firstAt time.Time // when the batch's first event reached the applier, if observed
	for {
		var d delivery
		select {
		case d = <-in:
		case <-linger.C:
			lingering = false
			if len(batch) == 0 {
				continue
			}
			d.lingerEnded = true
		}
		if errors.Is(d.err, eventstore.ErrClosed) {
			if len(batch) > 0 {
				_ = r.commit(batch)
			}
			return ctx.Err()
		}
		if d.err != nil {
			return d.err
		}
		var e domain.Event
		done, caughtUp := false, true
		if !d.lingerEnded {
			e = d.event
			if r.observe != nil {
				if len(batch) == 0 {
					firstAt = time.Now()
				}
				if !e.OccurredAt.IsZero() {
					r.observe("runner_event_age", time.Since(e.OccurredAt))
				}
			}
			batch = append(batch, e)
			done = target > 0 && e.Sequence >= target
			// Caught up: the log had nothing more behind this event, and
			// none is already decoded and waiting.
			caughtUp = d.pending == 0 && len(in) == 0
			if caughtUp && !done && len(batch) < batchMax {
				if rest := time.Until(lastCommit.Add(r.interval(lastTook))); rest > 0 {
					if !lingering {
						linger.Reset(rest)
						lingering = true
					}
					continue
				}
			}
		}
		if caughtUp || len(batch) >= batchMax || done {
			if lingering {
				linger.Stop()
				lingering = false
			}
			if r.observe != nil {
				r.observe("runner_wait", time.Since(firstAt))
				r.observe("runner_batch", time.Duration(len(batch)))
			}
			began := time.Now()
			if err := r.commit(batch); err != nil {
				return err
			}
			lastCommit = time.Now()
			lastTook = lastCommit.Sub(began)
			// The file's pages mapped in are dropped once caught up, not
			// while behind: a rebuild touches most of the file in every
			// few transactions, and dropping between them would fault
			// the same pages back in over and over (residency.go).
			r.behind.Store(!caughtUp)
			switch {
			case done:
				r.db.dropResident()
			case caughtUp && target == 0:
				r.db.trimResident()
			}
			last := batch[len(batch)-1].Sequence
			batch = batch[:0]
			if progress != nil && (done || time.Since(lastReport) > 200*time.Millisecond) {
				progress(last, target)
				lastReport = time.Now()
			}
		}
		if done {
			return nil
		}
	}
}

// interval is how long a caught-up runner waits after a commit that took
// took before it commits again (see commitInterval).
func (r *Runner) interval(took time.Duration) time.Duration {
	if r.db.bolt.NoSync {
		return min(took, commitInterval)
	}
	return commitInterval
}

// delivery is one decoded event on its way from the reader to the applier,
// with how many more the log held behind it, or the error that ended the
// reading.
type delivery struct {
	event       domain.Event
	pending     uint64
	err         error
	lingerEnded bool // not a delivery: the commit interval ran out
}

// read feeds out from the subscription until an error, the target, or quit.
// The error is delivered too, so the applier learns why the reading ended.
func read(sub *eventstore.Subscription, target uint64, out chan<- delivery, quit <-chan struct{}) {
	for {
		e, pending, err := sub.Next()
		select {
		case out <- delivery{event: e, pending: pending, err: err}:
		case <-quit:
			return
		}
		if err != nil || (target > 0 && e.Sequence >= target) {
			return
		}
	}
}

// commit applies a batch in one transaction together with the checkpoint.
func (r *Runner) commit(batch []domain.Event) error {
	last := batch[len(batch)-1].Sequence
	start := time.Now()
	var applied time.Duration
	var before bolt.TxStats
	if r.observe != nil {
		before = r.db.bolt.Stats().TxStats
	}
	err := r.db.update(func(tx *vtx) error {
		if r.observe != nil {
			defer func() { applied = time.Since(start) }()
		}
		for _, p := range r.projs {
			if b, ok := p.(batched); ok {
				b.begin()
			}
		}
		for _, e := range batch {
			if e.Type == "" {
				continue // positions that hold no event: only the checkpoint moves
			}
			tx.pos = e.Sequence // every read-model write keeps a version at it
			for _, p := range r.projs {
				if err := p.apply(tx, e); err != nil {
					return fmt.Errorf("apply %s at %d: %w", e.Type, e.Sequence, err)
				}
			}
		}
		for _, p := range r.projs {
			if b, ok := p.(batched); ok {
				if err := b.flush(tx); err != nil {
					return err
				}
			}
		}
		return putUint(tx.Bucket(bucketMeta), keyCheckpoint, last)
	})
	if err != nil {
		return fmt.Errorf("projections: %w", err)
	}
	if r.observe != nil {
		r.observe("runner_apply", applied)
		r.observe("runner_commit", time.Since(start)-applied)
		after := r.db.bolt.Stats().TxStats
		r.observe("runner_commit_spill", after.GetSpillTime()-before.GetSpillTime())
		r.observe("runner_commit_write", after.GetWriteTime()-before.GetWriteTime())
		r.observe("runner_commit_pages_batch", time.Duration(after.GetWrite()-before.GetWrite()))
	}
	r.pos.Store(last)
	r.signal()
	if r.observe != nil {
		if at := batch[len(batch)-1].OccurredAt; !at.IsZero() {
			r.observe("runner_committed_age", time.Since(at))
		}
	}
	return nil
}

func (r *Runner) signal() {
	r.mu.Lock()
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
}
