package http

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/portcullis/portcullis/domain"
	"github.com/portcullis/portcullis/projections"
)

func (s *Server) registerIntegrationRoutes(r *mux.Router) {
	r.HandleFunc("/integrations/categories", s.native("integrations:read", s.handleIntegrationCategories)).Methods("GET")
	r.HandleFunc("/integrations/applications", s.native("integrations:read", s.handleIntegrationApplications)).Methods("GET")
	r.HandleFunc("/integrations/applications/{id}", s.native("integrations:read", s.handleIntegrationApplication)).Methods("GET")
	r.HandleFunc("/integrations/applications/{id}/connection-schema", s.native("integrations:read", s.handleConnectionSchema)).Methods("GET")
	r.HandleFunc("/integrations/applications/{id}/connect", s.native("integrations:write", s.handleConnect)).Methods("POST")
	r.HandleFunc("/integrations/connections", s.native("integrations:read", s.handleConnectionList)).Methods("GET")
	r.HandleFunc("/integrations/connections/{id}", s.native("integrations:read", s.handleConnectionView)).Methods("GET")
	r.HandleFunc("/integrations/connections/{id}", s.native("integrations:delete", s.handleConnectionDelete)).Methods("DELETE")
	s.registerWebhookRoutes(r)
}

type categoryJSON struct {
	ID               string `json:"id"`
	Name             string `json:"name"`
	Description      string `json:"description"`
	ApplicationCount int    `json:"application_count"`
}

type applicationJSON struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	CategoryID  string `json:"category_id"`
	Vendor      string `json:"vendor"`
	Description string `json:"description"`
}

func applicationFrom(a domain.IntegrationApplication) applicationJSON {
	return applicationJSON{ID: a.ID, Name: a.Name, CategoryID: a.CategoryID, Vendor: a.Vendor, Description: a.Description}
}

// page applies a page window to a static list.
func page[T any](all []T, p domain.Page) []T {
	lo, hi := p.Bounds(len(all))
	return all[lo:hi]
}

func (s *Server) handleIntegrationCategories(w http.ResponseWriter, r *http.Request) error {
	lp, err := parseList(r, []string{"name"})
	if err != nil {
		return err
	}
	apps := domain.IntegrationApplications()
	var out []categoryJSON
	for _, c := range domain.IntegrationCategories() {
		n := 0
		for _, a := range apps {
			if a.CategoryID == c.ID {
				n++
			}
		}
		out = append(out, categoryJSON{ID: c.ID, Name: c.Name, Description: c.Description, ApplicationCount: n})
	}
	if len(lp.order) == 1 {
		slices.SortStableFunc(out, func(a, b categoryJSON) int { return orderBy(lp.order[0], a.Name, b.Name) })
	}
	writeNativeList(w, "integration categories", page(out, lp.page), lp.page, len(out))
	return nil
}

func orderBy(o domain.Order, a, b string) int {
	c := strings.Compare(strings.ToLower(a), strings.ToLower(b))
	if o.Desc {
		return -c
	}
	return c
}

// handleIntegrationApplications lists the catalog in its display order,
// or by name; category_id and search (name, vendor, description) filter.
func (s *Server) handleIntegrationApplications(w http.ResponseWriter, r *http.Request) error {
	lp, err := parseList(r, []string{"name"}, "category_id", "search")
	if err != nil {
		return err
	}
	q := r.URL.Query()
	cat := q.Get("category_id")
	if _, ok := domain.IntegrationCategoryByID(cat); cat != "" && !ok {
		return domain.Invalid("category_id", "no category %q", cat)
	}
	search := strings.ToLower(q.Get("search"))
	var out []applicationJSON
	for _, a := range domain.IntegrationApplications() {
		if cat != "" && a.CategoryID != cat {
			continue
		}
		if search != "" && !strings.Contains(strings.ToLower(a.Name+" "+a.Vendor+" "+a.Description), search) {
			continue
		}
		out = append(out, applicationFrom(a))
	}
	if len(lp.order) == 1 {
		slices.SortStableFunc(out, func(a, b applicationJSON) int { return orderBy(lp.order[0], a.Name, b.Name) })
	}
	writeNativeList(w, "integration applications", page(out, lp.page), lp.page, len(out))
	return nil
}

func pathApplication(r *http.Request) (domain.IntegrationApplication, error) {
	id, err := pathID(r)
	if err != nil {
		return domain.IntegrationApplication{}, err
	}
	app, ok := domain.IntegrationApplicationByID(id)
	if !ok {
		return app, domain.Errorf(domain.CodeNotFound, "integration application %s not found", id)
	}
	return app, nil
}

func (s *Server) handleIntegrationApplication(w http.ResponseWriter, r *http.Request) error {
	app, err := pathApplication(r)
	if err != nil {
		return err
	}
	cat, _ := domain.IntegrationCategoryByID(app.CategoryID)
	writeJSON(w, http.StatusOK, nativeItem{Msg: "integration application", Data: struct {
		applicationJSON
		Category categoryJSON `json:"category"`
	}{applicationFrom(app), categoryJSON{ID: cat.ID, Name: cat.Name, Description: cat.Description,
		ApplicationCount: countApps(cat.ID)}}})
	return nil
}

func countApps(category string) int {
	n := 0
	for _, a := range domain.IntegrationApplications() {
		if a.CategoryID == category {
			n++
		}
	}
	return n
}

// connectionSchema renders an application's connection form as a JSON
// Schema (draft 2020-12) object: what a client of a dynamic form needs to
// draw it and what the connect route checks. Secret fields are writeOnly.
func connectionSchema(app domain.IntegrationApplication) map[string]any {
	props := map[string]any{
		"name": map[string]any{"type": "string", "title": "Connection name", "maxLength": 100,
			"description": "How this connection is listed; defaults to the application's name."},
	}
	required := []string{}
	for _, f := range app.Fields {
		p := map[string]any{"title": f.Title}
		if f.Description != "" {
			p["description"] = f.Description
		}
		maxLen := f.MaxLength
		if maxLen == 0 {
			maxLen = 200
		}
		switch f.Type {
		case domain.FieldString:
			p["type"], p["maxLength"] = "string", maxLen
		case domain.FieldSecret:
			p["type"], p["maxLength"], p["format"], p["writeOnly"] = "string", maxLen, "password", true
		case domain.FieldURL:
			p["type"], p["format"], p["maxLength"] = "string", "uri", 2048
		case domain.FieldEnum:
			p["type"], p["enum"] = "string", f.Enum
		case domain.FieldBoolean:
			p["type"] = "boolean"
		case domain.FieldInteger:
			p["type"], p["minimum"], p["maximum"] = "integer", f.Min, f.Max
		case domain.FieldStringList:
			maxItems := f.MaxItems
			if maxItems == 0 {
				maxItems = 100
			}
			p["type"], p["items"], p["maxItems"] = "array", map[string]any{"type": "string", "minLength": 1, "maxLength": 200}, maxItems
		}
		if f.Default != "" {
			p["default"] = typedValue(f, domain.IntegrationSetting{Value: f.Default})
		}
		props[f.Name] = p
		if f.Required {
			required = append(required, f.Name)
		}
	}
	return map[string]any{
		"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
		"title": app.Name, "properties": props, "required": required, "additionalProperties": false,
	}
}

func (s *Server) handleConnectionSchema(w http.ResponseWriter, r *http.Request) error {
	app, err := pathApplication(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, nativeItem{Msg: "connection schema", Data: map[string]any{
		"application_id": app.ID, "schema": connectionSchema(app)}})
	return nil
}

// typedValue renders a setting as its field's JSON type.
func typedValue(f domain.ConnectionField, st domain.IntegrationSetting) any {
	switch f.Type {
	case domain.FieldStringList:
		if st.Values == nil {
			return []string{}
		}
		return st.Values
	case domain.FieldBoolean:
		return st.Value == "true"
	case domain.FieldInteger:
		n, _ := strconv.ParseInt(st.Value, 10, 64)
		return n
	}
	return st.Value
}

// connectionJSON is a connection on the native face. Config holds the
// non-secret values; secret fields are only named in secret_fields, and a
// webhook's signing secret is shown once, by connect and rotate-secret.
type connectionJSON struct {
	ID            string         `json:"id"`
	ApplicationID string         `json:"application_id"`
	Name          string         `json:"name"`
	Status        string         `json:"status"`
	Config        map[string]any `json:"config"`
	SecretFields  []string       `json:"secret_fields"`
	// DisabledReason and DisabledAt say why a webhook stopped delivering.
	DisabledReason *string    `json:"disabled_reason"`
	DisabledAt     *time.Time `json:"disabled_at"`
	// PreviousSecretValidUntil is, after a rotation, when the old signing
	// secret stops signing.
	PreviousSecretValidUntil *time.Time `json:"previous_secret_valid_until,omitempty"`
	CreatedAt                time.Time  `json:"created_at"`
	UpdatedAt                time.Time  `json:"updated_at"`
}

func connectionConfig(appID string, settings []domain.IntegrationSetting) map[string]any {
	app, _ := domain.IntegrationApplicationByID(appID)
	cfg := map[string]any{}
	for _, st := range settings {
		f, _ := app.Field(st.Name)
		cfg[st.Name] = typedValue(f, st)
	}
	return cfg
}

func secretNames(list []domain.SealedSecret) []string {
	out := []string{}
	for _, s := range list {
		out = append(out, s.Name)
	}
	return out
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// connectionFromView renders a connection as it stands at now (the
// request's clock, its as_of instant when it has one): a rotated secret's
// overlap shows until it ends.
func connectionFromView(c projections.Connection, now time.Time) connectionJSON {
	out := connectionJSON{ID: c.ID, ApplicationID: c.ApplicationID, Name: c.Name, Status: c.Status,
		Config: connectionConfig(c.ApplicationID, c.Settings), SecretFields: secretNames(c.Secrets),
		DisabledReason: nullable(c.DisabledReason), DisabledAt: timePtr(c.DisabledAt),
		CreatedAt: c.CreatedAt.UTC(), UpdatedAt: c.UpdatedAt.UTC()}
	if c.Previous != nil && c.PreviousValidUntil.After(now) {
		out.PreviousSecretValidUntil = timePtr(c.PreviousValidUntil)
	}
	return out
}

func connectionFromState(c domain.IntegrationConnection) connectionJSON {
	out := connectionJSON{ID: c.ID, ApplicationID: c.ApplicationID, Name: c.Name, Status: domain.ConnectionActive,
		Config: connectionConfig(c.ApplicationID, c.Settings), SecretFields: secretNames(c.Secrets),
		CreatedAt: c.CreatedAt.UTC(), UpdatedAt: c.UpdatedAt.UTC()}
	if c.Disabled {
		out.Status = domain.ConnectionDisabled
	}
	if c.Previous != nil && c.PreviousValidUntil.After(time.Now()) {
		out.PreviousSecretValidUntil = timePtr(c.PreviousValidUntil)
	}
	return out
}

// handleConnect validates the body against the application's schema,
// refuses URLs that resolve where outbound requests must not go, and
// connects. A webhook's answer carries its signing secret, once.
func (s *Server) handleConnect(w http.ResponseWriter, r *http.Request) error {
	app, err := pathApplication(r)
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
	name, _, err := obj.str("name", true)
	if err != nil {
		return err
	}
	values := map[string]any{}
	for k, raw := range obj {
		if k == "name" {
			continue
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return domain.Invalid(k, "is not valid JSON")
		}
		values[k] = v
	}
	in, err := domain.ValidateConnection(app, name, values)
	if err != nil {
		return err
	}
	for _, st := range in.Settings {
		if f, _ := app.Field(st.Name); f.Type == domain.FieldURL {
			if err := s.checkEndpoint(r.Context(), st.Name, st.Value); err != nil {
				return err
			}
		}
	}
	res, err := s.cmd.Connect(r.Context(), m, app, in, s.secrets)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/integrations/connections/"+res.Connection.ID)
	data := connectionFromState(res.Connection)
	if res.Secret == "" {
		writeMutation(w, http.StatusCreated, "connected", res.Result, data)
		return nil
	}
	w.Header().Set("Cache-Control", "no-store")
	writeMutation(w, http.StatusCreated, "connected; the signing secret is shown only once", res.Result, struct {
		connectionJSON
		Secret string `json:"secret"`
	}{data, res.Secret})
	return nil
}

// checkEndpoint resolves the host of an outbound URL and refuses it if any
// address it resolves to is one outbound requests must not reach. The
// deliverer checks again at dial time, since a name may resolve elsewhere
// later.
func (s *Server) checkEndpoint(ctx context.Context, field, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return domain.Invalid(field, "must be an absolute http or https URL")
	}
	host := u.Hostname()
	var addrs []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{ip}
	} else {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if addrs, err = net.DefaultResolver.LookupNetIP(ctx, "ip", host); err != nil || len(addrs) == 0 {
			return domain.Invalid(field, "host %q does not resolve", host)
		}
	}
	for _, ip := range addrs {
		if err := domain.CheckEndpointAddr(ip, s.webhook.AllowLoopback); err != nil {
			return domain.Invalid(field, "is refused: host %q resolves to %s", host, err.Error())
		}
	}
	return nil
}

func (s *Server) handleConnectionList(w http.ResponseWriter, r *http.Request) error {
	lp, err := parseList(r, projections.ConnectionOrderFields, "application_id", "status")
	if err != nil {
		return err
	}
	status, err := enumParam(r, "status", domain.ConnectionStatuses)
	if err != nil {
		return err
	}
	app := r.URL.Query().Get("application_id")
	if _, ok := domain.IntegrationApplicationByID(app); app != "" && !ok {
		return domain.Invalid("application_id", "no application %q", app)
	}
	items, total, err := s.read(r).Connections(caller(r.Context()).Tenant,
		projections.ConnectionFilter{ApplicationID: app, Status: status}, lp.order, lp.page)
	if err != nil {
		return err
	}
	out := make([]connectionJSON, len(items))
	for i, c := range items {
		out[i] = connectionFromView(c, now(r))
	}
	writeNativeList(w, "integration connections", out, lp.page, total)
	return nil
}

// viewConnection reads one connection of the caller's tenant from the read
// model; another tenant's is not found.
func (s *Server) viewConnection(r *http.Request) (projections.Connection, error) {
	id, err := pathID(r)
	if err != nil {
		return projections.Connection{}, err
	}
	c, ok, err := s.read(r).Connection(caller(r.Context()).Tenant, id)
	if err != nil {
		return c, err
	}
	if !ok {
		return c, domain.Errorf(domain.CodeNotFound, "connection %s not found", id)
	}
	return c, nil
}

func (s *Server) handleConnectionView(w http.ResponseWriter, r *http.Request) error {
	c, err := s.viewConnection(r)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(c.Version))
	writeJSON(w, http.StatusOK, nativeItem{Msg: "integration connection", Data: connectionFromView(c, now(r))})
	return nil
}

func (s *Server) handleConnectionDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	m, err := meta(r)
	if err != nil {
		return err
	}
	res, err := s.cmd.Disconnect(r.Context(), m, id)
	if err != nil {
		return err
	}
	writeMutation(w, http.StatusOK, "disconnected", res.Result, connectionFromState(res.Connection))
	return nil
}

// webhookOf loads a connection on the command side and checks it is a
// webhook of the caller's tenant.
func (s *Server) webhookOf(r *http.Request) (string, domain.IntegrationConnection, error) {
	id, err := pathID(r)
	if err != nil {
		return "", domain.IntegrationConnection{}, err
	}
	c, err := s.cmd.Connection(r.Context(), caller(r.Context()).Tenant, id)
	if err != nil {
		return id, c, err
	}
	if !c.Exists() {
		return id, c, domain.Errorf(domain.CodeNotFound, "connection %s not found", id)
	}
	if c.ApplicationID != domain.AppWebhook {
		return id, c, domain.Errorf(domain.CodeNotFound, "connection %s is not a webhook", id)
	}
	return id, c, nil
}
