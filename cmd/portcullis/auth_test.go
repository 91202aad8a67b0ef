package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/domain"
)

// as returns a client of the same server that authenticates with token.
func as(c *client, token string) *client {
	return &client{base: c.base, token: token, hc: c.hc}
}

type issuedToken struct {
	Token     string    `json:"token"`
	TokenID   string    `json:"token_id"`
	ExpiresAt time.Time `json:"expires_at"`
}

type serviceUser struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Role   string `json:"role"`
	Tokens []struct {
		ID        string    `json:"id"`
		CreatedAt time.Time `json:"created_at"`
		ExpiresAt time.Time `json:"expires_at"`
		Revoked   bool      `json:"revoked"`
	} `json:"tokens"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// mustServiceUser creates a service user with role and issues it a token
// valid for ttl.
func mustServiceUser(t testing.TB, c *client, name, role string, ttl time.Duration) (serviceUser, issuedToken) {
	t.Helper()
	r := c.do(t, "POST", "/api/v1/service-users", map[string]any{"name": name, "role": role})
	requireStatus(t, r, http.StatusCreated)
	u := decode[item[serviceUser]](t, r).Data
	r = c.do(t, "POST", "/api/v1/service-users/"+u.ID+"/tokens",
		map[string]any{"expires_at": time.Now().Add(ttl).UTC().Format(time.RFC3339)})
	requireStatus(t, r, http.StatusCreated)
	requireEqual(t, "Cache-Control of a token answer", r.header.Get("Cache-Control"), "no-store")
	return u, decode[item[issuedToken]](t, r).Data
}

// A service user's token acts with its role's permissions, in its tenant,
// until it is revoked, expires or its user is deleted.
func TestServiceUserTokens(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	viewer, tok := mustServiceUser(t, m.c, "dashboard", "viewer", time.Hour)
	v := as(m.c, tok.Token)

	requireStatus(t, v.do(t, "GET", "/api/v1/individuals", nil), http.StatusOK)
	requireNativeError(t, v.do(t, "POST", "/api/v1/individuals", newIndividual("No", "Way", "")), http.StatusForbidden, "INSUFFICIENT_PERMISSIONS", "")
	requireNativeError(t, v.do(t, "GET", "/api/v1/service-users", nil), http.StatusForbidden, "INSUFFICIENT_PERMISSIONS", "")
	// A list with one fixed order says so when asked for another.
	fixed := m.c.do(t, "GET", "/api/v1/service-users?order=created_at.asc", nil)
	requireNativeError(t, fixed, http.StatusBadRequest, "BAD_REQUEST", "order")
	if !strings.Contains(string(fixed.body), "one fixed order") {
		t.Fatalf("order on a list of one order: %s", fixed.body)
	}
	requireNativeError(t, v.do(t, "GET", "/api/v1/tenants", nil), http.StatusForbidden, "INSUFFICIENT_PERMISSIONS", "")
	perms := decode[item[struct {
		Tenant      string   `json:"tenant"`
		Role        string   `json:"role"`
		Permissions []string `json:"permissions"`
		SystemAdmin bool     `json:"system_admin"`
	}]](t, v.do(t, "GET", "/api/v1/permissions", nil)).Data
	requireEqual(t, "role of the caller", perms.Role, "viewer")

	operator, opTok := mustServiceUser(t, m.c, "door-sync", "operator", time.Hour)
	op := as(m.c, opTok.Token)
	created, cr := mustCreate(t, op, newIndividual("Op", "Created", "op@example.test"))
	h := mustHistory(t, m.c, created.ID, cr.header.Get("X-Consistency-Token"))
	requireEqual(t, "actor of an operator's create", h.Data[0].Actor, "service_user:"+operator.ID)

	// A retry of the issue with the same key cannot show the secret again.
	before := lastSeq(t, m)
	body := map[string]any{"expires_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}
	first := m.c.do(t, "POST", "/api/v1/service-users/"+viewer.ID+"/tokens", body, "Idempotency-Key", "issue-once")
	requireStatus(t, first, http.StatusCreated)
	afterFirst := lastSeq(t, m)
	requireNativeError(t, m.c.do(t, "POST", "/api/v1/service-users/"+viewer.ID+"/tokens", body, "Idempotency-Key", "issue-once"),
		http.StatusConflict, "CONFLICT", "")
	requireEqual(t, "events appended by the retried issue", lastSeq(t, m), afterFirst)
	if afterFirst != before+1 {
		t.Fatalf("issuing a token appended %d events, want 1", afterFirst-before)
	}

	// Revocation ends the token at once.
	r := m.c.do(t, "DELETE", "/api/v1/service-users/"+viewer.ID+"/tokens/"+tok.TokenID, nil)
	requireStatus(t, r, http.StatusOK)
	requireNativeError(t, v.do(t, "GET", "/api/v1/individuals", nil, "X-Consistency-Token", r.header.Get("X-Consistency-Token")),
		http.StatusUnauthorized, "UNAUTHORIZED", "")
	listed := decode[item[serviceUser]](t, m.c.do(t, "GET", "/api/v1/service-users/"+viewer.ID, nil, "X-Consistency-Token", r.header.Get("X-Consistency-Token"))).Data
	if len(listed.Tokens) != 2 || !listed.Tokens[0].Revoked || listed.Tokens[1].Revoked {
		t.Fatalf("tokens of the viewer = %+v, want the first revoked and the second live", listed.Tokens)
	}
	// The write answer shows the tokens as the read model does, issue times included.
	answered := decode[item[serviceUser]](t, r).Data
	if fmt.Sprint(answered.Tokens) != fmt.Sprint(listed.Tokens) || listed.Tokens[0].CreatedAt.IsZero() {
		t.Fatalf("tokens in the revoke answer = %+v, read back = %+v, want equal with issue times", answered.Tokens, listed.Tokens)
	}

	// Deleting the user ends all its tokens.
	r = m.c.do(t, "DELETE", "/api/v1/service-users/"+operator.ID, nil)
	requireStatus(t, r, http.StatusOK)
	requireNativeError(t, op.do(t, "GET", "/api/v1/individuals", nil, "X-Consistency-Token", r.header.Get("X-Consistency-Token")),
		http.StatusUnauthorized, "UNAUTHORIZED", "")

	// The bootstrap admin cannot be deleted; unknown and missing tokens are refused.
	requireNativeError(t, m.c.do(t, "DELETE", "/api/v1/service-users/admin", nil), http.StatusConflict, "DELETE_PROTECTED", "")
	requireNativeError(t, as(m.c, "pcat_not-a-real-token").do(t, "GET", "/api/v1/individuals", nil), http.StatusUnauthorized, "UNAUTHORIZED", "")
	requireNativeError(t, as(m.c, "").do(t, "GET", "/api/v1/individuals", nil), http.StatusUnauthorized, "UNAUTHORIZED", "")
	requireNativeError(t, m.c.do(t, "POST", "/api/v1/service-users", map[string]any{"name": "x", "role": "root"}), http.StatusBadRequest, "BAD_REQUEST", "role")

	// No token ever reaches the log or the read models.
	mustClose(t, m)
	requireSecretsAbsent(t, m.Config.DataDir, tok.Token, opTok.Token)
}

func TestExpiredTokenIsRefused(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	_, tok := mustServiceUser(t, m.c, "short-lived", "viewer", 2*time.Second)
	requireStatus(t, as(m.c, tok.Token).do(t, "GET", "/api/v1/individuals", nil), http.StatusOK)
	time.Sleep(time.Until(tok.ExpiresAt) + 100*time.Millisecond)
	requireNativeError(t, as(m.c, tok.Token).do(t, "GET", "/api/v1/individuals", nil), http.StatusGone, "EXPIRED", "")
}

// requireSecretsAbsent fails if any secret appears in any file under dir:
// the JetStream store, the bbolt files, everything.
func requireSecretsAbsent(t testing.TB, dir string, secrets ...string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Base(path) == "admin-token" {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if filepath.Base(path) == testLogFile && !bytes.Contains(b, []byte(`"msg":"http"`)) {
			t.Errorf("the captured log %s holds no access log lines: the search would prove nothing", path)
		}
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("secret found in %s", path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A caller past its rate limit gets 429 with Retry-After in the native
// envelope; another caller is not affected.
func TestRateLimitPerCaller(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	m := &testMain{Main: &Main{Config: Config{DataDir: dir, Listen: "127.0.0.1:0", Sync: "always",
		AdminToken: testAdminToken, RateLimit: 0.5, RateBurst: 40}}}
	if err := m.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	m.c = newClient("http://" + m.HTTP.Addr())
	waitReady(t, m.c)
	_, tok := mustServiceUser(t, m.c, "bursty", "viewer", time.Hour)
	v := as(m.c, tok.Token)
	var limited response
	for range 50 {
		r := v.do(t, "GET", "/api/v1/individuals", nil)
		if r.status == http.StatusTooManyRequests {
			limited = r
			break
		}
		requireStatus(t, r, http.StatusOK)
	}
	requireNativeError(t, limited, http.StatusTooManyRequests, "TOO_MANY_REQUESTS", "")
	if ra := limited.header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Fatalf("Retry-After = %q, want a positive number of seconds", ra)
	}
	requireStatus(t, m.c.do(t, "GET", "/api/v1/individuals", nil), http.StatusOK)
}

// A custom role grants exactly its permissions; changing or deleting it
// changes what its holders may do as soon as the change is answered.
func TestCustomRoles(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	r := m.c.do(t, "POST", "/api/v1/roles", map[string]any{"name": "hr", "description": "People desk",
		"permissions": []string{"individuals:read", "individuals:write"}})
	requireStatus(t, r, http.StatusCreated)
	requireNativeError(t, m.c.do(t, "POST", "/api/v1/roles", map[string]any{"name": "hr", "permissions": []string{"individuals:read"}}),
		http.StatusConflict, "CONFLICT", "")
	requireNativeError(t, m.c.do(t, "POST", "/api/v1/roles", map[string]any{"name": "viewer", "permissions": []string{"individuals:read"}}),
		http.StatusBadRequest, "BAD_REQUEST", "name")
	requireNativeError(t, m.c.do(t, "POST", "/api/v1/roles", map[string]any{"name": "bad", "permissions": []string{"doors:open"}}),
		http.StatusBadRequest, "BAD_REQUEST", "permissions")

	_, tok := mustServiceUser(t, m.c, "hr-sync", "hr", time.Hour)
	hr := as(m.c, tok.Token)
	mustCreate(t, hr, newIndividual("Hired", "Person", "hired@example.test"))
	requireNativeError(t, hr.do(t, "GET", "/api/v1/service-users", nil), http.StatusForbidden, "INSUFFICIENT_PERMISSIONS", "")

	// Narrow the role: writing stops at once.
	requireStatus(t, m.c.do(t, "PATCH", "/api/v1/roles/hr", map[string]any{"permissions": []string{"individuals:read"}}), http.StatusOK)
	requireNativeError(t, hr.do(t, "POST", "/api/v1/individuals", newIndividual("Not", "Hired", "")), http.StatusForbidden, "INSUFFICIENT_PERMISSIONS", "")
	requireStatus(t, hr.do(t, "GET", "/api/v1/individuals", nil), http.StatusOK)

	// Delete it: its holders keep no permissions.
	requireStatus(t, m.c.do(t, "DELETE", "/api/v1/roles/hr", nil), http.StatusOK)
	requireNativeError(t, hr.do(t, "GET", "/api/v1/individuals", nil), http.StatusForbidden, "INSUFFICIENT_PERMISSIONS", "")
	requireNativeError(t, m.c.do(t, "POST", "/api/v1/service-users", map[string]any{"name": "late", "role": "hr"}),
		http.StatusBadRequest, "BAD_REQUEST", "role")

	roles := decode[list[struct {
		Name        string     `json:"name"`
		Description string     `json:"description"`
		BuiltIn     bool       `json:"built_in"`
		Permissions []string   `json:"permissions"`
		CreatedAt   *time.Time `json:"created_at"`
		UpdatedAt   *time.Time `json:"updated_at"`
	}]](t, m.c.do(t, "GET", "/api/v1/roles", nil))
	requireEqual(t, "roles listed after the delete", roles.Meta.Pagination.TotalItems, 4)
}

// Refused authentications become auth.failed events of the tenant they
// concern (or of the system record when no tenant is known), without the
// secret that was presented.
func TestFailedAuthenticationsAreEvents(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	u, tok := mustServiceUser(t, m.c, "soon-revoked", "viewer", time.Hour)
	r := m.c.do(t, "DELETE", "/api/v1/service-users/"+u.ID+"/tokens/"+tok.TokenID, nil)
	requireStatus(t, r, http.StatusOK)
	requireNativeError(t, as(m.c, tok.Token).do(t, "GET", "/api/v1/individuals", nil), http.StatusUnauthorized, "UNAUTHORIZED", "")
	requireNativeError(t, as(m.c, "pcat_guessed").do(t, "GET", "/api/v1/individuals", nil), http.StatusUnauthorized, "UNAUTHORIZED", "")

	failures := func(tenant string) []domain.Event {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			events, _, err := m.Store.Load(t.Context(), tenant, domain.Ref{Type: domain.AggregateAuthFailures, ID: domain.AuthFailuresID})
			if err != nil {
				t.Fatal(err)
			}
			if len(events) > 0 || time.Now().After(deadline) {
				return events
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	own := failures("default")
	if len(own) != 1 {
		t.Fatalf("default tenant has %d auth failures, want 1", len(own))
	}
	f := own[0].Data.(*domain.AuthFailed)
	if f.Reason != "revoked" || f.Subject != "service_user:"+u.ID || f.Scheme != "token" || f.Path != "/api/v1/individuals" {
		t.Fatalf("recorded failure = %+v", f)
	}
	sys := failures(domain.SystemTenant)
	if len(sys) != 1 || sys[0].Data.(*domain.AuthFailed).Reason != "unknown" {
		t.Fatalf("system failures = %d (%+v), want one unknown token", len(sys), sys)
	}
	mustClose(t, m)
	requireSecretsAbsent(t, m.Config.DataDir, tok.Token, "pcat_guessed")
}
