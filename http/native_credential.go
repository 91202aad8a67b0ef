package http

import (
	"errors"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/gorilla/mux"

	"github.com/portcullis/portcullis/domain"
	"github.com/portcullis/portcullis/projections"
)

func (s *Server) registerCredentialRoutes(r *mux.Router) {
	// The fixed paths come before /{id}, which would otherwise take them.
	r.HandleFunc("/access-credentials", s.native("access-credentials:read", s.handleCredentialList)).Methods("GET")
	r.HandleFunc("/access-credentials", s.native("access-credentials:write", s.handleCredentialCreate)).Methods("POST")
	r.HandleFunc("/access-credentials/reserved", s.native("access-credentials:read", s.handleCredentialReserved)).Methods("GET")
	r.HandleFunc("/access-credentials/stats", s.native("access-credentials:read", s.handleCredentialStats)).Methods("GET")
	r.HandleFunc("/access-credentials/suggest-id", s.native("access-credentials:read", s.handleCredentialSuggestID)).Methods("GET")
	r.HandleFunc("/access-credentials/assignments", s.native("access-credentials:read", s.handleCredentialAssignments)).Methods("GET")
	r.HandleFunc("/access-credentials/assign", s.native("access-credentials:write", s.handleCredentialAssign)).Methods("POST")
	r.HandleFunc("/access-credentials/return", s.native("access-credentials:write", s.handleCredentialReturn)).Methods("POST")
	// Confirming receipt is open to the individual themselves (X-Token);
	// the handler checks the permission for everyone else.
	r.HandleFunc("/access-credentials/confirm", s.native("", s.handleCredentialConfirm)).Methods("POST")
	r.HandleFunc("/access-credentials/{id}", s.native("access-credentials:read", s.handleCredentialView)).Methods("GET")
	r.HandleFunc("/access-credentials/{id}", s.native("access-credentials:write", s.handleCredentialUpdate)).Methods("PATCH")
	r.HandleFunc("/access-credentials/{id}", s.native("access-credentials:delete", s.handleCredentialDelete)).Methods("DELETE")
	r.HandleFunc("/access-credentials/{id}/history", s.native("access-credentials:read", s.handleHistory(domain.AggregateCredential,
		"access credential", renderAs(credentialFromView, func(c projections.Credential) bool { return c.Deleted })))).Methods("GET")
	r.HandleFunc("/stats/credentials", s.native("stats:read", s.handleCredentialStats)).Methods("GET")
}

// credentialJSON is an access credential on the native face. Times are in
// UTC (see individualJSON); unset optional fields are null, linked_to is
// always a list.
type credentialJSON struct {
	ID               string     `json:"id"`
	CredentialID     string     `json:"credential_id"`
	CredentialName   *string    `json:"credential_name"`
	Type             string     `json:"type"`
	Status           string     `json:"status"`
	ValidFrom        *time.Time `json:"valid_from"`
	ValidUntil       *time.Time `json:"valid_until"`
	Source           string     `json:"source"`
	Counter          int        `json:"counter"`
	DeleteProtected  bool       `json:"delete_protected"`
	StatusAssignment string     `json:"status_assignment"`
	AssignedTo       *string    `json:"assigned_to"`
	LinkedTo         []string   `json:"linked_to"`
	DueDate          *time.Time `json:"due_date"`
	DueReason        *string    `json:"due_reason"`
	CreatedAt        time.Time  `json:"created_at"`
	UpdatedAt        time.Time  `json:"updated_at"`
}

// nullableTime renders the zero time as JSON null, any other in UTC.
func nullableTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func linkedList(ids []string) []string {
	if ids == nil {
		return []string{}
	}
	return ids
}

func credentialFromView(v projections.Credential) credentialJSON {
	return credentialJSON{ID: v.ID, CredentialID: v.CredentialID, CredentialName: nullable(v.CredentialName),
		Type: v.Type, Status: v.Status, ValidFrom: nullableTime(v.ValidFrom), ValidUntil: nullableTime(v.ValidUntil),
		Source: v.Source, Counter: v.Counter, DeleteProtected: v.DeleteProtected, StatusAssignment: v.AssignmentStatus,
		AssignedTo: nullable(v.AssignedTo), LinkedTo: linkedList(v.LinkedTo), DueDate: nullableTime(v.DueDate),
		DueReason: nullable(v.DueReason), CreatedAt: v.CreatedAt.UTC(), UpdatedAt: v.UpdatedAt.UTC()}
}

func credentialFromState(c domain.Credential) credentialJSON {
	out := credentialJSON{ID: c.ID, CredentialID: c.CredentialID, CredentialName: nullable(c.CredentialName),
		Type: c.Type, Status: c.Status, ValidFrom: nullableTime(c.ValidFrom), ValidUntil: nullableTime(c.ValidUntil),
		Source: c.Source, Counter: c.Counter, DeleteProtected: c.DeleteProtected, StatusAssignment: c.AssignmentStatus(),
		LinkedTo: linkedList(c.LinkedTo), CreatedAt: c.CreatedAt.UTC(), UpdatedAt: c.UpdatedAt.UTC()}
	if h := c.Holder; h != nil {
		out.AssignedTo, out.DueDate, out.DueReason = nullable(h.IndividualID), nullableTime(h.DueDate), nullable(h.DueReason)
	}
	return out
}

// credentialFilterParams are the filters of the credential lists.
var credentialFilterParams = []string{"status", "type", "status_assignment", "assigned_to", "access_point_id", "search", "as_of"}

// credentialFilter reads the list filters present in the query.
func credentialFilter(r *http.Request) (projections.CredentialFilter, error) {
	var f projections.CredentialFilter
	var err error
	q := r.URL.Query()
	if f.Status, err = enumParam(r, "status", domain.CredentialStatuses); err != nil {
		return f, err
	}
	if f.Type, err = enumParam(r, "type", domain.CredentialTypes); err != nil {
		return f, err
	}
	if f.Assignment, err = enumParam(r, "status_assignment", domain.AssignmentStatuses); err != nil {
		return f, err
	}
	if f.Holder, err = idParam(r, "assigned_to"); err != nil {
		return f, err
	}
	if f.AccessPointID, err = idParam(r, "access_point_id"); err != nil {
		return f, err
	}
	f.Search = q.Get("search")
	return f, nil
}

// idParam reads an optional query parameter that must be an id.
func idParam(r *http.Request, name string) (string, error) {
	v := r.URL.Query().Get(name)
	if v != "" && !domain.ValidToken(v) {
		return "", domain.Invalid(name, "is not a valid id")
	}
	return v, nil
}

func (s *Server) handleCredentialList(w http.ResponseWriter, r *http.Request) error {
	lp, err := parseList(r, projections.CredentialOrderFields, credentialFilterParams...)
	if err != nil {
		return err
	}
	f, err := credentialFilter(r)
	if err != nil {
		return err
	}
	return s.writeCredentialList(w, r, "access credentials", f, lp)
}

// handleCredentialReserved lists the credentials reserved for someone who
// has not confirmed receipt yet: the main list with status_assignment
// fixed to pending.
func (s *Server) handleCredentialReserved(w http.ResponseWriter, r *http.Request) error {
	lp, err := parseList(r, projections.CredentialOrderFields, "status", "type", "assigned_to", "access_point_id", "search", "as_of")
	if err != nil {
		return err
	}
	f, err := credentialFilter(r)
	if err != nil {
		return err
	}
	f.Assignment = domain.AssignmentPending
	return s.writeCredentialList(w, r, "reserved access credentials", f, lp)
}

// writeCredentialList answers one page of a credential list, as of a past
// instant when the request names one (as_of).
func (s *Server) writeCredentialList(w http.ResponseWriter, r *http.Request, msg string, f projections.CredentialFilter, lp listParams) error {
	items, total, err := s.credentials(w, r, f, lp)
	if err != nil {
		return err
	}
	out := make([]credentialJSON, len(items))
	for i, v := range items {
		out[i] = credentialFromView(v)
	}
	writeNativeList(w, msg, out, lp.page, total)
	return nil
}

// credentials reads a page of credentials, live or as of the request's
// as_of.
func (s *Server) credentials(w http.ResponseWriter, r *http.Request, f projections.CredentialFilter, lp listParams) ([]projections.Credential, int, error) {
	pos, past, err := s.asOf(w, r)
	if err != nil {
		return nil, 0, err
	}
	if past {
		return s.read(r).CredentialsAsOf(caller(r.Context()).Tenant, f, lp.order, lp.page, pos)
	}
	return s.read(r).Credentials(caller(r.Context()).Tenant, f, lp.order, lp.page)
}

func (s *Server) handleCredentialView(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	pos, past, err := s.asOf(w, r)
	if err != nil {
		return err
	}
	var v projections.Credential
	var ok bool
	if past {
		v, ok, err = s.read(r).CredentialAsOf(caller(r.Context()).Tenant, id, pos)
	} else {
		v, ok, err = s.read(r).Credential(caller(r.Context()).Tenant, id)
	}
	if err != nil {
		return err
	}
	if !ok {
		return domain.Errorf(domain.CodeNotFound, "access credential %s not found", id)
	}
	w.Header().Set("ETag", etag(v.Version))
	writeJSON(w, http.StatusOK, nativeItem{Msg: "access credential", Data: credentialFromView(v)})
	return nil
}

// credentialFields are the fields a client may send; status_assignment,
// assigned_to, linked_to, due_date and due_reason change through assign,
// return and link, and are refused here by name.
var credentialFields = []string{"credential_id", "credential_name", "type", "status", "valid_from", "valid_until",
	"source", "counter", "delete_protected"}

// derivedFields are the credential fields only other routes change, and
// what a client is told about each.
var derivedFields = [][2]string{
	{"id", "is assigned by the server"}, {"status_assignment", "changes through assign, confirm and return"},
	{"assigned_to", "changes through assign and return"}, {"due_date", "is set by assign"},
	{"due_reason", "is set by assign"}, {"linked_to", "changes through the access-points link routes"},
	{"created_at", "is set by the server"}, {"updated_at", "is set by the server"},
}

// refuseDerived names the first field of the body that only other routes
// change.
func refuseDerived(obj object) error {
	for _, f := range derivedFields {
		if _, ok := obj[f[0]]; ok {
			return domain.Invalid(f[0], "%s", f[1])
		}
	}
	return nil
}

// credentialPatch reads the client-set fields of a create or update body.
func credentialPatch(obj object) (domain.CredentialPatch, *string, error) {
	var p domain.CredentialPatch
	var status *string
	var err error
	if err := refuseDerived(obj); err != nil {
		return p, nil, err
	}
	if err := obj.only(credentialFields...); err != nil {
		return p, nil, err
	}
	for _, f := range []struct {
		name     string
		dst      **string
		nullable bool
	}{
		{"credential_id", &p.CredentialID, false}, {"credential_name", &p.CredentialName, true},
		{"type", &p.Type, false}, {"status", &status, false}, {"source", &p.Source, false},
	} {
		if *f.dst, err = obj.strPtr(f.name, f.nullable); err != nil {
			return p, nil, err
		}
	}
	if p.ValidFrom, err = obj.timestamp("valid_from", true); err != nil {
		return p, nil, err
	}
	if p.ValidUntil, err = obj.timestamp("valid_until", true); err != nil {
		return p, nil, err
	}
	if p.Counter, err = obj.integer("counter", 0, 1_000_000); err != nil {
		return p, nil, err
	}
	if p.DeleteProtected, err = obj.boolean("delete_protected"); err != nil {
		return p, nil, err
	}
	return p, status, nil
}

func (s *Server) handleCredentialCreate(w http.ResponseWriter, r *http.Request) error {
	m, err := meta(r)
	if err != nil {
		return err
	}
	obj, err := decodeObject(r)
	if err != nil {
		return err
	}
	p, status, err := credentialPatch(obj)
	if err != nil {
		return err
	}
	var in domain.CredentialFields
	deref := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	deref(&in.CredentialID, p.CredentialID)
	deref(&in.CredentialName, p.CredentialName)
	deref(&in.Type, p.Type)
	deref(&in.Status, status)
	deref(&in.Source, p.Source)
	if p.ValidFrom != nil {
		in.ValidFrom = *p.ValidFrom
	}
	if p.ValidUntil != nil {
		in.ValidUntil = *p.ValidUntil
	}
	if p.Counter != nil {
		in.Counter = *p.Counter
	}
	if p.DeleteProtected != nil {
		in.DeleteProtected = *p.DeleteProtected
	}
	res, err := s.cmd.CreateCredential(r.Context(), m, in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/access-credentials/"+res.Credential.ID)
	writeMutation(w, http.StatusCreated, "access credential created", res.Result, credentialFromState(res.Credential))
	return nil
}

func (s *Server) handleCredentialUpdate(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
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
	p, status, err := credentialPatch(obj)
	if err != nil {
		return err
	}
	res, err := s.cmd.UpdateCredential(r.Context(), m, id, p, status)
	if err != nil {
		return err
	}
	writeMutation(w, http.StatusOK, "access credential updated", res.Result, credentialFromState(res.Credential))
	return nil
}

func (s *Server) handleCredentialDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	m, err := meta(r)
	if err != nil {
		return err
	}
	res, err := s.cmd.DeleteCredential(r.Context(), m, id)
	if err != nil {
		return err
	}
	writeMutation(w, http.StatusOK, "access credential deleted", res.Result, credentialFromState(res.Credential))
	return nil
}

// credentialStatsJSON is the answer of both stats routes. Every count is
// kept by the read model as events arrive, or added up from per-day
// counters, so the answer costs the same at any number of credentials.
type credentialStatsJSON struct {
	Total              int            `json:"total"`
	ByStatus           map[string]int `json:"by_status"`
	ByType             map[string]int `json:"by_type"`
	ByStatusAssignment map[string]int `json:"by_status_assignment"`
	Expired            int            `json:"expired"`
	Overdue            int            `json:"overdue"`
	DueSoon            int            `json:"due_soon"`
	DueSoonDays        int            `json:"due_soon_days"`
}

func (s *Server) handleCredentialStats(w http.ResponseWriter, r *http.Request) error {
	if err := queryOnly(r); err != nil {
		return err
	}
	st, err := s.read(r).CredentialStats(caller(r.Context()).Tenant, now(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, nativeItem{Msg: "access credential stats", Data: credentialStatsJSON{
		Total: st.Total, ByStatus: st.ByStatus, ByType: st.ByType, ByStatusAssignment: st.ByAssignmentStatus,
		Expired: st.Expired, Overdue: st.Overdue, DueSoon: st.DueSoon,
		DueSoonDays: int(projections.DueSoonWindow / (24 * time.Hour)),
	}})
	return nil
}

func (s *Server) handleCredentialSuggestID(w http.ResponseWriter, r *http.Request) error {
	if err := queryOnly(r); err != nil {
		return err
	}
	id, scheme, err := s.read(r).SuggestCredentialID(caller(r.Context()).Tenant)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, nativeItem{Msg: "suggested access credential id",
		Data: map[string]string{"credential_id": id, "scheme": scheme}})
	return nil
}

// queryOnly refuses query parameters other than allowed and the
// consistency token, for GETs that are not lists.
func queryOnly(r *http.Request, allowed ...string) error {
	keys := slices.Sorted(maps.Keys(r.URL.Query()))
	for _, k := range keys {
		if k != "consistency_token" && !slices.Contains(allowed, k) {
			return domain.Invalid(k, "unknown query parameter")
		}
	}
	return nil
}

// prefixField names a field of a nested object by its path, so that an
// error in "metadata" says "metadata.notes".
func prefixField(prefix string, err error) error {
	var e *domain.Error
	if errors.As(err, &e) && e.Field != "" {
		out := *e
		out.Field = prefix + "." + e.Field
		return &out
	}
	return err
}
