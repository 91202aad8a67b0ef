package http

import (
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/portcullis/portcullis/domain"
	"github.com/portcullis/portcullis/projections"
)

func (s *Server) registerLockingSystemRoutes(r *mux.Router) {
	r.HandleFunc("/locking-systems", s.native("locking-systems:read", s.handleLockingSystemList)).Methods("GET")
	r.HandleFunc("/locking-systems", s.native("locking-systems:write", s.handleLockingSystemCreate)).Methods("POST")
	r.HandleFunc("/locking-systems/{id}", s.native("locking-systems:read", s.handleLockingSystemView)).Methods("GET")
	r.HandleFunc("/locking-systems/{id}", s.native("locking-systems:write", s.handleLockingSystemUpdate)).Methods("PATCH")
	r.HandleFunc("/locking-systems/{id}", s.native("locking-systems:delete", s.handleLockingSystemDelete)).Methods("DELETE")
	history := renderAs(lockingSystemFromView, func(v projections.LockingSystem) bool { return v.Deleted })
	r.HandleFunc("/locking-systems/{id}/history", s.native("locking-systems:read", s.handleHistory(domain.AggregateLockingSystem, "locking system", history))).Methods("GET")
}

// lockingSystemJSON is a locking system on the native face.
type lockingSystemJSON struct {
	ID               string    `json:"id"`
	Name             string    `json:"name"`
	Brand            *string   `json:"brand"`
	SystemType       string    `json:"system_type"`
	SystemTechnology *string   `json:"system_technology"`
	RevisionNumber   *string   `json:"revision_number"`
	AccessPointCount int       `json:"access_point_count"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
}

func lockingSystemFromView(v projections.LockingSystem) lockingSystemJSON {
	return lockingSystemJSON{ID: v.ID, Name: v.Name, Brand: nullable(v.Brand), SystemType: v.SystemType,
		SystemTechnology: nullable(v.SystemTechnology), RevisionNumber: nullable(v.RevisionNumber),
		AccessPointCount: v.AccessPointCount, CreatedAt: v.CreatedAt.UTC(), UpdatedAt: v.UpdatedAt.UTC()}
}

func lockingSystemFromState(l domain.LockingSystem) lockingSystemJSON {
	return lockingSystemJSON{ID: l.ID, Name: l.Name, Brand: nullable(l.Brand), SystemType: l.SystemType,
		SystemTechnology: nullable(l.SystemTechnology), RevisionNumber: nullable(l.RevisionNumber),
		AccessPointCount: len(l.AccessPoints), CreatedAt: l.CreatedAt.UTC(), UpdatedAt: l.UpdatedAt.UTC()}
}

func (s *Server) handleLockingSystemList(w http.ResponseWriter, r *http.Request) error {
	lp, err := parseList(r, projections.LockingSystemOrderFields, "search", "brand", "system_type", "as_of")
	if err != nil {
		return err
	}
	f := projections.LockingSystemFilter{Search: r.URL.Query().Get("search"), Brand: r.URL.Query().Get("brand")}
	if f.SystemType, err = enumParam(r, "system_type", domain.LockingSystemTypes); err != nil {
		return err
	}
	if f.AsOf, err = s.asOfPosition(w, r); err != nil {
		return err
	}
	items, total, err := s.read(r).LockingSystems(caller(r.Context()).Tenant, f, lp.order, lp.page)
	if err != nil {
		return err
	}
	out := make([]lockingSystemJSON, len(items))
	for i, v := range items {
		out[i] = lockingSystemFromView(v)
	}
	writeNativeList(w, "locking systems", out, lp.page, total)
	return nil
}

func (s *Server) handleLockingSystemView(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	v, found, err := viewAsOf(s, w, r, domain.AggregateLockingSystem, id, func() (projections.LockingSystem, bool, error) {
		return s.read(r).LockingSystem(caller(r.Context()).Tenant, id)
	})
	if v, err = viewOrNotFound(v, found, err, "locking system", id); err != nil {
		return err
	}
	w.Header().Set("ETag", etag(v.Version))
	writeJSON(w, http.StatusOK, nativeItem{Msg: "locking system", Data: lockingSystemFromView(v)})
	return nil
}

var lockingSystemFields = []string{"name", "brand", "system_type", "system_technology", "revision_number"}

// lockingSystemNullable says which fields null clears.
var lockingSystemNullable = map[string]bool{"brand": true, "system_technology": true, "revision_number": true}

func (s *Server) handleLockingSystemCreate(w http.ResponseWriter, r *http.Request) error {
	m, err := meta(r)
	if err != nil {
		return err
	}
	obj, err := decodeObject(r)
	if err != nil {
		return err
	}
	if err := obj.only(lockingSystemFields...); err != nil {
		return err
	}
	var in domain.LockingSystemFields
	dsts := []*string{&in.Name, &in.Brand, &in.SystemType, &in.SystemTechnology, &in.RevisionNumber}
	for i, name := range lockingSystemFields {
		if *dsts[i], _, err = obj.str(name, lockingSystemNullable[name]); err != nil {
			return err
		}
	}
	res, err := s.cmd.CreateLockingSystem(r.Context(), m, in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/locking-systems/"+res.Record.ID)
	writeMutation(w, http.StatusCreated, "locking system created", res.Result, lockingSystemFromState(res.Record))
	return nil
}

func (s *Server) handleLockingSystemUpdate(w http.ResponseWriter, r *http.Request) error {
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
	if err := obj.only(lockingSystemFields...); err != nil {
		return err
	}
	var p domain.LockingSystemPatch
	dsts := []**string{&p.Name, &p.Brand, &p.SystemType, &p.SystemTechnology, &p.RevisionNumber}
	for i, name := range lockingSystemFields {
		if *dsts[i], err = obj.strPtr(name, lockingSystemNullable[name]); err != nil {
			return err
		}
	}
	res, err := s.cmd.UpdateLockingSystem(r.Context(), m, id, p)
	return writePlaceMutation(w, err, "locking system updated", res, lockingSystemFromState)
}

func (s *Server) handleLockingSystemDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	m, err := meta(r)
	if err != nil {
		return err
	}
	res, err := s.cmd.DeleteLockingSystem(r.Context(), m, id)
	return writePlaceMutation(w, err, "locking system deleted", res, lockingSystemFromState)
}
