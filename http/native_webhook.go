package http

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/portcullis/portcullis/domain"
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
}

func (s *Server) registerWebhookRoutes(r *mux.Router) {
	r.HandleFunc("/integrations/connections/{id}/rotate-secret", s.native("webhooks:write", s.handleWebhookRotate)).Methods("POST")
	r.HandleFunc("/integrations/connections/{id}/enable", s.native("webhooks:write", s.handleWebhookEnable)).Methods("POST")
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
