package http

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/portcullis/portcullis/domain"
	"github.com/portcullis/portcullis/projections"
)

// The audit log on the native face: GET /audit-logs pages through one
// tenant's entries with a cursor, GET /audit-logs/export streams them all
// as NDJSON or CSV. docs/audit.md describes an entry field by field.

func (s *Server) registerAuditRoutes(r *mux.Router) {
	r.HandleFunc("/audit-logs", s.native("audit-logs:read", s.handleAuditList)).Methods("GET")
	r.HandleFunc("/audit-logs/export", s.native("audit-logs:read", s.handleAuditExport)).Methods("GET")
}

// auditEntryJSON is one audit entry on the native face.
type auditEntryJSON struct {
	Sequence         uint64            `json:"sequence"`
	ConsistencyToken string            `json:"consistency_token"`
	OccurredAt       time.Time         `json:"occurred_at"`
	Tenant           string            `json:"tenant"`
	Actor            string            `json:"actor"`
	Face             *string           `json:"face"`
	RequestID        *string           `json:"request_id"`
	EntityType       string            `json:"entity_type"`
	EntityID         string            `json:"entity_id"`
	Action           string            `json:"action"`
	Changes          []auditChangeJSON `json:"changes"`
}

// auditChangeJSON is one changed field; null before is a creation, null
// after a removal.
type auditChangeJSON struct {
	Field  string          `json:"field"`
	Before json.RawMessage `json:"before"`
	After  json.RawMessage `json:"after"`
}

func auditEntryFromView(a projections.AuditEntry) auditEntryJSON {
	out := auditEntryJSON{Sequence: a.Sequence, ConsistencyToken: formatPos(a.Sequence), OccurredAt: a.OccurredAt.UTC(),
		Tenant: a.Tenant, Actor: a.Actor, Face: nullable(a.Face), RequestID: nullable(a.RequestID),
		EntityType: a.EntityType, EntityID: a.EntityID, Action: a.Action, Changes: make([]auditChangeJSON, len(a.Changes))}
	for i, c := range a.Changes {
		out.Changes[i] = auditChangeJSON{Field: c.Field, Before: c.Before, After: c.After}
	}
	return out
}

// auditListMeta is the native list meta with the cursor of the page and of
// the next one. Counts are null where knowing them would mean counting.
type auditListMeta struct {
	Pagination auditPagination `json:"pagination"`
	Cursor     *string         `json:"cursor"`
	NextCursor *string         `json:"next_cursor"`
}

type auditPagination struct {
	CurrentCount int  `json:"current_count"`
	CurrentPage  int  `json:"current_page"`
	PerPage      int  `json:"per_page"`
	TotalPages   *int `json:"total_pages"`
	TotalItems   *int `json:"total_items"`
}

// auditMaxOffset bounds page-number paging: past it a client must follow
// next_cursor, which seeks instead of skipping.
const auditMaxOffset = 10_000

// auditFilterParams are the query parameters every audit read accepts.
var auditFilterParams = []string{"actor", "entity_type", "entity_id", "action", "from", "to", "tenant"}

// auditQuery reads the filters, the order and the tenant of an audit read.
func (s *Server) auditQuery(r *http.Request, order []domain.Order) (string, projections.AuditQuery, error) {
	q := r.URL.Query()
	var aq projections.AuditQuery
	for _, f := range projections.AuditFilters {
		if v := q.Get(f); v != "" {
			if aq.Equal == nil {
				aq.Equal = map[string]string{}
			}
			aq.Equal[f] = v
		} else if _, given := q[f]; given {
			return "", aq, domain.Invalid(f, "must not be empty")
		}
	}
	for _, b := range []struct {
		name string
		dst  *time.Time
	}{{"from", &aq.From}, {"to", &aq.To}} {
		if v, given := q[b.name]; given {
			t, err := time.Parse(time.RFC3339Nano, v[0])
			if err != nil {
				return "", aq, domain.Invalid(b.name, "must be an RFC 3339 time, e.g. 2026-11-22T08:00:00Z")
			}
			*b.dst = t
		}
	}
	if !aq.From.IsZero() && !aq.To.IsZero() && aq.To.Before(aq.From) {
		return "", aq, domain.Invalid("to", "is before from")
	}
	aq.Desc = len(order) == 1 && order[0].Desc
	if len(order) > 1 {
		return "", aq, domain.Invalid("order", "the audit log has one order: sequence.asc or sequence.desc")
	}
	tenant, err := s.auditTenant(r)
	return tenant, aq, err
}

// auditTenant is the tenant whose log is read: the caller's, or for the
// system admin the one named by "tenant", including domain.SystemTenant,
// where failed authentications that named no tenant are kept.
func (s *Server) auditTenant(r *http.Request) (string, error) {
	p := caller(r.Context())
	tenant := r.URL.Query().Get("tenant")
	if tenant == "" || tenant == p.Tenant {
		return p.Tenant, nil
	}
	if !p.SystemAdmin {
		return "", domain.Errorf(domain.CodeInsufficientPermissions, "only the system admin reads another tenant's audit log")
	}
	if tenant == domain.SystemTenant {
		return tenant, nil
	}
	if _, ok, err := s.cmd.Tenant(r.Context(), tenant); err != nil {
		return "", err
	} else if !ok {
		return "", domain.Invalid("tenant", "no tenant %q", tenant)
	}
	return tenant, nil
}

// parseCursor reads a cursor: the sequence of the last entry of the
// previous page (any consistency token works too).
func parseCursor(v string) (uint64, error) {
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || n == 0 {
		return 0, domain.Invalid("cursor", "must be a next_cursor from a previous page")
	}
	return n, nil
}

var auditOrderFields = []string{"sequence", "occurred_at"}

func (s *Server) handleAuditList(w http.ResponseWriter, r *http.Request) error {
	lp, err := parseList(r, auditOrderFields, append([]string{"cursor"}, auditFilterParams...)...)
	if err != nil {
		return err
	}
	tenant, q, err := s.auditQuery(r, lp.order)
	if err != nil {
		return err
	}
	var cursor *string
	skip := lp.page.Offset()
	if v, given := r.URL.Query()["cursor"]; given {
		if lp.page.Page > 1 {
			return domain.Invalid("cursor", "cannot be combined with page")
		}
		if q.After, err = parseCursor(v[0]); err != nil {
			return err
		}
		cursor = &v[0]
	} else if skip > auditMaxOffset {
		return domain.Invalid("page", "reaches past %d entries; follow meta.next_cursor instead", auditMaxOffset)
	}
	if pos, past, _ := s.asOf(w, r); past {
		// As of an instant: the log up to the position it maps to (its
		// counts are not kept per position, so totals are null).
		if pos == 0 {
			writeJSON(w, http.StatusOK, struct {
				Msg  string           `json:"msg"`
				Data []auditEntryJSON `json:"data"`
				Meta auditListMeta    `json:"meta"`
			}{"audit logs", []auditEntryJSON{}, auditListMeta{Cursor: cursor, Pagination: auditPagination{PerPage: lp.page.Limit, CurrentPage: lp.page.Page}}})
			return nil
		}
		q.UpTo = pos
	}
	entries, more, err := s.db.AuditEntries(tenant, q, skip, lp.page.Limit)
	if err != nil {
		return err
	}
	out := make([]auditEntryJSON, len(entries))
	for i, a := range entries {
		out[i] = auditEntryFromView(a)
	}
	meta := auditListMeta{Cursor: cursor, Pagination: auditPagination{
		CurrentCount: len(out), CurrentPage: lp.page.Page, PerPage: lp.page.Limit}}
	if more {
		next := formatPos(entries[len(entries)-1].Sequence)
		meta.NextCursor = &next
	}
	if cursor == nil {
		// Counts are per filter, not per cursor: only a first or numbered
		// page reports them.
		if total, ok, err := s.db.AuditCount(tenant, q); err != nil {
			return err
		} else if ok {
			pages := (total + lp.page.Limit - 1) / lp.page.Limit
			meta.Pagination.TotalItems, meta.Pagination.TotalPages = &total, &pages
		}
	}
	writeJSON(w, http.StatusOK, struct {
		Msg  string           `json:"msg"`
		Data []auditEntryJSON `json:"data"`
		Meta auditListMeta    `json:"meta"`
	}{"audit logs", out, meta})
	return nil
}

// auditExportChunk is how many entries one read transaction of an export
// takes: the export never holds more, and never keeps a transaction open
// while the client reads.
const auditExportChunk = 500

var auditCSVHeader = []string{"sequence", "occurred_at", "tenant", "actor", "face", "request_id",
	"entity_type", "entity_id", "action", "changes"}

func (s *Server) handleAuditExport(w http.ResponseWriter, r *http.Request) error {
	lp, err := parseList(r, auditOrderFields, append([]string{"format"}, auditFilterParams...)...)
	if err != nil {
		return err
	}
	if r.URL.Query().Has("page") || r.URL.Query().Has("limit") {
		return domain.Invalid("page", "an export has no pages: it streams every matching entry")
	}
	format, err := enumParam(r, "format", []string{"ndjson", "csv"})
	if err != nil {
		return err
	}
	if format == "" {
		format = "ndjson"
	}
	tenant, q, err := s.auditQuery(r, lp.order)
	if err != nil {
		return err
	}
	// The export ends at the position the read models had when it began.
	q.UpTo = s.runner.Position()
	if pos, past, _ := s.asOf(w, r); past {
		q.UpTo = pos // as of an instant: the log up to it
	}
	if q.UpTo == 0 {
		q.UpTo = 1
	}
	if format == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	} else {
		w.Header().Set("Content-Type", "application/x-ndjson")
	}
	w.Header().Set("Content-Disposition", `attachment; filename="audit-log-`+tenant+`.`+format+`"`)
	w.Header().Set("X-Consistency-Token", formatPos(q.UpTo))
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 64<<10)
	cw := csv.NewWriter(bw)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	if format == "csv" {
		_ = cw.Write(auditCSVHeader)
	}
	rc := http.NewResponseController(w)
	for {
		entries, more, err := s.db.AuditEntries(tenant, q, 0, auditExportChunk)
		if err != nil {
			// The status is sent: all that is left is to cut the stream
			// short, which the client sees as a truncated body.
			s.logger.Error("audit export", "err", err)
			panic(http.ErrAbortHandler)
		}
		for _, a := range entries {
			j := auditEntryFromView(a)
			if format == "csv" {
				changes, _ := json.Marshal(j.Changes)
				face, req := "", ""
				if j.Face != nil {
					face = *j.Face
				}
				if j.RequestID != nil {
					req = *j.RequestID
				}
				_ = cw.Write([]string{formatPos(j.Sequence), j.OccurredAt.Format(time.RFC3339Nano), j.Tenant, j.Actor,
					face, req, j.EntityType, j.EntityID, j.Action, string(changes)})
			} else if err := enc.Encode(j); err != nil {
				return nil
			}
		}
		cw.Flush()
		if err := bw.Flush(); err != nil {
			return nil // the client went away
		}
		_ = rc.Flush()
		if !more || len(entries) == 0 {
			return nil
		}
		q.After = entries[len(entries)-1].Sequence
	}
}
