package domain

import (
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// AggregateIntegrationConnection is the aggregate type of a tenant's
// connection to an application of the integrations catalog.
const AggregateIntegrationConnection = "integration_connection"

// Event types of integration connections.
const (
	TypeIntegrationConnected              = "integration.connected"
	TypeIntegrationDisconnected           = "integration.disconnected"
	TypeIntegrationWebhookSecretRotated   = "integration.webhook_secret_rotated"
	TypeIntegrationWebhookDisabled        = "integration.webhook_disabled"
	TypeIntegrationWebhookEnabled         = "integration.webhook_enabled"
	TypeIntegrationWebhookReplayRequested = "integration.webhook_replay_requested"
	TypeIntegrationWebhookReplayCompleted = "integration.webhook_replay_completed"
)

// Connection statuses.
const (
	ConnectionActive   = "active"
	ConnectionDisabled = "disabled"
)

// ConnectionStatuses lists the statuses, for list filters.
var ConnectionStatuses = []string{ConnectionActive, ConnectionDisabled}

// IntegrationSetting is one non-secret value of a connection. Lists use
// Values; every other type is Value in its canonical text form ("true",
// "42"), so the payload encodes the same bytes every time.
type IntegrationSetting struct {
	Name   string   `msgpack:"name"`
	Value  string   `msgpack:"value,omitempty"`
	Values []string `msgpack:"values,omitempty"`
}

// SealedSecret is a secret as it may enter the log: encrypted (AES-256-GCM)
// under the key KeyID names, bound to its tenant, connection and name. Only
// a holder of that key, which lives in the data directory and never in the
// log, can open it.
type SealedSecret struct {
	Name       string `msgpack:"name"`
	KeyID      string `msgpack:"key_id"`
	Nonce      []byte `msgpack:"nonce"`
	Ciphertext []byte `msgpack:"sealed"`
}

// IntegrationConnected starts a connection.
type IntegrationConnected struct {
	ApplicationID string               `msgpack:"application_id"`
	Name          string               `msgpack:"name"`
	Settings      []IntegrationSetting `msgpack:"settings"`
	Secrets       []SealedSecret       `msgpack:"secrets,omitempty"`
}

func (*IntegrationConnected) EventType() string { return TypeIntegrationConnected }
func (*IntegrationConnected) EventVersion() int { return 1 }

// IntegrationDisconnected ends a connection; a webhook stops delivering.
type IntegrationDisconnected struct{}

func (*IntegrationDisconnected) EventType() string { return TypeIntegrationDisconnected }
func (*IntegrationDisconnected) EventVersion() int { return 1 }

// IntegrationWebhookSecretRotated replaces a webhook's signing secret. The
// old one keeps signing too until PreviousValidUntil, so receivers can
// switch without missing a delivery.
type IntegrationWebhookSecretRotated struct {
	Secret             SealedSecret `msgpack:"secret"`
	PreviousValidUntil time.Time    `msgpack:"previous_valid_until"`
}

func (*IntegrationWebhookSecretRotated) EventType() string {
	return TypeIntegrationWebhookSecretRotated
}
func (*IntegrationWebhookSecretRotated) EventVersion() int { return 1 }

// IntegrationWebhookDisabled stops a webhook whose endpoint kept failing.
// Deliveries resume, from the event that failed, once it is enabled again.
type IntegrationWebhookDisabled struct {
	Reason       string    `msgpack:"reason"`
	FailingSince time.Time `msgpack:"failing_since"`
}

func (*IntegrationWebhookDisabled) EventType() string { return TypeIntegrationWebhookDisabled }
func (*IntegrationWebhookDisabled) EventVersion() int { return 1 }

// IntegrationWebhookEnabled resumes a disabled webhook.
type IntegrationWebhookEnabled struct{}

func (*IntegrationWebhookEnabled) EventType() string { return TypeIntegrationWebhookEnabled }
func (*IntegrationWebhookEnabled) EventVersion() int { return 1 }

// IntegrationWebhookReplayRequested asks for the tenant's events from
// position From to To (the log's head when asked) to be delivered to the
// webhook again, under their original webhook-id.
type IntegrationWebhookReplayRequested struct {
	ReplayID string `msgpack:"replay_id"`
	From     uint64 `msgpack:"from"`
	To       uint64 `msgpack:"to"`
}

func (*IntegrationWebhookReplayRequested) EventType() string {
	return TypeIntegrationWebhookReplayRequested
}
func (*IntegrationWebhookReplayRequested) EventVersion() int { return 1 }

// IntegrationWebhookReplayCompleted records that a replay delivered its
// last event.
type IntegrationWebhookReplayCompleted struct {
	ReplayID string `msgpack:"replay_id"`
}

func (*IntegrationWebhookReplayCompleted) EventType() string {
	return TypeIntegrationWebhookReplayCompleted
}
func (*IntegrationWebhookReplayCompleted) EventVersion() int { return 1 }

// IntegrationConnection is the state of a connection aggregate.
type IntegrationConnection struct {
	ID                 string
	ApplicationID      string
	Name               string
	Settings           []IntegrationSetting
	Secrets            []SealedSecret
	Previous           *SealedSecret // a rotated-out webhook secret, valid until PreviousValidUntil
	PreviousValidUntil time.Time
	Disabled           bool
	Replays            []string // replays requested and not completed
	CreatedAt          time.Time
	UpdatedAt          time.Time
	Deleted            bool
}

// Exists reports whether the connection was made and not ended.
func (c *IntegrationConnection) Exists() bool { return !c.CreatedAt.IsZero() && !c.Deleted }

// Apply folds one event into the connection.
func (c *IntegrationConnection) Apply(e Event) {
	c.UpdatedAt = e.OccurredAt
	switch d := e.Data.(type) {
	case *IntegrationConnected:
		c.ID, c.ApplicationID, c.Name, c.CreatedAt = e.Aggregate.ID, d.ApplicationID, d.Name, e.OccurredAt
		c.Settings, c.Secrets = d.Settings, d.Secrets
	case *IntegrationDisconnected:
		c.Deleted = true
	case *IntegrationWebhookSecretRotated:
		c.Previous, c.PreviousValidUntil = c.Secret(WebhookSecretField), d.PreviousValidUntil
		c.Secrets = replaceSecret(c.Secrets, d.Secret)
	case *IntegrationWebhookDisabled:
		c.Disabled = true
	case *IntegrationWebhookEnabled:
		c.Disabled = false
	case *IntegrationWebhookReplayRequested:
		c.Replays = append(slices.Clone(c.Replays), d.ReplayID)
	case *IntegrationWebhookReplayCompleted:
		c.Replays = slices.DeleteFunc(slices.Clone(c.Replays), func(id string) bool { return id == d.ReplayID })
	}
}

// Secret returns the sealed secret of a field, or nil.
func (c *IntegrationConnection) Secret(name string) *SealedSecret {
	for i := range c.Secrets {
		if c.Secrets[i].Name == name {
			s := c.Secrets[i]
			return &s
		}
	}
	return nil
}

func replaceSecret(list []SealedSecret, s SealedSecret) []SealedSecret {
	out := slices.Clone(list)
	for i := range out {
		if out[i].Name == s.Name {
			out[i] = s
			return out
		}
	}
	return append(out, s)
}

// Connect decides a new connection from settings and secrets already
// validated by ValidateConnection (the secrets sealed since).
func (c *IntegrationConnection) Connect(app IntegrationApplication, name string, settings []IntegrationSetting, secrets []SealedSecret) ([]EventData, error) {
	if !c.CreatedAt.IsZero() {
		return nil, Errorf(CodeConflict, "connection already exists")
	}
	return []EventData{&IntegrationConnected{ApplicationID: app.ID, Name: name, Settings: settings, Secrets: secrets}}, nil
}

// Disconnect decides the end of a connection.
func (c *IntegrationConnection) Disconnect() ([]EventData, error) {
	if !c.Exists() {
		return nil, Errorf(CodeNotFound, "connection not found")
	}
	return []EventData{&IntegrationDisconnected{}}, nil
}

// MaxRotationOverlap bounds how long a rotated-out webhook secret may keep
// signing.
const MaxRotationOverlap = 7 * 24 * time.Hour

// RotateWebhookSecret decides a new signing secret; the current one keeps
// signing until now+overlap.
func (c *IntegrationConnection) RotateWebhookSecret(s SealedSecret, now time.Time, overlap time.Duration) ([]EventData, error) {
	if err := c.mustBeWebhook(); err != nil {
		return nil, err
	}
	if overlap < 0 || overlap > MaxRotationOverlap {
		return nil, Invalid("overlap_seconds", "must be from 0 to %d", int(MaxRotationOverlap.Seconds()))
	}
	s.Name = WebhookSecretField
	return []EventData{&IntegrationWebhookSecretRotated{Secret: s, PreviousValidUntil: now.Add(overlap).UTC()}}, nil
}

// DisableWebhook decides that a failing webhook stops; a webhook already
// disabled decides nothing, so concurrent deliverers disable it once.
func (c *IntegrationConnection) DisableWebhook(reason string, failingSince time.Time) ([]EventData, error) {
	if err := c.mustBeWebhook(); err != nil {
		return nil, err
	}
	if c.Disabled {
		return nil, nil
	}
	return []EventData{&IntegrationWebhookDisabled{Reason: reason, FailingSince: failingSince.UTC()}}, nil
}

// EnableWebhook decides that a disabled webhook resumes; an enabled one
// decides nothing.
func (c *IntegrationConnection) EnableWebhook() ([]EventData, error) {
	if err := c.mustBeWebhook(); err != nil {
		return nil, err
	}
	if !c.Disabled {
		return nil, nil
	}
	return []EventData{&IntegrationWebhookEnabled{}}, nil
}

// RequestReplay decides a replay of the events from position from up to
// position to, the log's head.
func (c *IntegrationConnection) RequestReplay(id string, from, to uint64) ([]EventData, error) {
	if err := c.mustBeWebhook(); err != nil {
		return nil, err
	}
	if from < 1 || from > to {
		return nil, Invalid("from_consistency_token", "must be a consistency token from 1 to %d", to)
	}
	if len(c.Replays) >= 10 {
		return nil, Errorf(CodeConflict, "webhook %s already has %d replays running; wait for one to finish", c.ID, len(c.Replays))
	}
	return []EventData{&IntegrationWebhookReplayRequested{ReplayID: id, From: from, To: to}}, nil
}

// CompleteReplay decides the end of a replay; a replay already completed
// (another node got there first) decides nothing.
func (c *IntegrationConnection) CompleteReplay(id string) ([]EventData, error) {
	if !c.Exists() || !slices.Contains(c.Replays, id) {
		return nil, nil
	}
	return []EventData{&IntegrationWebhookReplayCompleted{ReplayID: id}}, nil
}

func (c *IntegrationConnection) mustBeWebhook() error {
	if !c.Exists() {
		return Errorf(CodeNotFound, "connection not found")
	}
	if c.ApplicationID != AppWebhook {
		return Errorf(CodeInvalid, "connection %s is not a webhook", c.ID)
	}
	return nil
}

// Setting returns a setting's value and whether the connection has it.
func Setting(settings []IntegrationSetting, name string) (IntegrationSetting, bool) {
	for _, s := range settings {
		if s.Name == name {
			return s, true
		}
	}
	return IntegrationSetting{}, false
}

// ConnectionInput is the validated form of a connect request: the settings
// in the schema's order and the secrets in clear, still to be sealed.
type ConnectionInput struct {
	Name     string
	Settings []IntegrationSetting
	Secrets  map[string]string
}

// ValidateConnection checks a connect request against the application's
// schema. values are the request's fields as JSON decodes them (string,
// float64, bool, []any, map, nil); every problem names its field.
func ValidateConnection(app IntegrationApplication, name string, values map[string]any) (ConnectionInput, error) {
	in := ConnectionInput{Name: strings.TrimSpace(name), Secrets: map[string]string{}}
	if in.Name == "" {
		in.Name = app.Name
	}
	if utf8.RuneCountInString(in.Name) > 100 || strings.ContainsFunc(in.Name, unicode.IsControl) {
		return in, Invalid("name", "must be at most 100 characters without control characters")
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if _, ok := app.Field(k); !ok {
			return in, Invalid(k, "unknown field of application %s", app.ID)
		}
	}
	for _, f := range app.Fields {
		v, present := values[f.Name]
		if !present || v == nil {
			if f.Required {
				return in, Invalid(f.Name, "is required")
			}
			if f.Default == "" {
				continue
			}
			in.Settings = append(in.Settings, IntegrationSetting{Name: f.Name, Value: f.Default})
			continue
		}
		if f.Type == FieldSecret {
			s, err := stringValue(f, v)
			if err != nil {
				return in, err
			}
			if s == "" {
				return in, Invalid(f.Name, "must not be empty")
			}
			in.Secrets[f.Name] = s
			continue
		}
		st, err := settingValue(f, v)
		if err != nil {
			return in, err
		}
		if f.Name == "event_types" && app.ID == AppWebhook {
			if st.Values, err = ValidateWebhookEventTypes(st.Values); err != nil {
				return in, err
			}
		}
		if st.Value != "" || len(st.Values) > 0 {
			in.Settings = append(in.Settings, st)
		} else if f.Required {
			return in, Invalid(f.Name, "must not be empty")
		}
	}
	return in, nil
}

func stringValue(f ConnectionField, v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", Invalid(f.Name, "must be a string, not %s", kindOf(v))
	}
	s = strings.TrimSpace(s)
	limit := f.MaxLength
	if limit == 0 {
		limit = 200
	}
	if utf8.RuneCountInString(s) > limit {
		return "", Invalid(f.Name, "must be at most %d characters", limit)
	}
	if strings.ContainsFunc(s, unicode.IsControl) {
		return "", Invalid(f.Name, "must not contain control characters")
	}
	return s, nil
}

func settingValue(f ConnectionField, v any) (IntegrationSetting, error) {
	st := IntegrationSetting{Name: f.Name}
	switch f.Type {
	case FieldString:
		s, err := stringValue(f, v)
		st.Value = s
		return st, err
	case FieldURL:
		s, ok := v.(string)
		if !ok {
			return st, Invalid(f.Name, "must be a string, not %s", kindOf(v))
		}
		if err := ValidateEndpointURL(f.Name, s); err != nil {
			return st, err
		}
		st.Value = s
	case FieldEnum:
		s, ok := v.(string)
		if !ok || !slices.Contains(f.Enum, s) {
			return st, Invalid(f.Name, "must be one of %s", strings.Join(f.Enum, ", "))
		}
		st.Value = s
	case FieldBoolean:
		b, ok := v.(bool)
		if !ok {
			return st, Invalid(f.Name, "must be a boolean, not %s", kindOf(v))
		}
		st.Value = strconv.FormatBool(b)
	case FieldInteger:
		n, ok := v.(float64)
		if !ok || n != math.Trunc(n) || n < float64(f.Min) || n > float64(f.Max) {
			return st, Invalid(f.Name, "must be a whole number from %d to %d", f.Min, f.Max)
		}
		st.Value = strconv.FormatInt(int64(n), 10)
	case FieldStringList:
		list, ok := v.([]any)
		if !ok {
			return st, Invalid(f.Name, "must be an array of strings, not %s", kindOf(v))
		}
		limit := f.MaxItems
		if limit == 0 {
			limit = 100
		}
		if len(list) > limit {
			return st, Invalid(f.Name, "must have at most %d items", limit)
		}
		for i, item := range list {
			s, ok := item.(string)
			s = strings.TrimSpace(s)
			if !ok || s == "" || utf8.RuneCountInString(s) > 200 || strings.ContainsFunc(s, unicode.IsControl) {
				return st, Invalid(fmt.Sprintf("%s[%d]", f.Name, i), "must be a non-empty string of at most 200 characters")
			}
			st.Values = append(st.Values, s)
		}
		slices.Sort(st.Values)
		st.Values = slices.Compact(st.Values)
	default:
		return st, Invalid(f.Name, "has an unknown type %s", f.Type)
	}
	return st, nil
}

// ValidateEndpointURL checks the shape of an outbound URL: absolute http or
// https, a host, no credentials (they would be shown back and enter the
// log), no fragment. Where it resolves to is checked by the caller, which
// can resolve names; see CheckEndpointAddr.
func ValidateEndpointURL(field, s string) error {
	if len(s) > 2048 {
		return Invalid(field, "must be at most 2048 characters")
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return Invalid(field, "must be an absolute http or https URL")
	}
	if u.User != nil {
		return Invalid(field, "must not carry credentials")
	}
	if u.Fragment != "" || strings.Contains(s, "#") {
		return Invalid(field, "must not have a fragment")
	}
	return nil
}

func kindOf(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}
