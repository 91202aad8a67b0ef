package http

import (
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/portcullis/portcullis/domain"
	"github.com/portcullis/portcullis/projections"
)

func (s *Server) registerBuildingRoutes(r *mux.Router) {
	r.HandleFunc("/buildings", s.native("buildings:read", s.handleBuildingList)).Methods("GET")
	r.HandleFunc("/buildings", s.native("buildings:write", s.handleBuildingCreate)).Methods("POST")
	r.HandleFunc("/buildings/{id}", s.native("buildings:read", s.handleBuildingView)).Methods("GET")
	r.HandleFunc("/buildings/{id}", s.native("buildings:write", s.handleBuildingUpdate)).Methods("PATCH")
	r.HandleFunc("/buildings/{id}", s.native("buildings:delete", s.handleBuildingDelete)).Methods("DELETE")
	history := renderAs(buildingFromView, func(v projections.Building) bool { return v.Deleted })
	r.HandleFunc("/buildings/{id}/history", s.native("buildings:read", s.handleHistory(domain.AggregateBuilding, "building", history))).Methods("GET")
}

// buildingJSON is a building on the native face; space_count counts its
// spaces at every depth.
type buildingJSON struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	LocationID string    `json:"location_id"`
	SpaceCount int       `json:"space_count"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

func buildingFromView(v projections.Building) buildingJSON {
	return buildingJSON{ID: v.ID, Name: v.Name, LocationID: v.LocationID, SpaceCount: v.SpaceCount,
		CreatedAt: v.CreatedAt.UTC(), UpdatedAt: v.UpdatedAt.UTC()}
}

func buildingFromState(b domain.Building) buildingJSON {
	return buildingJSON{ID: b.ID, Name: b.Name, LocationID: b.LocationID, SpaceCount: len(b.Spaces),
		CreatedAt: b.CreatedAt.UTC(), UpdatedAt: b.UpdatedAt.UTC()}
}

// refParam reads an optional query parameter that names a record by id.
func refParam(r *http.Request, name string) (string, error) {
	v := r.URL.Query().Get(name)
	if v != "" && !domain.ValidToken(v) {
		return "", domain.Invalid(name, "is not a valid id")
	}
	return v, nil
}

func (s *Server) handleBuildingList(w http.ResponseWriter, r *http.Request) error {
	lp, err := parseList(r, projections.BuildingOrderFields, "search", "location_id", "as_of")
	if err != nil {
		return err
	}
	f := projections.BuildingFilter{Search: r.URL.Query().Get("search")}
	if f.LocationID, err = refParam(r, "location_id"); err != nil {
		return err
	}
	if f.AsOf, err = s.asOfPosition(w, r); err != nil {
		return err
	}
	items, total, err := s.read(r).Buildings(caller(r.Context()).Tenant, f, lp.order, lp.page)
	if err != nil {
		return err
	}
	out := make([]buildingJSON, len(items))
	for i, v := range items {
		out[i] = buildingFromView(v)
	}
	writeNativeList(w, "buildings", out, lp.page, total)
	return nil
}

func (s *Server) handleBuildingView(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	v, found, err := viewAsOf(s, w, r, domain.AggregateBuilding, id, func() (projections.Building, bool, error) {
		return s.read(r).Building(caller(r.Context()).Tenant, id)
	})
	if v, err = viewOrNotFound(v, found, err, "building", id); err != nil {
		return err
	}
	w.Header().Set("ETag", etag(v.Version))
	writeJSON(w, http.StatusOK, nativeItem{Msg: "building", Data: buildingFromView(v)})
	return nil
}

var buildingFields = []string{"name", "location_id"}

func (s *Server) handleBuildingCreate(w http.ResponseWriter, r *http.Request) error {
	m, err := meta(r)
	if err != nil {
		return err
	}
	obj, err := decodeObject(r)
	if err != nil {
		return err
	}
	if err := obj.only(buildingFields...); err != nil {
		return err
	}
	var in domain.BuildingFields
	if in.Name, _, err = obj.str("name", false); err != nil {
		return err
	}
	if in.LocationID, _, err = obj.str("location_id", false); err != nil {
		return err
	}
	res, err := s.cmd.CreateBuilding(r.Context(), m, in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/buildings/"+res.Record.ID)
	writeMutation(w, http.StatusCreated, "building created", res.Result, buildingFromState(res.Record))
	return nil
}

func (s *Server) handleBuildingUpdate(w http.ResponseWriter, r *http.Request) error {
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
	if err := obj.only(buildingFields...); err != nil {
		return err
	}
	var p domain.BuildingPatch
	if p.Name, err = obj.strPtr("name", false); err != nil {
		return err
	}
	if p.LocationID, err = obj.strPtr("location_id", false); err != nil {
		return err
	}
	res, err := s.cmd.UpdateBuilding(r.Context(), m, id, p)
	return writePlaceMutation(w, err, "building updated", res, buildingFromState)
}

func (s *Server) handleBuildingDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	m, err := meta(r)
	if err != nil {
		return err
	}
	res, err := s.cmd.DeleteBuilding(r.Context(), m, id)
	return writePlaceMutation(w, err, "building deleted", res, buildingFromState)
}
