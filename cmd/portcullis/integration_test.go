package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	phttp "github.com/portcullis/portcullis/http"
)

type categoryView struct {
	ID               string `json:"id"`
	Name             string `json:"name"`
	Description      string `json:"description"`
	ApplicationCount int    `json:"application_count"`
}

type applicationView struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	CategoryID  string `json:"category_id"`
	Vendor      string `json:"vendor"`
	Description string `json:"description"`
}

type connectionView struct {
	ID                       string         `json:"id"`
	ApplicationID            string         `json:"application_id"`
	Name                     string         `json:"name"`
	Status                   string         `json:"status"`
	Config                   map[string]any `json:"config"`
	SecretFields             []string       `json:"secret_fields"`
	DisabledReason           *string        `json:"disabled_reason"`
	DisabledAt               *time.Time     `json:"disabled_at"`
	PreviousSecretValidUntil *time.Time     `json:"previous_secret_valid_until"`
	CreatedAt                time.Time      `json:"created_at"`
	UpdatedAt                time.Time      `json:"updated_at"`
	Secret                   string         `json:"secret"` // only in connect and rotate-secret answers
}

// mustRunWebhooks starts a server on dir whose webhooks may reach loopback
// receivers, with cfg's delivery settings.
func mustRunWebhooks(t testing.TB, dir string, cfg phttp.WebhookConfig) *testMain {
	t.Helper()
	cfg.AllowLoopback = true
	return mustRunWith(t, dir, func(c *Config) { c.Webhook = cfg })
}

// The catalog lists its categories and applications, each application its
// connection schema; unknown ids and filters are refused in the envelope.
func TestIntegrationCatalog(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	cats := decode[list[categoryView]](t, m.c.do(t, "GET", "/api/v1/integrations/categories", nil))
	requireEqual(t, "categories", cats.Meta.Pagination.TotalItems, 4)
	apps := decode[list[applicationView]](t, m.c.do(t, "GET", "/api/v1/integrations/applications?limit=100", nil))
	var names []string
	for _, a := range apps.Data {
		names = append(names, a.Name)
	}
	requireEqual(t, "applications", strings.Join(names, "|"),
		"portier XML|portier Vision 5|Entra ID SSO SAML|Entra ID Directory Sync SCIM|Salto ProAccess|Webhook")
	idp := decode[list[applicationView]](t, m.c.do(t, "GET", "/api/v1/integrations/applications?category_id=identity-providers&order=name.desc", nil))
	if len(idp.Data) != 2 || idp.Data[0].ID != "entra-id-sso-saml" {
		t.Fatalf("identity providers by name desc: %+v", idp.Data)
	}
	page2 := decode[list[applicationView]](t, m.c.do(t, "GET", "/api/v1/integrations/applications?limit=4&page=2", nil))
	if page2.Meta.Pagination != (pagination{CurrentCount: 2, CurrentPage: 2, PerPage: 4, TotalPages: 2, TotalItems: 6}) {
		t.Fatalf("page 2: %+v", page2.Meta.Pagination)
	}

	type appDetail struct {
		applicationView
		Category categoryView `json:"category"`
	}
	wh := decode[item[appDetail]](t, m.c.do(t, "GET", "/api/v1/integrations/applications/webhook", nil)).Data
	requireEqual(t, "webhook category", wh.Category.ID, "developer-tools")

	type schema struct {
		ApplicationID string `json:"application_id"`
		Schema        struct {
			Schema               string                    `json:"$schema"`
			Type                 string                    `json:"type"`
			Title                string                    `json:"title"`
			Properties           map[string]map[string]any `json:"properties"`
			Required             []string                  `json:"required"`
			AdditionalProperties bool                      `json:"additionalProperties"`
		} `json:"schema"`
	}
	sc := decode[item[schema]](t, m.c.do(t, "GET", "/api/v1/integrations/applications/entra-id-scim/connection-schema", nil)).Data
	requireEqual(t, "required", strings.Join(sc.Schema.Required, ","), "directory_tenant_id,client_id,client_secret")
	requireEqual(t, "client_secret writeOnly", sc.Schema.Properties["client_secret"]["writeOnly"], any(true))
	requireEqual(t, "deprovision default", sc.Schema.Properties["deprovision"]["default"], any(true))

	requireNativeError(t, m.c.do(t, "GET", "/api/v1/integrations/applications/nope", nil), http.StatusNotFound, "NOT_FOUND", "nope")
	requireNativeError(t, m.c.do(t, "GET", "/api/v1/integrations/applications/nope/connection-schema", nil), http.StatusNotFound, "NOT_FOUND", "")
	requireNativeError(t, m.c.do(t, "GET", "/api/v1/integrations/applications?category_id=toys", nil), http.StatusBadRequest, "BAD_REQUEST", "category_id")
	requireNativeError(t, m.c.do(t, "GET", "/api/v1/integrations/categories?order=vendor.asc", nil), http.StatusBadRequest, "BAD_REQUEST", "order")
	requireNativeError(t, m.c.do(t, "GET", "/api/v1/integrations/applications/bad%20id", nil), http.StatusBadRequest, "BAD_REQUEST", "id")
}

// Connecting validates the body against the application's schema, naming
// the field; secrets are sealed, never shown, and absent from every file;
// connections list, filter and end; another tenant sees none of them.
func TestIntegrationConnections(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	const password = "salto-Pa55word-never-shown"
	before := lastSeq(t, m)
	for _, c := range []struct {
		app   string
		body  any
		field string
	}{
		{"salto-proaccess", map[string]any{"server_url": "https://salto.example.com", "username": "u"}, "password"},
		{"salto-proaccess", map[string]any{"server_url": "https://salto.example.com", "username": "u", "password": 7}, "password"},
		{"salto-proaccess", map[string]any{"server_url": "ftp://salto.example.com", "username": "u", "password": "p"}, "server_url"},
		{"salto-proaccess", map[string]any{"server_url": "https://u:p@salto.example.com", "username": "u", "password": "p"}, "server_url"},
		{"salto-proaccess", map[string]any{"server_url": "https://salto.example.com", "username": "u", "password": "p", "color": "red"}, "color"},
		{"portier-xml", map[string]any{"locking_system_name": "Main", "import_mode": "partial"}, "import_mode"},
		{"portier-vision-5", map[string]any{"server_url": "https://v5.example.com", "api_key": "k", "locking_system_name": "A", "sync_interval_minutes": 1.5}, "sync_interval_minutes"},
		{"entra-id-sso-saml", map[string]any{"directory_tenant_id": "t", "metadata_url": "https://login.example.com/m", "entity_id": "e", "allowed_domains": []any{"ok.example", 3}}, "allowed_domains[1]"},
		{"entra-id-scim", map[string]any{"directory_tenant_id": "t", "client_id": "c", "client_secret": "s", "deprovision": "yes"}, "deprovision"},
		{"webhook", map[string]any{"url": "https://hooks.example.com/x", "event_types": []any{}}, "event_types"},
		{"webhook", map[string]any{"url": "https://hooks.example.com/x", "event_types": []any{"individual.exploded"}}, "event_types[0]"},
		{"webhook", map[string]any{"url": "https://hooks.example.com/x", "event_types": []any{"unique_value.claimed"}}, "event_types[0]"},
		{"webhook", map[string]any{"url": "https://hooks.example.com/x", "event_types": []any{"nothing.*"}}, "event_types[0]"},
		{"webhook", map[string]any{"url": "https://hooks.example.com/x", "event_types": "individual.created"}, "event_types"},
		{"webhook", map[string]any{"event_types": []any{"*"}}, "url"},
		{"webhook", map[string]any{"url": "https://hooks.example.com/x", "event_types": []any{"*"}, "name": 5}, "name"},
		// SSRF: private, link-local, loopback (not allowed on this server) and names that resolve there.
		{"webhook", map[string]any{"url": "http://10.1.2.3/hook", "event_types": []any{"*"}}, "url"},
		{"webhook", map[string]any{"url": "http://192.168.0.10/hook", "event_types": []any{"*"}}, "url"},
		{"webhook", map[string]any{"url": "http://169.254.169.254/latest/meta-data", "event_types": []any{"*"}}, "url"},
		{"webhook", map[string]any{"url": "http://[fd00::1]/hook", "event_types": []any{"*"}}, "url"},
		{"webhook", map[string]any{"url": "http://127.0.0.1:9/hook", "event_types": []any{"*"}}, "url"},
		{"webhook", map[string]any{"url": "http://localhost:9/hook", "event_types": []any{"*"}}, "url"},
		{"webhook", map[string]any{"url": "http://[::ffff:10.0.0.1]/hook", "event_types": []any{"*"}}, "url"},
		{"salto-proaccess", map[string]any{"server_url": "https://172.16.0.5", "username": "u", "password": "p"}, "server_url"},
	} {
		r := m.c.do(t, "POST", "/api/v1/integrations/applications/"+c.app+"/connect", c.body)
		requireNativeError(t, r, http.StatusBadRequest, "BAD_REQUEST", c.field)
	}
	requireNativeError(t, m.c.do(t, "POST", "/api/v1/integrations/applications/nope/connect", map[string]any{}), http.StatusNotFound, "NOT_FOUND", "")
	requireNativeError(t, m.c.do(t, "POST", "/api/v1/integrations/applications/webhook/connect", "[1]"), http.StatusBadRequest, "BAD_REQUEST", "body")
	requireEqual(t, "events appended by refused connects", lastSeq(t, m), before)

	r := m.c.do(t, "POST", "/api/v1/integrations/applications/salto-proaccess/connect",
		map[string]any{"name": "HQ doors", "server_url": "https://93.184.215.14:8443/api", "username": "svc", "password": password})
	requireStatus(t, r, http.StatusCreated)
	salto := decode[item[connectionView]](t, r).Data
	requireEqual(t, "secret fields", strings.Join(salto.SecretFields, ","), "password")
	requireEqual(t, "status", salto.Status, "active")
	requireEqual(t, "config username", salto.Config["username"], any("svc"))
	if _, shown := salto.Config["password"]; shown || strings.Contains(string(r.body), password) {
		t.Fatalf("the password is in the connect answer: %s", r.body)
	}
	tok := r.header.Get("X-Consistency-Token")
	r = m.c.do(t, "POST", "/api/v1/integrations/applications/entra-id-scim/connect",
		map[string]any{"directory_tenant_id": "b1c2", "client_id": "c3d4", "client_secret": "scim-secret-xyz", "groups": []any{"g2", "g1", "g2"}})
	requireStatus(t, r, http.StatusCreated)
	scim := decode[item[connectionView]](t, r).Data
	requireEqual(t, "default name", scim.Name, "Entra ID Directory Sync SCIM")
	requireEqual(t, "deprovision default", scim.Config["deprovision"], any(true))
	if g, _ := scim.Config["groups"].([]any); len(g) != 2 || g[0] != "g1" {
		t.Fatalf("groups sorted without repeats: %v", scim.Config["groups"])
	}
	tok = maxToken(tok, r.header.Get("X-Consistency-Token"))

	got := decode[item[connectionView]](t, m.c.do(t, "GET", "/api/v1/integrations/connections/"+salto.ID, nil, "X-Consistency-Token", tok)).Data
	got.Secret, salto.Secret = "", ""
	if got.Name != salto.Name || got.Config["server_url"] != salto.Config["server_url"] || !got.CreatedAt.Equal(salto.CreatedAt) {
		t.Fatalf("GET %+v, connect answered %+v", got, salto)
	}
	all := decode[list[connectionView]](t, m.c.do(t, "GET", "/api/v1/integrations/connections?order=created_at.desc", nil, "X-Consistency-Token", tok))
	if all.Meta.Pagination.TotalItems != 2 || all.Data[0].ID != scim.ID {
		t.Fatalf("list newest first: %+v", all.Data)
	}
	only := decode[list[connectionView]](t, m.c.do(t, "GET", "/api/v1/integrations/connections?application_id=salto-proaccess&status=active", nil))
	if only.Meta.Pagination.TotalItems != 1 || only.Data[0].ID != salto.ID {
		t.Fatalf("filtered list: %+v", only.Data)
	}
	requireNativeError(t, m.c.do(t, "GET", "/api/v1/integrations/connections?status=sleepy", nil), http.StatusBadRequest, "BAD_REQUEST", "status")
	requireNativeError(t, m.c.do(t, "GET", "/api/v1/integrations/connections?application_id=x", nil), http.StatusBadRequest, "BAD_REQUEST", "application_id")
	requireNativeError(t, m.c.do(t, "POST", "/api/v1/integrations/connections/"+salto.ID+"/rotate-secret", nil), http.StatusNotFound, "NOT_FOUND", "webhook")

	// A viewer reads, but cannot connect or disconnect.
	_, vt := mustServiceUser(t, m.c, "viewer", "viewer", time.Hour)
	v := as(m.c, vt.Token)
	requireStatus(t, v.do(t, "GET", "/api/v1/integrations/connections", nil), http.StatusOK)
	requireNativeError(t, v.do(t, "DELETE", "/api/v1/integrations/connections/"+salto.ID, nil), http.StatusForbidden, "INSUFFICIENT_PERMISSIONS", "")
	requireNativeError(t, v.do(t, "POST", "/api/v1/integrations/applications/portier-xml/connect", map[string]any{"locking_system_name": "x"}),
		http.StatusForbidden, "INSUFFICIENT_PERMISSIONS", "")

	// Another tenant sees none of it.
	requireStatus(t, m.c.do(t, "POST", "/api/v1/tenants", map[string]any{"ext_id": "other", "display_name": "Other"}), http.StatusCreated)
	r = m.c.do(t, "POST", "/api/v1/service-users", map[string]any{"name": "o", "role": "admin", "tenant": "other"})
	requireStatus(t, r, http.StatusCreated)
	ou := decode[item[serviceUser]](t, r).Data
	r = m.c.do(t, "POST", "/api/v1/service-users/"+ou.ID+"/tokens",
		map[string]any{"expires_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339), "tenant": "other"})
	requireStatus(t, r, http.StatusCreated)
	other := as(m.c, decode[item[issuedToken]](t, r).Data.Token)
	requireNativeError(t, other.do(t, "GET", "/api/v1/integrations/connections/"+salto.ID, nil), http.StatusNotFound, "NOT_FOUND", "")
	requireNativeError(t, other.do(t, "DELETE", "/api/v1/integrations/connections/"+salto.ID, nil), http.StatusNotFound, "NOT_FOUND", "")
	requireEqual(t, "other tenant's list", decode[list[connectionView]](t, other.do(t, "GET", "/api/v1/integrations/connections", nil)).Meta.Pagination.TotalItems, 0)

	r = m.c.do(t, "DELETE", "/api/v1/integrations/connections/"+salto.ID, nil)
	requireStatus(t, r, http.StatusOK)
	requireNativeError(t, m.c.do(t, "GET", "/api/v1/integrations/connections/"+salto.ID, nil, "X-Consistency-Token", r.header.Get("X-Consistency-Token")),
		http.StatusNotFound, "NOT_FOUND", "")
	requireNativeError(t, m.c.do(t, "DELETE", "/api/v1/integrations/connections/"+salto.ID, nil), http.StatusNotFound, "NOT_FOUND", "")
	requireEqual(t, "after delete", decode[list[connectionView]](t, m.c.do(t, "GET", "/api/v1/integrations/connections", nil)).Meta.Pagination.TotalItems, 1)

	mustClose(t, m)
	requireSecretsAbsent(t, m.Config.DataDir, password, "scim-secret-xyz")
}
