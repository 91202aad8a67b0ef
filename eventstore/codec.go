package eventstore

import (
	"fmt"
	"time"

	"github.com/portcullis/portcullis/domain"
	"github.com/vmihailenco/msgpack/v5"
)

// wireEvent is the envelope as stored in a JetStream message. The payload is
// kept as raw msgpack so that the envelope decodes without knowing the type,
// and the payload decodes into the registered type of (type, version).
type wireEvent struct {
	ID         string             `msgpack:"id"`
	Type       string             `msgpack:"type"`
	Version    int                `msgpack:"v"`
	Tenant     string             `msgpack:"tenant"`
	AggType    string             `msgpack:"agg_type"`
	AggID      string             `msgpack:"agg_id"`
	Actor      string             `msgpack:"actor"`
	RequestID  string             `msgpack:"req,omitempty"`
	CommandID  string             `msgpack:"cmd,omitempty"`
	Face       string             `msgpack:"face,omitempty"` // additive: older events have none
	OccurredAt time.Time          `msgpack:"at"`
	Data       msgpack.RawMessage `msgpack:"data"`
}

// Encode turns an event into the bytes of its message.
func Encode(e domain.Event) ([]byte, error) {
	data, err := msgpack.Marshal(e.Data)
	if err != nil {
		return nil, fmt.Errorf("encode %s payload: %w", e.Type, err)
	}
	return msgpack.Marshal(&wireEvent{
		ID: e.ID, Type: e.Data.EventType(), Version: e.Data.EventVersion(),
		Tenant: e.Tenant, AggType: e.Aggregate.Type, AggID: e.Aggregate.ID,
		Actor: e.Actor, RequestID: e.RequestID, CommandID: e.CommandID, Face: e.Face,
		OccurredAt: e.OccurredAt.UTC(), Data: data,
	})
}

// Decode turns the bytes of a message back into an event. seq is the
// message's stream position.
func Decode(b []byte, seq uint64) (domain.Event, error) {
	var w wireEvent
	if err := msgpack.Unmarshal(b, &w); err != nil {
		return domain.Event{}, fmt.Errorf("decode event at %d: %w", seq, err)
	}
	data, err := domain.NewEventData(w.Type, w.Version)
	if err != nil {
		return domain.Event{}, fmt.Errorf("decode event at %d: %w", seq, err)
	}
	if err := msgpack.Unmarshal(w.Data, data); err != nil {
		return domain.Event{}, fmt.Errorf("decode %s payload at %d: %w", w.Type, seq, err)
	}
	return domain.Event{
		ID: w.ID, Type: w.Type, Version: w.Version, Tenant: w.Tenant,
		Aggregate: domain.Ref{Type: w.AggType, ID: w.AggID},
		Actor:     w.Actor, RequestID: w.RequestID, CommandID: w.CommandID, Face: w.Face,
		OccurredAt: w.OccurredAt.UTC(), Data: data, Sequence: seq,
	}, nil
}

// decodeEnvelope is Decode without the payload: the event's Data stays
// nil and the payload's msgpack is returned beside it, for a reader that
// renders the payload from the stored bytes (publicJSON). A type and
// version this code does not know is still an error, as in Decode.
func decodeEnvelope(b []byte, seq uint64) (domain.Event, []byte, error) {
	var w wireEvent
	if err := msgpack.Unmarshal(b, &w); err != nil {
		return domain.Event{}, nil, fmt.Errorf("decode event at %d: %w", seq, err)
	}
	if _, err := domain.NewEventData(w.Type, w.Version); err != nil {
		return domain.Event{}, nil, fmt.Errorf("decode event at %d: %w", seq, err)
	}
	return domain.Event{
		ID: w.ID, Type: w.Type, Version: w.Version, Tenant: w.Tenant,
		Aggregate: domain.Ref{Type: w.AggType, ID: w.AggID},
		Actor:     w.Actor, RequestID: w.RequestID, CommandID: w.CommandID, Face: w.Face,
		OccurredAt: w.OccurredAt.UTC(), Sequence: seq,
	}, w.Data, nil
}
