package http

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/portcullis/portcullis/domain"
)

func (s *Server) registerDecisionRoutes(r *mux.Router) {
	r.HandleFunc("/access-decisions", s.native("access-decisions:read", s.handleAccessDecision)).Methods("GET")
}

// decisionJSON is an access decision on the native face.
type decisionJSON struct {
	Allowed          bool         `json:"allowed"`
	Reasons          []reasonJSON `json:"reasons"`
	IndividualID     string       `json:"individual_id"`
	AccessPointID    string       `json:"access_point_id"`
	At               time.Time    `json:"at"`
	TimeZone         string       `json:"time_zone"`
	ConsistencyToken string       `json:"consistency_token"`
}

type reasonJSON struct {
	Code         string  `json:"code"`
	Message      string  `json:"message"`
	CredentialID *string `json:"credential_id"`
	RuleID       *string `json:"rule_id"`
	SpaceID      *string `json:"space_id"`
}

var decisionParams = []string{"individual_id", "access_point_id", "at", "as_of", "consistency_token"}

// handleAccessDecision answers whether an individual may open an access
// point at a moment (at, default now), and why. With as_of it answers as
// the system knew it at that instant; consistency_token is then the
// position that instant maps to, otherwise the read models' position.
func (s *Server) handleAccessDecision(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	for k, v := range q {
		if !slices.Contains(decisionParams, k) {
			return domain.Invalid(k, "unknown query parameter (allowed: %s)", strings.Join(decisionParams, ", "))
		}
		if len(v) > 1 {
			return domain.Invalid(k, "given more than once")
		}
	}
	ids := map[string]string{}
	for _, name := range []string{"individual_id", "access_point_id"} {
		v := q.Get(name)
		if v == "" {
			return domain.Invalid(name, "is required")
		}
		if !domain.ValidToken(v) {
			return domain.Invalid(name, "is not a valid id")
		}
		ids[name] = v
	}
	at := now(r)
	if v := q.Get("at"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return domain.Invalid("at", "must be an RFC 3339 time, e.g. 2026-11-17T08:00:00+01:00")
		}
		at = t
	}
	tenant := caller(r.Context()).Tenant
	pos, past, err := s.asOf(w, r)
	if err != nil {
		return err
	}
	var in domain.DecisionInput
	if past {
		in, err = s.read(r).DecisionInputAsOf(tenant, ids["individual_id"], ids["access_point_id"], at, pos)
	} else {
		in, pos, err = s.read(r).DecisionInput(tenant, ids["individual_id"], ids["access_point_id"], at)
	}
	if err != nil {
		return err
	}
	d := domain.Decide(in)
	out := decisionJSON{Allowed: d.Allowed, Reasons: make([]reasonJSON, len(d.Reasons)),
		IndividualID: ids["individual_id"], AccessPointID: ids["access_point_id"], At: at.UTC(),
		TimeZone: in.Location.String(), ConsistencyToken: formatPos(pos)}
	for i, rs := range d.Reasons {
		out.Reasons[i] = reasonJSON{Code: rs.Code, Message: rs.Message,
			CredentialID: nullable(rs.CredentialID), RuleID: nullable(rs.RuleID), SpaceID: nullable(rs.SpaceID)}
	}
	msg := "access denied"
	if d.Allowed {
		msg = "access allowed"
	}
	writeJSON(w, http.StatusOK, nativeItem{Msg: msg, Data: out})
	return nil
}
