package http

import (
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/portcullis/portcullis/domain"
	"github.com/portcullis/portcullis/projections"
)

func (s *Server) registerIndividualRoutes(r *mux.Router) {
	r.HandleFunc("/individuals", s.native("individuals:read", s.handleIndividualList)).Methods("GET")
	r.HandleFunc("/individuals", s.native("individuals:write", s.handleIndividualCreate)).Methods("POST")
	r.HandleFunc("/individuals/{id}", s.nativeOwn("individuals:read", s.handleIndividualView)).Methods("GET")
	r.HandleFunc("/individuals/{id}", s.native("individuals:write", s.handleIndividualUpdate)).Methods("PATCH")
	r.HandleFunc("/individuals/{id}", s.native("individuals:delete", s.handleIndividualDelete)).Methods("DELETE")
	r.HandleFunc("/individuals/{id}/history", s.nativeOwn("individuals:read", s.handleHistory(domain.AggregateIndividual, "individual",
		renderAs(individualFromView, func(v projections.Individual) bool { return v.Deleted })))).Methods("GET")
}

// individualJSON is an individual on the native face. Its times are always
// rendered in UTC: msgpack decodes times from the log and the read models in
// the process's local zone, and a client must read the same created_at from
// a mutation's answer as from a GET.
type individualJSON struct {
	ID          string    `json:"id"`
	ExtID       string    `json:"ext_id"`
	FirstName   string    `json:"first_name"`
	LastName    string    `json:"last_name"`
	Email       *string   `json:"email"`
	MobilePhone *string   `json:"mobile_phone"`
	Department  *string   `json:"department"`
	Status      string    `json:"status"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func individualFromView(v projections.Individual) individualJSON {
	return individualJSON{ID: v.ID, ExtID: v.ExtID, FirstName: v.FirstName, LastName: v.LastName,
		Email: nullable(v.Email), MobilePhone: nullable(v.MobilePhone), Department: nullable(v.Department),
		Status: v.Status, CreatedAt: v.CreatedAt.UTC(), UpdatedAt: v.UpdatedAt.UTC()}
}

func individualFromState(i domain.Individual) individualJSON {
	return individualJSON{ID: i.ID, ExtID: i.ExtID, FirstName: i.FirstName, LastName: i.LastName,
		Email: nullable(i.Email), MobilePhone: nullable(i.MobilePhone), Department: nullable(i.Department),
		Status: i.Status, CreatedAt: i.CreatedAt.UTC(), UpdatedAt: i.UpdatedAt.UTC()}
}

// pathID reads the {id} of a route; anything that could not be an id is bad
// input rather than a miss.
func pathID(r *http.Request) (string, error) {
	id := mux.Vars(r)["id"]
	if !domain.ValidToken(id) {
		return "", domain.Invalid("id", "is not a valid id")
	}
	return id, nil
}

func (s *Server) handleIndividualList(w http.ResponseWriter, r *http.Request) error {
	lp, err := parseList(r, projections.IndividualOrderFields, "search", "status", "as_of")
	if err != nil {
		return err
	}
	status, err := enumParam(r, "status", domain.IndividualStatuses)
	if err != nil {
		return err
	}
	f := projections.IndividualFilter{Search: r.URL.Query().Get("search"), Status: status}
	pos, past, err := s.asOf(w, r)
	if err != nil {
		return err
	}
	var items []projections.Individual
	var total int
	if past {
		items, total, err = s.read(r).IndividualsAsOf(caller(r.Context()).Tenant, f, lp.order, lp.page, pos)
	} else {
		items, total, err = s.read(r).Individuals(caller(r.Context()).Tenant, f, lp.order, lp.page)
	}
	if err != nil {
		return err
	}
	out := make([]individualJSON, len(items))
	for i, v := range items {
		out[i] = individualFromView(v)
	}
	writeNativeList(w, "individuals", out, lp.page, total)
	return nil
}

func (s *Server) handleIndividualView(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	pos, past, err := s.asOf(w, r)
	if err != nil {
		return err
	}
	var v projections.Individual
	var ok bool
	if past {
		v, ok, err = s.read(r).IndividualAsOf(caller(r.Context()).Tenant, id, pos)
	} else {
		v, ok, err = s.read(r).Individual(caller(r.Context()).Tenant, id)
	}
	if err != nil {
		return err
	}
	if !ok {
		return domain.Errorf(domain.CodeNotFound, "individual %s not found", id)
	}
	w.Header().Set("ETag", etag(v.Version))
	writeJSON(w, http.StatusOK, nativeItem{Msg: "individual", Data: individualFromView(v)})
	return nil
}

var individualFields = []string{"ext_id", "first_name", "last_name", "email", "mobile_phone", "department", "status"}

func (s *Server) handleIndividualCreate(w http.ResponseWriter, r *http.Request) error {
	m, err := meta(r)
	if err != nil {
		return err
	}
	obj, err := decodeObject(r)
	if err != nil {
		return err
	}
	if err := obj.only(individualFields...); err != nil {
		return err
	}
	var in domain.IndividualFields
	for _, f := range []struct {
		name     string
		dst      *string
		nullable bool
	}{
		{"ext_id", &in.ExtID, true}, {"first_name", &in.FirstName, false}, {"last_name", &in.LastName, false},
		{"email", &in.Email, true}, {"mobile_phone", &in.MobilePhone, true},
		{"department", &in.Department, true}, {"status", &in.Status, false},
	} {
		if *f.dst, _, err = obj.str(f.name, f.nullable); err != nil {
			return err
		}
	}
	res, err := s.cmd.CreateIndividual(r.Context(), m, in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/individuals/"+res.Individual.ID)
	writeMutation(w, http.StatusCreated, "individual created", res.Result, individualFromState(res.Individual))
	return nil
}

func (s *Server) handleIndividualUpdate(w http.ResponseWriter, r *http.Request) error {
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
	if _, ok := obj["ext_id"]; ok {
		return domain.Invalid("ext_id", "cannot be changed")
	}
	if err := obj.only(individualFields...); err != nil {
		return err
	}
	var p domain.IndividualPatch
	for _, f := range []struct {
		name     string
		dst      **string
		nullable bool
	}{
		{"first_name", &p.FirstName, false}, {"last_name", &p.LastName, false}, {"email", &p.Email, true},
		{"mobile_phone", &p.MobilePhone, true}, {"department", &p.Department, true}, {"status", &p.Status, false},
	} {
		if *f.dst, err = obj.strPtr(f.name, f.nullable); err != nil {
			return err
		}
	}
	res, err := s.cmd.UpdateIndividual(r.Context(), m, id, p)
	if err != nil {
		return err
	}
	writeMutation(w, http.StatusOK, "individual updated", res.Result, individualFromState(res.Individual))
	return nil
}

func (s *Server) handleIndividualDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	m, err := meta(r)
	if err != nil {
		return err
	}
	res, err := s.cmd.DeleteIndividual(r.Context(), m, id)
	if err != nil {
		return err
	}
	writeMutation(w, http.StatusOK, "individual deleted", res.Result, individualFromState(res.Individual))
	return nil
}
