// Package eventstore is the only package that speaks to NATS. It keeps every
// event of every tenant in one JetStream stream, appends with per-aggregate
// optimistic concurrency, loads aggregates and lets consumers follow the log.
package eventstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/synadia-io/orbit.go/jetstreamext"

	"github.com/portcullis/portcullis/domain"
)

// Sync modes of the embedded server.
const (
	SyncAlways   = "always"
	SyncInterval = "interval"
)

// StreamName is the one stream that holds every event.
const StreamName = "PORTCULLIS"

// SubjectPrefix starts every event subject: pc.ev.<tenant>.<aggregate type>.<aggregate id>.
const SubjectPrefix = "pc.ev"

// Errors of Append, for the command layer to act on.
var (
	// ErrConflict means an aggregate changed since it was loaded: the
	// decision was made on stale state and nothing was appended.
	ErrConflict = errors.New("eventstore: aggregate changed since it was loaded")
	// ErrDuplicate means the command's events were appended before (same
	// message ids within the duplicate window); nothing new was appended.
	ErrDuplicate = errors.New("eventstore: command already appended")
	// ErrUnconfirmed means the server did not acknowledge an append in time:
	// the events may or may not be in the log. Retrying the same command is
	// safe (its message ids and command id make a repeat a no-op).
	ErrUnconfirmed = errors.New("eventstore: append not confirmed in time")
)

// Config says where the log lives.
type Config struct {
	DataDir    string // the embedded server keeps its files in DataDir/jetstream
	URL        string // an external server or cluster; empty starts the embedded one
	Sync       string // SyncAlways (default) or SyncInterval; embedded only
	ListenAddr string // if set, the embedded server also listens here for downstream clients
	// ListenUser and ListenPassword are what a downstream client must give
	// on ListenAddr; it may read the stream and never write it (auth.go).
	ListenUser, ListenPassword string
	Replicas                   int // stream replicas on an external cluster (default 1)
	// Observe, when set, is told how long each stage of the append path
	// took (see writer.go's stage names): the bench's per-stage figures.
	// Nil costs nothing; a server leaves it nil.
	Observe          func(stage string, d time.Duration)
	internalPassword string // this process's own, new on every Open
}

// maxInflightBatches bounds the atomic batches the raw bench has in flight.
// JetStream refuses a stream more than 50 open batches at a time (its
// default limit).
const maxInflightBatches = 32

// Store is the event log.
type Store struct {
	ns     *server.Server // nil when connected to an external server
	nc     *nats.Conn
	js     jetstream.JetStream
	stream jetstream.Stream
	w      *writer // the one appender of this process
}

// Open starts or connects to NATS and makes sure the stream exists.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	s := &Store{}
	var err error
	if cfg.URL == "" {
		if cfg.internalPassword, err = newInternalPassword(cfg); err != nil {
			return nil, err
		}
		if s.ns, err = startEmbedded(cfg, writerSyncs(cfg)); err != nil {
			return nil, err
		}
		s.nc, err = nats.Connect("", nats.InProcessServer(s.ns), nats.Name("portcullis"),
			nats.UserInfo(internalUser, cfg.internalPassword))
	} else {
		s.nc, err = nats.Connect(cfg.URL, nats.Name("portcullis"), nats.MaxReconnects(-1))
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("connect to nats: %w", err)
	}
	if s.js, err = jetstream.New(s.nc); err != nil {
		s.Close()
		return nil, err
	}
	replicas := max(cfg.Replicas, 1)
	s.stream, err = s.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:               StreamName,
		Description:        "Portcullis events: every mutation of every tenant",
		Subjects:           []string{SubjectPrefix + ".>"},
		Storage:            jetstream.FileStorage,
		Retention:          jetstream.LimitsPolicy,
		Replicas:           replicas,
		Duplicates:         2 * time.Minute,
		DenyDelete:         true,
		DenyPurge:          true,
		AllowDirect:        true,
		AllowAtomicPublish: true,
	})
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("create stream %s: %w", StreamName, err)
	}
	s.w = newWriter(s.js, s.stream, cfg.Sync)
	s.w.observe = cfg.Observe
	if writerSyncs(cfg) {
		if s.w.syncer, err = newBlockSyncer(cfg.DataDir); err != nil {
			s.w = nil // it never ran
			s.Close()
			return nil, err
		}
		s.w.plainCost = 40 * time.Microsecond
	}
	go s.w.run()
	return s, nil
}

// writerSyncs says whether the writer makes appends durable itself: when
// the store runs its own embedded server, durably, and nothing else can
// reach that server (see blocksync.go).
func writerSyncs(cfg Config) bool {
	return cfg.URL == "" && cfg.ListenAddr == "" && (cfg.Sync == SyncAlways || cfg.Sync == "")
}

// Close disconnects and, when embedded, shuts the server down after it has
// flushed its files.
func (s *Store) Close() error {
	if s.w != nil {
		s.w.close()
	}
	if s.nc != nil {
		s.nc.Drain()
		s.nc.Close()
	}
	if s.ns != nil {
		s.ns.Shutdown()
		s.ns.WaitForShutdown()
	}
	return nil
}

// Conn is the NATS connection, for consumers that follow the stream.
func (s *Store) Conn() *nats.Conn { return s.nc }

// Subject is where the events of one aggregate live.
func Subject(tenant string, ref domain.Ref) string {
	return SubjectPrefix + "." + tenant + "." + ref.Type + "." + ref.ID
}

// Expectation says at which stream position an aggregate's last event must
// still be for an append to go through; 0 means the aggregate has no events.
type Expectation struct {
	Tenant string
	Ref    domain.Ref
	Seq    uint64
}

// Append writes events atomically: all of them or none. Each expectation is
// checked by JetStream against the aggregate's last sequence, so two
// decisions made on the same state cannot both land. Message ids derive from
// each event's command id, so a retried command is not appended twice.
// The events are stored contiguously and chained (see writer.go); appends
// that wait at the same time share one durable write. It returns the
// stream position of the last event.
func (s *Store) Append(ctx context.Context, events []domain.Event, expect []Expectation) (uint64, error) {
	if len(events) == 0 {
		return 0, errors.New("eventstore: nothing to append")
	}
	r := &request{msgs: make([]outMsg, len(events))}
	firstOf := map[string]int{}
	for i, e := range events {
		if !domain.ValidToken(e.Tenant) || !domain.ValidToken(e.Aggregate.Type) || !domain.ValidToken(e.Aggregate.ID) {
			return 0, fmt.Errorf("eventstore: invalid subject tokens in %s %s/%s", e.Type, e.Tenant, e.Aggregate)
		}
		data, err := Encode(e)
		if err != nil {
			return 0, err
		}
		subj := Subject(e.Tenant, e.Aggregate)
		r.msgs[i] = outMsg{subject: subj, data: data, msgID: msgID(e, i)}
		if _, ok := firstOf[subj]; !ok {
			firstOf[subj] = i
			r.subjects = append(r.subjects, subj)
		}
	}
	for _, x := range expect {
		i, ok := firstOf[Subject(x.Tenant, x.Ref)]
		if !ok {
			// An expectation on an aggregate that gets no event: a
			// single-subject check cannot express it, so refuse loudly.
			return 0, fmt.Errorf("eventstore: expectation on %s which gets no event", x.Ref)
		}
		r.msgs[i].hasExpect, r.msgs[i].expect = true, x.Seq
	}
	return s.w.append(ctx, r)
}

// AppendStats reports what this process's writer has done so far.
func (s *Store) AppendStats() AppendStats { return s.w.statsNow() }

// publishAtomic publishes an atomic batch once it holds a token of
// inflight. A server that still has too many open batches (other processes
// may share the stream) refuses the batch at its first message, before
// storing anything, so the batch is simply sent again a little later.
func publishAtomic(ctx context.Context, js jetstream.JetStream, inflight chan struct{}, msgs []*nats.Msg) (*jetstreamext.BatchAck, error) {
	select {
	case inflight <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-inflight }()
	for wait := time.Millisecond; ; wait = min(2*wait, 100*time.Millisecond) {
		ack, err := jetstreamext.PublishMsgBatch(ctx, js, msgs)
		var apiErr *jetstream.APIError
		if !errors.As(err, &apiErr) || apiErr.ErrorCode != jetstreamext.JSErrCodeAtomicPublishTooManyInflight {
			return ack, err
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, err
		}
	}
}

func msgID(e domain.Event, i int) string {
	if e.CommandID == "" {
		return e.ID
	}
	return e.CommandID + "-" + strconv.Itoa(i)
}

// translate turns NATS errors into the store's own.
func translate(err error) error {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode {
		case jetstream.JSErrCodeStreamWrongLastSequence, 10164:
			return ErrConflict
		case jetstreamext.JSErrCodeBatchPublishDuplicateMsgID:
			return ErrDuplicate
		}
	}
	if strings.Contains(err.Error(), "wrong last sequence") {
		return ErrConflict
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrNoResponders) {
		return fmt.Errorf("%w: %w", ErrUnconfirmed, err)
	}
	return fmt.Errorf("eventstore: append: %w", err)
}

// LastPosition is the stream position of an aggregate's last event, 0 when
// it has none: one direct get, for a reader that must know whether the
// aggregate changed after some position without loading it.
func (s *Store) LastPosition(ctx context.Context, tenant string, ref domain.Ref) (uint64, error) {
	last, err := s.stream.GetLastMsgForSubject(ctx, Subject(tenant, ref))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("eventstore: last of %s: %w", ref, err)
	}
	return last.Sequence, nil
}

// Load returns every event of one aggregate, in order, and the stream
// position of the last one (0 when it has none). It reads with direct gets
// on the subject, without creating a consumer.
func (s *Store) Load(ctx context.Context, tenant string, ref domain.Ref) ([]domain.Event, uint64, error) {
	subj := Subject(tenant, ref)
	last, err := s.stream.GetLastMsgForSubject(ctx, subj)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("eventstore: load %s: %w", ref, err)
	}
	var stored []*jetstream.RawStreamMsg
	next := uint64(1)
	for next <= last.Sequence {
		msgs, err := jetstreamext.GetBatch(ctx, s.js, StreamName, 256,
			jetstreamext.GetBatchSeq(next), jetstreamext.GetBatchSubject(subj))
		if err != nil {
			return nil, 0, fmt.Errorf("eventstore: load %s: %w", ref, err)
		}
		got := 0
		for m, err := range msgs {
			if err != nil {
				return nil, 0, fmt.Errorf("eventstore: load %s: %w", ref, err)
			}
			if m.Sequence > last.Sequence {
				break
			}
			stored = append(stored, m)
			next = m.Sequence + 1
			got++
		}
		if got == 0 {
			break
		}
	}
	// A part voided later is followed by its void marker on this same
	// subject (parts.go); a part whose command is still being stored
	// counts, since a void would move the position the caller expects.
	voided := voidedBy(stored)
	events := make([]domain.Event, 0, len(stored))
	for _, m := range stored {
		if voided[m.Sequence] || m.Header.Get(VoidHeader) != "" {
			continue
		}
		e, err := Decode(m.Data, m.Sequence)
		if err != nil {
			return nil, 0, err
		}
		events = append(events, e)
	}
	return events, last.Sequence, nil
}

// LastSequence is the position of the newest event in the log. Parts of a
// command that the log ends with and that are not all stored yet do not
// count (parts.go): a command left so by a process that stopped is voided
// only when a writer next appends, and a reader that is not one must not
// wait for it.
func (s *Store) LastSequence(ctx context.Context) (uint64, error) {
	info, err := s.stream.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("eventstore: stream info: %w", err)
	}
	last := info.State.LastSeq
	if last == 0 {
		return 0, nil
	}
	m, err := s.stream.GetMsg(ctx, last)
	if err != nil {
		return 0, fmt.Errorf("eventstore: the newest event %d: %w", last, err)
	}
	if f, err := readFrame(m.Header); err == nil && f.isPart() && f.part < f.of {
		return last - uint64(f.part), nil
	}
	return last, nil
}

// Subscription follows the log from a position, in order, without gaps.
type Subscription struct {
	it    jetstream.MessagesContext
	parts assembler[jetstream.Msg]
	ready []jetstream.Msg // parts of a command that completed, not yet returned
	pos   uint64          // the position of what Next returned last
	// toldHeld says that Next already reported the parts it holds at the
	// end of the log (see Next).
	toldHeld bool
}

// Subscribe follows the log starting at position from (1 = the beginning).
// It uses an ordered consumer: no server-side state to clean up, and it
// resumes by itself after a disconnect.
func (s *Store) Subscribe(ctx context.Context, from uint64) (*Subscription, error) {
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy}
	if from > 1 {
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = from
	}
	cons, err := s.js.OrderedConsumer(ctx, StreamName, cfg)
	if err != nil {
		return nil, fmt.Errorf("eventstore: subscribe: %w", err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(4096))
	if err != nil {
		return nil, fmt.Errorf("eventstore: subscribe: %w", err)
	}
	return &Subscription{it: it, pos: max(from, 1) - 1}, nil
}

// ErrClosed is returned by Next once the subscription is stopped.
var ErrClosed = errors.New("eventstore: subscription closed")

// Next blocks until the next event arrives. pending is how many more events
// the log held behind it when it was delivered: 0 means caught up.
//
// The parts of a command of several events come out once its last part is
// stored, and never if it was voided (parts.go). When positions pass that
// hold no event (void markers, voided parts) and no event is ready, Next
// returns an event with an empty Type at the last of them, so that a
// caller that follows positions sees them go by. And when the log ends in
// parts of a command still being stored, Next returns such an event once,
// at the position it returned last, with pending 0: the caller learns that
// nothing else is behind it before the parts resolve.
func (s *Subscription) Next() (e domain.Event, pending uint64, err error) {
	for len(s.ready) == 0 {
		m, err := s.it.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return e, 0, ErrClosed
			}
			return e, 0, fmt.Errorf("eventstore: next: %w", err)
		}
		md, err := m.Metadata()
		if err != nil {
			return e, 0, fmt.Errorf("eventstore: next: %w", err)
		}
		f, err := readFrame(m.Headers())
		if err != nil {
			return e, md.NumPending, fmt.Errorf("eventstore: event at %d: %w", md.Sequence.Stream, err)
		}
		ready, dropped := s.parts.add(m, md.Sequence.Stream, f)
		s.ready = append(s.ready, ready...)
		if len(ready) > 0 || dropped {
			s.toldHeld = false
		}
		switch {
		case len(s.ready) > 0:
		case dropped:
			s.pos = md.Sequence.Stream
			return domain.Event{Sequence: s.pos}, md.NumPending, nil
		case md.NumPending == 0 && !s.toldHeld:
			s.toldHeld = true
			return domain.Event{Sequence: s.pos}, 0, nil
		}
	}
	m := s.ready[0]
	s.ready = s.ready[1:]
	md, err := m.Metadata()
	if err != nil {
		return e, 0, fmt.Errorf("eventstore: next: %w", err)
	}
	s.pos = md.Sequence.Stream
	e, err = Decode(m.Data(), md.Sequence.Stream)
	return e, md.NumPending, err
}

// Stop ends the subscription; a blocked Next returns ErrClosed.
func (s *Subscription) Stop() { s.it.Stop() }

func splitHostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("nats listen address %q: %w", addr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return "", 0, fmt.Errorf("nats listen address %q: bad port", addr)
	}
	return host, port, nil
}
