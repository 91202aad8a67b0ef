package http

import (
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/portcullis/portcullis/projections"
)

// GET /stats/dashboard: a tenant at a glance. GET /stats/credentials is the
// credential stats (native_credential.go).

func (s *Server) registerStatsRoutes(r *mux.Router) {
	r.HandleFunc("/stats/dashboard", s.native("stats:read", s.handleDashboardStats)).Methods("GET")
}

// dashboardLatest is how many audit entries the dashboard shows.
const dashboardLatest = 5

// dashboardJSON is the dashboard: how many records of each kind the tenant
// has, its credentials by status and assignment, the confirmations still
// pending and the returns overdue, and its latest activity. Every figure is
// a counter the read models keep, so the answer costs the same at any size.
type dashboardJSON struct {
	Individuals          int                 `json:"individuals"`
	Locations            int                 `json:"locations"`
	Buildings            int                 `json:"buildings"`
	Spaces               int                 `json:"spaces"`
	AccessPoints         int                 `json:"access_points"`
	AccessPointsByStatus map[string]int      `json:"access_points_by_status"`
	LockingSystems       int                 `json:"locking_systems"`
	ActiveLockingSystems int                 `json:"active_locking_systems"`
	Credentials          credentialStatsJSON `json:"credentials"`
	LinkedCredentials    int                 `json:"linked_credentials"`
	PendingConfirmations int                 `json:"pending_confirmations"`
	OverdueReturns       int                 `json:"overdue_returns"`
	LatestActivity       []auditEntryJSON    `json:"latest_activity"`
}

func credentialStatsFromView(st projections.CredentialStats) credentialStatsJSON {
	return credentialStatsJSON{Total: st.Total, ByStatus: st.ByStatus, ByType: st.ByType,
		ByStatusAssignment: st.ByAssignmentStatus, Expired: st.Expired, Overdue: st.Overdue, DueSoon: st.DueSoon,
		DueSoonDays: int(projections.DueSoonWindow / (24 * time.Hour))}
}

func (s *Server) handleDashboardStats(w http.ResponseWriter, r *http.Request) error {
	if err := queryOnly(r); err != nil {
		return err
	}
	d, err := s.read(r).Dashboard(caller(r.Context()).Tenant, now(r), dashboardLatest)
	if err != nil {
		return err
	}
	out := dashboardJSON{Individuals: d.Individuals, Locations: d.Locations, Buildings: d.Buildings, Spaces: d.Spaces,
		AccessPoints: d.AccessPoints, AccessPointsByStatus: d.AccessPointsByStatus, LockingSystems: d.LockingSystems,
		ActiveLockingSystems: d.ActiveLockingSystems, Credentials: credentialStatsFromView(d.Credentials),
		LinkedCredentials: d.LinkedCredentials, PendingConfirmations: d.Credentials.ByAssignmentStatus["pending"],
		OverdueReturns: d.Credentials.Overdue, LatestActivity: make([]auditEntryJSON, len(d.LatestActivity))}
	for i, a := range d.LatestActivity {
		out.LatestActivity[i] = auditEntryFromView(a)
	}
	writeJSON(w, http.StatusOK, nativeItem{Msg: "dashboard stats", Data: out})
	return nil
}
