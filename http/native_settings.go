package http

import (
	"bytes"
	"io"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/portcullis/portcullis/domain"
)

// POST /settings/tenant-demo fills the caller's tenant with a demo site
// through the same commands as every other route (commands.FillDemo).

func (s *Server) registerSettingsRoutes(r *mux.Router) {
	r.HandleFunc("/settings/tenant-demo", s.native("settings:write", s.handleTenantDemo)).Methods("POST")
}

// tenantDemoJSON counts what the fill created, and names a person and a
// door for a first access decision (allowed during office hours, Monday to
// Friday 07:00–19:00 in the location's zone).
type tenantDemoJSON struct {
	Locations      int               `json:"locations"`
	Buildings      int               `json:"buildings"`
	Spaces         int               `json:"spaces"`
	LockingSystems int               `json:"locking_systems"`
	AccessPoints   int               `json:"access_points"`
	Individuals    int               `json:"individuals"`
	Credentials    int               `json:"credentials"`
	Links          int               `json:"links"`
	Assigned       int               `json:"assigned"`
	Pending        int               `json:"pending"`
	Overdue        int               `json:"overdue"`
	Returned       int               `json:"returned"`
	AccessRules    int               `json:"access_rules"`
	Example        tenantDemoExample `json:"example"`
}

type tenantDemoExample struct {
	IndividualID  string `json:"individual_id"`
	AccessPointID string `json:"access_point_id"`
	Decision      string `json:"decision"`
}

func (s *Server) handleTenantDemo(w http.ResponseWriter, r *http.Request) error {
	if err := queryOnly(r); err != nil {
		return err
	}
	// The body is optional; if there is one it is an empty object.
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return domain.Invalid("body", "could not read the request body")
	}
	if len(bytes.TrimSpace(data)) > 0 {
		r.Body = io.NopCloser(bytes.NewReader(data))
		obj, err := decodeObject(r)
		if err != nil {
			return err
		}
		if err := obj.only(); err != nil {
			return err
		}
	}
	m, err := meta(r)
	if err != nil {
		return err
	}
	n, err := s.cmd.FillDemo(r.Context(), m, time.Now())
	if err != nil {
		return err
	}
	out := tenantDemoJSON{Locations: n.Locations, Buildings: n.Buildings, Spaces: n.Spaces, LockingSystems: n.LockingSystems,
		AccessPoints: n.AccessPoints, Individuals: n.Individuals, Credentials: n.Credentials, Links: n.Links,
		Assigned: n.Assigned, Pending: n.Pending, Overdue: n.Overdue, Returned: n.Returned, AccessRules: n.AccessRules,
		Example: tenantDemoExample{IndividualID: n.ExampleIndividual, AccessPointID: n.ExampleAccessPoint,
			Decision: "/api/v1/access-decisions?individual_id=" + n.ExampleIndividual + "&access_point_id=" + n.ExampleAccessPoint}}
	w.Header().Set("X-Consistency-Token", formatPos(n.Position))
	writeJSON(w, http.StatusCreated, nativeItem{Msg: "demo data created", Data: out})
	return nil
}
