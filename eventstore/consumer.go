package eventstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/synadia-io/orbit.go/jetstreamext"

	"github.com/portcullis/portcullis/domain"
)

// TenantSubjects is the filter of every event of one tenant.
func TenantSubjects(tenant string) string { return SubjectPrefix + "." + tenant + ".>" }

// SubscribeTenant follows one tenant's events from position from (1 = the
// beginning), in order, without server-side state: the live feed.
func (s *Store) SubscribeTenant(ctx context.Context, tenant string, from uint64) (*Subscription, error) {
	if !domain.ValidToken(tenant) {
		return nil, fmt.Errorf("eventstore: invalid tenant %q", tenant)
	}
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{TenantSubjects(tenant)},
		DeliverPolicy: jetstream.DeliverAllPolicy}
	if from > 1 {
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = from
	}
	cons, err := s.js.OrderedConsumer(ctx, StreamName, cfg)
	if err != nil {
		return nil, fmt.Errorf("eventstore: subscribe %s: %w", tenant, err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(256))
	if err != nil {
		return nil, fmt.Errorf("eventstore: subscribe %s: %w", tenant, err)
	}
	return &Subscription{it: it}, nil
}

// DurableConfig describes a durable consumer of one tenant's events: a
// position on the server that survives restarts and that every process
// pulling from it shares.
type DurableConfig struct {
	Name     string        // unique per stream: [A-Za-z0-9_-]
	Tenant   string        // only this tenant's events are delivered
	Owner    string        // kept with it, for whoever cleans up consumers whose owner is gone
	StartSeq uint64        // the first position it may deliver (0 or 1 = the beginning)
	AckWait  time.Duration // an unacknowledged delivery is redelivered after this
	// Window is how many events may be handed out and not yet acknowledged
	// (MaxAckPending; default 1): the look-ahead that lets a process work
	// on events of different aggregates at once.
	Window int
	// PinnedTTL is how long a process that stopped pulling stays the only
	// one served (default 2 × AckWait): after that another process takes
	// over.
	PinnedTTL time.Duration
}

// durableGroup is the priority group every process pulls with. The
// consumer serves one pinned process of the group at a time, so events are
// handed out to one process, in log order, and that process alone decides
// which of them may go out together.
const durableGroup = "deliver"

// Durable is a process's handle on a durable consumer.
//
// The consumer hands out up to Window events at a time and takes their
// acknowledgements in any order (AckExplicit): it remembers each
// unacknowledged one and hands it out again after AckWait or a Release.
// Only one process is served at a time (a pinned client of a priority
// group); when it stops pulling for PinnedTTL, or Unpins on a clean stop,
// another one takes over. The first delivery of each event is in log
// order; a redelivery comes whenever the server decides, which is why the
// caller must keep its own order (see Info and SubjectSequences).
type Durable struct {
	s    *Store
	name string
	cons jetstream.Consumer
	it   jetstream.MessagesContext
	// stopped ends a wait for the rest of a command (waitFate).
	stopped atomic.Bool
}

// OpenDurable creates the durable consumer if it does not exist and starts
// pulling from it. An existing consumer keeps its position; its AckWait,
// Window and PinnedTTL follow cfg.
func (s *Store) OpenDurable(ctx context.Context, cfg DurableConfig) (*Durable, error) {
	if !domain.ValidToken(cfg.Name) || !domain.ValidToken(cfg.Tenant) {
		return nil, fmt.Errorf("eventstore: invalid durable %q of tenant %q", cfg.Name, cfg.Tenant)
	}
	window := max(cfg.Window, 1)
	pinned := cfg.PinnedTTL
	if pinned <= 0 {
		pinned = 2 * cfg.AckWait
	}
	cc := jetstream.ConsumerConfig{
		Durable:        cfg.Name,
		Description:    "Portcullis webhook of tenant " + cfg.Tenant,
		FilterSubject:  TenantSubjects(cfg.Tenant),
		DeliverPolicy:  jetstream.DeliverAllPolicy,
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        cfg.AckWait,
		MaxDeliver:     -1,
		MaxAckPending:  window,
		Metadata:       map[string]string{"tenant": cfg.Tenant, "owner": cfg.Owner},
		PriorityGroups: []string{durableGroup},
		PriorityPolicy: jetstream.PriorityPolicyPinned,
		PinnedTTL:      pinned,
	}
	if cfg.StartSeq > 1 {
		cc.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cc.OptStartSeq = cfg.StartSeq
	}
	cons, err := s.js.CreateOrUpdateConsumer(ctx, StreamName, cc)
	if err != nil {
		return nil, fmt.Errorf("eventstore: durable %s: %w", cfg.Name, err)
	}
	// Pull requests expire well within PinnedTTL, so a live process renews
	// its pin even while it has nothing to take.
	expiry := min(max(pinned/3, time.Second), 30*time.Second)
	it, err := cons.Messages(jetstream.PullMaxMessages(window), jetstream.PullPriorityGroup(durableGroup),
		jetstream.PullExpiry(expiry))
	if err != nil {
		return nil, fmt.Errorf("eventstore: durable %s: %w", cfg.Name, err)
	}
	return &Durable{s: s, name: cfg.Name, cons: cons, it: it}, nil
}

// DeleteDurable removes a durable consumer; one that does not exist is no
// error.
func (s *Store) DeleteDurable(ctx context.Context, name string) error {
	err := s.js.DeleteConsumer(ctx, StreamName, name)
	if err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return fmt.Errorf("eventstore: delete durable %s: %w", name, err)
	}
	return nil
}

// DurableInfo is where a durable consumer stands.
type DurableInfo struct {
	Name       string
	Tenant     string
	Owner      string
	Delivered  uint64 // the last position it handed out for the first time
	AckFloor   uint64 // every event of its filter up to here is acknowledged
	AckPending int    // events handed out and not yet acknowledged
	Pending    uint64 // events of its filter not yet handed out
}

func durableInfo(ci *jetstream.ConsumerInfo) DurableInfo {
	return DurableInfo{Name: ci.Name, Tenant: ci.Config.Metadata["tenant"], Owner: ci.Config.Metadata["owner"], Delivered: ci.Delivered.Stream,
		AckFloor: ci.AckFloor.Stream, AckPending: ci.NumAckPending, Pending: ci.NumPending}
}

// Durables lists the durable consumers whose names start with prefix.
func (s *Store) Durables(ctx context.Context, prefix string) ([]DurableInfo, error) {
	var out []DurableInfo
	l := s.stream.ListConsumers(ctx)
	for ci := range l.Info() {
		if strings.HasPrefix(ci.Name, prefix) {
			out = append(out, durableInfo(ci))
		}
	}
	if err := l.Err(); err != nil {
		return nil, fmt.Errorf("eventstore: list durables: %w", err)
	}
	return out, nil
}

// Info reads where the consumer stands now.
func (d *Durable) Info(ctx context.Context) (DurableInfo, error) {
	ci, err := d.cons.Info(ctx)
	if err != nil {
		return DurableInfo{}, fmt.Errorf("eventstore: durable %s: %w", d.name, err)
	}
	return durableInfo(ci), nil
}

// SubjectSeq is an event's subject and position.
type SubjectSeq struct {
	Subject string
	Seq     uint64
}

// SubjectSequences lists the events of subject (which may be a wildcard)
// after after and up to upto, in order: which events of which aggregates
// lie in a range of the log, read with direct gets and no consumer. Void
// markers and the parts they void are not events (parts.go); a part whose
// command is still being stored is listed.
func (s *Store) SubjectSequences(ctx context.Context, subject string, after, upto uint64) ([]SubjectSeq, error) {
	var stored []*jetstream.RawStreamMsg
	next := after + 1
read:
	for next <= upto {
		msgs, err := jetstreamext.GetBatch(ctx, s.js, StreamName, 256,
			jetstreamext.GetBatchSeq(next), jetstreamext.GetBatchSubject(subject))
		if err != nil {
			return nil, fmt.Errorf("eventstore: sequences of %s: %w", subject, err)
		}
		got := 0
		for m, err := range msgs {
			if errors.Is(err, jetstreamext.ErrNoMessages) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("eventstore: sequences of %s: %w", subject, err)
			}
			if m.Sequence > upto {
				break read
			}
			stored = append(stored, m)
			next = m.Sequence + 1
			got++
		}
		if got == 0 {
			break
		}
	}
	voided := voidedBy(stored)
	out := make([]SubjectSeq, 0, len(stored))
	for _, m := range stored {
		if voided[m.Sequence] || m.Header.Get(VoidHeader) != "" {
			continue
		}
		if f, err := readFrame(m.Header); err == nil && f.isPart() && f.part < f.of {
			// Its void marker may lie past upto: ask the log.
			fate, err := s.partFate(ctx, m.Sequence, f)
			if err != nil {
				return nil, fmt.Errorf("eventstore: sequences of %s: %w", subject, err)
			}
			if fate == partVoided {
				continue
			}
		}
		out = append(out, SubjectSeq{Subject: m.Subject, Seq: m.Sequence})
	}
	return out, nil
}

// Delivery is one event handed out by a durable consumer. Exactly one of
// Ack, Retry, Release or Skip must follow, from one goroutine at a time.
type Delivery struct {
	// Event is the event's envelope. Its Data is not decoded (nil): the
	// public form renders from the stored bytes (Body).
	Event domain.Event
	// Subject is the event's subject: its aggregate's order domain.
	Subject string
	// Seq is the event's position, known even when it does not decode.
	Seq uint64
	// Attempt counts the times the server handed this event out, across
	// every process: 1 on the first.
	Attempt uint64
	// Pin names the pinned period of this process it was handed out in: a
	// new value means the process lost its pin and got it back, so events
	// may have been handed elsewhere meanwhile.
	Pin     string
	msg     jetstream.Msg
	payload []byte // the payload's msgpack
}

// Body renders the event in its public JSON form (as PublicJSONOf).
func (dl *Delivery) Body() ([]byte, error) { return publicJSON(dl.Event, dl.payload, dl.msg.Data()) }

// Next blocks until the consumer hands out the next event, or the handle is
// stopped (ErrClosed). An event that does not decode is returned with its
// error and must still be answered.
//
// Void markers, and parts of commands that were voided (parts.go), are not
// events: Next acknowledges them for good (Term) and goes on. A part of a
// command still being stored is held until its command's last part is.
func (d *Durable) Next() (*Delivery, error) {
	m, md, err := d.nextEvent()
	if err != nil {
		return nil, err
	}
	dl := &Delivery{Subject: m.Subject(), Seq: md.Sequence.Stream, Attempt: md.NumDelivered, msg: m}
	if h := m.Headers(); h != nil {
		dl.Pin = h.Get("Nats-Pin-Id")
	}
	dl.Event, dl.payload, err = decodeEnvelope(m.Data(), md.Sequence.Stream)
	return dl, err
}

// nextEvent takes deliveries until one is an event that counts.
func (d *Durable) nextEvent() (jetstream.Msg, *jetstream.MsgMetadata, error) {
	for {
		m, err := d.it.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return nil, nil, ErrClosed
			}
			return nil, nil, fmt.Errorf("eventstore: next: %w", err)
		}
		md, err := m.Metadata()
		if err != nil {
			_ = m.Nak()
			return nil, nil, fmt.Errorf("eventstore: next: %w", err)
		}
		f, err := readFrame(m.Headers())
		if err != nil || !f.isPart() && f.void == 0 {
			return m, md, nil // a damaged frame goes to the caller as an event that does not decode
		}
		if f.void > 0 {
			_ = m.Term()
			continue
		}
		fate, err := d.waitFate(md.Sequence.Stream, f)
		if err != nil {
			_ = m.Nak()
			return nil, nil, err
		}
		if fate == partVoided {
			_ = m.Term()
			continue
		}
		return m, md, nil
	}
}

// waitFate waits until the command of a part is complete or voided. The
// writer stores a command's parts back to back, and voids them at once if
// it cannot finish, so the wait is short unless the writing process
// stopped in between; then it lasts until a writer starts and repairs the
// log, or this handle is stopped.
func (d *Durable) waitFate(seq uint64, f frame) (partFate, error) {
	for wait := 100 * time.Microsecond; ; wait = min(2*wait, 100*time.Millisecond) {
		fate, err := d.s.partFate(context.Background(), seq, f)
		if err != nil || fate != partPending {
			return fate, err
		}
		if d.stopped.Load() {
			return partPending, ErrClosed
		}
		time.Sleep(wait)
	}
}

// Stop ends pulling; a blocked Next returns ErrClosed. The consumer and its
// position stay on the server.
func (d *Durable) Stop() {
	d.stopped.Store(true)
	d.it.Stop()
}

// Drain ends pulling but lets Next return what was already received, then
// ErrClosed: a process that stops can hand each of those back at once.
func (d *Durable) Drain() {
	d.stopped.Store(true)
	d.it.Drain()
}

// Unpin lets another process be served at once instead of after
// PinnedTTL: for a process that stops cleanly.
func (d *Durable) Unpin(ctx context.Context) error {
	err := d.s.stream.UnpinConsumer(ctx, d.name, durableGroup)
	if err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return fmt.Errorf("eventstore: unpin %s: %w", d.name, err)
	}
	return nil
}

// Ack marks the event handled and waits until the server confirms it, so
// that a caller that goes on to a later event of the same aggregate knows
// this one will not come back.
func (dl *Delivery) Ack(ctx context.Context) error { return dl.msg.DoubleAck(ctx) }

// AckAsync marks the event handled without waiting for the server: for
// events whose order does not matter (ones the caller skips). A lost
// acknowledgement brings the event back.
func (dl *Delivery) AckAsync() error { return dl.msg.Ack() }

// Retry hands the event back to be delivered again after delay, to
// whichever process pulls then.
func (dl *Delivery) Retry(delay time.Duration) error { return dl.msg.NakWithDelay(delay) }

// Release hands the event back at once, for a process that stops before it
// could finish: another (or the next start) delivers it.
func (dl *Delivery) Release() error { return dl.msg.Nak() }

// Skip acknowledges an event the caller will never handle (beyond the end
// of a replay), without waiting.
func (dl *Delivery) Skip() error { return dl.msg.Term() }

// Extend tells the server the event is still being worked on, resetting its
// AckWait.
func (dl *Delivery) Extend() error { return dl.msg.InProgress() }
