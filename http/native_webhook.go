package http

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/portcullis/portcullis/domain"
	"github.com/portcullis/portcullis/projections"
)

// WebhookConfig is how webhooks are delivered; the serve command's flags
// carry the defaults.
type WebhookConfig struct {
	// AllowLoopback lets webhook URLs resolve to loopback addresses, for
	// receivers on the same machine. Private and link-local stay refused.
	AllowLoopback bool
	// Timeout bounds one delivery attempt: a 2xx within it is delivered.
	Timeout time.Duration
	// RetrySchedule is the wait before each further attempt; the last step
	// repeats.
	RetrySchedule []time.Duration
	// DisableAfter is how long an endpoint may keep failing before its
	// webhook is disabled.
	DisableAfter time.Duration
	// RotationOverlap is how long a rotated-out secret keeps signing when
	// the rotation does not say.
	RotationOverlap time.Duration
	// Parallel bounds the attempts one webhook has in flight at once, each
	// for a different record (default 32); Window is how many events a
	// webhook may hold unacknowledged, its look-ahead for records it can
	// send beside each other, and room for delivered events whose
	// acknowledgement waits for the delivery log (default 16 × Parallel).
	Parallel, Window int
	// Lease is how long a node may hold an event before the log hands it
	// to another node (default 30 s); a live node renews it every third of
	// that. A node that dies is replaced after about twice this.
	Lease time.Duration
}

func (c *WebhookConfig) defaults() {
	if c.Timeout <= 0 {
		c.Timeout = 15 * time.Second
	}
	if len(c.RetrySchedule) == 0 {
		c.RetrySchedule = domain.DefaultRetrySchedule
	}
	if c.DisableAfter <= 0 {
		c.DisableAfter = 5 * 24 * time.Hour
	}
	if c.RotationOverlap <= 0 {
		c.RotationOverlap = 24 * time.Hour
	}
	if c.Parallel <= 0 {
		c.Parallel = 32
	}
	if c.Window < c.Parallel {
		c.Window = 16 * c.Parallel
	}
	if c.Lease <= 0 {
		c.Lease = 30 * time.Second
	}
}

func (s *Server) registerWebhookRoutes(r *mux.Router) {
	r.HandleFunc("/integrations/connections/{id}/rotate-secret", s.native("webhooks:write", s.handleWebhookRotate)).Methods("POST")
	r.HandleFunc("/integrations/connections/{id}/enable", s.native("webhooks:write", s.handleWebhookEnable)).Methods("POST")
	r.HandleFunc("/integrations/connections/{id}/deliveries", s.native("webhooks:read", s.handleWebhookDeliveries)).Methods("GET")
	r.HandleFunc("/integrations/connections/{id}/replay", s.native("webhooks:write", s.handleWebhookReplay)).Methods("POST")
}

// deliveryJSON is one delivery attempt on the native face.
type deliveryJSON struct {
	EventID          string     `json:"event_id"`
	EventType        string     `json:"event_type"`
	ConsistencyToken string     `json:"consistency_token"`
	Attempt          uint64     `json:"attempt"`
	Status           string     `json:"status"`
	HTTPStatus       *int       `json:"http_status"`
	LatencyMS        float64    `json:"latency_ms"`
	Response         string     `json:"response"`
	Error            *string    `json:"error"`
	AttemptedAt      time.Time  `json:"attempted_at"`
	NextAttemptAt    *time.Time `json:"next_attempt_at"`
	ReplayID         *string    `json:"replay_id"`
}

// handleWebhookDeliveries lists the attempts this node made for a webhook,
// oldest first (order=attempted_at.desc for newest first), with a status
// filter.
func (s *Server) handleWebhookDeliveries(w http.ResponseWriter, r *http.Request) error {
	lp, err := parseList(r, []string{"attempted_at"}, "status")
	if err != nil {
		return err
	}
	status, err := enumParam(r, "status", projections.DeliveryStatuses)
	if err != nil {
		return err
	}
	c, err := s.viewConnection(r)
	if err != nil {
		return err
	}
	if c.ApplicationID != domain.AppWebhook {
		return domain.Errorf(domain.CodeNotFound, "connection %s is not a webhook", c.ID)
	}
	desc := len(lp.order) == 1 && lp.order[0].Desc
	items, total, err := s.deliveries.List(caller(r.Context()).Tenant, c.ID, projections.DeliveryFilter{Status: status, Until: until(r)}, desc, lp.page)
	if err != nil {
		return err
	}
	out := make([]deliveryJSON, len(items))
	for i, a := range items {
		out[i] = deliveryJSON{EventID: a.EventID, EventType: a.EventType, ConsistencyToken: formatPos(a.Sequence),
			Attempt: a.Attempt, Status: a.Status, LatencyMS: float64(a.Latency.Microseconds()) / 1000,
			Response: a.Response, Error: nullable(a.Error), AttemptedAt: a.At.UTC(),
			NextAttemptAt: timePtr(a.NextAttempt), ReplayID: nullable(a.Replay)}
		if a.HTTPStatus != 0 {
			st := a.HTTPStatus
			out[i].HTTPStatus = &st
		}
	}
	writeNativeList(w, "webhook deliveries", out, lp.page, total)
	return nil
}

// handleWebhookReplay delivers the tenant's events from a consistency token
// up to the log's head (when asked) again, under their original
// webhook-id, beside the live deliveries; 202: it runs in the background.
func (s *Server) handleWebhookReplay(w http.ResponseWriter, r *http.Request) error {
	id, _, err := s.webhookOf(r)
	if err != nil {
		return err
	}
	m, err := meta(r)
	if err != nil {
		return err
	}
	obj, err := decodeObject(r)
	if err != nil {
		return err
	}
	if err := obj.only("from_consistency_token"); err != nil {
		return err
	}
	raw, ok := obj["from_consistency_token"]
	if !ok {
		return domain.Invalid("from_consistency_token", "is required")
	}
	var tok string
	if err := json.Unmarshal(raw, &tok); err != nil {
		var n uint64
		if err := json.Unmarshal(raw, &n); err != nil {
			return domain.Invalid("from_consistency_token", "must be a consistency token from a mutation response")
		}
		tok = strconv.FormatUint(n, 10)
	}
	from, err := strconv.ParseUint(tok, 10, 64)
	if err != nil || from == 0 {
		return domain.Invalid("from_consistency_token", "must be a consistency token from a mutation response")
	}
	res, replay, err := s.cmd.RequestReplay(r.Context(), m, id, from)
	if err != nil {
		return err
	}
	w.Header().Set("X-Consistency-Token", strconv.FormatUint(res.Position, 10))
	writeJSON(w, http.StatusAccepted, nativeItem{Msg: "replay started", Data: map[string]any{
		"replay_id": replay, "connection_id": id, "from_consistency_token": strconv.FormatUint(from, 10),
	}})
	return nil
}

// handleWebhookRotate gives a webhook a new signing secret, shown once.
// Until the overlap ends (body "overlap_seconds", default the server's
// --webhook-rotation-overlap) every delivery carries a signature under each
// secret, so a receiver can switch at its own pace.
func (s *Server) handleWebhookRotate(w http.ResponseWriter, r *http.Request) error {
	id, _, err := s.webhookOf(r)
	if err != nil {
		return err
	}
	m, err := meta(r)
	if err != nil {
		return err
	}
	overlap := s.webhook.RotationOverlap
	if r.ContentLength != 0 {
		obj, err := decodeObject(r)
		if err != nil {
			return err
		}
		if err := obj.only("overlap_seconds"); err != nil {
			return err
		}
		if raw, ok := obj["overlap_seconds"]; ok {
			var n int64
			if err := json.Unmarshal(raw, &n); err != nil {
				return domain.Invalid("overlap_seconds", "must be a whole number of seconds")
			}
			if n < 0 || n > int64(domain.MaxRotationOverlap.Seconds()) {
				return domain.Invalid("overlap_seconds", "must be from 0 to %d", int64(domain.MaxRotationOverlap.Seconds()))
			}
			overlap = time.Duration(n) * time.Second
		}
	}
	res, err := s.cmd.RotateWebhookSecret(r.Context(), m, id, overlap, s.secrets)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeMutation(w, http.StatusOK, "secret rotated; the new secret is shown only once", res.Result, struct {
		connectionJSON
		Secret string `json:"secret"`
	}{connectionFromState(res.Connection), res.Secret})
	return nil
}

// handleWebhookEnable resumes a disabled webhook from the event that failed.
func (s *Server) handleWebhookEnable(w http.ResponseWriter, r *http.Request) error {
	id, _, err := s.webhookOf(r)
	if err != nil {
		return err
	}
	m, err := meta(r)
	if err != nil {
		return err
	}
	res, err := s.cmd.EnableWebhook(r.Context(), m, id)
	if err != nil {
		return err
	}
	writeMutation(w, http.StatusOK, "webhook enabled", res.Result, connectionFromState(res.Connection))
	return nil
}
