package http

import (
	"context"
	"net/http"
	"time"

	"github.com/portcullis/portcullis/domain"
	"github.com/portcullis/portcullis/projections"
)

// Time travel on the native face: every GET takes as_of=<RFC 3339 time>
// and answers with the state at that instant. The instant becomes a log
// position by the timeline (projections.PositionAt), sent back as
// X-As-Of-Position; the handler then reads the read models as they stood
// at that position (s.read(r), projections.DB.At) with the same code as a
// live read, and takes the instant as its "now" (s.now(r)). nativeAsOf
// does this for every native route before the handler runs and takes
// as_of out of the query, so no handler parses it; the few routes where a
// past instant means nothing (the live feed, signing a checkpoint) refuse
// it (nativeNow).

// pastKey is the context key of a request's as_of.
type pastKey struct{}

// past is a request's as_of: the instant and the position it maps to.
type past struct {
	at  time.Time
	pos uint64
}

// nativeAsOf reads a GET's as_of, maps it to a position and puts it in the
// request's context, with as_of taken out of the query. Other methods are
// left alone (a mutation happens now).
func (s *Server) nativeAsOf(w http.ResponseWriter, r *http.Request) (*http.Request, error) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return r, nil
	}
	q := r.URL.Query()
	v, given := q["as_of"]
	if !given {
		return r, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v[0])
	if err != nil || len(v) > 1 {
		return r, domain.Invalid("as_of", "must be one RFC 3339 time, e.g. 2026-11-22T08:00:00Z")
	}
	if t.After(time.Now()) {
		return r, domain.Invalid("as_of", "is in the future; the state at a later instant is not known yet")
	}
	pos, err := s.positionAt(r.Context(), t)
	if err != nil {
		return r, err
	}
	w.Header().Set("X-As-Of-Position", formatPos(pos))
	q.Del("as_of")
	u := *r.URL
	u.RawQuery = q.Encode()
	r = r.WithContext(context.WithValue(r.Context(), pastKey{}, past{at: t, pos: pos}))
	r.URL = &u
	return r, nil
}

// refuseAsOf is for the routes where as_of means nothing.
func refuseAsOf(r *http.Request, why string) error {
	if _, given := r.URL.Query()["as_of"]; given {
		return domain.Invalid("as_of", "does not apply here: %s", why)
	}
	return nil
}

// asOf is the position of the request's as_of; ok is false without one.
func (s *Server) asOf(_ http.ResponseWriter, r *http.Request) (pos uint64, ok bool, err error) {
	p, ok := r.Context().Value(pastKey{}).(past)
	return p.pos, ok, nil
}

// read is the read models a request reads: live, or as of its as_of.
func (s *Server) read(r *http.Request) *projections.DB {
	if p, ok := r.Context().Value(pastKey{}).(past); ok {
		return s.db.At(p.pos)
	}
	return s.db
}

// now is the request's "now": its as_of instant when it has one.
func now(r *http.Request) time.Time {
	if p, ok := r.Context().Value(pastKey{}).(past); ok {
		return p.at
	}
	return time.Now()
}

// until is the request's as_of instant, zero without one: the bound of
// logs kept by time rather than by log position.
func until(r *http.Request) time.Time {
	if p, ok := r.Context().Value(pastKey{}).(past); ok {
		return p.at
	}
	return time.Time{}
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
