package eventstore

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/portcullis/portcullis/domain"
)

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
