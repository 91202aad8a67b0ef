package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis/domain"
)

// The nevisIDM face, end to end on the real server.

const nevisPath = "/nevisidm/api/core/v1"

// nevisError is the nevisIDM error envelope, decoded strictly.
type nevisError struct {
	Errors []struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"errors"`
}

// checkNevisError reports how r differs from the nevisIDM error envelope
// with status and code; message is matched exactly, or when it starts with
// "~" as a substring (a field the message must name).
func checkNevisError(r response, status int, code, message string) error {
	if r.status != status {
		return fmt.Errorf("status: got %d, want %d; body %s", r.status, status, clip(r.body))
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return fmt.Errorf("content type: got %q, want JSON", ct)
	}
	var e nevisError
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return fmt.Errorf("not the nevisIDM error envelope: %v: %s", err, clip(r.body))
	}
	if len(e.Errors) != 1 {
		return fmt.Errorf("got %d errors, want 1: %s", len(e.Errors), r.body)
	}
	got := e.Errors[0]
	switch {
	case got.Code != code:
		return fmt.Errorf("code: got %q, want %q: %s", got.Code, code, r.body)
	case got.Message == "":
		return fmt.Errorf("empty message: %s", r.body)
	case strings.HasPrefix(message, "~") && !strings.Contains(got.Message, message[1:]):
		return fmt.Errorf("message %q does not name %q", got.Message, message[1:])
	case message != "" && !strings.HasPrefix(message, "~") && got.Message != message:
		return fmt.Errorf("message:\n got %q\nwant %q", got.Message, message)
	}
	return nil
}

func requireNevisError(t testing.TB, r response, status int, code, message string) {
	t.Helper()
	if err := checkNevisError(r, status, code, message); err != nil {
		t.Fatal(err)
	}
}

type nevisUser struct {
	ExtID   string  `json:"extId"`
	LoginID *string `json:"loginId"`
	Name    struct {
		FirstName  string `json:"firstName"`
		FamilyName string `json:"familyName"`
	} `json:"name"`
	Contacts struct {
		Email  *string `json:"email"`
		Mobile *string `json:"mobile"`
	} `json:"contacts"`
	UserState string `json:"userState"`
}

type nevisDispatchTarget struct {
	ExtID          string  `json:"extId"`
	Type           string  `json:"type"`
	DeviceID       string  `json:"deviceId"`
	Target         *string `json:"target"`
	Dispatcher     *string `json:"dispatcher"`
	Name           string  `json:"name"`
	State          string  `json:"state"`
	EncryptionKey  *string `json:"encryptionKey"`
	SigningKey     *string `json:"signingKey"`
	AppAttestation *struct {
		Name    string  `json:"name"`
		Counter int64   `json:"counter"`
		Receipt *string `json:"receipt"`
	} `json:"appAttestation"`
	Created      time.Time `json:"created"`
	LastModified time.Time `json:"lastModified"`
	Version      int64     `json:"version"`
}

type nevisCredential struct {
	ExtID                string    `json:"extId"`
	AAID                 string    `json:"aaid"`
	KeyID                string    `json:"keyId"`
	AuthVersion          string    `json:"authVersion"`
	PublicKeyAlgorithm   string    `json:"publicKeyAlgorithm"`
	PublicKey            string    `json:"publicKey"`
	DispatchTargetExtIDs []string  `json:"dispatchTargetExtIds"`
	Created              time.Time `json:"created"`
	LastModified         time.Time `json:"lastModified"`
	Version              int64     `json:"version"`
}

type nevisHistoryRow struct {
	nevisDispatchTarget
	UserExtID     string    `json:"userExtId"`
	OrigID        string    `json:"origId"`
	VersionDate   time.Time `json:"versionDate"`
	VersionNumber int64     `json:"versionNumber"`
	TransactionID string    `json:"transactionId"`
	Operation     string    `json:"operation"`
	ModifiedBy    string    `json:"modifiedBy"`
}

type nevisPage[T any] struct {
	Items      []T `json:"items"`
	Pagination struct {
		ContinuationToken *string `json:"continuationToken"`
		Limit             int     `json:"limit"`
	} `json:"_pagination"`
}

func userBody(extID, first, family, email string) map[string]any {
	b := map[string]any{"extId": extID, "name": map[string]any{"firstName": first, "familyName": family}}
	if email != "" {
		b["contacts"] = map[string]any{"email": email}
	}
	return b
}

func mustNevisUser(t testing.TB, c *client, client string, body any) (nevisUser, response) {
	t.Helper()
	r := c.do(t, "POST", nevisPath+"/"+client+"/users", body)
	requireStatus(t, r, http.StatusCreated)
	return decode[nevisUser](t, r), r
}

func targetBody(extID string, attested bool) map[string]any {
	b := map[string]any{"extId": extID, "deviceId": "device-" + extID, "name": "Phone " + extID,
		"target": "fcm-token-" + extID, "dispatcher": "firebase-cloud-messaging",
		"encryptionKey": `{"kty":"EC","crv":"P-256","x":"enc","y":"enc"}`}
	if attested {
		b["appAttestation"] = map[string]any{"name": "apple-app-attest", "counter": 3, "receipt": "cmVjZWlwdA"}
	}
	return b
}

func mustTarget(t testing.TB, c *client, user string, body any) (nevisDispatchTarget, response) {
	t.Helper()
	r := c.do(t, "POST", nevisPath+"/default/users/"+user+"/dispatch-targets", body)
	requireStatus(t, r, http.StatusCreated)
	return decode[nevisDispatchTarget](t, r), r
}

const testPublicKey = "cHViLWtleS1ieXRlcy1vZi1zb21lLWF1dGhlbnRpY2F0b3IteDk2Mi1yYXctNjVi"

func credentialBody(extID, keyID string, targets ...string) map[string]any {
	return map[string]any{"extId": extID, "aaid": "F1D0#0001", "keyId": keyID, "authVersion": "1.1",
		"publicKeyAlgorithm": "ALG_SIGN_SECP256R1_ECDSA_SHA256_RAW", "publicKey": testPublicKey,
		"dispatchTargetExtIds": targets}
}

func mustCredential(t testing.TB, c *client, user string, body any) (nevisCredential, response) {
	t.Helper()
	r := c.do(t, "POST", nevisPath+"/default/users/"+user+"/fido-uaf-credentials", body)
	requireStatus(t, r, http.StatusCreated)
	return decode[nevisCredential](t, r), r
}

// userID is the individual id behind a nevisIDM user, for reading its
// aggregate straight from the log.
func userID(t testing.TB, m *testMain, extID string) string {
	t.Helper()
	ind, ok, err := m.DB.IndividualByExtID(domain.DefaultTenant, extID)
	if err != nil || !ok {
		t.Fatalf("individual with ext_id %s: found %v, %v", extID, ok, err)
	}
	return ind.ID
}

// nevisEvents loads the nevis_user aggregate of a person from the log.
func nevisEvents(t testing.TB, m *testMain, id string) []domain.Event {
	t.Helper()
	events, _, err := m.Store.Load(context.Background(), domain.DefaultTenant, domain.Ref{Type: domain.AggregateNevisUser, ID: id})
	if err != nil {
		t.Fatal(err)
	}
	return events
}

// Every status of the seed's DELETE of a dispatch target, with its messages
// word for word; the cascade is one atomic append; refusals append nothing.
func TestNevisDispatchTargetDelete(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	mustNevisUser(t, m.c, "default", userBody("user-123", "Ada", "Lovelace", "ada@example.test"))
	mustTarget(t, m.c, "user-123", targetBody("dt-1", true))
	mustTarget(t, m.c, "user-123", targetBody("dt-2", false))
	mustCredential(t, m.c, "user-123", credentialBody("c1", "a2V5LTE", "dt-1", "dt-2"))
	mustCredential(t, m.c, "user-123", credentialBody("c2", "a2V5LTI", "dt-1"))
	_, cr := mustCredential(t, m.c, "user-123", credentialBody("c3", "a2V5LTM", "dt-2"))

	// Another tenant, and a caller without either delete right.
	requireStatus(t, m.c.do(t, "POST", "/api/v1/tenants", map[string]any{"ext_id": "acme", "display_name": "Acme"}), http.StatusCreated)
	_, viewerTok := mustServiceUser(t, m.c, "nevis-viewer", "viewer", time.Hour)
	viewer := as(m.c, viewerTok.Token)

	one := func(client, user, dt string) string {
		return nevisPath + "/" + client + "/users/" + user + "/dispatch-targets/" + dt
	}
	before := lastSeq(t, m)
	requireNevisError(t, m.c.do(t, "DELETE", one("client-123", "user-123", "dt-1"), nil), http.StatusNotFound,
		"errors.noRecord", "Client doesn't exist with extId 'client-123'")
	requireNevisError(t, m.c.do(t, "DELETE", one("default", "user-404", "dt-1"), nil), http.StatusNotFound,
		"errors.noRecord", "A user with extId 'user-404' doesn't exist on client with name Default")
	requireNevisError(t, m.c.do(t, "DELETE", one("default", "user-123", "dt-123"), nil), http.StatusNotFound,
		"errors.noRecord", "No DispatchTarget found with extId 'dt-123' for user with extId 'user-123' on client with name 'Default'")
	requireNevisError(t, viewer.do(t, "DELETE", one("default", "user-123", "dt-1"), nil), http.StatusForbidden,
		"errors.insufficientRightsFunction",
		"Permission denied: Caller does not have the required right 'AccessControl.CredentialDelete' to perform this action")
	requireNevisError(t, m.c.do(t, "DELETE", one("acme", "user-123", "dt-1"), nil), http.StatusForbidden,
		"errors.combinedDataroomDenied", "Permission denied: AccessControl.CredentialDelete")
	requireEqual(t, "events appended by refused deletes", lastSeq(t, m), before)
	// A failed authentication is recorded (auth.failed), so it comes after
	// the count.
	requireNevisError(t, as(m.c, "").do(t, "DELETE", one("default", "user-123", "dt-1"), nil), http.StatusUnauthorized,
		"errors.unauthorized", "")
	before = lastSeq(t, m)

	// The delete: 204, and exactly the cascade, as one batch.
	r := m.c.do(t, "DELETE", one("default", "user-123", "dt-1"), nil, "X-Consistency-Token", cr.header.Get("X-Consistency-Token"))
	requireStatus(t, r, http.StatusNoContent)
	if len(r.body) != 0 {
		t.Fatalf("204 with a body: %s", r.body)
	}
	after := lastSeq(t, m)
	requireEqual(t, "X-Consistency-Token of the delete", r.header.Get("X-Consistency-Token"), fmt.Sprint(after))
	wantTypes := []string{domain.TypeFidoUafCredentialDispatchTargetRemoved, domain.TypeFidoUafCredentialDispatchTargetRemoved,
		domain.TypeDispatchTargetAppAttestationDeleted, domain.TypeDispatchTargetDeleted}
	requireEqual(t, "events appended by the delete", after-before, uint64(len(wantTypes)))
	events := nevisEvents(t, m, userID(t, m, "user-123"))
	batch := events[len(events)-len(wantTypes):]
	for i, e := range batch {
		requireEqual(t, fmt.Sprintf("type of event %d", i), e.Type, wantTypes[i])
		requireEqual(t, fmt.Sprintf("position of event %d", i), e.Sequence, before+1+uint64(i))
		requireEqual(t, fmt.Sprintf("command of event %d", i), e.CommandID, batch[0].CommandID)
	}
	requireEqual(t, "credential of the first removal", batch[0].Data.(*domain.FidoUafCredentialDispatchTargetRemoved).ExtID, "c1")
	requireEqual(t, "credential of the second removal", batch[1].Data.(*domain.FidoUafCredentialDispatchTargetRemoved).ExtID, "c2")

	// The read models show the whole cascade.
	tok := r.header.Get("X-Consistency-Token")
	requireNevisError(t, m.c.do(t, "GET", one("default", "user-123", "dt-1"), nil, "X-Consistency-Token", tok), http.StatusNotFound,
		"errors.noRecord", "No DispatchTarget found with extId 'dt-1' for user with extId 'user-123' on client with name 'Default'")
	creds := decode[nevisPage[nevisCredential]](t, m.c.do(t, "GET", nevisPath+"/default/users/user-123/fido-uaf-credentials", nil, "X-Consistency-Token", tok))
	if len(creds.Items) != 3 {
		t.Fatalf("credentials after the delete: %+v", creds.Items)
	}
	for i, want := range [][]string{{"dt-2"}, {}, {"dt-2"}} {
		if fmt.Sprint(creds.Items[i].DispatchTargetExtIDs) != fmt.Sprint(want) {
			t.Fatalf("credential %s targets %v, want %v", creds.Items[i].ExtID, creds.Items[i].DispatchTargetExtIDs, want)
		}
	}
	requireEqual(t, "version of c1", creds.Items[0].Version, int64(1))
	requireEqual(t, "version of c3", creds.Items[2].Version, int64(0))
	targets := decode[nevisPage[nevisDispatchTarget]](t, m.c.do(t, "GET", nevisPath+"/default/users/user-123/dispatch-targets", nil))
	if len(targets.Items) != 1 || targets.Items[0].ExtID != "dt-2" || targets.Pagination.ContinuationToken != nil {
		t.Fatalf("targets after the delete: %+v", targets)
	}

	// The history: insertions, then the cascade's update and deletion in
	// one transaction.
	h := decode[nevisPage[nevisHistoryRow]](t, m.c.do(t, "GET", nevisPath+"/history/dispatch-targets?clientExtId=default", nil))
	var ops []string
	for _, row := range h.Items {
		ops = append(ops, row.ExtID+":"+row.Operation+fmt.Sprint(row.VersionNumber))
		requireEqual(t, "modifiedBy", row.ModifiedBy, "service_user:admin")
		requireEqual(t, "userExtId", row.UserExtID, "user-123")
	}
	requireEqual(t, "history", strings.Join(ops, " "), "dt-1:i0 dt-2:i0 dt-1:u1 dt-1:d2")
	requireEqual(t, "transaction of the cascade", h.Items[2].TransactionID, h.Items[3].TransactionID)
	requireEqual(t, "origId across versions", h.Items[0].OrigID, h.Items[3].OrigID)
	if h.Items[2].AppAttestation != nil || h.Items[0].AppAttestation == nil {
		t.Fatalf("attestation in history: %+v then %+v", h.Items[0].AppAttestation, h.Items[2].AppAttestation)
	}
	requireNevisError(t, viewer.do(t, "GET", nevisPath+"/history/dispatch-targets?clientExtId=default", nil), http.StatusForbidden,
		"errors.insufficientRightsFunction", "Permission denied: Caller does not have the required right 'AccessControl.HistoryView' to perform this action")

	// Deleting it again finds nothing and appends nothing.
	requireNevisError(t, m.c.do(t, "DELETE", one("default", "user-123", "dt-1"), nil), http.StatusNotFound,
		"errors.noRecord", "No DispatchTarget found with extId 'dt-1' for user with extId 'user-123' on client with name 'Default'")
	requireEqual(t, "events appended by a second delete", lastSeq(t, m), after)
}

// Two clients delete the same target at once: one 204, one 404, and the log
// holds one deletion.
func TestNevisConcurrentDispatchTargetDelete(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	_, opTok := mustServiceUser(t, m.c, "nevis-operator", "operator", time.Hour)
	clients := []*client{m.c, as(m.c, opTok.Token)}
	mustNevisUser(t, m.c, "default", userBody("racer", "Race", "Condition", ""))
	for round := range 5 {
		dt := fmt.Sprintf("dt-%d", round)
		mustTarget(t, m.c, "racer", targetBody(dt, round%2 == 0))
		mustCredential(t, m.c, "racer", credentialBody(fmt.Sprintf("c-%d", round), base64.RawURLEncoding.EncodeToString([]byte(dt)), dt))
		var wg sync.WaitGroup
		results := make([]response, 2)
		errs := make([]error, 2)
		for i, c := range clients {
			wg.Go(func() {
				results[i], errs[i] = c.try("DELETE", nevisPath+"/default/users/racer/dispatch-targets/"+dt, nil)
			})
		}
		wg.Wait()
		statuses := map[int]int{}
		for i, r := range results {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			statuses[r.status]++
			if r.status == http.StatusNotFound {
				requireNevisError(t, r, http.StatusNotFound, "errors.noRecord",
					"No DispatchTarget found with extId '"+dt+"' for user with extId 'racer' on client with name 'Default'")
			}
		}
		if statuses[http.StatusNoContent] != 1 || statuses[http.StatusNotFound] != 1 {
			t.Fatalf("round %d: statuses %v, want one 204 and one 404", round, statuses)
		}
		deleted := 0
		for _, e := range nevisEvents(t, m, userID(t, m, "racer")) {
			if d, ok := e.Data.(*domain.DispatchTargetDeleted); ok && d.ExtID == dt {
				deleted++
			}
		}
		requireEqual(t, "deletion events of "+dt, deleted, 1)
	}
}

// A user created on the nevisIDM face is a native individual, and the other
// way round; changes on either face show on the other.
func TestNevisUserIsTheIndividual(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	body := userBody("grace", "Grace", "Hopper", "Grace@Example.test")
	body["loginId"] = "ghopper"
	body["userState"] = "disabled"
	u, r := mustNevisUser(t, m.c, "default", body)
	requireEqual(t, "Location", r.header.Get("Location"), nevisPath+"/default/users/grace")
	requireEqual(t, "userState", u.UserState, "disabled")
	requireEqual(t, "email", *u.Contacts.Email, "grace@example.test")

	// Native face: the same person.
	l := decode[list[individual]](t, m.c.do(t, "GET", "/api/v1/individuals?search=hopper", nil, "X-Consistency-Token", r.header.Get("X-Consistency-Token")))
	if len(l.Data) != 1 || l.Data[0].ExtID != "grace" || l.Data[0].Status != "inactive" || l.Data[0].FirstName != "Grace" {
		t.Fatalf("native view of a nevisIDM user: %+v", l.Data)
	}
	id := l.Data[0].ID

	// A native change shows on the nevisIDM face, and back.
	pr := m.c.do(t, "PATCH", "/api/v1/individuals/"+id, map[string]any{"status": "suspended", "mobile_phone": "+41 79 000 00 00"})
	requireStatus(t, pr, http.StatusOK)
	g := m.c.do(t, "GET", nevisPath+"/default/users/grace", nil, "X-Consistency-Token", pr.header.Get("X-Consistency-Token"))
	requireStatus(t, g, http.StatusOK)
	u = decode[nevisUser](t, g)
	requireEqual(t, "userState after a native change", u.UserState, "locked")
	requireEqual(t, "mobile after a native change", *u.Contacts.Mobile, "+41 79 000 00 00")
	requireEqual(t, "loginId", *u.LoginID, "ghopper")
	requireEqual(t, "ETag of the nevisIDM user", g.header.Get("ETag"), pr.header.Get("ETag"))

	pr = m.c.do(t, "PATCH", nevisPath+"/default/users/grace", map[string]any{"name": map[string]any{"familyName": "Murray Hopper"},
		"userState": "ACTIVE", "contacts": map[string]any{"mobile": nil}}, "If-Match", g.header.Get("ETag"))
	requireStatus(t, pr, http.StatusOK)
	ind, _ := mustGet(t, m.c, id, pr.header.Get("X-Consistency-Token"))
	if ind.LastName != "Murray Hopper" || ind.Status != "active" || ind.MobilePhone.Set || ind.FirstName != "Grace" {
		t.Fatalf("native view after a nevisIDM PATCH: %+v", ind)
	}
	requireNevisError(t, m.c.do(t, "PATCH", nevisPath+"/default/users/grace", map[string]any{"userState": "disabled"}, "If-Match", g.header.Get("ETag")),
		http.StatusPreconditionFailed, "errors.optimisticLockingFailure", "")

	// A native individual is a nevisIDM user.
	nat, nr := mustCreate(t, m.c, map[string]any{"ext_id": "native-1", "first_name": "Alan", "last_name": "Turing"})
	g = m.c.do(t, "GET", nevisPath+"/default/users/native-1", nil, "X-Consistency-Token", nr.header.Get("X-Consistency-Token"))
	requireStatus(t, g, http.StatusOK)
	u = decode[nevisUser](t, g)
	if u.ExtID != "native-1" || u.Name.FamilyName != "Turing" || u.UserState != "active" || u.LoginID != nil || u.Contacts.Email != nil {
		t.Fatalf("nevisIDM view of a native individual: %+v", u)
	}

	// Uniqueness holds across the faces.
	before := lastSeq(t, m)
	dup := userBody("grace-2", "G", "H", "grace@example.test")
	requireNevisError(t, m.c.do(t, "POST", nevisPath+"/default/users", dup), http.StatusConflict, "errors.duplicateEmail", "~contacts.email")
	dup = userBody("grace-2", "G", "H", "")
	dup["loginId"] = "GHopper"
	requireNevisError(t, m.c.do(t, "POST", nevisPath+"/default/users", dup), http.StatusConflict, "errors.duplicateValue", "~loginId")
	requireNevisError(t, m.c.do(t, "POST", nevisPath+"/default/users", userBody("native-1", "A", "T", "")), http.StatusConflict,
		"errors.duplicateValue", "~extId")
	requireEqual(t, "events appended by refused creates", lastSeq(t, m), before)

	// Deleting on the nevisIDM face deletes the individual, with its
	// devices, and frees its FIDO UAF keys and its loginId.
	mustTarget(t, m.c, "grace", targetBody("phone", true))
	mustCredential(t, m.c, "grace", credentialBody("key", "a2V5LWdyYWNl", "phone"))
	dr := m.c.do(t, "DELETE", nevisPath+"/default/users/grace", nil)
	requireStatus(t, dr, http.StatusNoContent)
	requireNativeError(t, m.c.do(t, "GET", "/api/v1/individuals/"+id, nil, "X-Consistency-Token", dr.header.Get("X-Consistency-Token")),
		http.StatusNotFound, "NOT_FOUND", "")
	requireNevisError(t, m.c.do(t, "GET", nevisPath+"/default/users/grace/dispatch-targets", nil), http.StatusNotFound,
		"errors.noRecord", "A user with extId 'grace' doesn't exist on client with name Default")
	reborn := userBody("grace-3", "Grace", "Again", "")
	reborn["loginId"] = "ghopper"
	mustNevisUser(t, m.c, "default", reborn)
	mustCredential(t, m.c, "grace-3", credentialBody("key", "a2V5LWdyYWNl"))
	requireNevisError(t, m.c.do(t, "DELETE", nevisPath+"/default/users/grace", nil), http.StatusNotFound,
		"errors.noRecord", "A user with extId 'grace' doesn't exist on client with name Default")
	_ = nat
}

// A FIDO UAF (AAID, KeyID) is unique per tenant, across people, until its
// credential is deleted.
func TestNevisFidoUafKeyIsUnique(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	mustNevisUser(t, m.c, "default", userBody("alice", "Alice", "A", ""))
	mustNevisUser(t, m.c, "default", userBody("bob", "Bob", "B", ""))
	_, cr := mustCredential(t, m.c, "alice", credentialBody("k", "c2hhcmVkLWtleQ"))
	g := m.c.do(t, "GET", nevisPath+"/default/users/alice/fido-uaf-credentials/k", nil, "X-Consistency-Token", cr.header.Get("X-Consistency-Token"))
	requireStatus(t, g, http.StatusOK)
	requireEqual(t, "ETag of a credential", g.header.Get("ETag"), cr.header.Get("ETag"))

	before := lastSeq(t, m)
	// The same key, padded and with the AAID in lower case, is the same key.
	dup := credentialBody("k", "c2hhcmVkLWtleQ==")
	dup["aaid"] = "f1d0#0001"
	requireNevisError(t, m.c.do(t, "POST", nevisPath+"/default/users/bob/fido-uaf-credentials", dup), http.StatusConflict,
		"errors.credentialFidoUaf.notUnique", "")
	requireNevisError(t, m.c.do(t, "POST", nevisPath+"/default/users/bob/fido-uaf-credentials", credentialBody("k2", "b3RoZXI", "no-such-target")),
		http.StatusNotFound, "errors.noRecord",
		"No DispatchTarget found with extId 'no-such-target' for user with extId 'bob' on client with name 'Default'")
	requireEqual(t, "events appended by refused registrations", lastSeq(t, m), before)

	requireStatus(t, m.c.do(t, "DELETE", nevisPath+"/default/users/alice/fido-uaf-credentials/k", nil), http.StatusNoContent)
	requireNevisError(t, m.c.do(t, "DELETE", nevisPath+"/default/users/alice/fido-uaf-credentials/k", nil), http.StatusNotFound,
		"errors.noRecord", "No FIDO UAF credential found with extId 'k' for user with extId 'alice' on client with name 'Default'")
	mustCredential(t, m.c, "bob", dup)
}

// Lists page with continuation tokens: no record is repeated or skipped
// while others are deleted between pages.
func TestNevisDispatchTargetPaging(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	mustNevisUser(t, m.c, "default", userBody("pager", "Page", "R", ""))
	var tok string
	for i := range 5 {
		_, r := mustTarget(t, m.c, "pager", targetBody(fmt.Sprintf("p%d", i), false))
		tok = r.header.Get("X-Consistency-Token")
	}
	list := nevisPath + "/default/users/pager/dispatch-targets?limit=2"
	page := decode[nevisPage[nevisDispatchTarget]](t, m.c.do(t, "GET", list, nil, "X-Consistency-Token", tok))
	requireEqual(t, "limit echoed", page.Pagination.Limit, 2)
	var seen []string
	for _, it := range page.Items {
		seen = append(seen, it.ExtID)
	}
	// p2 goes away, p0 (already seen) too.
	r := m.c.do(t, "DELETE", nevisPath+"/default/users/pager/dispatch-targets/p2", nil)
	requireStatus(t, r, http.StatusNoContent)
	requireStatus(t, m.c.do(t, "DELETE", nevisPath+"/default/users/pager/dispatch-targets/p0", nil), http.StatusNoContent)
	for page.Pagination.ContinuationToken != nil {
		page = decode[nevisPage[nevisDispatchTarget]](t, m.c.do(t, "GET", list+"&continuationToken="+*page.Pagination.ContinuationToken,
			nil, "X-Consistency-Token", r.header.Get("X-Consistency-Token")))
		for _, it := range page.Items {
			seen = append(seen, it.ExtID)
		}
	}
	requireEqual(t, "targets seen across pages", strings.Join(seen, ","), "p0,p1,p3,p4")
}

// Bad input on the nevisIDM face gets its envelope with a code and a
// message naming the field, never a 500, and appends nothing.
func TestNevisBadInput(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	mustNevisUser(t, m.c, "default", userBody("u1", "U", "One", "u1@example.test"))
	_, r := mustTarget(t, m.c, "u1", targetBody("dt", false))
	users := nevisPath + "/default/users"
	targets := users + "/u1/dispatch-targets"
	creds := users + "/u1/fido-uaf-credentials"
	bad := func(body map[string]any, k string, v any) map[string]any {
		out := map[string]any{}
		for kk, vv := range body {
			out[kk] = vv
		}
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
		return out
	}
	type badCase struct {
		name, method, path string
		body               any
		status             int
		code, message      string
	}
	const invalid, jsonErr = "errors.invalidParameter", "errors.jsonProcessingError"
	cases := []badCase{
		{"malformed JSON", "POST", users, `{"extId": "x",`, 400, jsonErr, "~malformed JSON"},
		{"array body", "POST", users, `[{}]`, 400, jsonErr, "~JSON object"},
		{"empty body", "POST", users, ``, 400, "errors.nullRequestBody", ""},
		{"null body", "POST", users, `null`, 400, jsonErr, "~null"},
		{"unknown field", "POST", users, bad(userBody("x", "A", "B", ""), "nickname", "C"), 400, invalid, "~nickname"},
		{"number for firstName", "POST", users, `{"name":{"firstName":5,"familyName":"B"}}`, 400, invalid, "~name.firstName"},
		{"unknown field in name", "POST", users, `{"name":{"firstName":"A","familyName":"B","middle":"C"}}`, 400, invalid, "~name.middle"},
		{"name not an object", "POST", users, `{"name":"Ada"}`, 400, invalid, "~name"},
		{"missing name", "POST", users, `{"extId":"x"}`, 400, "errors.userNameNull", "~name"},
		{"missing familyName", "POST", users, `{"name":{"firstName":"A"}}`, 400, "errors.userNameNull", "~name.familyName"},
		{"blank firstName", "POST", users, `{"name":{"firstName":" ","familyName":"B"}}`, 400, "errors.userFirstNameNull", "~name.firstName"},
		{"bad email", "POST", users, userBody("x", "A", "B", "not-an-email"), 400, "errors.userEmailFormat", "~contacts.email"},
		{"bad userState", "POST", users, bad(userBody("x", "A", "B", ""), "userState", "zombie"), 400, invalid, "~userState"},
		{"bad extId", "POST", users, userBody("a b", "A", "B", ""), 400, invalid, "~extId"},
		{"changed extId", "PATCH", users + "/u1", `{"extId":"other"}`, 400, "errors.modifyExtId", "~extId"},
		{"null familyName on PATCH", "PATCH", users + "/u1", `{"name":{"familyName":null}}`, 400, invalid, "~name.familyName"},
		{"bad If-Match", "PATCH", users + "/u1", `{}`, 400, invalid, "~If-Match"},

		{"missing deviceId", "POST", targets, bad(targetBody("t", false), "deviceId", nil), 400, "errors.mandatoryParameterMissing", "~deviceId"},
		{"bad state", "POST", targets, bad(targetBody("t", false), "state", "asleep"), 400, invalid, "~state"},
		{"bad type", "POST", targets, bad(targetBody("t", false), "type", "sms"), 400, invalid, "~type"},
		{"counter not a number", "POST", targets, bad(targetBody("t", false), "appAttestation", map[string]any{"name": "a", "counter": "3"}), 400, invalid, "~appAttestation.counter"},
		{"negative counter", "POST", targets, bad(targetBody("t", false), "appAttestation", map[string]any{"name": "a", "counter": -1}), 400, invalid, "~appAttestation.counter"},
		{"unknown field in appAttestation", "POST", targets, bad(targetBody("t", false), "appAttestation", map[string]any{"name": "a", "extra": 1}), 400, invalid, "~appAttestation.extra"},
		{"duplicate target", "POST", targets, targetBody("dt", false), 409, "errors.duplicateValue", "~dt"},

		{"bad aaid", "POST", creds, bad(credentialBody("c", "a2V5"), "aaid", "nope"), 400, "errors.credentialFidoUaf.invalidAaidFormat", "~AAID"},
		{"bad keyId", "POST", creds, bad(credentialBody("c", "a2V5"), "keyId", "a+b/"), 400, "errors.credentialFidoUaf.invalidKeyIdFormat", "~KeyID"},
		{"bad algorithm", "POST", creds, bad(credentialBody("c", "a2V5"), "publicKeyAlgorithm", "RSA"), 400, "errors.credentialFidoUaf.invalidPublicKeyAlgorithm", "~publicKeyAlgorithm"},
		{"targets not an array", "POST", creds, bad(credentialBody("c", "a2V5"), "dispatchTargetExtIds", "dt"), 400, invalid, "~dispatchTargetExtIds"},

		{"limit zero", "GET", targets + "?limit=0", nil, 400, invalid, "~limit"},
		{"limit not a number", "GET", targets + "?limit=ten", nil, 400, invalid, "~limit"},
		{"garbage continuationToken", "GET", targets + "?continuationToken=!!!", nil, 400, invalid, "~continuationToken"},
		{"malformed query", "GET", targets + "?continuationToken=%%%", nil, 400, invalid, "~query"},
		{"forged continuationToken", "GET", creds + "?continuationToken=MTI", nil, 400, invalid, "~continuationToken"},
		{"unknown query parameter", "GET", targets + "?page=2", nil, 400, invalid, "~page"},
		{"history without clientExtId", "GET", nevisPath + "/history/dispatch-targets", nil, 400, "errors.mandatoryParameterMissing", "~clientExtId"},
		{"history with two clients", "GET", nevisPath + "/history/dispatch-targets?clientExtId=default&clientExtId=x", nil, 400, invalid, "~clientExtId"},
		{"bad consistency token", "GET", targets + "?consistency_token=soon", nil, 400, invalid, "~consistency_token"},
		{"oversize body", "POST", users, `{"extId":"` + strings.Repeat("x", 1<<20) + `"}`, 400, jsonErr, "~bytes"},
		{"wrong method", "PUT", users + "/u1", `{}`, 400, invalid, "~PUT"},
		{"unknown route", "GET", nevisPath + "/default/groups", nil, 404, "errors.noRecord", "~/default/groups"},
	}
	before := lastSeq(t, m)
	for _, c := range cases {
		var headers []string
		if c.name == "bad If-Match" {
			headers = []string{"If-Match", "42"}
		}
		got := m.c.do(t, c.method, c.path, c.body, headers...)
		if err := checkNevisError(got, c.status, c.code, c.message); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	requireEqual(t, "events appended by bad input", lastSeq(t, m), before)

	// Unauthenticated, and an X-Token that is no token. (A failed
	// authentication is recorded as auth.failed, so these come last.)
	requireNevisError(t, as(m.c, "pcat_nope").do(t, "GET", users+"/u1", nil), http.StatusUnauthorized, "errors.unauthorized", "")
	requireNevisError(t, as(m.c, "").do(t, "GET", users+"/u1", nil, "Authorization", "", "X-Token", "eyJ.not.a-token"),
		http.StatusUnprocessableEntity, "errors.invalidJWTToken", "Invalid JWT token.")
	_ = r
}
