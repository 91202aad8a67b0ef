package http

import (
	"context"
	"net/http"
	"time"

	"github.com/portcullis/portcullis/domain"
	"github.com/portcullis/portcullis/projections"
)

// Time travel on the native face: a GET with as_of=<RFC 3339 time> answers
// with the state at that instant, from the read models' history (see
// projections/asof.go). The instant becomes a log position by the timeline
// (projections.PositionAt), sent back as X-As-Of-Position; a resource then
// answers from its *AsOf read functions with its usual rendering.

// asOf reads as_of. ok is false when the request has none. Before it maps
// the instant to a position it waits until the read models have reached the
// log's head, so an instant that has just passed is answered in full.
func (s *Server) asOf(w http.ResponseWriter, r *http.Request) (pos uint64, ok bool, err error) {
	v, given := r.URL.Query()["as_of"]
	if !given {
		return 0, false, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v[0])
	if err != nil || len(v) > 1 {
		return 0, false, domain.Invalid("as_of", "must be one RFC 3339 time, e.g. 2026-11-22T08:00:00Z")
	}
	if t.After(time.Now()) {
		return 0, false, domain.Invalid("as_of", "is in the future; the state at a later instant is not known yet")
	}
	if pos, err = s.positionAt(r.Context(), t); err != nil {
		return 0, false, err
	}
	w.Header().Set("X-As-Of-Position", formatPos(pos))
	return pos, true, nil
}

// positionAt maps an instant to the log position as of it, once the read
// models have reached the log's head, so an instant that has just passed
// is answered in full.
func (s *Server) positionAt(ctx context.Context, t time.Time) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, s.wait)
	defer cancel()
	head, err := s.cmd.Head(ctx)
	if err == nil {
		err = s.runner.WaitFor(ctx, head)
	}
	if err != nil {
		return 0, domain.Errorf(domain.CodeUnavailable, "the read models have not caught up with the log yet; retry")
	}
	return s.db.PositionAt(t)
}

// asOfPosition is asOf for a list filter: nil without as_of.
func (s *Server) asOfPosition(w http.ResponseWriter, r *http.Request) (*uint64, error) {
	pos, past, err := s.asOf(w, r)
	if err != nil || !past {
		return nil, err
	}
	return &pos, nil
}

// viewAsOf reads one record: live, or with as_of as it stood then, from
// the history of its read model T.
func viewAsOf[T any](s *Server, w http.ResponseWriter, r *http.Request, aggType, id string, live func() (T, bool, error)) (T, bool, error) {
	pos, past, err := s.asOf(w, r)
	if err != nil || !past {
		if err != nil {
			var zero T
			return zero, false, err
		}
		return live()
	}
	return projections.RecordAsOf[T](s.db, caller(r.Context()).Tenant, domain.Ref{Type: aggType, ID: id}, pos)
}
