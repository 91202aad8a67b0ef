package http

import (
	"context"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/portcullis/portcullis/domain"
	"github.com/portcullis/portcullis/projections"
)

func (s *Server) registerServiceUserRoutes(r *mux.Router) {
	r.HandleFunc("/permissions", s.native("", s.handlePermissions)).Methods("GET")
	r.HandleFunc("/service-users", s.native("service-users:read", s.handleServiceUserList)).Methods("GET")
	r.HandleFunc("/service-users", s.native("service-users:write", s.handleServiceUserCreate)).Methods("POST")
	r.HandleFunc("/service-users/{id}", s.native("service-users:read", s.handleServiceUserView)).Methods("GET")
	r.HandleFunc("/service-users/{id}", s.native("service-users:write", s.handleServiceUserUpdate)).Methods("PATCH")
	r.HandleFunc("/service-users/{id}", s.native("service-users:delete", s.handleServiceUserDelete)).Methods("DELETE")
	r.HandleFunc("/service-users/{id}/tokens", s.native("service-users:write", s.handleTokenIssue)).Methods("POST")
	r.HandleFunc("/service-users/{id}/tokens/{token_id}", s.native("service-users:write", s.handleTokenRevoke)).Methods("DELETE")
}

type tokenJSON struct {
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	Revoked   bool      `json:"revoked"`
}

type serviceUserJSON struct {
	ID        string      `json:"id"`
	Name      string      `json:"name"`
	Role      string      `json:"role"`
	Tokens    []tokenJSON `json:"tokens"`
	CreatedAt time.Time   `json:"created_at"`
	UpdatedAt time.Time   `json:"updated_at"`
}

func serviceUserFromView(u projections.ServiceUser) serviceUserJSON {
	out := serviceUserJSON{ID: u.ID, Name: u.Name, Role: u.Role, Tokens: []tokenJSON{},
		CreatedAt: u.CreatedAt.UTC(), UpdatedAt: u.UpdatedAt.UTC()}
	for _, t := range u.Tokens {
		out.Tokens = append(out.Tokens, tokenJSON{ID: t.ID, CreatedAt: t.CreatedAt.UTC(), ExpiresAt: t.ExpiresAt.UTC(), Revoked: t.Revoked})
	}
	return out
}

func serviceUserFromState(u domain.ServiceUser) serviceUserJSON {
	out := serviceUserJSON{ID: u.ID, Name: u.Name, Role: u.Role, Tokens: []tokenJSON{},
		CreatedAt: u.CreatedAt.UTC(), UpdatedAt: u.UpdatedAt.UTC()}
	for _, t := range u.Tokens {
		out.Tokens = append(out.Tokens, tokenJSON{ID: t.ID, CreatedAt: t.CreatedAt.UTC(), ExpiresAt: t.ExpiresAt.UTC(), Revoked: t.Revoked})
	}
	return out
}

// targetTenant is the tenant a credential is created in: the caller's, or
// for a system admin the one named by "tenant".
func (s *Server) targetTenant(r *http.Request, obj object, own string) (string, error) {
	tenant, given, err := obj.str("tenant", false)
	if err != nil || !given || tenant == own {
		return own, err
	}
	if !caller(r.Context()).SystemAdmin {
		return "", domain.Errorf(domain.CodeInsufficientPermissions, "only a system admin creates credentials in another tenant")
	}
	if _, ok, err := s.cmd.Tenant(r.Context(), tenant); err != nil {
		return "", err
	} else if !ok {
		return "", domain.Invalid("tenant", "no tenant %q", tenant)
	}
	return tenant, nil
}

// settle waits until authentication sees a change that takes rights away
// (a revoked token, a deleted user, a lesser role), so that its 2xx means
// the old rights no longer work for anyone, not only for readers that pass
// the consistency token.
func (s *Server) settle(r *http.Request, pos uint64) error {
	ctx, cancel := context.WithTimeout(r.Context(), s.wait)
	defer cancel()
	if err := s.runner.WaitFor(ctx, pos); err != nil {
		return domain.Errorf(domain.CodeUnavailable,
			"the change is recorded but not yet in force on this server; retry to confirm")
	}
	return nil
}

func (s *Server) handlePermissions(w http.ResponseWriter, r *http.Request) error {
	p := caller(r.Context())
	perms := p.Permissions
	if _, past, _ := s.asOf(w, r); past && !p.SystemAdmin {
		// As of an instant: the caller's role as it stood then.
		if _, builtin := domain.BuiltinRole(p.Role); !builtin {
			perms = []string{}
			if role, ok, err := s.read(r).Role(p.Tenant, p.Role); err != nil {
				return err
			} else if ok {
				perms = role.Permissions
			}
		}
	}
	writeJSON(w, http.StatusOK, nativeItem{Msg: "permissions", Data: map[string]any{
		"tenant": p.Tenant, "role": p.Role, "permissions": perms, "system_admin": p.SystemAdmin,
	}})
	return nil
}

func (s *Server) handleServiceUserList(w http.ResponseWriter, r *http.Request) error {
	lp, err := parseList(r, nil)
	if err != nil {
		return err
	}
	users, total, err := s.read(r).ServiceUsers(caller(r.Context()).Tenant, lp.page)
	if err != nil {
		return err
	}
	out := make([]serviceUserJSON, len(users))
	for i, u := range users {
		out[i] = serviceUserFromView(u)
	}
	writeNativeList(w, "service users", out, lp.page, total)
	return nil
}

func (s *Server) handleServiceUserView(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	u, ok, err := s.read(r).ServiceUser(caller(r.Context()).Tenant, id)
	if err != nil {
		return err
	}
	if !ok {
		return domain.Errorf(domain.CodeNotFound, "service user %s not found", id)
	}
	w.Header().Set("ETag", etag(u.Version))
	writeJSON(w, http.StatusOK, nativeItem{Msg: "service user", Data: serviceUserFromView(u)})
	return nil
}

// handleServiceUserCreate creates a service user in the caller's tenant; a
// system admin may name another tenant with "tenant".
func (s *Server) handleServiceUserCreate(w http.ResponseWriter, r *http.Request) error {
	m, err := meta(r)
	if err != nil {
		return err
	}
	obj, err := decodeObject(r)
	if err != nil {
		return err
	}
	if err := obj.only("name", "role", "tenant"); err != nil {
		return err
	}
	name, _, err := obj.str("name", false)
	if err != nil {
		return err
	}
	role, _, err := obj.str("role", false)
	if err != nil {
		return err
	}
	if m.Tenant, err = s.targetTenant(r, obj, m.Tenant); err != nil {
		return err
	}
	res, err := s.cmd.CreateServiceUser(r.Context(), m, name, role)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/service-users/"+res.ServiceUser.ID)
	writeMutation(w, http.StatusCreated, "service user created", res.Result, serviceUserFromState(res.ServiceUser))
	return nil
}

func (s *Server) handleServiceUserUpdate(w http.ResponseWriter, r *http.Request) error {
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
	if err := obj.only("role"); err != nil {
		return err
	}
	role, _, err := obj.str("role", false)
	if err != nil {
		return err
	}
	res, err := s.cmd.ChangeServiceUserRole(r.Context(), m, id, role)
	if err != nil {
		return err
	}
	if err := s.settle(r, res.Position); err != nil {
		return err
	}
	writeMutation(w, http.StatusOK, "service user updated", res.Result, serviceUserFromState(res.ServiceUser))
	return nil
}

func (s *Server) handleServiceUserDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if id == BootstrapAdminID && caller(r.Context()).Tenant == domain.DefaultTenant {
		return domain.Errorf(domain.CodeDeleteProtected, "the bootstrap admin cannot be deleted")
	}
	m, err := meta(r)
	if err != nil {
		return err
	}
	res, err := s.cmd.DeleteServiceUser(r.Context(), m, id)
	if err != nil {
		return err
	}
	if err := s.settle(r, res.Position); err != nil {
		return err
	}
	writeMutation(w, http.StatusOK, "service user deleted", res.Result, serviceUserFromState(res.ServiceUser))
	return nil
}

// handleTokenIssue issues a PAT. The answer carries the secret, so it is
// marked no-store: neither caches nor the idempotency store keep it.
func (s *Server) handleTokenIssue(w http.ResponseWriter, r *http.Request) error {
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
	if err := obj.only("expires_at", "tenant"); err != nil {
		return err
	}
	if m.Tenant, err = s.targetTenant(r, obj, m.Tenant); err != nil {
		return err
	}
	raw, _, err := obj.str("expires_at", false)
	if err != nil {
		return err
	}
	expires, err := time.Parse(time.RFC3339, raw)
	if err != nil {
		return domain.Invalid("expires_at", "must be an RFC 3339 time, like 2027-01-31T00:00:00Z")
	}
	issued, err := s.cmd.IssueToken(r.Context(), m, id, expires)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeMutation(w, http.StatusCreated, "token issued; it is shown only once", issued.Result, map[string]any{
		"token": issued.Token, "token_id": issued.TokenID, "expires_at": issued.ExpiresAt,
	})
	return nil
}

func (s *Server) handleTokenRevoke(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	tokenID := mux.Vars(r)["token_id"]
	if !domain.ValidToken(tokenID) {
		return domain.Invalid("token_id", "is not a valid id")
	}
	m, err := meta(r)
	if err != nil {
		return err
	}
	res, err := s.cmd.RevokeToken(r.Context(), m, id, tokenID)
	if err != nil {
		return err
	}
	if err := s.settle(r, res.Position); err != nil {
		return err
	}
	writeMutation(w, http.StatusOK, "token revoked", res.Result, serviceUserFromState(res.ServiceUser))
	return nil
}
