package http

import (
	"bufio"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/portcullis/portcullis/domain"
	"github.com/portcullis/portcullis/eventstore"
)

func (s *Server) registerEventRoutes(r *mux.Router) {
	r.HandleFunc("/events", s.nativeNow("events:read",
		"the feed is live; read the past with GET /audit-logs?as_of= or resume the feed with Last-Event-ID",
		s.handleEvents)).Methods("GET")
}

// handleEvents is the live feed: the caller's tenant's events as
// Server-Sent Events, each with its stream position as id, its type as
// event name and its public JSON form (the webhook body) as data. Only
// events the caller's role may read are sent (domain.EventReadPermission),
// never internal ones. Last-Event-ID resumes after that position; without
// it the feed starts with the next event. A comment line every heartbeat
// interval keeps proxies from closing an idle stream. The stream is exempt
// from write timeouts and ends when the server shuts down.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) error {
	p := caller(r.Context())
	var from uint64
	if v := r.Header.Get("Last-Event-ID"); v != "" {
		last, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return domain.Invalid("Last-Event-ID", "must be the id of an event this feed sent")
		}
		from = last + 1
	} else {
		head, err := s.cmd.Head(r.Context())
		if err != nil {
			return err
		}
		from = head + 1
	}
	if err := onlyParams(r); err != nil {
		return err
	}
	sub, err := s.store.SubscribeTenant(r.Context(), p.Tenant, from)
	if err != nil {
		return err
	}
	defer sub.Stop()
	events := make(chan domain.Event, 64)
	go func() {
		defer close(events)
		for {
			e, _, err := sub.Next()
			if err != nil {
				return
			}
			if e.Type == "" {
				continue // positions that hold no event (a voided command)
			}
			select {
			case events <- e:
			case <-r.Context().Done():
				return
			}
		}
	}()

	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriter(w)
	flush := func() bool {
		if bw.Flush() != nil {
			return false
		}
		return rc.Flush() == nil
	}
	_, _ = bw.WriteString(": portcullis live feed of tenant " + p.Tenant + "\n\n")
	if !flush() {
		return nil
	}
	beat := time.NewTicker(s.heartbeat)
	defer beat.Stop()
	for {
		select {
		case <-r.Context().Done():
			return nil
		case <-s.closing:
			_, _ = bw.WriteString(": server shutting down; reconnect with Last-Event-ID\n\n")
			flush()
			return nil
		case <-beat.C:
			_, _ = bw.WriteString(": heartbeat\n\n")
			if !flush() {
				return nil
			}
		case e, ok := <-events:
			if !ok {
				return nil
			}
			if !domain.PublicEventType(e.Type) || !domain.Can(p.Permissions, domain.EventReadPermission(e)) {
				continue
			}
			data, err := eventstore.PublicJSON(e)
			if err != nil {
				s.logger.Error("live feed: render event", "seq", e.Sequence, "err", err)
				continue
			}
			_, _ = bw.WriteString("id: " + strconv.FormatUint(e.Sequence, 10) + "\nevent: " + e.Type + "\ndata: ")
			_, _ = bw.Write(data)
			_, _ = bw.WriteString("\n\n")
			if len(events) == 0 && !flush() {
				return nil
			}
		}
	}
}

// onlyParams refuses every query parameter: the feed takes none.
func onlyParams(r *http.Request) error {
	for k := range r.URL.Query() {
		if k == "consistency_token" {
			continue
		}
		return domain.Invalid(k, "unknown query parameter (the feed resumes with the Last-Event-ID header)")
	}
	return nil
}
