package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

type oauthClientCreated struct {
	ClientID     string    `json:"client_id"`
	ClientSecret string    `json:"client_secret"`
	Name         string    `json:"name"`
	Role         string    `json:"role"`
	Scopes       []string  `json:"scopes"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

type tokenAnswer struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	Scope       string `json:"scope"`
}

// requestToken posts a client-credentials form, with Basic authentication
// when basic is set, and returns the status and decoded body.
func requestToken(t testing.TB, c *client, form url.Values, basic *[2]string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest("POST", c.base+"/oAuth/rest/v2/Token", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic != nil {
		req.SetBasicAuth(url.QueryEscape(basic[0]), url.QueryEscape(basic[1]))
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("token answer: %v", err)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("token answer without Cache-Control: no-store")
	}
	return resp.StatusCode, body
}

func TestOAuthClientCredentials(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	r := m.c.do(t, "POST", "/api/v1/oauth-clients", map[string]any{
		"name": "door-sync", "role": "operator", "scopes": []string{"individuals:read", "individuals:write", "AccessManager:Read"}})
	requireStatus(t, r, http.StatusCreated)
	cl := decode[item[oauthClientCreated]](t, r).Data
	if !strings.HasPrefix(cl.ClientSecret, "pccs_") {
		t.Fatalf("client secret %q lacks its prefix", cl.ClientSecret)
	}

	// Form credentials, all scopes.
	status, body := requestToken(t, m.c, url.Values{"grant_type": {"client_credentials"},
		"client_id": {cl.ClientID}, "client_secret": {cl.ClientSecret}}, nil)
	requireEqual(t, "token status", status, http.StatusOK)
	requireEqual(t, "token_type", body["token_type"], any("Bearer"))
	requireEqual(t, "scope", body["scope"], any("AccessManager:Read individuals:read individuals:write"))
	bearer := func(tok string) *client { c := as(m.c, ""); c.bearer = tok; return c }
	b := bearer(body["access_token"].(string))
	created, cr := mustCreate(t, b, newIndividual("Via", "OAuth", "oauth@example.test"))
	h := mustHistory(t, m.c, created.ID, cr.header.Get("X-Consistency-Token"))
	requireEqual(t, "actor of a bearer's create", h.Data[0].Actor, "oauth_client:"+cl.ClientID)
	requireNativeError(t, b.do(t, "DELETE", "/api/v1/individuals/"+created.ID, nil), http.StatusForbidden, "INSUFFICIENT_PERMISSIONS", "")

	// Basic credentials, narrowed scope: the token can read, not write.
	status, body = requestToken(t, m.c, url.Values{"grant_type": {"client_credentials"}, "scope": {"individuals:read"}},
		&[2]string{cl.ClientID, cl.ClientSecret})
	requireEqual(t, "token status (basic)", status, http.StatusOK)
	ro := bearer(body["access_token"].(string))
	requireStatus(t, ro.do(t, "GET", "/api/v1/individuals", nil), http.StatusOK)
	requireNativeError(t, ro.do(t, "POST", "/api/v1/individuals", newIndividual("No", "Write", "")), http.StatusForbidden, "INSUFFICIENT_PERMISSIONS", "")

	// RFC 6749 errors.
	for _, c := range []struct {
		form   url.Values
		status int
		code   string
	}{
		{url.Values{"grant_type": {"client_credentials"}, "client_id": {cl.ClientID}, "client_secret": {"pccs_wrong"}}, 401, "invalid_client"},
		{url.Values{"grant_type": {"client_credentials"}, "client_id": {"nobody"}, "client_secret": {"x"}}, 401, "invalid_client"},
		{url.Values{"grant_type": {"client_credentials"}}, 401, "invalid_client"},
		{url.Values{"grant_type": {"password"}, "client_id": {cl.ClientID}, "client_secret": {cl.ClientSecret}}, 400, "unsupported_grant_type"},
		{url.Values{"client_id": {cl.ClientID}, "client_secret": {cl.ClientSecret}}, 400, "invalid_request"},
		{url.Values{"grant_type": {"client_credentials"}, "client_id": {cl.ClientID}, "client_secret": {cl.ClientSecret},
			"scope": {"individuals:delete"}}, 400, "invalid_scope"},
	} {
		status, body := requestToken(t, m.c, c.form, nil)
		if status != c.status || body["error"] != c.code {
			t.Errorf("form %v: %d %v, want %d %s", c.form, status, body["error"], c.status, c.code)
		}
	}

	// A forged or tampered token is refused; deleting the client ends its tokens.
	requireNativeError(t, bearer("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.").do(t, "GET", "/api/v1/individuals", nil), http.StatusUnauthorized, "UNAUTHORIZED", "")
	tampered := body2token(t, b.bearer)
	requireNativeError(t, bearer(tampered).do(t, "GET", "/api/v1/individuals", nil), http.StatusUnauthorized, "UNAUTHORIZED", "")
	requireStatus(t, m.c.do(t, "DELETE", "/api/v1/oauth-clients/"+cl.ClientID, nil), http.StatusOK)
	requireNativeError(t, ro.do(t, "GET", "/api/v1/individuals", nil), http.StatusUnauthorized, "UNAUTHORIZED", "")

	// Bad scopes at creation; the secret never reaches the data directory.
	requireNativeError(t, m.c.do(t, "POST", "/api/v1/oauth-clients", map[string]any{"name": "x", "role": "viewer", "scopes": []string{"doors:open"}}),
		http.StatusBadRequest, "BAD_REQUEST", "scopes")
	mustClose(t, m)
	requireSecretsAbsent(t, m.Config.DataDir, cl.ClientSecret, b.bearer, ro.bearer)
}

// body2token flips one character of a token's payload, keeping its signature.
func body2token(t testing.TB, tok string) string {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	p := []byte(parts[1])
	if p[5] == 'A' {
		p[5] = 'B'
	} else {
		p[5] = 'A'
	}
	return parts[0] + "." + string(p) + "." + parts[2]
}

// The token endpoint is limited per client address before any secret is
// checked, so guessing secrets is slow.
func TestTokenEndpointRateLimit(t *testing.T) {
	t.Parallel()
	m := &testMain{Main: &Main{Config: Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", Sync: "always",
		AdminToken: testAdminToken, TokenRateLimit: 0.1}}}
	if err := m.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	m.c = newClient("http://" + m.HTTP.Addr())
	waitReady(t, m.c)
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {"guess"}, "client_secret": {"guess"}}
	for i := range 10 {
		if status, _ := requestToken(t, m.c, form, nil); status != http.StatusUnauthorized {
			t.Fatalf("guess %d: status %d, want 401 within the burst", i, status)
		}
	}
	status, body := requestToken(t, m.c, form, nil)
	if status != http.StatusTooManyRequests || body["error"] != "too_many_requests" {
		t.Fatalf("guess past the burst: %d %v, want 429 too_many_requests", status, body)
	}
}
