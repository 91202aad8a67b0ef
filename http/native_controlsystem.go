package http

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/portcullis/portcullis/domain"
	"github.com/portcullis/portcullis/projections"
)

// The access control systems views: a tenant's locking systems with the
// counts of what they lock, those in use, and the locking plan of one.
// They read what the locking systems list reads, so they need its
// permission.

func (s *Server) registerControlSystemRoutes(r *mux.Router) {
	r.HandleFunc("/access-control-systems/overview", s.native("locking-systems:read", s.handleControlSystemsOverview)).Methods("GET")
	r.HandleFunc("/access-control-systems/active", s.native("locking-systems:read", s.handleActiveControlSystems)).Methods("GET")
	r.HandleFunc("/access-control-systems/{id}/locking-plan", s.native("locking-systems:read", s.handleLockingPlan)).Methods("GET")
}

// controlSystemJSON is a locking system with the counts of the distinct
// credentials linked to its access points: all of them, those assigned,
// and those reserved pending confirmation.
type controlSystemJSON struct {
	lockingSystemJSON
	LinkedCredentialCount   int `json:"linked_credential_count"`
	AssignedCredentialCount int `json:"assigned_credential_count"`
	PendingCredentialCount  int `json:"pending_credential_count"`
}

func controlSystemFromView(v projections.SystemOverview) controlSystemJSON {
	return controlSystemJSON{lockingSystemJSON: lockingSystemFromView(v.LockingSystem),
		LinkedCredentialCount: v.Credentials.Linked, AssignedCredentialCount: v.Credentials.Assigned,
		PendingCredentialCount: v.Credentials.Pending}
}

// controlSystemSummaryJSON sums up a tenant's access control systems; the
// credential counts are of distinct credentials linked to any access point.
type controlSystemSummaryJSON struct {
	LockingSystems       int `json:"locking_systems"`
	ActiveLockingSystems int `json:"active_locking_systems"`
	AccessPoints         int `json:"access_points"`
	LinkedCredentials    int `json:"linked_credentials"`
	AssignedCredentials  int `json:"assigned_credentials"`
	PendingCredentials   int `json:"pending_credentials"`
}

type controlSystemsOverviewJSON struct {
	Summary        controlSystemSummaryJSON `json:"summary"`
	LockingSystems []controlSystemJSON      `json:"locking_systems"`
}

// pagedObject is a native list whose data is an object holding the page
// (and what the page belongs to) rather than the page alone.
func writePagedObject(w http.ResponseWriter, msg string, data any, page domain.Page, count, total int) {
	writeJSON(w, http.StatusOK, nativeList{Msg: msg, Data: data, Meta: nativeListMeta{Pagination: nativePagination{
		CurrentCount: count, CurrentPage: page.Page, PerPage: page.Limit,
		TotalPages: (total + page.Limit - 1) / page.Limit, TotalItems: total,
	}}})
}

// lockingSystemFilterParams are the filters of every list of locking
// systems.
var lockingSystemFilterParams = []string{"search", "brand", "system_type"}

func lockingSystemFilter(r *http.Request) (projections.LockingSystemFilter, error) {
	f := projections.LockingSystemFilter{Search: r.URL.Query().Get("search"), Brand: r.URL.Query().Get("brand")}
	var err error
	f.SystemType, err = enumParam(r, "system_type", domain.LockingSystemTypes)
	return f, err
}

// handleControlSystemsOverview answers the summary of the tenant's access
// control systems and one page of its locking systems with their counts,
// filtered and ordered as GET /locking-systems.
func (s *Server) handleControlSystemsOverview(w http.ResponseWriter, r *http.Request) error {
	lp, err := parseList(r, projections.LockingSystemOrderFields, lockingSystemFilterParams...)
	if err != nil {
		return err
	}
	f, err := lockingSystemFilter(r)
	if err != nil {
		return err
	}
	sum, items, total, err := s.read(r).ControlSystemsOverview(caller(r.Context()).Tenant, f, lp.order, lp.page)
	if err != nil {
		return err
	}
	out := controlSystemsOverviewJSON{Summary: controlSystemSummaryJSON{LockingSystems: sum.LockingSystems,
		ActiveLockingSystems: sum.ActiveLockingSystems, AccessPoints: sum.AccessPoints,
		LinkedCredentials: sum.Credentials.Linked, AssignedCredentials: sum.Credentials.Assigned,
		PendingCredentials: sum.Credentials.Pending}, LockingSystems: make([]controlSystemJSON, len(items))}
	for i, v := range items {
		out.LockingSystems[i] = controlSystemFromView(v)
	}
	writePagedObject(w, "access control systems overview", out, lp.page, len(items), total)
	return nil
}

// handleActiveControlSystems lists the locking systems in use: those with
// at least one access point.
func (s *Server) handleActiveControlSystems(w http.ResponseWriter, r *http.Request) error {
	lp, err := parseList(r, projections.LockingSystemOrderFields, lockingSystemFilterParams...)
	if err != nil {
		return err
	}
	f, err := lockingSystemFilter(r)
	if err != nil {
		return err
	}
	items, total, err := s.read(r).ActiveSystems(caller(r.Context()).Tenant, f, lp.order, lp.page)
	if err != nil {
		return err
	}
	out := make([]controlSystemJSON, len(items))
	for i, v := range items {
		out[i] = controlSystemFromView(v)
	}
	writeNativeList(w, "active access control systems", out, lp.page, total)
	return nil
}

// planColumnJSON is one access point of a locking plan.
type planColumnJSON struct {
	ID        string  `json:"id"`
	PointName string  `json:"point_name"`
	Label     *string `json:"label"`
	SpaceID   string  `json:"space_id"`
	Status    string  `json:"status"`
}

// planRowJSON is one credential of a locking plan and the access points of
// the plan it opens, in column order.
type planRowJSON struct {
	Credential     credentialJSON `json:"credential"`
	AccessPointIDs []string       `json:"access_point_ids"`
}

type lockingPlanJSON struct {
	LockingSystem lockingSystemJSON `json:"locking_system"`
	AccessPoints  []planColumnJSON  `json:"access_points"`
	Credentials   []planRowJSON     `json:"credentials"`
}

// memberFilterParams are the filters of the lists of a group's linked
// credentials (a locking plan's rows, a space's active assignments).
var memberFilterParams = []string{"status", "type", "status_assignment", "assigned_to", "search"}

// memberFilter reads them; assignments are the status_assignment values
// the list allows.
func memberFilter(r *http.Request, assignments []string) (projections.CredentialFilter, error) {
	var f projections.CredentialFilter
	var err error
	if f.Status, err = enumParam(r, "status", domain.CredentialStatuses); err != nil {
		return f, err
	}
	if f.Type, err = enumParam(r, "type", domain.CredentialTypes); err != nil {
		return f, err
	}
	if f.Assignment, err = enumParam(r, "status_assignment", assignments); err != nil {
		return f, err
	}
	if f.Holder, err = idParam(r, "assigned_to"); err != nil {
		return f, err
	}
	f.Search = r.URL.Query().Get("search")
	return f, nil
}

// handleLockingPlan answers the locking plan of one locking system: its
// access points once, as the columns, and one page of the credentials
// linked to any of them, in creation order, each with the access points it
// opens. The pagination counts credentials.
func (s *Server) handleLockingPlan(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	lp, err := parseList(r, []string{"created_at"}, memberFilterParams...)
	if err != nil {
		return err
	}
	f, err := memberFilter(r, domain.AssignmentStatuses)
	if err != nil {
		return err
	}
	plan, found, err := s.read(r).LockingPlan(caller(r.Context()).Tenant, id, f, descending(lp.order), lp.page)
	if _, err = viewOrNotFound(plan, found, err, "locking system", id); err != nil {
		return err
	}
	out := lockingPlanJSON{LockingSystem: lockingSystemFromView(plan.System),
		AccessPoints: make([]planColumnJSON, len(plan.AccessPoints)), Credentials: make([]planRowJSON, len(plan.Rows))}
	for i, a := range plan.AccessPoints {
		out.AccessPoints[i] = planColumnJSON{ID: a.ID, PointName: a.PointName, Label: nullable(a.Label), SpaceID: a.SpaceID, Status: a.Status}
	}
	for i, row := range plan.Rows {
		out.Credentials[i] = planRowJSON{Credential: credentialFromView(row.Credential), AccessPointIDs: row.AccessPointIDs}
	}
	writePagedObject(w, "locking plan", out, lp.page, len(plan.Rows), plan.Total)
	return nil
}

// descending reports whether a list ordered by one field runs backwards.
func descending(order []domain.Order) bool { return len(order) == 1 && order[0].Desc }
