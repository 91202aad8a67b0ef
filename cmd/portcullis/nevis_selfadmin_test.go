package main

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/portcullis/portcullis/domain"
)

// runWithMailbox starts a server that mails one-time codes to a test
// mailbox, for SelfAdmin callers.
func runWithMailbox(t *testing.T) (*testMain, *mailbox) {
	t.Helper()
	mb, addr := startMailbox(t)
	m := &testMain{Main: &Main{Config: Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", Sync: "always",
		AdminToken: testAdminToken}}}
	m.Config.SMTP.Addr, m.Config.SMTP.From = addr, "portcullis@example.test"
	if err := m.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	m.c = newClient("http://" + m.HTTP.Addr())
	t.Cleanup(m.c.hc.CloseIdleConnections)
	waitReady(t, m.c)
	return m, mb
}

// xToken signs in as the individual behind a nevisIDM user with a mailed
// one-time code.
func xToken(t *testing.T, m *testMain, mb *mailbox, userExtID string) string {
	t.Helper()
	otp := "/api/v1/individuals/" + userID(t, m, userExtID) + "/otp"
	requireStatus(t, m.c.do(t, "POST", otp, nil), http.StatusAccepted)
	r := m.c.do(t, "POST", otp+"/verify", map[string]any{"code": mb.nextCode(t)})
	requireStatus(t, r, http.StatusOK)
	return decode[item[struct {
		Token     string `json:"token"`
		TokenType string `json:"token_type"`
		ExpiresIn int    `json:"expires_in"`
	}]](t, r).Data.Token
}

// SelfAdmin: a user with an X-Token deletes their own dispatch targets and
// nobody else's, and may do nothing else on this face.
func TestNevisSelfAdmin(t *testing.T) {
	t.Parallel()
	m, mb := runWithMailbox(t)
	requireStatus(t, m.c.do(t, "POST", "/api/v1/tenants", map[string]any{"ext_id": "acme", "display_name": "Acme"}), http.StatusCreated)
	mustNevisUser(t, m.c, "default", userBody("ada", "Ada", "Lovelace", "ada@example.test"))
	mustNevisUser(t, m.c, "default", userBody("bob", "Bob", "Other", "bob@example.test"))
	mustTarget(t, m.c, "ada", targetBody("ada-phone", true))
	mustTarget(t, m.c, "bob", targetBody("bob-phone", false))
	_, r := mustCredential(t, m.c, "ada", credentialBody("ada-key", "YWRhLWtleQ", "ada-phone"))
	// Signing in reads the person from the read models.
	waitFor(t, m, r.header.Get("X-Consistency-Token"))
	self, tok := as(m.c, ""), xToken(t, m, mb, "ada")
	xs := func(method, path string) response {
		return self.do(t, method, nevisPath+path, nil, "Authorization", "", "X-Token", tok)
	}

	before := lastSeq(t, m)
	requireNevisError(t, xs("DELETE", "/default/users/bob/dispatch-targets/bob-phone"), http.StatusForbidden,
		"errors.insufficientRightsFunction",
		"Permission denied: Caller does not have the required right 'AccessControl.CredentialDelete' to perform this action")
	requireNevisError(t, xs("DELETE", "/default/users/nobody/dispatch-targets/bob-phone"), http.StatusForbidden,
		"errors.insufficientRightsFunction", "")
	requireNevisError(t, xs("DELETE", "/acme/users/ada/dispatch-targets/ada-phone"), http.StatusForbidden,
		"errors.combinedDataroomDenied", "Permission denied: AccessControl.CredentialDelete")
	requireNevisError(t, xs("GET", "/default/users/ada/dispatch-targets"), http.StatusForbidden,
		"errors.insufficientRightsFunction", "~AccessControl.DispatchTargetView")
	requireNevisError(t, xs("DELETE", "/default/users/ada/dispatch-targets/gone"), http.StatusNotFound,
		"errors.noRecord", "No DispatchTarget found with extId 'gone' for user with extId 'ada' on client with name 'Default'")
	requireEqual(t, "events appended by refused SelfAdmin calls", lastSeq(t, m), before)

	d := xs("DELETE", "/default/users/ada/dispatch-targets/ada-phone")
	requireStatus(t, d, http.StatusNoContent)
	events := nevisEvents(t, m, userID(t, m, "ada"))
	last := events[len(events)-1]
	requireEqual(t, "last event", last.Type, domain.TypeDispatchTargetDeleted)
	requireEqual(t, "actor of a SelfAdmin delete", last.Actor, "individual:"+userID(t, m, "ada"))
	cred := decode[nevisCredential](t, m.c.do(t, "GET", nevisPath+"/default/users/ada/fido-uaf-credentials/ada-key", nil,
		"X-Consistency-Token", d.header.Get("X-Consistency-Token")))
	requireEqual(t, "targets of ada-key after the delete", len(cred.DispatchTargetExtIDs), 0)
}

// waitFor blocks until the read models reach a consistency token.
func waitFor(t testing.TB, m *testMain, token string) {
	t.Helper()
	var pos uint64
	fmt.Sscan(token, &pos)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.Runner.WaitFor(ctx, pos); err != nil {
		t.Fatalf("read models did not reach %d: %v", pos, err)
	}
}
