package http

import (
	"net/http"
	"slices"
	"time"

	"github.com/gorilla/mux"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/portcullis/portcullis/domain"
	"github.com/portcullis/portcullis/projections"
)

// History on the native face: GET /{resource}/{id}/history lists every
// version of a record, oldest first, each with the event that made it, its
// actor, face and time, and the record as it stood afterwards (null after a
// deletion). One handler serves every resource whose read model keeps
// versions (projections.History, written by putRecord); a resource opts in
// with one route:
//
//	r.HandleFunc("/locations/{id}/history", s.native("locations:read",
//		s.handleHistory(domain.AggregateLocation, "location", renderAs(locationFromView, nil)))).Methods("GET")
//
// or one row in registerHistoryRoutes. Without a renderer (nil) a version
// is shown field by field as stored, secrets left out (renderFields).

// registerHistoryRoutes mounts the history of the resources whose files do
// not mount it themselves (individuals do: a person may read their own).
func (s *Server) registerHistoryRoutes(r *mux.Router) {
	for _, h := range []struct {
		resource, aggType, what string
		render                  historyRenderer
	}{
		{"service-users", domain.AggregateServiceUser, "service user",
			renderAs(serviceUserFromView, func(u projections.ServiceUser) bool { return u.Deleted })},
		{"oauth-clients", domain.AggregateOAuthClient, "OAuth client",
			renderAs(oauthClientFromView, func(c projections.OAuthClient) bool { return c.Deleted })},
	} {
		r.HandleFunc("/"+h.resource+"/{id}/history", s.native(h.resource+":read", s.handleHistory(h.aggType, h.what, h.render))).Methods("GET")
	}
}

// versionJSON is one entry of a record's history.
type versionJSON struct {
	Version          uint64    `json:"version"`
	EventType        string    `json:"event_type"`
	Actor            string    `json:"actor"`
	RequestID        string    `json:"request_id,omitempty"`
	OccurredAt       time.Time `json:"occurred_at"`
	ConsistencyToken string    `json:"consistency_token"`
	Data             any       `json:"data"`
}

// historyRenderer turns the record a version holds into its JSON on the
// face: nil for a version that deleted the record.
type historyRenderer func(v projections.Version) (any, error)

// renderAs renders versions of read model T with the same function the
// resource's GET uses, so a version reads like the record did. deleted
// tells a deletion's version apart; nil means records are never kept past
// deletion.
func renderAs[T, J any](toJSON func(T) J, deleted func(T) bool) historyRenderer {
	return func(v projections.Version) (any, error) {
		var rec T
		if err := v.DecodeState(&rec); err != nil {
			return nil, err
		}
		if deleted != nil && deleted(rec) {
			return nil, nil
		}
		return toJSON(rec), nil
	}
}

// renderFields renders a version of any read model field by field, by its
// stored names, without bookkeeping and without any field
// domain.SecretField names: history for a resource that has no JSON of its
// own yet.
func renderFields(v projections.Version) (any, error) {
	var m map[string]any
	if err := msgpack.Unmarshal(v.State, &m); err != nil {
		return nil, err
	}
	if m["deleted"] == true {
		return nil, nil
	}
	out := make(map[string]any, len(m))
	for k, val := range m {
		if !domain.SecretField(k) && !slices.Contains([]string{"version", "created_seq", "deleted"}, k) {
			if t, ok := val.(time.Time); ok {
				val = t.UTC()
			}
			if _, raw := val.([]byte); !raw {
				out[k] = val
			}
		}
	}
	return out, nil
}

// handleHistory serves the history of records of aggregate type aggType;
// what names the resource in a NOT_FOUND.
func (s *Server) handleHistory(aggType, what string, render historyRenderer) handlerFunc {
	if render == nil {
		render = renderFields
	}
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		lp, err := parseList(r, nil)
		if err != nil {
			return err
		}
		versions, total, err := s.read(r).History(caller(r.Context()).Tenant, domain.Ref{Type: aggType, ID: id}, lp.page)
		if err != nil {
			return err
		}
		if total == 0 {
			return domain.Errorf(domain.CodeNotFound, "%s %s not found", what, id)
		}
		out := make([]versionJSON, len(versions))
		for i, v := range versions {
			data, err := render(v)
			if err != nil {
				return err
			}
			out[i] = versionJSON{Version: v.Sequence, EventType: v.EventType, Actor: v.Actor, RequestID: v.RequestID,
				OccurredAt: v.OccurredAt.UTC(), ConsistencyToken: formatPos(v.Sequence), Data: data}
		}
		writeNativeList(w, what+" history", out, lp.page, total)
		return nil
	}
}
