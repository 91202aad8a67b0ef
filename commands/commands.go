// Package commands turns a client's intent into events: load the aggregates
// it touches, let the pure domain code decide, append the decision with the
// positions it was made on, and retry from fresh state when another writer
// got there first.
package commands

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/portcullis/portcullis/domain"
	"github.com/portcullis/portcullis/eventstore"
)

// maxAttempts bounds the retries of a command whose aggregates keep changing
// under it; past that the client gets a conflict to retry itself.
const maxAttempts = 10

// Meta is what every command carries besides its own input.
type Meta struct {
	Tenant    string
	Actor     string
	RequestID string
	// CommandID names the command across retries: a request retried with the
	// same Idempotency-Key gets the same CommandID, hence the same new ids,
	// the same event ids and the same message ids, so it cannot land twice.
	CommandID string
	// IfMatch, when set, is the version the client last saw of the primary
	// aggregate; a command on any other version fails with
	// PRECONDITION_FAILED instead of being retried.
	IfMatch *uint64
	// Face is the face the command came through (domain.FaceNative, …), for
	// the audit log.
	Face string
}

// NewCommandID returns a fresh random command id.
func NewCommandID() string { return uuid.NewString() }

// Result is what a command reports besides the state it returns.
type Result struct {
	// Position is the stream position of the command's last event: the
	// consistency token. For a command that changed nothing it is the
	// primary aggregate's current version.
	Position uint64
	// Version is the primary aggregate's version after the command: its ETag.
	Version uint64
}

// Commands executes commands against the event store.
type Commands struct {
	store *eventstore.Store
	cache *cache
	locks *keyedMutex
	now   func() time.Time
}

// New returns the command executor.
func New(store *eventstore.Store) *Commands {
	return &Commands{store: store, cache: newCache(1 << 17), locks: newKeyedMutex(), now: time.Now}
}

// Head is the stream position of the newest event in the log. No
// consistency token a mutation answered can be beyond it.
func (c *Commands) Head(ctx context.Context) (uint64, error) { return c.store.LastSequence(ctx) }

// snap is an aggregate as loaded: its state, the stream position of its last
// event (0 for none), and the ids of the last commands that changed it.
type snap[T any] struct {
	State    T
	Seq      uint64
	Commands []string
}

// applied reports whether command id already changed this aggregate, which
// happens when a client retries a command whose first answer it lost.
func (s snap[T]) applied(id string) bool { return id != "" && slices.Contains(s.Commands, id) }

// rememberedCommands bounds how many command ids an aggregate remembers for
// recognizing retries.
const rememberedCommands = 16

// state is the constraint for aggregate states: a value type whose pointer
// folds events.
type state[T any] interface {
	*T
	Apply(domain.Event)
}

// load returns an aggregate, from the cache when it holds it. A cached
// state is only a guess: the append's expectation proves or refutes it,
// and run decides a refusal again from the log (fromLogKey) before the
// caller sees it.
func load[T any, P state[T]](ctx context.Context, c *Commands, tenant string, ref domain.Ref) (snap[T], error) {
	k := eventstore.Subject(tenant, ref)
	if ctx.Value(fromLogKey{}) == nil {
		if v, ok := c.cache.get(k); ok {
			return v.(snap[T]), nil
		}
	}
	events, seq, err := c.store.Load(ctx, tenant, ref)
	if err != nil {
		return snap[T]{}, err
	}
	s := snap[T]{Seq: seq}
	for _, e := range events {
		P(&s.State).Apply(e)
		s.Commands = rememberCommand(s.Commands, e.CommandID)
	}
	c.cache.put(k, s)
	return s, nil
}

func rememberCommand(cmds []string, id string) []string {
	if id == "" || (len(cmds) > 0 && cmds[len(cmds)-1] == id) {
		return cmds
	}
	out := make([]string, 0, rememberedCommands)
	if len(cmds) >= rememberedCommands {
		cmds = cmds[len(cmds)-rememberedCommands+1:]
	}
	return append(append(out, cmds...), id)
}

// change is the decision on one aggregate, ready to append.
type change struct {
	tenant string
	ref    domain.Ref
	expect uint64
	data   []domain.EventData
	// commit folds the appended events into a copy of the loaded state and
	// caches it; after is where the new snapshot lands for the caller.
	commit func(events []domain.Event, cmd string)
}

// decide wraps a decision on a loaded aggregate into a change. If out is not
// nil it receives the aggregate's state after the append.
func decide[T any, P state[T]](c *Commands, tenant string, ref domain.Ref, s snap[T], data []domain.EventData, out *snap[T]) change {
	return change{tenant: tenant, ref: ref, expect: s.Seq, data: data,
		commit: func(events []domain.Event, cmd string) {
			next := snap[T]{State: s.State, Seq: s.Seq, Commands: rememberCommand(s.Commands, cmd)}
			for _, e := range events {
				P(&next.State).Apply(e)
				next.Seq = e.Sequence
			}
			c.cache.put(eventstore.Subject(tenant, ref), next)
			if out != nil {
				*out = next
			}
		}}
}

// errConflictExhausted is what a client sees when its command lost the race
// maxAttempts times in a row.
var errConflictExhausted = domain.Errorf(domain.CodeConflict, "the record kept changing while the command ran; retry")

// errUnconfirmed tells a client that its write may or may not have landed,
// and how to find out safely.
var errUnconfirmed = domain.Errorf(domain.CodeUnavailable,
	"the event log did not confirm the write in time, so it may or may not have been applied; "+
		"retry with the same Idempotency-Key to get its outcome without applying it twice")

// fromLogKey marks a context whose loads bypass the cache.
type fromLogKey struct{}

// run executes a command: under the in-process lock of its primary
// aggregate, it calls fn to load and decide, appends the changes, and on a
// concurrency conflict drops the stale cache and decides again. fn returning
// no changes ends the command with nothing appended.
//
// A cached state can be stale without any append proving it: another node
// wrote, or an earlier append of this node ended unconfirmed and landed
// after all. A refusal decided from it never reaches an append, so before
// run answers with one, fn decides again from states loaded from the log
// (loads under ctx bypass the cache and refresh it).
func (c *Commands) run(ctx context.Context, meta Meta, primary domain.Ref, fn func(ctx context.Context) ([]change, error)) (uint64, error) {
	unlock := c.locks.lock(eventstore.Subject(meta.Tenant, primary))
	defer unlock()
	fromLog := false
	for attempt := 0; attempt < maxAttempts; attempt++ {
		fnCtx := ctx
		if fromLog {
			fnCtx = context.WithValue(ctx, fromLogKey{}, true)
		}
		changes, err := fn(fnCtx)
		var refusal *domain.Error
		if err != nil && !fromLog && errors.As(err, &refusal) {
			fromLog = true
			changes, err = fn(context.WithValue(ctx, fromLogKey{}, true))
		}
		if err != nil || len(changes) == 0 {
			return 0, err
		}
		pos, err := c.append(ctx, meta, changes)
		switch {
		case err == nil:
			return pos, nil
		case errors.Is(err, eventstore.ErrConflict), errors.Is(err, eventstore.ErrDuplicate):
			// Stale state, or the command landed before: reload and let fn
			// decide again (it recognizes its own command id).
			for _, ch := range changes {
				c.cache.drop(eventstore.Subject(ch.tenant, ch.ref))
			}
			if attempt > 0 {
				jitter := time.Duration(rand.IntN(1000*(attempt+1))) * time.Microsecond
				select {
				case <-time.After(jitter):
				case <-ctx.Done():
					return 0, ctx.Err()
				}
			}
		default:
			// The append may have landed after all: the cached states of
			// its aggregates are no longer known to be current.
			for _, ch := range changes {
				c.cache.drop(eventstore.Subject(ch.tenant, ch.ref))
			}
			if errors.Is(err, eventstore.ErrUnconfirmed) {
				return 0, errUnconfirmed
			}
			return 0, err
		}
	}
	return 0, errConflictExhausted
}

// append turns the changes into events and appends them atomically.
func (c *Commands) append(ctx context.Context, meta Meta, changes []change) (uint64, error) {
	now := c.now().UTC()
	var events []domain.Event
	expect := make([]eventstore.Expectation, 0, len(changes))
	for _, ch := range changes {
		expect = append(expect, eventstore.Expectation{Tenant: ch.tenant, Ref: ch.ref, Seq: ch.expect})
		for _, d := range ch.data {
			events = append(events, domain.Event{
				ID:   deriveID(meta.CommandID, "event", len(events)),
				Type: d.EventType(), Version: d.EventVersion(),
				Tenant: ch.tenant, Aggregate: ch.ref,
				Actor: meta.Actor, Face: meta.Face, RequestID: meta.RequestID, CommandID: meta.CommandID,
				OccurredAt: now, Data: d,
			})
		}
	}
	last, err := c.store.Append(ctx, events, expect)
	if err != nil {
		return 0, err
	}
	// An atomic batch is stored contiguously, so positions count back from
	// the last one.
	first := last - uint64(len(events)) + 1
	i := 0
	for _, ch := range changes {
		evs := events[i : i+len(ch.data)]
		for j := range evs {
			evs[j].Sequence = first + uint64(i+j)
		}
		i += len(ch.data)
		ch.commit(evs, meta.CommandID)
	}
	return last, nil
}

// deriveID makes the n-th id of a kind for a command. Derived rather than
// random so that a retried command names the same records and events.
func deriveID(commandID, kind string, n int) string {
	return uuid.NewSHA1(uuid.NameSpaceOID, []byte(commandID+"/"+kind+"/"+strconv.Itoa(n))).String()
}

// checkVersion enforces If-Match on the primary aggregate.
func (m Meta) checkVersion(seq uint64) error {
	if m.IfMatch != nil && *m.IfMatch != seq {
		return domain.Errorf(domain.CodePreconditionFailed,
			"the record is at version %d, not %d (If-Match)", seq, *m.IfMatch)
	}
	return nil
}

// existing is an aggregate state that can say whether it is live.
type existing[T any] interface {
	state[T]
	Exists() bool
}

// decideOne runs a decision on one aggregate: the common shape of commands
// that touch a single record. With mustExist, a missing record is NOT_FOUND
// (named by what) and If-Match applies. onReplay, if set, is told when the
// command had already been applied (a retry), which decides nothing.
func decideOne[T any, P existing[T]](ctx context.Context, c *Commands, meta Meta, ref domain.Ref, what string, mustExist bool,
	decision func(T) ([]domain.EventData, error), onReplay func()) (snap[T], Result, error) {
	var after snap[T]
	pos, err := c.run(ctx, meta, ref, func(ctx context.Context) ([]change, error) {
		s, err := load[T, P](ctx, c, meta.Tenant, ref)
		if err != nil {
			return nil, err
		}
		after = s
		if s.applied(meta.CommandID) {
			if onReplay != nil {
				onReplay()
			}
			return nil, nil
		}
		if mustExist {
			if !P(&s.State).Exists() {
				return nil, domain.Errorf(domain.CodeNotFound, "%s %s not found", what, ref.ID)
			}
			if err := meta.checkVersion(s.Seq); err != nil {
				return nil, err
			}
		}
		data, err := decision(s.State)
		if err != nil || len(data) == 0 {
			return nil, err
		}
		return []change{decide[T, P](c, meta.Tenant, ref, s, data, &after)}, nil
	})
	if err != nil {
		return snap[T]{}, Result{}, err
	}
	if pos == 0 {
		pos = after.Seq
	}
	return after, Result{Position: pos, Version: after.Seq}, nil
}

// current returns an aggregate's state for a read on the command side. A
// cached state that says the record does not exist is checked against the
// log again: another node may have created it since.
func current[T any, P existing[T]](ctx context.Context, c *Commands, tenant string, ref domain.Ref) (T, error) {
	s, err := load[T, P](ctx, c, tenant, ref)
	if err == nil && !P(&s.State).Exists() {
		c.cache.drop(eventstore.Subject(tenant, ref))
		s, err = load[T, P](ctx, c, tenant, ref)
	}
	return s.State, err
}
