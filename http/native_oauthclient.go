package http

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/portcullis/portcullis/domain"
	"github.com/portcullis/portcullis/projections"
)

func (s *Server) registerOAuthClientRoutes(r *mux.Router) {
	r.HandleFunc("/oauth-clients", s.native("oauth-clients:read", s.handleOAuthClientList)).Methods("GET")
	r.HandleFunc("/oauth-clients", s.native("oauth-clients:write", s.handleOAuthClientCreate)).Methods("POST")
	r.HandleFunc("/oauth-clients/{id}", s.native("oauth-clients:read", s.handleOAuthClientView)).Methods("GET")
	r.HandleFunc("/oauth-clients/{id}", s.native("oauth-clients:delete", s.handleOAuthClientDelete)).Methods("DELETE")
}

type oauthClientJSON struct {
	ClientID  string    `json:"client_id"`
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	Scopes    []string  `json:"scopes"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func oauthClientFromView(c projections.OAuthClient) oauthClientJSON {
	return oauthClientJSON{ClientID: c.ID, Name: c.Name, Role: c.Role, Scopes: c.Scopes,
		CreatedAt: c.CreatedAt.UTC(), UpdatedAt: c.UpdatedAt.UTC()}
}

func oauthClientFromState(c domain.OAuthClient) oauthClientJSON {
	return oauthClientJSON{ClientID: c.ID, Name: c.Name, Role: c.Role, Scopes: c.Scopes,
		CreatedAt: c.CreatedAt.UTC(), UpdatedAt: c.UpdatedAt.UTC()}
}

func (s *Server) handleOAuthClientList(w http.ResponseWriter, r *http.Request) error {
	lp, err := parseList(r, nil)
	if err != nil {
		return err
	}
	clients, total, err := s.read(r).OAuthClients(caller(r.Context()).Tenant, lp.page)
	if err != nil {
		return err
	}
	out := make([]oauthClientJSON, len(clients))
	for i, c := range clients {
		out[i] = oauthClientFromView(c)
	}
	writeNativeList(w, "oauth clients", out, lp.page, total)
	return nil
}

func (s *Server) handleOAuthClientView(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	c, tenant, ok, err := s.read(r).OAuthClientByID(id)
	if err != nil {
		return err
	}
	if !ok || tenant != caller(r.Context()).Tenant {
		return domain.Errorf(domain.CodeNotFound, "oauth client %s not found", id)
	}
	w.Header().Set("ETag", etag(c.Version))
	writeJSON(w, http.StatusOK, nativeItem{Msg: "oauth client", Data: oauthClientFromView(c)})
	return nil
}

// handleOAuthClientCreate creates a client and shows its secret once; a
// system admin may name another tenant with "tenant".
func (s *Server) handleOAuthClientCreate(w http.ResponseWriter, r *http.Request) error {
	m, err := meta(r)
	if err != nil {
		return err
	}
	obj, err := decodeObject(r)
	if err != nil {
		return err
	}
	if err := obj.only("name", "role", "scopes", "tenant"); err != nil {
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
	var scopes []string
	if raw, ok := obj["scopes"]; !ok {
		return domain.Invalid("scopes", "is required")
	} else if err := json.Unmarshal(raw, &scopes); err != nil {
		return domain.Invalid("scopes", "must be an array of strings")
	}
	if m.Tenant, err = s.targetTenant(r, obj, m.Tenant); err != nil {
		return err
	}
	res, err := s.cmd.CreateOAuthClient(r.Context(), m, name, role, scopes)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/oauth-clients/"+res.Client.ID)
	w.Header().Set("Cache-Control", "no-store")
	data := oauthClientFromState(res.Client)
	writeMutation(w, http.StatusCreated, "oauth client created; its secret is shown only once", res.Result, struct {
		oauthClientJSON
		ClientSecret string `json:"client_secret"`
	}{data, res.Secret})
	return nil
}

func (s *Server) handleOAuthClientDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	m, err := meta(r)
	if err != nil {
		return err
	}
	res, err := s.cmd.DeleteOAuthClient(r.Context(), m, id)
	if err != nil {
		return err
	}
	if err := s.settle(r, res.Position); err != nil {
		return err
	}
	writeMutation(w, http.StatusOK, "oauth client deleted", res.Result, oauthClientFromState(res.Client))
	return nil
}
