package http

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/portcullis/portcullis/domain"
	"github.com/portcullis/portcullis/projections"
)

func (s *Server) registerTenantRoutes(r *mux.Router) {
	r.HandleFunc("/tenants", s.native("tenants:read", s.handleTenantList)).Methods("GET")
	r.HandleFunc("/tenants", s.native("tenants:write", s.handleTenantCreate)).Methods("POST")
}

type tenantJSON struct {
	ExtID       string    `json:"ext_id"`
	DisplayName string    `json:"display_name"`
	CreatedAt   time.Time `json:"created_at"`
}

func requireSystemAdmin(r *http.Request) error {
	if !caller(r.Context()).SystemAdmin {
		return domain.Errorf(domain.CodeInsufficientPermissions, "only a system admin manages tenants")
	}
	return nil
}

func (s *Server) handleTenantList(w http.ResponseWriter, r *http.Request) error {
	if err := requireSystemAdmin(r); err != nil {
		return err
	}
	lp, err := parseList(r, nil)
	if err != nil {
		return err
	}
	all, err := s.read(r).Tenants()
	if err != nil {
		return err
	}
	lo, hi := lp.page.Bounds(len(all))
	out := make([]tenantJSON, 0, hi-lo)
	for _, t := range all[lo:hi] {
		out = append(out, tenantFromView(t))
	}
	writeNativeList(w, "tenants", out, lp.page, len(all))
	return nil
}

func tenantFromView(t projections.Tenant) tenantJSON {
	return tenantJSON{ExtID: t.ExtID, DisplayName: t.DisplayName, CreatedAt: t.CreatedAt.UTC()}
}

func (s *Server) handleTenantCreate(w http.ResponseWriter, r *http.Request) error {
	if err := requireSystemAdmin(r); err != nil {
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
	if err := obj.only("ext_id", "display_name"); err != nil {
		return err
	}
	extID, _, err := obj.str("ext_id", false)
	if err != nil {
		return err
	}
	name, _, err := obj.str("display_name", false)
	if err != nil {
		return err
	}
	res, err := s.cmd.CreateTenant(r.Context(), m, extID, name)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/tenants/"+extID)
	writeMutation(w, http.StatusCreated, "tenant created", res.Result, tenantJSON{
		ExtID: res.Tenant.ExtID, DisplayName: res.Tenant.DisplayName, CreatedAt: res.Tenant.CreatedAt.UTC()})
	return nil
}

func formatPos(p uint64) string { return strconv.FormatUint(p, 10) }
