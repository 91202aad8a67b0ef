package http

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/portcullis/portcullis/domain"
)

func (s *Server) registerRoleRoutes(r *mux.Router) {
	r.HandleFunc("/roles", s.native("roles:read", s.handleRoleList)).Methods("GET")
	r.HandleFunc("/roles", s.native("roles:write", s.handleRoleCreate)).Methods("POST")
	r.HandleFunc("/roles/{name}", s.native("roles:read", s.handleRoleView)).Methods("GET")
	r.HandleFunc("/roles/{name}", s.native("roles:write", s.handleRoleUpdate)).Methods("PATCH")
	r.HandleFunc("/roles/{name}", s.native("roles:delete", s.handleRoleDelete)).Methods("DELETE")
}

type roleJSON struct {
	Name        string     `json:"name"`
	Description string     `json:"description"`
	BuiltIn     bool       `json:"built_in"`
	Permissions []string   `json:"permissions"`
	CreatedAt   *time.Time `json:"created_at"`
	UpdatedAt   *time.Time `json:"updated_at"`
}

func roleFromState(r domain.Role) roleJSON {
	c, u := r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	return roleJSON{Name: r.Name, Description: r.Description, Permissions: r.Permissions, CreatedAt: &c, UpdatedAt: &u}
}

// rolePermissions resolves a role of a tenant: built-in roles are fixed,
// custom ones come from the read model; an unknown or deleted role grants
// nothing.
func (s *Server) rolePermissions(tenant, role string) ([]string, error) {
	if perms, ok := s.builtin[role]; ok {
		return perms, nil
	}
	r, ok, err := s.db.Role(tenant, role)
	if err != nil || !ok {
		return nil, err
	}
	return r.Permissions, nil
}

func (s *Server) handleRoleList(w http.ResponseWriter, r *http.Request) error {
	lp, err := parseList(r, nil)
	if err != nil {
		return err
	}
	var all []roleJSON
	for _, name := range []string{domain.RoleAdmin, domain.RoleOperator, domain.RoleAuditor, domain.RoleViewer} {
		perms, _ := domain.BuiltinRole(name)
		all = append(all, roleJSON{Name: name, BuiltIn: true, Permissions: perms})
	}
	custom, err := s.read(r).Roles(caller(r.Context()).Tenant)
	if err != nil {
		return err
	}
	for _, c := range custom {
		ca, ua := c.CreatedAt.UTC(), c.UpdatedAt.UTC()
		all = append(all, roleJSON{Name: c.Name, Description: c.Description, Permissions: c.Permissions, CreatedAt: &ca, UpdatedAt: &ua})
	}
	lo, hi := lp.page.Bounds(len(all))
	writeNativeList(w, "roles", all[lo:hi], lp.page, len(all))
	return nil
}

func roleName(r *http.Request) (string, error) {
	name := mux.Vars(r)["name"]
	if !domain.ValidToken(name) {
		return "", domain.Invalid("name", "is not a valid role name")
	}
	return name, nil
}

func (s *Server) handleRoleView(w http.ResponseWriter, r *http.Request) error {
	name, err := roleName(r)
	if err != nil {
		return err
	}
	if perms, ok := domain.BuiltinRole(name); ok {
		writeJSON(w, http.StatusOK, nativeItem{Msg: "role", Data: roleJSON{Name: name, BuiltIn: true, Permissions: perms}})
		return nil
	}
	c, ok, err := s.read(r).Role(caller(r.Context()).Tenant, name)
	if err != nil {
		return err
	}
	if !ok {
		return domain.Errorf(domain.CodeNotFound, "role %s not found", name)
	}
	ca, ua := c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	w.Header().Set("ETag", etag(c.Version))
	writeJSON(w, http.StatusOK, nativeItem{Msg: "role", Data: roleJSON{Name: c.Name, Description: c.Description,
		Permissions: c.Permissions, CreatedAt: &ca, UpdatedAt: &ua}})
	return nil
}

// roleBody reads description and permissions of a role body.
func roleBody(obj object) (string, []string, error) {
	desc, _, err := obj.str("description", true)
	if err != nil {
		return "", nil, err
	}
	var perms []string
	if raw, ok := obj["permissions"]; !ok {
		return "", nil, domain.Invalid("permissions", "is required")
	} else if err := json.Unmarshal(raw, &perms); err != nil {
		return "", nil, domain.Invalid("permissions", "must be an array of strings")
	}
	return desc, perms, nil
}

func (s *Server) handleRoleCreate(w http.ResponseWriter, r *http.Request) error {
	m, err := meta(r)
	if err != nil {
		return err
	}
	obj, err := decodeObject(r)
	if err != nil {
		return err
	}
	if err := obj.only("name", "description", "permissions"); err != nil {
		return err
	}
	name, _, err := obj.str("name", false)
	if err != nil {
		return err
	}
	desc, perms, err := roleBody(obj)
	if err != nil {
		return err
	}
	res, err := s.cmd.CreateRole(r.Context(), m, name, desc, perms)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/roles/"+name)
	writeMutation(w, http.StatusCreated, "role created", res.Result, roleFromState(res.Role))
	return nil
}

func (s *Server) handleRoleUpdate(w http.ResponseWriter, r *http.Request) error {
	name, err := roleName(r)
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
	if err := obj.only("description", "permissions"); err != nil {
		return err
	}
	desc, perms, err := roleBody(obj)
	if err != nil {
		return err
	}
	res, err := s.cmd.UpdateRole(r.Context(), m, name, desc, perms)
	if err != nil {
		return err
	}
	if err := s.settle(r, res.Position); err != nil {
		return err
	}
	writeMutation(w, http.StatusOK, "role updated", res.Result, roleFromState(res.Role))
	return nil
}

func (s *Server) handleRoleDelete(w http.ResponseWriter, r *http.Request) error {
	name, err := roleName(r)
	if err != nil {
		return err
	}
	m, err := meta(r)
	if err != nil {
		return err
	}
	res, err := s.cmd.DeleteRole(r.Context(), m, name)
	if err != nil {
		return err
	}
	if err := s.settle(r, res.Position); err != nil {
		return err
	}
	writeMutation(w, http.StatusOK, "role deleted", res.Result, roleFromState(res.Role))
	return nil
}
