package main

import (
	"net/http"
	"net/url"
	"testing"
	"time"
)

// One scenario issues every kind of secret the server hands out and uses
// each on every face it opens: a personal access token, an OAuth2 client
// secret and its access token, a one-time code and the X-Token it buys.
// Afterwards none of them is in the JetStream store, the bbolt files or the
// server's captured log (every level, access logs included).
func TestNoSecretAnywhere(t *testing.T) {
	t.Parallel()
	mb, addr := startMailbox(t)
	m := mustRunWith(t, t.TempDir(), func(c *Config) { c.SMTP.Addr, c.SMTP.From = addr, "portcullis@example.test" })

	_, pat := mustServiceUser(t, m.c, "secret-keeper", "admin", time.Hour)
	user := as(m.c, pat.Token)
	ada, cr := mustCreate(t, user, map[string]any{"ext_id": "ada", "first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.test"})
	requireStatus(t, user.do(t, "GET", nevisPath+"/default/users/ada", nil, "X-Consistency-Token", cr.header.Get("X-Consistency-Token")), http.StatusOK)

	r := user.do(t, "POST", "/api/v1/oauth-clients", map[string]any{"name": "secret-client", "role": "admin",
		"scopes": append([]string{"individuals:read"}, esAllScopes...)})
	requireStatus(t, r, http.StatusCreated)
	cl := decode[item[oauthClientCreated]](t, r).Data
	status, tok := requestToken(t, m.c, url.Values{"grant_type": {"client_credentials"},
		"client_id": {cl.ClientID}, "client_secret": {cl.ClientSecret}}, nil)
	requireEqual(t, "token status", status, http.StatusOK)
	bearer := as(m.c, "")
	bearer.bearer = tok["access_token"].(string)
	requireStatus(t, bearer.do(t, "GET", esPath+"/AccessGroups", nil), http.StatusOK)
	requireStatus(t, bearer.do(t, "GET", "/api/v1/individuals/"+ada.ID, nil), http.StatusOK)
	// A wrong secret is refused, and its refusal is an audited event.
	status, _ = requestToken(t, m.c, url.Values{"grant_type": {"client_credentials"},
		"client_id": {cl.ClientID}, "client_secret": {"pccs_wrong-guess-of-the-secret"}}, nil)
	requireEqual(t, "wrong secret status", status, http.StatusUnauthorized)

	otp := "/api/v1/individuals/" + ada.ID + "/otp"
	requireStatus(t, user.do(t, "POST", otp, nil), http.StatusAccepted)
	code := mb.nextCode(t)
	r = user.do(t, "POST", otp+"/verify", map[string]any{"code": code})
	requireStatus(t, r, http.StatusOK)
	xtoken := decode[item[struct {
		Token     string `json:"token"`
		TokenType string `json:"token_type"`
		ExpiresIn int    `json:"expires_in"`
	}]](t, r).Data.Token
	self := as(m.c, "")
	requireStatus(t, self.do(t, "GET", "/api/v1/individuals/"+ada.ID, nil, "Authorization", "", "X-Token", xtoken), http.StatusOK)
	target, _ := mustTarget(t, user, "ada", targetBody("ada-phone", false))
	if r := self.do(t, "DELETE", nevisPath+"/default/users/ada/dispatch-targets/"+target.ExtID, nil, "Authorization", "", "X-Token", xtoken); r.status >= 300 {
		t.Fatalf("self-service delete of one's own dispatch target: %d %s", r.status, clip(r.body))
	}

	mustClose(t, m)
	requireSecretsAbsent(t, m.Config.DataDir, pat.Token, cl.ClientSecret, "pccs_wrong-guess-of-the-secret",
		bearer.bearer, code, xtoken)
}
