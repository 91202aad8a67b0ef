package http

import (
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/portcullis/portcullis/domain"
	"github.com/portcullis/portcullis/projections"
)

func (s *Server) registerSpaceRoutes(r *mux.Router) {
	r.HandleFunc("/spaces", s.native("spaces:read", s.handleSpaceList)).Methods("GET")
	r.HandleFunc("/spaces", s.native("spaces:write", s.handleSpaceCreate)).Methods("POST")
	r.HandleFunc("/spaces/{id}", s.native("spaces:read", s.handleSpaceView)).Methods("GET")
	r.HandleFunc("/spaces/{id}", s.native("spaces:write", s.handleSpaceUpdate)).Methods("PATCH")
	r.HandleFunc("/spaces/{id}", s.native("spaces:delete", s.handleSpaceDelete)).Methods("DELETE")
	history := renderAs(spaceFromView, func(v projections.Space) bool { return v.Deleted })
	r.HandleFunc("/spaces/{id}/history", s.native("spaces:read", s.handleHistory(domain.AggregateSpace, "space", history))).Methods("GET")
	r.HandleFunc("/spaces/{id}/access-points", s.native("access-points:read", s.handleSpaceAccessPointList)).Methods("GET")
	r.HandleFunc("/spaces/{id}/access-points", s.native("access-points:write", s.handleSpaceAccessPointAssign)).Methods("POST")
	r.HandleFunc("/spaces/{id}/access-rules", s.native("access-rules:read", s.handleSpaceAccessRulesView)).Methods("GET")
	r.HandleFunc("/spaces/{id}/access-rules", s.native("access-rules:write", s.handleSpaceAccessRulesReplace)).Methods("PUT")
}

// spaceJSON is a space on the native face; parent_id is null for a space
// at the top of its building.
type spaceJSON struct {
	ID               string    `json:"id"`
	Name             string    `json:"name"`
	BuildingID       string    `json:"building_id"`
	ParentID         *string   `json:"parent_id"`
	DeleteProtected  bool      `json:"delete_protected"`
	AccessPointCount int       `json:"access_point_count"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
}

func spaceFromView(v projections.Space) spaceJSON {
	return spaceJSON{ID: v.ID, Name: v.Name, BuildingID: v.BuildingID, ParentID: placeRef(v.ParentID),
		DeleteProtected: v.DeleteProtected, AccessPointCount: v.AccessPointCount,
		CreatedAt: v.CreatedAt.UTC(), UpdatedAt: v.UpdatedAt.UTC()}
}

func spaceFromState(s domain.Space) spaceJSON {
	return spaceJSON{ID: s.ID, Name: s.Name, BuildingID: s.BuildingID, ParentID: placeRef(s.ParentID),
		DeleteProtected: s.DeleteProtected, AccessPointCount: len(s.AccessPoints),
		CreatedAt: s.CreatedAt.UTC(), UpdatedAt: s.UpdatedAt.UTC()}
}

func (s *Server) handleSpaceList(w http.ResponseWriter, r *http.Request) error {
	lp, err := parseList(r, projections.SpaceOrderFields, "search", "building_id", "parent_id", "as_of")
	if err != nil {
		return err
	}
	f := projections.SpaceFilter{Search: r.URL.Query().Get("search")}
	if f.BuildingID, err = refParam(r, "building_id"); err != nil {
		return err
	}
	if f.ParentID, err = refParam(r, "parent_id"); err != nil {
		return err
	}
	if f.AsOf, err = s.asOfPosition(w, r); err != nil {
		return err
	}
	items, total, err := s.read(r).Spaces(caller(r.Context()).Tenant, f, lp.order, lp.page)
	if err != nil {
		return err
	}
	out := make([]spaceJSON, len(items))
	for i, v := range items {
		out[i] = spaceFromView(v)
	}
	writeNativeList(w, "spaces", out, lp.page, total)
	return nil
}

// space reads the live space of the route's {id} from the read model.
func (s *Server) space(r *http.Request) (projections.Space, error) {
	id, err := pathID(r)
	if err != nil {
		return projections.Space{}, err
	}
	v, found, err := s.read(r).Space(caller(r.Context()).Tenant, id)
	return viewOrNotFound(v, found, err, "space", id)
}

func (s *Server) handleSpaceView(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	v, found, err := viewAsOf(s, w, r, domain.AggregateSpace, id, func() (projections.Space, bool, error) {
		return s.read(r).Space(caller(r.Context()).Tenant, id)
	})
	if v, err = viewOrNotFound(v, found, err, "space", id); err != nil {
		return err
	}
	w.Header().Set("ETag", etag(v.Version))
	writeJSON(w, http.StatusOK, nativeItem{Msg: "space", Data: spaceFromView(v)})
	return nil
}

var spaceFields = []string{"name", "building_id", "parent_id", "delete_protected"}

func (s *Server) handleSpaceCreate(w http.ResponseWriter, r *http.Request) error {
	m, err := meta(r)
	if err != nil {
		return err
	}
	obj, err := decodeObject(r)
	if err != nil {
		return err
	}
	if err := obj.only(spaceFields...); err != nil {
		return err
	}
	var in domain.SpaceFields
	for _, f := range []struct {
		name     string
		dst      *string
		nullable bool
	}{{"name", &in.Name, false}, {"building_id", &in.BuildingID, true}, {"parent_id", &in.ParentID, true}} {
		if *f.dst, _, err = obj.str(f.name, f.nullable); err != nil {
			return err
		}
	}
	protected, err := optBool(obj, "delete_protected")
	if err != nil {
		return err
	}
	in.DeleteProtected = protected != nil && *protected
	res, err := s.cmd.CreateSpace(r.Context(), m, in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/spaces/"+res.Record.ID)
	writeMutation(w, http.StatusCreated, "space created", res.Result, spaceFromState(res.Record))
	return nil
}

func (s *Server) handleSpaceUpdate(w http.ResponseWriter, r *http.Request) error {
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
	if err := obj.only(spaceFields...); err != nil {
		return err
	}
	var p domain.SpacePatch
	if p.Name, err = obj.strPtr("name", false); err != nil {
		return err
	}
	if p.BuildingID, err = obj.strPtr("building_id", false); err != nil {
		return err
	}
	// null moves the space to the top of its building.
	if p.ParentID, err = obj.strPtr("parent_id", true); err != nil {
		return err
	}
	if p.DeleteProtected, err = optBool(obj, "delete_protected"); err != nil {
		return err
	}
	res, err := s.cmd.UpdateSpace(r.Context(), m, id, p)
	return writePlaceMutation(w, err, "space updated", res, spaceFromState)
}

func (s *Server) handleSpaceDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	m, err := meta(r)
	if err != nil {
		return err
	}
	res, err := s.cmd.DeleteSpace(r.Context(), m, id)
	return writePlaceMutation(w, err, "space deleted", res, spaceFromState)
}

func (s *Server) handleSpaceAccessPointList(w http.ResponseWriter, r *http.Request) error {
	lp, err := parseList(r, projections.AccessPointOrderFields, "search", "status", "locking_system_id")
	if err != nil {
		return err
	}
	f, err := accessPointFilter(r)
	if err != nil {
		return err
	}
	v, err := s.space(r)
	if err != nil {
		return err
	}
	f.SpaceID = v.ID
	items, total, err := s.read(r).AccessPoints(caller(r.Context()).Tenant, f, lp.order, lp.page)
	if err != nil {
		return err
	}
	out := make([]accessPointJSON, len(items))
	for i, v := range items {
		out[i] = accessPointFromView(v)
	}
	writeNativeList(w, "access points of the space", out, lp.page, total)
	return nil
}

func (s *Server) handleSpaceAccessPointAssign(w http.ResponseWriter, r *http.Request) error {
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
	if err := obj.only("access_point_ids"); err != nil {
		return err
	}
	ids, err := idList(obj, "access_point_ids")
	if err != nil {
		return err
	}
	res, aps, err := s.cmd.AssignAccessPoints(r.Context(), m, id, ids)
	if err != nil {
		return err
	}
	out := make([]accessPointJSON, len(aps))
	for i, a := range aps {
		out[i] = accessPointFromState(a)
	}
	writeMutation(w, http.StatusOK, "access points assigned to the space", res.Result, out)
	return nil
}
