package http

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/gorilla/mux"

	"github.com/portcullis/portcullis/commands"
	"github.com/portcullis/portcullis/domain"
	"github.com/portcullis/portcullis/projections"
)

func (s *Server) registerESystemsAccessGroupRoutes(r *mux.Router) {
	r.HandleFunc("/AccessGroups", s.esystems(esRead, s.handleESAccessGroupList)).Methods("GET")
	r.HandleFunc("/AccessGroup", s.esystems(esCreate, s.handleESAccessGroupCreate)).Methods("POST")
	r.HandleFunc("/AccessGroup", s.esystems(esUpdate, s.handleESAccessGroupUpsert)).Methods("PATCH")
	r.HandleFunc("/AccessGroup/{Id}", s.esystems(esRead, s.handleESAccessGroupView)).Methods("GET")
	r.HandleFunc("/AccessGroup/{Id}", s.esystems(esUpdate, s.handleESAccessGroupUpdate)).Methods("PUT")
	r.HandleFunc("/AccessGroup/{Id}", s.esystems(esDelete, s.handleESAccessGroupDelete)).Methods("DELETE")
}

// esMatchFields are the fields a path id may be matched on.
var esMatchFields = []string{"Id", "Name", "ExternalId"}

// esRecordJSON is an access group, access role or permission record.
type esRecordJSON struct {
	ID          string    `json:"Id"`
	ExternalID  *string   `json:"ExternalId"`
	Name        string    `json:"Name"`
	Description *string   `json:"Description"`
	CreatedOn   time.Time `json:"CreatedOn"`
	ModifiedOn  time.Time `json:"ModifiedOn"`
}

func esRecordFromView(v domain.AccessRecordView) esRecordJSON {
	return esRecordJSON{ID: v.ID, ExternalID: esText(v.ExternalID), Name: v.Name, Description: esText(v.Description),
		CreatedOn: esTime(v.CreatedAt), ModifiedOn: esTime(v.ModifiedAt)}
}

func esGroupFromState(g domain.AccessGroup) esRecordJSON {
	return esRecordFromView(domain.AccessRecordView{ID: g.ID, RecordFields: g.RecordFields, CreatedAt: g.CreatedAt, ModifiedAt: g.UpdatedAt})
}

// esNotFound is the miss of a record of typ whose field is value.
func esNotFound(typ, field, value string) error {
	return domain.Errorf(domain.CodeNotFound, "No %s record has %s '%s'", typ, field, value)
}

// esGroupRead finds, in the read models, the group that the path's {Id}
// names by the field the query's Name names.
func (s *Server) esGroupRead(r *http.Request) (projections.AccessGroup, error) {
	field, value, err := esGroupPathMatch(r)
	if err != nil {
		return projections.AccessGroup{}, err
	}
	return s.esGroupByField(r, field, value)
}

func esGroupPathMatch(r *http.Request) (field, value string, err error) {
	if value, err = esPathValue(r, "Id"); err != nil {
		return "", "", err
	}
	field, err = esMatchField(r, "Name", esMatchFields)
	return field, value, err
}

func (s *Server) esGroupByField(r *http.Request, field, value string) (projections.AccessGroup, error) {
	tenant := caller(r.Context()).Tenant
	if field == "Id" {
		if !domain.ValidToken(value) {
			return projections.AccessGroup{}, esNotFound(domain.RecordTypeAccessGroup, field, value)
		}
		g, ok, err := s.db.AccessGroup(tenant, value)
		if err == nil && !ok {
			err = esNotFound(domain.RecordTypeAccessGroup, field, value)
		}
		return g, err
	}
	q, err := esEquals(domain.AccessRecordSchema, field, value, "Id")
	if err != nil {
		return projections.AccessGroup{}, err
	}
	items, total, err := s.db.AccessGroups(tenant, q, domain.Page{Page: 1, Limit: 1})
	switch {
	case err != nil:
		return projections.AccessGroup{}, err
	case total == 0:
		return projections.AccessGroup{}, esNotFound(domain.RecordTypeAccessGroup, field, value)
	case total > 1:
		return projections.AccessGroup{}, domain.MultipleRows("Id", value, total)
	}
	return items[0], nil
}

// esGroupWrite finds the id of the group a mutation names. An Id needs no
// lookup and an ExternalId is found through its claim in the log; a Name
// only the read models know, so a miss there waits for them to catch up
// once before it is believed.
func (s *Server) esGroupWrite(r *http.Request) (string, error) {
	field, value, err := esGroupPathMatch(r)
	if err != nil {
		return "", err
	}
	return s.esGroupIDByField(r, field, value)
}

func (s *Server) esGroupIDByField(r *http.Request, field, value string) (string, error) {
	switch field {
	case "Id":
		return value, nil
	case "ExternalId":
		id, ok, err := s.cmd.ResolveExternalID(r.Context(), caller(r.Context()).Tenant, domain.AggregateAccessGroup, value)
		if err == nil && !ok {
			err = esNotFound(domain.RecordTypeAccessGroup, field, value)
		}
		return id, err
	}
	g, err := s.esGroupByField(r, field, value)
	if domain.ErrorCode(err) == domain.CodeNotFound && s.catchUp(r.Context()) {
		g, err = s.esGroupByField(r, field, value)
	}
	return g.ID, err
}

func (s *Server) handleESAccessGroupList(w http.ResponseWriter, r *http.Request) error {
	lp, err := parseESystemsList(r, domain.AccessRecordSchema)
	if err != nil {
		return err
	}
	items, total, err := s.db.AccessGroups(caller(r.Context()).Tenant, lp.query, lp.page)
	if err != nil {
		return err
	}
	out := make([]esRecordJSON, len(items))
	for i, g := range items {
		out[i] = esRecordFromView(g.AccessRecordView)
	}
	return writeESystemsList(w, domain.RecordTypeAccessGroup, out, lp, total)
}

func (s *Server) handleESAccessGroupView(w http.ResponseWriter, r *http.Request) error {
	if _, err := esCheckQuery(r, "Name"); err != nil {
		return err
	}
	g, err := s.esGroupRead(r)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(g.Version))
	writeJSON(w, http.StatusOK, esRecordFromView(g.AccessRecordView))
	return nil
}

// esRecordFieldNames are the fields of a record body. Id, CreatedOn and
// ModifiedOn are the server's: a body may carry them back as a GET gave
// them, and they are not written.
var esRecordFieldNames = []string{"Id", "Name", "ExternalId", "Description", "CreatedOn", "ModifiedOn"}

// esRecordPatch reads the writable fields of a record body; a field left
// out is nil. Name cannot be null; ExternalId and Description can (blank).
func esRecordPatch(obj object) (domain.RecordPatch, error) {
	var p domain.RecordPatch
	var err error
	if p.Name, err = obj.strPtr("Name", false); err != nil {
		return p, err
	}
	if p.ExternalID, err = obj.strPtr("ExternalId", true); err != nil {
		return p, err
	}
	p.Description, err = obj.strPtr("Description", true)
	return p, err
}

func esRecordFields(p domain.RecordPatch) domain.RecordFields {
	var f domain.RecordFields
	for _, x := range []struct{ dst, src *string }{{&f.Name, p.Name}, {&f.ExternalID, p.ExternalID}, {&f.Description, p.Description}} {
		if x.src != nil {
			*x.dst = *x.src
		}
	}
	return f
}

func (s *Server) handleESAccessGroupCreate(w http.ResponseWriter, r *http.Request) error {
	if _, err := esCheckQuery(r); err != nil {
		return err
	}
	m, err := meta(r)
	if err != nil {
		return err
	}
	obj, err := esBody(r, esRecordFieldNames...)
	if err != nil {
		return err
	}
	if id, _, _ := obj.str("Id", true); id != "" {
		return domain.Invalid("Id", "is assigned by the server; to change a group, PUT /AccessGroup/{Id} or PATCH /AccessGroup")
	}
	p, err := esRecordPatch(obj)
	if err != nil {
		return err
	}
	return s.esGroupCreate(w, r, m, esRecordFields(p))
}

func (s *Server) esGroupCreate(w http.ResponseWriter, r *http.Request, m commands.Meta, f domain.RecordFields) error {
	res, err := s.cmd.CreateAccessGroup(r.Context(), m, f)
	if err != nil {
		return err
	}
	w.Header().Set("Location", esBase+"/AccessGroup/"+url.PathEscape(res.Group.ID))
	esMutation(w, res.Version, res.Position)
	writeJSON(w, http.StatusCreated, esGroupFromState(res.Group))
	return nil
}

func (s *Server) esGroupUpdate(w http.ResponseWriter, r *http.Request, m commands.Meta, id string, p domain.RecordPatch) error {
	res, err := s.cmd.UpdateAccessGroup(r.Context(), m, id, p)
	if err != nil {
		return err
	}
	esMutation(w, res.Version, res.Position)
	writeJSON(w, http.StatusOK, esGroupFromState(res.Group))
	return nil
}

func (s *Server) handleESAccessGroupUpdate(w http.ResponseWriter, r *http.Request) error {
	if _, err := esCheckQuery(r, "Name"); err != nil {
		return err
	}
	m, err := meta(r)
	if err != nil {
		return err
	}
	id, err := s.esGroupWrite(r)
	if err != nil {
		return err
	}
	obj, err := esBody(r, esRecordFieldNames...)
	if err != nil {
		return err
	}
	if bodyID, _, _ := obj.str("Id", true); bodyID != "" && bodyID != id {
		return domain.Invalid("Id", "is %q in the body but the path names group %q", bodyID, id)
	}
	p, err := esRecordPatch(obj)
	if err != nil {
		return err
	}
	return s.esGroupUpdate(w, r, m, id, p)
}

// handleESAccessGroupUpsert is PATCH /AccessGroup: the body's group is
// matched on the field the query's Name names, or else on the first of Id,
// ExternalId and Name the body carries; a match is updated (200), no match
// created (201). An Id names an existing group only: ids are the server's.
func (s *Server) handleESAccessGroupUpsert(w http.ResponseWriter, r *http.Request) error {
	q, err := esCheckQuery(r, "Name")
	if err != nil {
		return err
	}
	m, err := meta(r)
	if err != nil {
		return err
	}
	obj, err := esBody(r, esRecordFieldNames...)
	if err != nil {
		return err
	}
	p, err := esRecordPatch(obj)
	if err != nil {
		return err
	}
	field := ""
	if q.Get("Name") != "" {
		if field, err = esMatchField(r, "Name", esMatchFields); err != nil {
			return err
		}
	} else {
		for _, f := range []string{"Id", "ExternalId", "Name"} {
			if v, _, _ := obj.str(f, true); v != "" {
				field = f
				break
			}
		}
		if field == "" {
			return domain.Invalid("Name", "is required: the body names no Id, ExternalId or Name to match")
		}
	}
	value, _, err := obj.str(field, true)
	if err != nil {
		return err
	}
	if value == "" {
		return domain.Invalid(field, "is required: the upsert matches on it")
	}
	id, err := s.esGroupIDByField(r, field, value)
	switch {
	case err == nil:
		// An Id is not looked up: the log must have it, and the command
		// answers 404 when it does not.
		return s.esGroupUpdate(w, r, m, id, p)
	case domain.ErrorCode(err) == domain.CodeNotFound:
		return s.esGroupCreate(w, r, m, esRecordFields(p))
	}
	return err
}

func (s *Server) handleESAccessGroupDelete(w http.ResponseWriter, r *http.Request) error {
	if _, err := esCheckQuery(r, "Name"); err != nil {
		return err
	}
	m, err := meta(r)
	if err != nil {
		return err
	}
	id, err := s.esGroupWrite(r)
	if err != nil {
		return err
	}
	res, err := s.cmd.DeleteAccessGroup(r.Context(), m, id)
	var e *domain.Error
	if errors.As(err, &e) && e.Code == domain.CodeNotFound {
		return esNotFound(domain.RecordTypeAccessGroup, "Id", id)
	}
	if err != nil {
		return err
	}
	esMutation(w, 0, res.Position)
	writeJSON(w, http.StatusOK, esGroupFromState(res.Group))
	return nil
}
