package main

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// genericVersion is one history entry of any resource.
type genericVersion struct {
	Version          uint64          `json:"version"`
	EventType        string          `json:"event_type"`
	Actor            string          `json:"actor"`
	RequestID        string          `json:"request_id"`
	OccurredAt       string          `json:"occurred_at"`
	ConsistencyToken string          `json:"consistency_token"`
	Data             json.RawMessage `json:"data"`
}

// One history handler serves every resource that keeps versions: each
// version with its event, actor and time, the record as it stood (null
// once deleted), no secrets, and nothing of another tenant.
func TestHistoryOfServiceUsersAndClients(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	u, tok := mustServiceUser(t, m.c, "ops", "viewer", time.Hour)
	requireStatus(t, m.c.do(t, "PATCH", "/api/v1/service-users/"+u.ID, map[string]any{"role": "auditor"}), http.StatusOK)
	r := m.c.do(t, "DELETE", "/api/v1/service-users/"+u.ID, nil)
	requireStatus(t, r, http.StatusOK)
	wait := r.header.Get("X-Consistency-Token")
	r = m.c.do(t, "GET", "/api/v1/service-users/"+u.ID+"/history?limit=100", nil, "X-Consistency-Token", wait)
	requireStatus(t, r, http.StatusOK)
	requireNoSecretIn(t, "a service user's history", r.body, []string{tok.Token})
	h := decode[list[genericVersion]](t, r)
	var types []string
	for _, v := range h.Data {
		types = append(types, v.EventType)
		requireEqual(t, "actor", v.Actor, "service_user:admin")
	}
	requireEqual(t, "versions", fmtJSON(types), `["service_user.created","service_user.token_issued","service_user.role_changed","service_user.deleted"]`)
	var su serviceUser
	if err := json.Unmarshal(h.Data[2].Data, &su); err != nil || su.Role != "auditor" || len(su.Tokens) != 1 {
		t.Fatalf("version after the role change: %s (%v)", h.Data[2].Data, err)
	}
	requireEqual(t, "data after the deletion", string(h.Data[3].Data), "null")

	r = m.c.do(t, "POST", "/api/v1/oauth-clients", map[string]any{"name": "sync", "role": "viewer", "scopes": []string{"individuals:read"}})
	requireStatus(t, r, http.StatusCreated)
	cl := decode[item[oauthClientCreated]](t, r).Data
	r = m.c.do(t, "GET", "/api/v1/oauth-clients/"+cl.ClientID+"/history", nil, "X-Consistency-Token", r.header.Get("X-Consistency-Token"))
	requireStatus(t, r, http.StatusOK)
	requireNoSecretIn(t, "a client's history", r.body, []string{cl.ClientSecret})
	requireEqual(t, "client versions", len(decode[list[genericVersion]](t, r).Data), 1)

	requireNativeError(t, m.c.do(t, "GET", "/api/v1/oauth-clients/nope/history", nil), http.StatusNotFound, "NOT_FOUND", "nope")
	requireNativeError(t, m.c.do(t, "GET", "/api/v1/oauth-clients/"+cl.ClientID+"/history?colour=red", nil), http.StatusBadRequest, "BAD_REQUEST", "colour")
	// Another tenant's admin finds nothing there.
	requireStatus(t, m.c.do(t, "POST", "/api/v1/tenants", map[string]any{"ext_id": "acme", "display_name": "Acme"}), http.StatusCreated)
	r = m.c.do(t, "POST", "/api/v1/service-users", map[string]any{"name": "a", "role": "admin", "tenant": "acme"})
	requireStatus(t, r, http.StatusCreated)
	acmeUser := decode[item[serviceUser]](t, r).Data
	r = m.c.do(t, "POST", "/api/v1/service-users/"+acmeUser.ID+"/tokens", map[string]any{"tenant": "acme",
		"expires_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
	requireStatus(t, r, http.StatusCreated)
	acme := as(m.c, decode[item[issuedToken]](t, r).Data.Token)
	requireNativeError(t, acme.do(t, "GET", "/api/v1/oauth-clients/"+cl.ClientID+"/history", nil), http.StatusNotFound, "NOT_FOUND", "")
}

func fmtJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
