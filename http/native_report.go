package http

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/portcullis/portcullis/domain"
)

func (s *Server) registerReportRoutes(r *mux.Router) {
	r.HandleFunc("/reports/access-window", s.native("access-decisions:read", s.handleAccessWindow)).Methods("GET")
}

// Bounds of an access-window report: a quarter at most, and a stretch of the
// log a request can walk in reasonable time.
const (
	maxAccessWindow        = 92 * 24 * time.Hour
	maxAccessWindowChanges = 5000
)

// accessWindowEntry is one person who could have opened the door.
type accessWindowEntry struct {
	IndividualID     string       `json:"individual_id"`
	FirstAllowedAt   time.Time    `json:"first_allowed_at"`
	Reasons          []reasonJSON `json:"reasons"`
	ConsistencyToken string       `json:"consistency_token"`
}

// handleAccessWindow answers who could have opened an access point at some
// moment between from and to, as the system knew it at each moment, and
// why: for each person, the first moment and the credential and rule that
// let them in. The log between the two instants is cut where any record the
// decision reads changed; each stretch is decided with the records as they
// stood then (domain.FirstAllowed).
func (s *Server) handleAccessWindow(w http.ResponseWriter, r *http.Request) error {
	lp, err := parseList(r, nil, "access_point_id", "from", "to")
	if err != nil {
		return err
	}
	q := r.URL.Query()
	apID := q.Get("access_point_id")
	if apID == "" {
		return domain.Invalid("access_point_id", "is required")
	}
	if !domain.ValidToken(apID) {
		return domain.Invalid("access_point_id", "is not a valid id")
	}
	var bounds [2]time.Time
	for i, name := range []string{"from", "to"} {
		v := q.Get(name)
		if v == "" {
			return domain.Invalid(name, "is required (RFC 3339)")
		}
		if bounds[i], err = time.Parse(time.RFC3339Nano, v); err != nil {
			return domain.Invalid(name, "must be an RFC 3339 time, e.g. 2026-11-17T08:00:00+01:00")
		}
	}
	from, to := bounds[0], bounds[1]
	switch {
	case !to.After(from):
		return domain.Invalid("to", "must be after from")
	case to.Sub(from) > maxAccessWindow:
		return domain.Invalid("to", "must be at most 92 days after from")
	case to.After(now(r)):
		return domain.Invalid("to", "is in the future; what was possible then is not known yet")
	}
	fromPos, err := s.positionAt(r.Context(), from)
	if err != nil {
		return err
	}
	toPos, err := s.db.PositionAt(to)
	if err != nil {
		return err
	}
	tenant := caller(r.Context()).Tenant
	people, changes, err := s.read(r).AccessWindow(tenant, apID, fromPos, toPos)
	if err != nil {
		return err
	}
	if len(changes) > maxAccessWindowChanges {
		return domain.Invalid("to", "the window covers %d changes to the records deciding this door, more than %d; narrow it",
			len(changes), maxAccessWindowChanges)
	}
	// The stretches: the state at from, then one per change, each holding
	// from its event's time (or from, if earlier) to the next.
	type stretch struct {
		pos   uint64
		start time.Time
	}
	stretches := []stretch{{fromPos, from}}
	for _, c := range changes {
		stretches = append(stretches, stretch{c.Pos, maxTime(c.At, from)})
	}
	var found []accessWindowEntry
	for _, person := range people {
		for i, st := range stretches {
			end := to
			if i+1 < len(stretches) {
				end = stretches[i+1].start
			}
			if !end.After(st.start) {
				continue
			}
			in, err := s.read(r).DecisionInputAsOf(tenant, person, apID, st.start, st.pos)
			var de *domain.Error
			if errors.As(err, &de) && de.Code == domain.CodeNotFound {
				continue // the person or the door did not exist in this stretch
			}
			if err != nil {
				return err
			}
			d, when, ok := domain.FirstAllowed(in, st.start, end)
			if !ok {
				continue
			}
			e := accessWindowEntry{IndividualID: person, FirstAllowedAt: when.UTC(), ConsistencyToken: formatPos(st.pos)}
			for _, rs := range d.Reasons {
				e.Reasons = append(e.Reasons, reasonJSON{Code: rs.Code, Message: rs.Message,
					CredentialID: nullable(rs.CredentialID), RuleID: nullable(rs.RuleID), SpaceID: nullable(rs.SpaceID)})
			}
			found = append(found, e)
			break
		}
	}
	slices.SortFunc(found, func(a, b accessWindowEntry) int {
		if c := a.FirstAllowedAt.Compare(b.FirstAllowedAt); c != 0 {
			return c
		}
		return strings.Compare(a.IndividualID, b.IndividualID)
	})
	lo, hi := lp.page.Bounds(len(found))
	writeNativeList(w, "who could open the access point in the window", found[lo:hi], lp.page, len(found))
	return nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
