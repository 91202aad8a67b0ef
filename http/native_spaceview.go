package http

import (
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/portcullis/portcullis/domain"
)

// The views of one space: its overview, who may enter it, the credentials
// assigned that open its doors, and its recent activity.

func (s *Server) registerSpaceViewRoutes(r *mux.Router) {
	r.HandleFunc("/spaces/{id}/overview", s.native("spaces:read", s.handleSpaceOverview)).Methods("GET")
	r.HandleFunc("/spaces/{id}/individuals", s.native("spaces:read", s.handleSpaceIndividuals)).Methods("GET")
	r.HandleFunc("/spaces/{id}/active-assignments", s.native("spaces:read", s.handleSpaceActiveAssignments)).Methods("GET")
	r.HandleFunc("/spaces/{id}/recent-activity", s.native("spaces:read", s.handleSpaceRecentActivity)).Methods("GET")
}

// placeNameJSON names a place.
type placeNameJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type spaceLocationJSON struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	TimeZone string `json:"time_zone"`
}

// spaceCountsJSON counts what a space holds: spaces directly inside it,
// its access points, the individuals its rules (and those of the spaces
// around it) let in, the distinct credentials linked to its access points
// and how many of those are held (assigned or pending), and the entries of
// its recent activity.
type spaceCountsJSON struct {
	ChildSpaces         int `json:"child_spaces"`
	AccessPoints        int `json:"access_points"`
	Individuals         int `json:"individuals"`
	LinkedCredentials   int `json:"linked_credentials"`
	ActiveAssignments   int `json:"active_assignments"`
	AssignedCredentials int `json:"assigned_credentials"`
	PendingCredentials  int `json:"pending_credentials"`
	Activity            int `json:"activity"`
}

type spaceOverviewJSON struct {
	Space        spaceJSON         `json:"space"`
	Building     placeNameJSON     `json:"building"`
	Location     spaceLocationJSON `json:"location"`
	Parents      []placeNameJSON   `json:"parents"`
	Counts       spaceCountsJSON   `json:"counts"`
	LastActivity *auditEntryJSON   `json:"last_activity"`
}

func (s *Server) handleSpaceOverview(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := queryOnly(r); err != nil {
		return err
	}
	o, found, err := s.read(r).SpaceOverview(caller(r.Context()).Tenant, id)
	if _, err = viewOrNotFound(o, found, err, "space", id); err != nil {
		return err
	}
	out := spaceOverviewJSON{Space: spaceFromView(o.Space),
		Building: placeNameJSON{ID: o.Building.ID, Name: o.Building.Name},
		Location: spaceLocationJSON{ID: o.Location.ID, Name: o.Location.Name, TimeZone: o.Location.TimeZone},
		Parents:  make([]placeNameJSON, len(o.Parents)),
		Counts: spaceCountsJSON{ChildSpaces: o.ChildSpaces, AccessPoints: o.Space.AccessPointCount, Individuals: o.Individuals,
			LinkedCredentials: o.Credentials.Linked, ActiveAssignments: o.Credentials.Held,
			AssignedCredentials: o.Credentials.Assigned, PendingCredentials: o.Credentials.Pending, Activity: o.Activity}}
	for i, p := range o.Parents {
		out.Parents[i] = placeNameJSON{ID: p.ID, Name: p.Name}
	}
	if o.LastActivity != nil {
		a := auditEntryFromView(*o.LastActivity)
		out.LastActivity = &a
	}
	writeJSON(w, http.StatusOK, nativeItem{Msg: "space overview", Data: out})
	return nil
}

// ruleRefJSON is one access rule that lets an individual into a space.
type ruleRefJSON struct {
	RuleID     string  `json:"rule_id"`
	SpaceID    string  `json:"space_id"`
	Via        string  `json:"via"`
	Department *string `json:"department"`
}

// spaceIndividualJSON is an individual who may enter a space, with the
// rules that let them in.
type spaceIndividualJSON struct {
	individualJSON
	Rules []ruleRefJSON `json:"rules"`
}

func (s *Server) handleSpaceIndividuals(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	lp, err := parseList(r, []string{"created_at"})
	if err != nil {
		return err
	}
	items, total, found, err := s.read(r).SpaceIndividuals(caller(r.Context()).Tenant, id, descending(lp.order), lp.page)
	if _, err = viewOrNotFound(items, found, err, "space", id); err != nil {
		return err
	}
	out := make([]spaceIndividualJSON, len(items))
	for i, v := range items {
		out[i] = spaceIndividualJSON{individualJSON: individualFromView(v.Individual), Rules: make([]ruleRefJSON, len(v.Rules))}
		for j, rr := range v.Rules {
			out[i].Rules[j] = ruleRefJSON{RuleID: rr.RuleID, SpaceID: rr.SpaceID, Via: rr.Via, Department: nullable(rr.Department)}
		}
	}
	writeNativeList(w, "individuals with access to the space", out, lp.page, total)
	return nil
}

// assignedIndividualJSON is the person holding a credential, as the lists
// of assignments show them.
type assignedIndividualJSON struct {
	ID         string  `json:"id"`
	FirstName  string  `json:"first_name"`
	LastName   string  `json:"last_name"`
	Email      *string `json:"email"`
	Department *string `json:"department"`
}

// spaceAssignmentJSON is a credential someone holds that opens access
// points of the space.
type spaceAssignmentJSON struct {
	Credential         credentialJSON          `json:"credential"`
	StatusAssignment   string                  `json:"status_assignment"`
	AssignedIndividual *assignedIndividualJSON `json:"assigned_individual"`
	DueDate            *time.Time              `json:"due_date"`
	Overdue            bool                    `json:"overdue"`
	AccessPointIDs     []string                `json:"access_point_ids"`
}

func (s *Server) handleSpaceActiveAssignments(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	lp, err := parseList(r, []string{"created_at"}, memberFilterParams...)
	if err != nil {
		return err
	}
	f, err := memberFilter(r, []string{domain.AssignmentAssigned, domain.AssignmentPending})
	if err != nil {
		return err
	}
	items, total, found, err := s.read(r).SpaceAssignments(caller(r.Context()).Tenant, id, f, descending(lp.order), lp.page)
	if _, err = viewOrNotFound(items, found, err, "space", id); err != nil {
		return err
	}
	now := now(r)
	out := make([]spaceAssignmentJSON, len(items))
	for i, v := range items {
		c := v.Credential
		out[i] = spaceAssignmentJSON{Credential: credentialFromView(c), StatusAssignment: c.AssignmentStatus,
			DueDate: nullableTime(c.DueDate), Overdue: !c.DueDate.IsZero() && c.DueDate.Before(now),
			AccessPointIDs: v.AccessPointIDs}
		if h := v.Holder; h.ID != "" && !h.Deleted {
			out[i].AssignedIndividual = &assignedIndividualJSON{ID: h.ID, FirstName: h.FirstName, LastName: h.LastName,
				Email: nullable(h.Email), Department: nullable(h.Department)}
		}
	}
	writeNativeList(w, "active assignments of the space", out, lp.page, total)
	return nil
}

// handleSpaceRecentActivity lists the audit entries of the events that
// changed the space, its access points or the credentials linked to them,
// newest first (order=occurred_at.asc for oldest first).
func (s *Server) handleSpaceRecentActivity(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	lp, err := parseList(r, []string{"occurred_at"})
	if err != nil {
		return err
	}
	asc := len(lp.order) == 1 && !lp.order[0].Desc
	items, total, found, err := s.read(r).SpaceActivity(caller(r.Context()).Tenant, id, asc, lp.page)
	if _, err = viewOrNotFound(items, found, err, "space", id); err != nil {
		return err
	}
	out := make([]auditEntryJSON, len(items))
	for i, a := range items {
		out[i] = auditEntryFromView(a)
	}
	writeNativeList(w, "recent activity of the space", out, lp.page, total)
	return nil
}
