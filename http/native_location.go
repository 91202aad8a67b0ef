package http

import (
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/portcullis/portcullis/commands"
	"github.com/portcullis/portcullis/domain"
	"github.com/portcullis/portcullis/projections"
)

func (s *Server) registerLocationRoutes(r *mux.Router) {
	r.HandleFunc("/locations", s.native("locations:read", s.handleLocationList)).Methods("GET")
	r.HandleFunc("/locations", s.native("locations:write", s.handleLocationCreate)).Methods("POST")
	r.HandleFunc("/locations/{id}", s.native("locations:read", s.handleLocationView)).Methods("GET")
	r.HandleFunc("/locations/{id}", s.native("locations:write", s.handleLocationUpdate)).Methods("PATCH")
	r.HandleFunc("/locations/{id}", s.native("locations:delete", s.handleLocationDelete)).Methods("DELETE")
	history := renderAs(locationFromView, func(v projections.Location) bool { return v.Deleted })
	r.HandleFunc("/locations/{id}/history", s.native("locations:read", s.handleHistory(domain.AggregateLocation, "location", history))).Methods("GET")
}

// locationJSON is a location on the native face.
type locationJSON struct {
	ID            string    `json:"id"`
	Name          string    `json:"name"`
	Address       *string   `json:"address"`
	TimeZone      string    `json:"time_zone"`
	BuildingCount int       `json:"building_count"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

func locationFromView(v projections.Location) locationJSON {
	return locationJSON{ID: v.ID, Name: v.Name, Address: nullable(v.Address), TimeZone: v.TimeZone,
		BuildingCount: v.BuildingCount, CreatedAt: v.CreatedAt.UTC(), UpdatedAt: v.UpdatedAt.UTC()}
}

func locationFromState(l domain.Location) locationJSON {
	return locationJSON{ID: l.ID, Name: l.Name, Address: nullable(l.Address), TimeZone: l.TimeZone,
		BuildingCount: len(l.Buildings), CreatedAt: l.CreatedAt.UTC(), UpdatedAt: l.UpdatedAt.UTC()}
}

func (s *Server) handleLocationList(w http.ResponseWriter, r *http.Request) error {
	lp, err := parseList(r, projections.LocationOrderFields, "search", "as_of")
	if err != nil {
		return err
	}
	f := projections.LocationFilter{Search: r.URL.Query().Get("search")}
	if f.AsOf, err = s.asOfPosition(w, r); err != nil {
		return err
	}
	items, total, err := s.read(r).Locations(caller(r.Context()).Tenant, f, lp.order, lp.page)
	if err != nil {
		return err
	}
	out := make([]locationJSON, len(items))
	for i, v := range items {
		out[i] = locationFromView(v)
	}
	writeNativeList(w, "locations", out, lp.page, total)
	return nil
}

func (s *Server) handleLocationView(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	v, found, err := viewAsOf(s, w, r, domain.AggregateLocation, id, func() (projections.Location, bool, error) {
		return s.read(r).Location(caller(r.Context()).Tenant, id)
	})
	if v, err = viewOrNotFound(v, found, err, "location", id); err != nil {
		return err
	}
	w.Header().Set("ETag", etag(v.Version))
	writeJSON(w, http.StatusOK, nativeItem{Msg: "location", Data: locationFromView(v)})
	return nil
}

var locationFields = []string{"name", "address", "time_zone"}

func (s *Server) handleLocationCreate(w http.ResponseWriter, r *http.Request) error {
	m, err := meta(r)
	if err != nil {
		return err
	}
	obj, err := decodeObject(r)
	if err != nil {
		return err
	}
	if err := obj.only(locationFields...); err != nil {
		return err
	}
	var in domain.LocationFields
	for _, f := range []struct {
		name     string
		dst      *string
		nullable bool
	}{{"name", &in.Name, false}, {"address", &in.Address, true}, {"time_zone", &in.TimeZone, false}} {
		if *f.dst, _, err = obj.str(f.name, f.nullable); err != nil {
			return err
		}
	}
	res, err := s.cmd.CreateLocation(r.Context(), m, in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/locations/"+res.Record.ID)
	writeMutation(w, http.StatusCreated, "location created", res.Result, locationFromState(res.Record))
	return nil
}

func (s *Server) handleLocationUpdate(w http.ResponseWriter, r *http.Request) error {
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
	if err := obj.only(locationFields...); err != nil {
		return err
	}
	var p domain.LocationPatch
	for _, f := range []struct {
		name     string
		dst      **string
		nullable bool
	}{{"name", &p.Name, false}, {"address", &p.Address, true}, {"time_zone", &p.TimeZone, false}} {
		if *f.dst, err = obj.strPtr(f.name, f.nullable); err != nil {
			return err
		}
	}
	res, err := s.cmd.UpdateLocation(r.Context(), m, id, p)
	return writePlaceMutation(w, err, "location updated", res, locationFromState)
}

func (s *Server) handleLocationDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	m, err := meta(r)
	if err != nil {
		return err
	}
	res, err := s.cmd.DeleteLocation(r.Context(), m, id)
	return writePlaceMutation(w, err, "location deleted", res, locationFromState)
}

// writePlaceMutation answers an update or delete of a place with the
// record after it (a delete: as it was), or passes the command's error on.
func writePlaceMutation[T, J any](w http.ResponseWriter, err error, msg string, res commands.Placed[T], render func(T) J) error {
	if err != nil {
		return err
	}
	writeMutation(w, http.StatusOK, msg, res.Result, render(res.Record))
	return nil
}
