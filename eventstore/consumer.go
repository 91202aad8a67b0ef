package eventstore

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/vmihailenco/msgpack/v5"

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
	StartSeq uint64        // the first position it may deliver (0 or 1 = the beginning)
	AckWait  time.Duration // an unacknowledged delivery is redelivered after this
}

// Durable is a process's handle on a durable consumer.
//
// It delivers one event at a time (MaxAckPending 1): the next event leaves
// the server only once the previous one is acknowledged. That is what
// keeps a webhook's events in log order even when several processes pull
// from the same consumer, each taking over where another stopped or died;
// and a retry that waits (Retry) holds everything behind it.
type Durable struct {
	cons jetstream.Consumer
	it   jetstream.MessagesContext
}

// OpenDurable creates the durable consumer if it does not exist and starts
// pulling from it. An existing consumer keeps its position; only its
// AckWait follows cfg.
func (s *Store) OpenDurable(ctx context.Context, cfg DurableConfig) (*Durable, error) {
	if !domain.ValidToken(cfg.Name) || !domain.ValidToken(cfg.Tenant) {
		return nil, fmt.Errorf("eventstore: invalid durable %q of tenant %q", cfg.Name, cfg.Tenant)
	}
	cc := jetstream.ConsumerConfig{
		Durable:       cfg.Name,
		Description:   "Portcullis webhook of tenant " + cfg.Tenant,
		FilterSubject: TenantSubjects(cfg.Tenant),
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       cfg.AckWait,
		MaxDeliver:    -1,
		MaxAckPending: 1,
		Metadata:      map[string]string{"tenant": cfg.Tenant},
	}
	if cfg.StartSeq > 1 {
		cc.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cc.OptStartSeq = cfg.StartSeq
	}
	cons, err := s.js.CreateOrUpdateConsumer(ctx, StreamName, cc)
	if err != nil {
		return nil, fmt.Errorf("eventstore: durable %s: %w", cfg.Name, err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(1))
	if err != nil {
		return nil, fmt.Errorf("eventstore: durable %s: %w", cfg.Name, err)
	}
	return &Durable{cons: cons, it: it}, nil
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
	Name      string
	Tenant    string
	Delivered uint64 // the last position it handed out
	AckFloor  uint64 // every position up to here is acknowledged
	Pending   uint64 // events of its filter not yet handed out
}

// Durables lists the durable consumers whose names start with prefix.
func (s *Store) Durables(ctx context.Context, prefix string) ([]DurableInfo, error) {
	var out []DurableInfo
	l := s.stream.ListConsumers(ctx)
	for ci := range l.Info() {
		if !strings.HasPrefix(ci.Name, prefix) {
			continue
		}
		out = append(out, DurableInfo{Name: ci.Name, Tenant: ci.Config.Metadata["tenant"],
			Delivered: ci.Delivered.Stream, AckFloor: ci.AckFloor.Stream, Pending: ci.NumPending})
	}
	if err := l.Err(); err != nil {
		return nil, fmt.Errorf("eventstore: list durables: %w", err)
	}
	return out, nil
}

// Delivery is one event handed out by a durable consumer. Exactly one of
// Ack, Retry or Release must follow.
type Delivery struct {
	Event domain.Event
	// Attempt counts the times the server handed this event out, across
	// every process: 1 on the first.
	Attempt uint64
	msg     jetstream.Msg
}

// Next blocks until the consumer hands out the next event, or the handle is
// stopped (ErrClosed). An event that does not decode is returned with its
// error and must still be answered.
func (d *Durable) Next() (*Delivery, error) {
	m, err := d.it.Next()
	if err != nil {
		if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
			return nil, ErrClosed
		}
		return nil, fmt.Errorf("eventstore: next: %w", err)
	}
	md, err := m.Metadata()
	if err != nil {
		_ = m.Nak()
		return nil, fmt.Errorf("eventstore: next: %w", err)
	}
	dl := &Delivery{Attempt: md.NumDelivered, msg: m}
	dl.Event, err = Decode(m.Data(), md.Sequence.Stream)
	return dl, err
}

// Stop ends pulling; a blocked Next returns ErrClosed. The consumer and its
// position stay on the server.
func (d *Durable) Stop() { d.it.Stop() }

// Ack marks the event handled; the consumer moves on.
func (dl *Delivery) Ack() error { return dl.msg.Ack() }

// Retry hands the event back to be delivered again after delay, to
// whichever process pulls then; nothing behind it is delivered meanwhile.
func (dl *Delivery) Retry(delay time.Duration) error { return dl.msg.NakWithDelay(delay) }

// Release hands the event back at once, for a process that stops before it
// could finish: another (or the next start) delivers it.
func (dl *Delivery) Release() error { return dl.msg.Nak() }

// Extend tells the server the event is still being worked on, resetting its
// AckWait.
func (dl *Delivery) Extend() error { return dl.msg.InProgress() }

// redactedKeys are the payload keys that never leave Portcullis in an
// event's public form: whatever names a secret, a hash of one or sealed
// material, in any event type, present or future.
var redactedKeys = []string{"secret", "hash", "sealed", "password", "nonce"}

func redacted(key string) bool {
	k := strings.ToLower(key)
	for _, r := range redactedKeys {
		if strings.Contains(k, r) {
			return true
		}
	}
	return false
}

// PublicEvent is the documented JSON form of an event (docs/events.md):
// the body of a webhook and the data of a live-feed message.
type PublicEvent struct {
	ID               string          `json:"id"`
	Type             string          `json:"type"`
	Version          int             `json:"version"`
	Timestamp        string          `json:"timestamp"`
	Tenant           string          `json:"tenant"`
	Aggregate        PublicAggregate `json:"aggregate"`
	Actor            string          `json:"actor"`
	RequestID        string          `json:"request_id,omitempty"`
	OccurredAt       string          `json:"occurred_at"`
	ConsistencyToken string          `json:"consistency_token"`
	Data             map[string]any  `json:"data"`
}

// PublicAggregate names the record an event changed.
type PublicAggregate struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// PublicJSON renders an event in its public form. The payload's field names
// are those of the log (snake_case); times are RFC 3339 in UTC, bytes
// base64; fields that name secrets, hashes or sealed material are left out.
func PublicJSON(e domain.Event) ([]byte, error) {
	data, err := PublicPayload(e.Data)
	if err != nil {
		return nil, err
	}
	at := e.OccurredAt.UTC().Format(time.RFC3339Nano)
	return json.Marshal(PublicEvent{ID: e.ID, Type: e.Type, Version: e.Version, Timestamp: at, Tenant: e.Tenant,
		Aggregate: PublicAggregate{Type: e.Aggregate.Type, ID: e.Aggregate.ID}, Actor: e.Actor, RequestID: e.RequestID,
		OccurredAt: at, ConsistencyToken: strconv.FormatUint(e.Sequence, 10), Data: data})
}

// PublicPayload renders a payload as JSON-ready values, without the
// fields PublicJSON leaves out.
func PublicPayload(d domain.EventData) (map[string]any, error) {
	b, err := msgpack.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("encode %s payload: %w", d.EventType(), err)
	}
	var v any
	if err := msgpack.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("decode %s payload: %w", d.EventType(), err)
	}
	m, ok := publicValue(v).(map[string]any)
	if !ok {
		m = map[string]any{}
	}
	return m, nil
}

func publicValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			if !redacted(k) {
				out[k] = publicValue(val)
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = publicValue(x[i])
		}
		return out
	case time.Time:
		if x.IsZero() {
			return nil
		}
		return x.UTC().Format(time.RFC3339Nano)
	case []byte:
		return base64.StdEncoding.EncodeToString(x)
	}
	return v
}
