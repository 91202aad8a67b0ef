package http

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/portcullis/portcullis/commands"
	"github.com/portcullis/portcullis/domain"
	"github.com/portcullis/portcullis/projections"
)

// A group's permission records, and the access roles and permission
// records they point at.

// esRecordKind is one of the referenced record types and its routes.
type esRecordKind struct {
	list, item string // "/AccessRoles", "/AccessRole"
	aggType    string
	typ        string // the record type name clients see
}

var esRecordKinds = []esRecordKind{
	{"/AccessRoles", "/AccessRole", domain.AggregateAccessRole, domain.RecordTypeAccessRole},
	{"/Permissions", "/Permission", domain.AggregateAccessPermission, domain.RecordTypePermission},
}

func (s *Server) registerESystemsPermissionRoutes(r *mux.Router) {
	r.HandleFunc("/AccessGroup/{Id}/Permissions", s.esystems(esRead, s.handleESGroupPermissionList)).Methods("GET")
	r.HandleFunc("/AccessGroup/{Id}/Permissions", s.esystems(esUpdate, s.handleESGroupPermissionSync)).Methods("PATCH")
	r.HandleFunc("/AccessGroup/{Id}/Permission", s.esystems(esCreate, s.handleESGroupPermissionUpsert)).Methods("POST")
	r.HandleFunc("/AccessGroup/{Id}/Permission/{SubId}", s.esystems(esDelete, s.handleESGroupPermissionDelete)).Methods("DELETE")
	for _, k := range esRecordKinds {
		r.HandleFunc(k.list, s.esystems(esRead, s.handleESRecordList(k))).Methods("GET")
		r.HandleFunc(k.item, s.esystems(esCreate, s.handleESRecordCreate(k))).Methods("POST")
		r.HandleFunc(k.item+"/{Id}", s.esystems(esRead, s.handleESRecordView(k))).Methods("GET")
	}
}

// esAbstractText is the summary of a record a foreign key points at.
type esAbstractText struct {
	ID         string  `json:"Id"`
	ExternalID *string `json:"ExternalId"`
	Name       *string `json:"Name"`
	Type       string  `json:"Type"`
}

// esGroupPermissionJSON is a group's permission record, its foreign keys
// as AbstractText.
type esGroupPermissionJSON struct {
	ID           int64          `json:"Id"`
	AccessRoleID esAbstractText `json:"AccessRoleId"`
	PermissionID esAbstractText `json:"PermissionId"`
	IsActive     bool           `json:"Is_Active"`
	CreatedOn    time.Time      `json:"CreatedOn"`
}

func esAbstract(r domain.RecordRef) esAbstractText {
	return esAbstractText{ID: r.ID, ExternalID: esText(r.ExternalID), Name: esText(r.Name), Type: r.Type}
}

func esGroupPermission(v domain.GroupPermissionView) esGroupPermissionJSON {
	return esGroupPermissionJSON{ID: v.ID, AccessRoleID: esAbstract(v.AccessRole), PermissionID: esAbstract(v.Permission),
		IsActive: v.IsActive, CreatedOn: esTime(v.CreatedAt)}
}

// esSubMatchFields are the fields a permission record may be matched on by
// SubName: its Id, or what it points at.
var esSubMatchFields = []string{"Id", "AccessRoleId", "PermissionId",
	"AccessRoleId.Id", "AccessRoleId.ExternalId", "AccessRoleId.Name",
	"PermissionId.Id", "PermissionId.ExternalId", "PermissionId.Name"}

func (s *Server) handleESGroupPermissionList(w http.ResponseWriter, r *http.Request) error {
	lp, err := parseESystemsList(r, domain.GroupPermissionSchema, "Name")
	if err != nil {
		return err
	}
	g, err := s.esGroupRead(r)
	if err != nil {
		return err
	}
	items, total, err := s.db.GroupPermissions(caller(r.Context()).Tenant, g.ID, lp.query, lp.page)
	if err != nil {
		return err
	}
	out := make([]esGroupPermissionJSON, len(items))
	for i, v := range items {
		out[i] = esGroupPermission(v)
	}
	w.Header().Set("ETag", etag(g.Version))
	return writeESystemsList(w, domain.RecordTypeAccessGroupPermission, out, lp, total)
}

// esGroupPermissionFields are the fields of a permission record body; Id
// names an existing record, CreatedOn is the server's and not written.
var esGroupPermissionFields = []string{"Id", "AccessRoleId", "PermissionId", "Is_Active", "CreatedOn"}

// esGroupPermissionWrite reads one permission record of a body.
func (s *Server) esGroupPermissionWrite(r *http.Request, obj object) (commands.GroupPermissionWrite, error) {
	var out commands.GroupPermissionWrite
	if err := obj.only(esGroupPermissionFields...); err != nil {
		return out, err
	}
	if raw, ok := obj["Id"]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &out.ID); err != nil || out.ID < 0 {
			return out, domain.Invalid("Id", "must be the whole-number Id of a Permission record of the group, not %s", jsonKind(raw))
		}
	}
	var err error
	if out.AccessRole, err = s.esForeignKey(r, obj, "AccessRoleId", domain.AggregateAccessRole); err != nil {
		return out, err
	}
	if out.Permission, err = s.esForeignKey(r, obj, "PermissionId", domain.AggregateAccessPermission); err != nil {
		return out, err
	}
	out.IsActive, err = esBool(obj, "Is_Active")
	return out, err
}

// esForeignKey reads a foreign key of a body: the Id as a string,
// {"Field":"Id|ExternalId|Name","Value":"…"}, or an AbstractText as a GET
// gave it (its Id, else its ExternalId). A Name is resolved here, in the
// read models: more than one record with it is Multible Rows.
func (s *Server) esForeignKey(r *http.Request, obj object, field, aggType string) (commands.ForeignKey, error) {
	raw, ok := obj[field]
	if !ok || string(raw) == "null" {
		return commands.ForeignKey{}, domain.Invalid(field, "is required")
	}
	var id string
	if json.Unmarshal(raw, &id) == nil {
		if id == "" {
			return commands.ForeignKey{}, domain.Invalid(field, "must not be empty")
		}
		return commands.ForeignKey{Field: "Id", Value: id}, nil
	}
	var sub object
	if err := json.Unmarshal(raw, &sub); err != nil || sub == nil {
		return commands.ForeignKey{}, domain.Invalid(field, `must be an Id or {"Field":"ExternalId","Value":"…"}, not %s`, jsonKind(raw))
	}
	var fk commands.ForeignKey
	if _, isField := sub["Field"]; isField || sub["Value"] != nil {
		if err := sub.only("Field", "Value"); err != nil {
			return fk, esInvalidItem(err, field)
		}
		f, _, err := sub.str("Field", false)
		if err != nil {
			return fk, esInvalidItem(err, field)
		}
		v, _, err := sub.str("Value", false)
		if err != nil {
			return fk, esInvalidItem(err, field)
		}
		for _, name := range esMatchFields {
			if strings.EqualFold(name, strings.TrimSpace(f)) {
				fk.Field = name
			}
		}
		if fk.Field == "" {
			return fk, domain.Invalid(field+".Field", "must be one of %s", strings.Join(esMatchFields, ", "))
		}
		if fk.Value = v; v == "" {
			return fk, domain.Invalid(field+".Value", "must not be empty")
		}
	} else {
		if err := sub.only("Id", "ExternalId", "Name", "Type"); err != nil {
			return fk, esInvalidItem(err, field)
		}
		for _, f := range []string{"Id", "ExternalId"} {
			v, _, err := sub.str(f, true)
			if err != nil {
				return fk, esInvalidItem(err, field)
			}
			if v != "" {
				fk = commands.ForeignKey{Field: f, Value: v}
				break
			}
		}
		if fk.Field == "" {
			return fk, domain.Invalid(field, "names no Id or ExternalId")
		}
	}
	if fk.Field != "Name" {
		return fk, nil
	}
	rec, err := s.esRecordByField(r, aggType, "Name", fk.Value, field)
	if domain.ErrorCode(err) == domain.CodeNotFound && s.catchUp(r.Context()) {
		rec, err = s.esRecordByField(r, aggType, "Name", fk.Value, field)
	}
	if err != nil {
		return fk, err
	}
	return commands.ForeignKey{Field: "Id", Value: rec.ID}, nil
}

// esRecordByField finds, in the read models, the access role or permission
// record whose field is value; param is what a Multible Rows names.
func (s *Server) esRecordByField(r *http.Request, aggType, field, value, param string) (projections.AccessRecord, error) {
	tenant := caller(r.Context()).Tenant
	typ := domain.RecordTypeAccessRole
	if aggType == domain.AggregateAccessPermission {
		typ = domain.RecordTypePermission
	}
	if field == "Id" {
		if !domain.ValidToken(value) {
			return projections.AccessRecord{}, esNotFound(typ, field, value)
		}
		rec, ok, err := s.db.AccessRecord(tenant, aggType, value)
		if err == nil && !ok {
			err = esNotFound(typ, field, value)
		}
		return rec, err
	}
	q, err := esEquals(domain.AccessRecordSchema, field, value, param)
	if err != nil {
		return projections.AccessRecord{}, err
	}
	items, total, err := s.db.AccessRecords(tenant, aggType, q, domain.Page{Page: 1, Limit: 1})
	switch {
	case err != nil:
		return projections.AccessRecord{}, err
	case total == 0:
		e := esNotFound(typ, field, value).(*domain.Error)
		e.Field = param
		return projections.AccessRecord{}, e
	case total > 1:
		return projections.AccessRecord{}, domain.MultipleRows(param, value, total)
	}
	return items[0], nil
}

// handleESGroupPermissionUpsert is POST /AccessGroup/{Id}/Permission: the
// record named by its Id, or else the one with the same AccessRoleId and
// PermissionId, is updated (200); otherwise a new record is created (201).
func (s *Server) handleESGroupPermissionUpsert(w http.ResponseWriter, r *http.Request) error {
	if _, err := esCheckQuery(r, "Name"); err != nil {
		return err
	}
	m, err := meta(r)
	if err != nil {
		return err
	}
	gid, err := s.esGroupWrite(r)
	if err != nil {
		return err
	}
	obj, err := decodeObject(r)
	if err != nil {
		return err
	}
	in, err := s.esGroupPermissionWrite(r, obj)
	if err != nil {
		return err
	}
	res, err := s.cmd.UpsertGroupPermissions(r.Context(), m, gid, []commands.GroupPermissionWrite{in}, false, func(int) string { return "" })
	if err != nil {
		return err
	}
	esMutation(w, res.Version, res.Position)
	o := res.Outcome
	switch {
	case len(o.Inserted) == 1:
		w.Header().Set("Location", esBase+"/AccessGroup/"+url.PathEscape(gid)+"/Permissions")
		writeJSON(w, http.StatusCreated, esGroupPermission(res.Views[o.Inserted[0]]))
	case len(o.Updated) == 1:
		writeJSON(w, http.StatusOK, esGroupPermission(res.Views[o.Updated[0]]))
	case len(o.Unchanged) == 1:
		writeJSON(w, http.StatusOK, esGroupPermission(res.Views[o.Unchanged[0]]))
	default:
		// A retry of a command that landed before: its outcome was lost.
		return domain.Errorf(domain.CodeConflict, "this request was applied before; read the group's Permissions to see its outcome")
	}
	return nil
}

// esSyncJSON is what a bulk sync did to each record.
type esSyncJSON struct {
	Inserted  []esGroupPermissionJSON `json:"Inserted"`
	Updated   []esGroupPermissionJSON `json:"Updated"`
	Unchanged []esGroupPermissionJSON `json:"Unchanged"`
	Deleted   []esGroupPermissionJSON `json:"Deleted"`
}

// handleESGroupPermissionSync is PATCH /AccessGroup/{Id}/Permissions: the
// body is a JSON array of permission records, each upserted as by POST;
// with DeleteNotExists=true every other record of the group is deleted.
// It is one atomic append: the group ends as the body says, or unchanged.
func (s *Server) handleESGroupPermissionSync(w http.ResponseWriter, r *http.Request) error {
	q, err := esCheckQuery(r, "Name", "DeleteNotExists")
	if err != nil {
		return err
	}
	deleteNotExists := false
	switch v := strings.ToLower(q.Get("DeleteNotExists")); v {
	case "", "false", "0":
	case "true", "1":
		deleteNotExists = true
	default:
		return domain.Invalid("DeleteNotExists", "must be true or false")
	}
	m, err := meta(r)
	if err != nil {
		return err
	}
	gid, err := s.esGroupWrite(r)
	if err != nil {
		return err
	}
	objs, err := esArray(r)
	if err != nil {
		return err
	}
	item := func(i int) string { return fmt.Sprintf("[%d]", i) }
	in := make([]commands.GroupPermissionWrite, len(objs))
	for i, obj := range objs {
		if in[i], err = s.esGroupPermissionWrite(r, obj); err != nil {
			return esInvalidItem(err, item(i))
		}
	}
	res, err := s.cmd.UpsertGroupPermissions(r.Context(), m, gid, in, deleteNotExists, item)
	if err != nil {
		return err
	}
	list := func(ids []int64) []esGroupPermissionJSON {
		out := make([]esGroupPermissionJSON, len(ids))
		for i, id := range ids {
			out[i] = esGroupPermission(res.Views[id])
		}
		return out
	}
	o := res.Outcome
	esMutation(w, res.Version, res.Position)
	writeJSON(w, http.StatusOK, esSyncJSON{Inserted: list(o.Inserted), Updated: list(o.Updated),
		Unchanged: list(o.Unchanged), Deleted: list(o.Deleted)})
	return nil
}

// handleESGroupPermissionDelete is DELETE /AccessGroup/{Id}/Permission/
// {SubId}: the one record whose SubName field is SubId is deleted and
// answered, its foreign keys as AbstractText.
func (s *Server) handleESGroupPermissionDelete(w http.ResponseWriter, r *http.Request) error {
	if _, err := esCheckQuery(r, "Name", "SubName"); err != nil {
		return err
	}
	m, err := meta(r)
	if err != nil {
		return err
	}
	gid, err := s.esGroupWrite(r)
	if err != nil {
		return err
	}
	subID, err := esPathValue(r, "SubId")
	if err != nil {
		return err
	}
	subField, err := esMatchField(r, "SubName", esSubMatchFields)
	if err != nil {
		return err
	}
	q, err := esEquals(domain.GroupPermissionSchema, subField, subID, "SubId")
	if err != nil {
		return err
	}
	v, res, err := s.cmd.RemoveGroupPermission(r.Context(), m, gid, q.Filter, subField, subID)
	var e *domain.Error
	if errors.As(err, &e) && e.Field == subField {
		// The miss or the Multible Rows is about the path's SubId.
		named := *e
		named.Field = "SubId"
		return &named
	}
	if err != nil {
		return err
	}
	esMutation(w, 0, res.Position)
	writeJSON(w, http.StatusOK, esGroupPermission(v))
	return nil
}

func (s *Server) handleESRecordList(k esRecordKind) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		lp, err := parseESystemsList(r, domain.AccessRecordSchema)
		if err != nil {
			return err
		}
		items, total, err := s.db.AccessRecords(caller(r.Context()).Tenant, k.aggType, lp.query, lp.page)
		if err != nil {
			return err
		}
		out := make([]esRecordJSON, len(items))
		for i, rec := range items {
			out[i] = esRecordFromView(rec.AccessRecordView)
		}
		return writeESystemsList(w, k.typ, out, lp, total)
	}
}

func (s *Server) handleESRecordView(k esRecordKind) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if _, err := esCheckQuery(r, "Name"); err != nil {
			return err
		}
		value, err := esPathValue(r, "Id")
		if err != nil {
			return err
		}
		field, err := esMatchField(r, "Name", esMatchFields)
		if err != nil {
			return err
		}
		rec, err := s.esRecordByField(r, k.aggType, field, value, "Id")
		if err != nil {
			return err
		}
		w.Header().Set("ETag", etag(rec.Version))
		writeJSON(w, http.StatusOK, esRecordFromView(rec.AccessRecordView))
		return nil
	}
}

func (s *Server) handleESRecordCreate(k esRecordKind) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
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
			return domain.Invalid("Id", "is assigned by the server")
		}
		p, err := esRecordPatch(obj)
		if err != nil {
			return err
		}
		res, err := s.cmd.CreateAccessRecord(r.Context(), m, k.aggType, esRecordFields(p))
		if err != nil {
			return err
		}
		rec := res.Record
		w.Header().Set("Location", esBase+k.item+"/"+url.PathEscape(rec.ID))
		esMutation(w, res.Version, res.Position)
		writeJSON(w, http.StatusCreated, esRecordFromView(domain.AccessRecordView{ID: rec.ID, RecordFields: rec.RecordFields,
			CreatedAt: rec.CreatedAt, ModifiedAt: rec.CreatedAt}))
		return nil
	}
}
