package http

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portcullis/portcullis/commands"
	"github.com/portcullis/portcullis/domain"
	"github.com/portcullis/portcullis/eventstore"
	"github.com/portcullis/portcullis/projections"
)

// DispatcherConfig is what the webhook deliverer is built from.
type DispatcherConfig struct {
	Store      *eventstore.Store
	DB         *projections.DB
	Runner     *projections.Runner
	Commands   *commands.Commands
	Deliveries *projections.Deliveries
	Secrets    *commands.SecretBox
	Webhook    WebhookConfig
	Logger     *slog.Logger
	// Poll is how often the webhook list is checked for changes (default
	// 200 ms): how soon after a connect, rotation or disable this node acts.
	Poll time.Duration
}

// Dispatcher delivers webhooks. Each live webhook connection is a durable
// JetStream consumer of its tenant's events (eventstore.Durable); every
// node runs a worker on each, and the consumer serves one of them at a
// time, which sends events of different records side by side and those of
// one record in log order (webhook_session.go). A node that stops or dies
// is replaced by another, or by itself after a restart, where the consumer
// stands.
type Dispatcher struct {
	cfg    DispatcherConfig
	client *http.Client
	log    *slog.Logger

	ctx         context.Context
	cancel      context.CancelFunc
	loop        sync.WaitGroup
	reconciling sync.Mutex
	mu          sync.Mutex
	workers     map[string]*worker // by durable name
	seen        uint64             // the webhook list's change position last acted on
	checked     atomic.Uint64      // the read models' position when catchUp last read the list
}

// worker delivers one connection's events (or one replay of them).
type worker struct {
	name   string
	target atomic.Pointer[webhookTarget]
	stop   context.CancelFunc
	done   chan struct{}
	replay *replayRun // nil for the live consumer

	mu      sync.Mutex
	failing time.Time // start of the current run of failures, as this node saw it
}

// Consumer name prefixes: a connection's live consumer and a replay's.
const (
	livePrefix   = "wh-"
	replayPrefix = "whr-"
)

// durableName is the consumer of a connection.
func durableName(connID string) string { return livePrefix + connID }

// sweep deletes, once at start, the consumers of webhooks that were
// disconnected and of replays that completed while no node ran to delete
// them. It asks the command side, which reads the log, so a read model
// that lags cannot make it delete a live webhook's position.
func (d *Dispatcher) sweep() {
	list, err := d.cfg.Store.Durables(d.ctx, "wh")
	if err != nil {
		d.log.Warn("webhooks: list consumers", slog.Any("err", err))
		return
	}
	for _, di := range list {
		conn, replay := strings.TrimPrefix(di.Name, livePrefix), ""
		if strings.HasPrefix(di.Name, replayPrefix) {
			conn, replay = di.Owner, strings.TrimPrefix(di.Name, replayPrefix)
		} else if !strings.HasPrefix(di.Name, livePrefix) {
			continue
		}
		if di.Tenant == "" || conn == "" {
			continue // not one of ours, or from before owners were kept
		}
		c, err := d.cfg.Commands.Connection(d.ctx, di.Tenant, conn)
		if err != nil {
			continue
		}
		if c.Exists() && (replay == "" || slices.Contains(c.Replays, replay)) {
			continue
		}
		if err := d.cfg.Store.DeleteDurable(d.ctx, di.Name); err != nil {
			d.log.Warn("webhooks: delete consumer", slog.String("consumer", di.Name), slog.Any("err", err))
			continue
		}
		d.log.Info("webhooks: deleted the consumer of a webhook that is gone", slog.String("consumer", di.Name))
	}
}

// NewDispatcher prepares a deliverer; Run starts it.
func NewDispatcher(cfg DispatcherConfig) *Dispatcher {
	cfg.Webhook.defaults()
	if cfg.Poll <= 0 {
		cfg.Poll = 200 * time.Millisecond
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Dispatcher{cfg: cfg, client: newWebhookClient(cfg.Webhook), log: log, ctx: ctx, cancel: cancel,
		workers: map[string]*worker{}}
}

// Parallel is how many attempts one webhook may have in flight.
func (d *Dispatcher) Parallel() int { return d.cfg.Webhook.Parallel }

// Run starts following the webhook list in the background.
func (d *Dispatcher) Run() {
	d.loop.Go(func() {
		d.sweep()
		t := time.NewTicker(d.cfg.Poll)
		defer t.Stop()
		for {
			if err := d.reconcile(); err != nil {
				d.log.Warn("webhooks: read the webhook list", slog.Any("err", err))
			}
			select {
			case <-d.ctx.Done():
				return
			case <-t.C:
			}
		}
	})
}

// Close stops every worker. An attempt in flight is abandoned and its event
// handed back to the consumer, so the next node or start delivers it (a
// receiver may then see it twice, under the same webhook-id).
func (d *Dispatcher) Close() {
	d.cancel()
	d.loop.Wait()
	d.mu.Lock()
	ws := make([]*worker, 0, len(d.workers))
	for _, w := range d.workers {
		ws = append(ws, w)
	}
	d.workers = map[string]*worker{}
	d.mu.Unlock()
	for _, w := range ws {
		w.stop()
	}
	for _, w := range ws {
		<-w.done
	}
	d.client.CloseIdleConnections()
}

// reconcile starts, updates and stops workers to match the webhook list.
// The poll loop and workers that meet a newer change call it; one runs at
// a time.
func (d *Dispatcher) reconcile() error {
	d.reconciling.Lock()
	defer d.reconciling.Unlock()
	changed, err := d.cfg.DB.WebhooksChanged()
	if err != nil || (changed == d.lastSeen() && changed != 0) {
		return err
	}
	list, changed, err := d.cfg.DB.Webhooks()
	if err != nil {
		return err
	}
	want := map[string]*webhookTarget{}
	var replays []*replayRun
	for _, c := range list {
		t, err := d.target(c)
		if err != nil {
			d.log.Error("webhooks: cannot open the signing secret; not delivering",
				slog.String("connection", c.ID), slog.Any("err", err))
			continue
		}
		if c.Status != domain.ConnectionActive {
			continue
		}
		want[durableName(c.ID)] = t
		for _, r := range pendingReplays(c) {
			r.target = t
			want[r.name] = t
			replays = append(replays, r)
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ctx.Err() != nil {
		return nil
	}
	for name, w := range d.workers {
		if t, ok := want[name]; ok {
			w.target.Store(t)
			continue
		}
		w.stop()
		delete(d.workers, name)
		go d.forget(w, list)
	}
	for name, t := range want {
		if _, ok := d.workers[name]; ok {
			continue
		}
		ctx, stop := context.WithCancel(d.ctx)
		w := &worker{name: name, stop: stop, done: make(chan struct{})}
		for _, r := range replays {
			if r.name == name {
				w.replay = r
			}
		}
		w.target.Store(t)
		d.workers[name] = w
		go d.work(ctx, w)
	}
	d.seen = changed
	return nil
}

// forget deletes the consumer of a worker that stopped because its
// connection ended (not merely disabled) or its replay finished.
func (d *Dispatcher) forget(w *worker, list []projections.TenantConnection) {
	<-w.done
	t := w.target.Load()
	for _, c := range list {
		if c.ID == t.id && w.replay == nil {
			return // disabled: the consumer keeps its place for when it is enabled
		}
	}
	if err := d.cfg.Store.DeleteDurable(context.Background(), w.name); err != nil {
		d.log.Warn("webhooks: delete consumer", slog.String("consumer", w.name), slog.Any("err", err))
	}
}

// work pulls a connection's events and delivers them until ctx ends.
func (d *Dispatcher) work(ctx context.Context, w *worker) {
	defer close(w.done)
	t := w.target.Load()
	if since, err := d.cfg.Deliveries.FailingSince(t.tenant, t.id); err == nil {
		w.failing = since
	}
	start := t.createdSeq + 1
	if w.replay != nil {
		start = w.replay.from
	}
	for ctx.Err() == nil {
		if !d.stillWanted(ctx, w) {
			<-ctx.Done() // the list will stop this worker
			return
		}
		dur, err := d.cfg.Store.OpenDurable(ctx, eventstore.DurableConfig{Name: w.name, Tenant: t.tenant, Owner: t.id,
			StartSeq: start, AckWait: d.cfg.Webhook.Lease, Window: d.cfg.Webhook.Window})
		if err != nil {
			if ctx.Err() == nil {
				d.log.Warn("webhooks: open consumer", slog.String("consumer", w.name), slog.Any("err", err))
			}
			sleep(ctx, time.Second)
			continue
		}
		finished := d.runSession(ctx, w, dur)
		if finished {
			<-ctx.Done()
			return
		}
	}
}

// stillWanted checks on the command side, which reads the log, that a
// worker's connection (or replay) is still live before its consumer is
// opened: a node whose read models lag must not recreate a consumer that
// another node deleted.
func (d *Dispatcher) stillWanted(ctx context.Context, w *worker) bool {
	t := w.target.Load()
	c, err := d.cfg.Commands.Connection(ctx, t.tenant, t.id)
	if err != nil {
		return true // the consumer decides; a deleted one is deleted again
	}
	if w.replay != nil {
		return c.Exists() && slices.Contains(c.Replays, w.replay.id)
	}
	return c.Exists() && !c.Disabled
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// catchUp makes sure the worker's target reflects every change made to
// webhooks before position seq: a rotation, a disable or a disconnect
// applies to the events after it in the log, not only to those that
// happen to be delivered after this node noticed it. Sessions call it at
// the start of a turn and for each change to their own webhook, not for
// every event: waiting for the read models is most of a delivery's lag.
func (d *Dispatcher) catchUp(ctx context.Context, seq uint64) {
	if d.cfg.Runner.Position() < seq-1 {
		_ = d.cfg.Runner.WaitFor(ctx, seq-1)
	}
	// The webhook list changes only when the read models move.
	pos := d.cfg.Runner.Position()
	if d.checked.Swap(pos) == pos {
		return
	}
	if changed, err := d.cfg.DB.WebhooksChanged(); err == nil && changed != d.lastSeen() {
		if err := d.reconcile(); err != nil {
			d.log.Warn("webhooks: read the webhook list", slog.Any("err", err))
		}
	}
}

func (d *Dispatcher) lastSeen() uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.seen
}
