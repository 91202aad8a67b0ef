package http

import (
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/portcullis/portcullis/domain"
	"github.com/portcullis/portcullis/projections"
)

func (s *Server) registerAccessPointRoutes(r *mux.Router) {
	r.HandleFunc("/access-points", s.native("access-points:read", s.handleAccessPointList)).Methods("GET")
	r.HandleFunc("/access-points", s.native("access-points:write", s.handleAccessPointCreate)).Methods("POST")
	r.HandleFunc("/access-points/{id}", s.native("access-points:read", s.handleAccessPointView)).Methods("GET")
	r.HandleFunc("/access-points/{id}", s.native("access-points:write", s.handleAccessPointUpdate)).Methods("PATCH")
	r.HandleFunc("/access-points/{id}", s.native("access-points:delete", s.handleAccessPointDelete)).Methods("DELETE")
	history := renderAs(accessPointFromView, func(v projections.AccessPoint) bool { return v.Deleted })
	r.HandleFunc("/access-points/{id}/history", s.native("access-points:read", s.handleHistory(domain.AggregateAccessPoint, "access point", history))).Methods("GET")
}

// accessPointJSON is an access point on the native face, with the ids of
// the access credentials linked to it.
type accessPointJSON struct {
	ID              string    `json:"id"`
	PointName       string    `json:"point_name"`
	Label           *string   `json:"label"`
	SpaceID         string    `json:"space_id"`
	LockingSystemID string    `json:"locking_system_id"`
	OutsideA        *string   `json:"outside_a"`
	InsideB         *string   `json:"inside_b"`
	Area            *string   `json:"area"`
	Department      *string   `json:"department"`
	Status          string    `json:"status"`
	DeleteProtected bool      `json:"delete_protected"`
	CredentialIDs   []string  `json:"credential_ids"`
	CredentialCount int       `json:"credential_count"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
}

func accessPointFromView(v projections.AccessPoint) accessPointJSON {
	return accessPointJSON{ID: v.ID, PointName: v.PointName, Label: nullable(v.Label), SpaceID: v.SpaceID,
		LockingSystemID: v.LockingSystemID, OutsideA: nullable(v.OutsideA), InsideB: nullable(v.InsideB),
		Area: nullable(v.Area), Department: nullable(v.Department), Status: v.Status, DeleteProtected: v.DeleteProtected,
		CredentialIDs: nonNil(v.CredentialIDs), CredentialCount: len(v.CredentialIDs),
		CreatedAt: v.CreatedAt.UTC(), UpdatedAt: v.UpdatedAt.UTC()}
}

func accessPointFromState(a domain.AccessPoint) accessPointJSON {
	return accessPointJSON{ID: a.ID, PointName: a.PointName, Label: nullable(a.Label), SpaceID: a.SpaceID,
		LockingSystemID: a.LockingSystemID, OutsideA: nullable(a.OutsideA), InsideB: nullable(a.InsideB),
		Area: nullable(a.Area), Department: nullable(a.Department), Status: a.Status, DeleteProtected: a.DeleteProtected,
		CredentialIDs: nonNil(a.Credentials), CredentialCount: len(a.Credentials),
		CreatedAt: a.CreatedAt.UTC(), UpdatedAt: a.UpdatedAt.UTC()}
}

// nonNil renders an empty list as [] rather than null.
func nonNil(ids []string) []string {
	if ids == nil {
		return []string{}
	}
	return ids
}

// accessPointFilter reads the filters every list of access points takes.
func accessPointFilter(r *http.Request) (projections.AccessPointFilter, error) {
	f := projections.AccessPointFilter{Search: r.URL.Query().Get("search")}
	var err error
	if f.Status, err = enumParam(r, "status", domain.AccessPointStatuses); err != nil {
		return f, err
	}
	if f.LockingSystemID, err = refParam(r, "locking_system_id"); err != nil {
		return f, err
	}
	return f, nil
}

func (s *Server) handleAccessPointList(w http.ResponseWriter, r *http.Request) error {
	lp, err := parseList(r, projections.AccessPointOrderFields, "search", "status", "space_id", "locking_system_id", "as_of")
	if err != nil {
		return err
	}
	f, err := accessPointFilter(r)
	if err != nil {
		return err
	}
	if f.SpaceID, err = refParam(r, "space_id"); err != nil {
		return err
	}
	if f.AsOf, err = s.asOfPosition(w, r); err != nil {
		return err
	}
	items, total, err := s.read(r).AccessPoints(caller(r.Context()).Tenant, f, lp.order, lp.page)
	if err != nil {
		return err
	}
	out := make([]accessPointJSON, len(items))
	for i, v := range items {
		out[i] = accessPointFromView(v)
	}
	writeNativeList(w, "access points", out, lp.page, total)
	return nil
}

func (s *Server) handleAccessPointView(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	v, found, err := viewAsOf(s, w, r, domain.AggregateAccessPoint, id, func() (projections.AccessPoint, bool, error) {
		return s.read(r).AccessPoint(caller(r.Context()).Tenant, id)
	})
	if v, err = viewOrNotFound(v, found, err, "access point", id); err != nil {
		return err
	}
	w.Header().Set("ETag", etag(v.Version))
	writeJSON(w, http.StatusOK, nativeItem{Msg: "access point", Data: accessPointFromView(v)})
	return nil
}

var accessPointFields = []string{"point_name", "label", "space_id", "locking_system_id", "outside_a", "inside_b",
	"area", "department", "status", "delete_protected"}

// accessPointStrings names the string fields of an access point body:
// which are nullable (null clears them) and where each goes.
func accessPointStrings(f *domain.AccessPointFields) []struct {
	name     string
	dst      *string
	nullable bool
} {
	return []struct {
		name     string
		dst      *string
		nullable bool
	}{
		{"point_name", &f.PointName, false}, {"label", &f.Label, true}, {"space_id", &f.SpaceID, false},
		{"locking_system_id", &f.LockingSystemID, false}, {"outside_a", &f.OutsideA, true},
		{"inside_b", &f.InsideB, true}, {"area", &f.Area, true}, {"department", &f.Department, true},
		{"status", &f.Status, false},
	}
}

func (s *Server) handleAccessPointCreate(w http.ResponseWriter, r *http.Request) error {
	m, err := meta(r)
	if err != nil {
		return err
	}
	obj, err := decodeObject(r)
	if err != nil {
		return err
	}
	if err := obj.only(accessPointFields...); err != nil {
		return err
	}
	var in domain.AccessPointFields
	for _, f := range accessPointStrings(&in) {
		if *f.dst, _, err = obj.str(f.name, f.nullable); err != nil {
			return err
		}
	}
	protected, err := optBool(obj, "delete_protected")
	if err != nil {
		return err
	}
	in.DeleteProtected = protected != nil && *protected
	res, err := s.cmd.CreateAccessPoint(r.Context(), m, in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/access-points/"+res.Record.ID)
	writeMutation(w, http.StatusCreated, "access point created", res.Result, accessPointFromState(res.Record))
	return nil
}

func (s *Server) handleAccessPointUpdate(w http.ResponseWriter, r *http.Request) error {
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
	if err := obj.only(accessPointFields...); err != nil {
		return err
	}
	var p domain.AccessPointPatch
	dsts := map[string]**string{"point_name": &p.PointName, "label": &p.Label, "space_id": &p.SpaceID,
		"locking_system_id": &p.LockingSystemID, "outside_a": &p.OutsideA, "inside_b": &p.InsideB,
		"area": &p.Area, "department": &p.Department, "status": &p.Status}
	for _, f := range accessPointStrings(&domain.AccessPointFields{}) {
		if *dsts[f.name], err = obj.strPtr(f.name, f.nullable); err != nil {
			return err
		}
	}
	if p.DeleteProtected, err = optBool(obj, "delete_protected"); err != nil {
		return err
	}
	res, err := s.cmd.UpdateAccessPoint(r.Context(), m, id, p)
	return writePlaceMutation(w, err, "access point updated", res, accessPointFromState)
}

func (s *Server) handleAccessPointDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	m, err := meta(r)
	if err != nil {
		return err
	}
	res, err := s.cmd.DeleteAccessPoint(r.Context(), m, id)
	return writePlaceMutation(w, err, "access point deleted", res, accessPointFromState)
}
