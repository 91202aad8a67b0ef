package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// assignmentItem is one entry of the assignments list.
type assignmentItem struct {
	Credential       accessCredential `json:"credential"`
	StatusAssignment string           `json:"status_assignment"`
	IndividualID     optional         `json:"individual_id"`
	DueDate          optional         `json:"due_date"`
	DueReason        optional         `json:"due_reason"`
	Overdue          bool             `json:"overdue"`
	Metadata         *struct {
		Condition optional `json:"condition"`
		Notes     optional `json:"notes"`
	} `json:"metadata"`
	Confirmation *struct {
		Type        string   `json:"type"`
		Destination optional `json:"destination"`
	} `json:"confirmation"`
	AssignedAt  optional `json:"assigned_at"`
	ConfirmedAt optional `json:"confirmed_at"`
	LastReturn  *struct {
		IndividualID string `json:"individual_id"`
		ReturnedAt   string `json:"returned_at"`
		Metadata     *struct {
			Condition optional `json:"condition"`
			Notes     optional `json:"notes"`
		} `json:"metadata"`
	} `json:"last_return"`
}

// individualVersion is a history entry of an individual, read loosely: the
// tests here look at event types only.
type individualVersion struct {
	Version   uint64          `json:"version"`
	EventType string          `json:"event_type"`
	Data      json.RawMessage `json:"data"`
}

// mustCredentials creates keys with the given numbers and extra fields.
func mustCredentials(t testing.TB, c *client, extra map[string]map[string]any, numbers ...string) map[string]accessCredential {
	t.Helper()
	out := map[string]accessCredential{}
	for _, n := range numbers {
		b := keyBody(n)
		for k, v := range extra[n] {
			b[k] = v
		}
		cr, _ := mustAccessCredential(t, c, b)
		out[n] = cr
	}
	return out
}

// credentialCall posts to one of the assignment routes and decodes the
// credentials it answers with.
func credentialCall(t testing.TB, c *client, path string, body any, headers ...string) ([]accessCredential, response) {
	t.Helper()
	r := c.do(t, "POST", "/api/v1/access-credentials/"+path, body, headers...)
	requireStatus(t, r, http.StatusOK)
	return decode[item[[]accessCredential]](t, r).Data, r
}

func ids(crs ...accessCredential) []string {
	out := make([]string, len(crs))
	for i, c := range crs {
		out[i] = c.ID
	}
	return out
}

// Assign, confirm and return through the real server, with every refusal:
// DISABLED for disabled, lost, stolen and damaged credentials, EXPIRED
// outside the validity window, CONFLICT for a taken credential (and for
// returning a free one), NOT_FOUND naming an unknown individual or
// credential. Refused commands append nothing; a batch lands whole or not.
func TestAssignConfirmAndReturn(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	ada, _ := mustCreate(t, m.c, map[string]any{"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.test", "ext_id": "ada"})
	bob, _ := mustCreate(t, m.c, newIndividual("Bob", "Builder", "bob@example.test"))
	k := mustCredentials(t, m.c, map[string]map[string]any{
		"K-04": {"status": "disabled"}, "K-05": {"valid_until": "2020-01-01T00:00:00Z"},
		"K-06": {"valid_from": "2199-01-01T00:00:00Z"}, "K-07": {"status": "damaged"},
		"K-08": {"status": "lost"}, "K-09": {"status": "stolen"},
	}, "K-01", "K-02", "K-03", "K-04", "K-05", "K-06", "K-07", "K-08", "K-09")

	// Two keys to Ada in one step.
	got, r := credentialCall(t, m.c, "assign", map[string]any{"credential_ids": ids(k["K-01"], k["K-02"]),
		"individual_id": ada.ID, "due_date": "2099-06-30T17:00:00Z", "due_reason": "Project Lighthouse",
		"metadata": map[string]any{"condition": "new", "notes": "handed over at reception"}})
	requireEqual(t, "answered credentials", len(got), 2)
	for i, n := range []string{"K-01", "K-02"} {
		requireEqual(t, n+" order", got[i].CredentialID, n)
		requireEqual(t, n+" status_assignment", got[i].StatusAssignment, "assigned")
		requireEqual(t, n+" assigned_to", got[i].AssignedTo.String(), ada.ID)
		requireEqual(t, n+" due_date", got[i].DueDate.String(), "2099-06-30T17:00:00Z")
		requireEqual(t, n+" due_reason", got[i].DueReason.String(), "Project Lighthouse")
	}
	token := r.header.Get("X-Consistency-Token")
	read, _ := mustReadCredential(t, m.c, k["K-01"].ID, token)
	requireDeepEqual(t, "GET after assign", read, got[0])

	// The person knows what they hold: their history shows it and their
	// ETag follows it.
	ir := m.c.do(t, "GET", "/api/v1/individuals/"+ada.ID+"/history?limit=100", nil, "X-Consistency-Token", token)
	requireStatus(t, ir, http.StatusOK)
	var ih list[individualVersion]
	if err := json.Unmarshal(ir.body, &ih); err != nil {
		t.Fatal(err)
	}
	requireEqual(t, "individual history", ih.Data[len(ih.Data)-1].EventType, "individual.credentials_assigned")
	_, gr := mustGet(t, m.c, ada.ID, token)
	requireEqual(t, "individual ETag", gr.header.Get("ETag"), etagOf(ih.Data[len(ih.Data)-1].Version))
	r = m.c.do(t, "PATCH", "/api/v1/individuals/"+ada.ID, map[string]any{"department": "R&D"}, "If-Match", gr.header.Get("ETag"))
	requireStatus(t, r, http.StatusOK)

	refused := []struct {
		name   string
		body   map[string]any
		status int
		code   string
		names  string
	}{
		{"one of two taken", map[string]any{"credential_ids": ids(k["K-03"], k["K-01"]), "individual_id": bob.ID}, 409, "CONFLICT", "K-01"},
		{"disabled", map[string]any{"credential_ids": ids(k["K-04"]), "individual_id": bob.ID}, 409, "DISABLED", "disabled"},
		{"damaged", map[string]any{"credential_ids": ids(k["K-07"]), "individual_id": bob.ID}, 409, "DISABLED", "damaged"},
		{"lost", map[string]any{"credential_ids": ids(k["K-08"]), "individual_id": bob.ID}, 409, "DISABLED", "lost"},
		{"stolen", map[string]any{"credential_ids": ids(k["K-09"]), "individual_id": bob.ID}, 409, "DISABLED", "stolen"},
		{"expired", map[string]any{"credential_ids": ids(k["K-05"]), "individual_id": bob.ID}, 410, "EXPIRED", "K-05"},
		{"not yet valid", map[string]any{"credential_ids": ids(k["K-06"]), "individual_id": bob.ID}, 410, "EXPIRED", "K-06"},
		{"unknown individual", map[string]any{"credential_ids": ids(k["K-03"]), "individual_id": "nobody"}, 404, "NOT_FOUND", "individual_id"},
		{"unknown credential", map[string]any{"credential_ids": []string{k["K-03"].ID, "no-such-key"}, "individual_id": bob.ID}, 404, "NOT_FOUND", "credential_ids"},
		{"no credentials", map[string]any{"credential_ids": []string{}, "individual_id": bob.ID}, 400, "BAD_REQUEST", "credential_ids"},
		{"twice the same", map[string]any{"credential_ids": ids(k["K-03"], k["K-03"]), "individual_id": bob.ID}, 400, "BAD_REQUEST", "credential_ids"},
		{"no individual", map[string]any{"credential_ids": ids(k["K-03"])}, 400, "BAD_REQUEST", "individual_id"},
		{"bad due date", map[string]any{"credential_ids": ids(k["K-03"]), "individual_id": bob.ID, "due_date": "tomorrow"}, 400, "BAD_REQUEST", "due_date"},
		{"bad confirmation", map[string]any{"credential_ids": ids(k["K-03"]), "individual_id": bob.ID,
			"confirmation": map[string]any{"type": "carrier pigeon"}}, 400, "BAD_REQUEST", "confirmation.type"},
		{"unknown metadata", map[string]any{"credential_ids": ids(k["K-03"]), "individual_id": bob.ID,
			"metadata": map[string]any{"colour": "red"}}, 400, "BAD_REQUEST", "metadata.colour"},
		{"bad notes", map[string]any{"credential_ids": ids(k["K-03"]), "individual_id": bob.ID,
			"metadata": map[string]any{"notes": 7}}, 400, "BAD_REQUEST", "metadata.notes"},
	}
	before := lastSeq(t, m)
	for _, c := range refused {
		r := m.c.do(t, "POST", "/api/v1/access-credentials/assign", c.body)
		if err := checkNativeError(r, c.status, c.code, c.names); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
	}
	requireEqual(t, "events after refused assigns", lastSeq(t, m), before)
	read, _ = mustReadCredential(t, m.c, k["K-03"].ID, token)
	requireEqual(t, "K-03 after a refused batch", read.StatusAssignment, "available")

	// Nobody deletes what is held: the key, or the person holding it (on
	// both faces).
	r = m.c.do(t, "DELETE", "/api/v1/access-credentials/"+k["K-01"].ID, nil)
	requireNativeError(t, r, http.StatusConflict, "CONFLICT", "return it first")
	r = m.c.do(t, "DELETE", "/api/v1/individuals/"+ada.ID, nil)
	requireNativeError(t, r, http.StatusConflict, "CONFLICT", k["K-01"].ID)
	r = m.c.do(t, "DELETE", nevisPath+"/default/users/ada", nil)
	requireNevisError(t, r, http.StatusConflict, "errors.undeletedDependencies",
		"The user with extId 'ada' cannot be deleted: the individual still holds 2 access credential(s) ("+k["K-01"].ID+", "+k["K-02"].ID+"); return them first")

	// A reservation for Bob, pending until confirmed.
	got, r = credentialCall(t, m.c, "assign", map[string]any{"credential_ids": ids(k["K-03"]), "individual_id": bob.ID,
		"confirmation": map[string]any{"type": "digital", "destination": "bob@example.test"}})
	requireEqual(t, "reserved", got[0].StatusAssignment, "pending")
	token = r.header.Get("X-Consistency-Token")
	rl := m.c.do(t, "GET", "/api/v1/access-credentials/reserved", nil, "X-Consistency-Token", token)
	requireStatus(t, rl, http.StatusOK)
	reserved := decode[list[accessCredential]](t, rl)
	requireEqual(t, "reserved total", reserved.Meta.Pagination.TotalItems, 1)
	requireEqual(t, "reserved item", reserved.Data[0].ID, k["K-03"].ID)
	al := m.c.do(t, "GET", "/api/v1/access-credentials/assignments?status_assignment=pending", nil)
	requireStatus(t, al, http.StatusOK)
	pend := decode[list[assignmentItem]](t, al).Data
	requireEqual(t, "pending assignments", len(pend), 1)
	requireEqual(t, "confirmation destination", pend[0].Confirmation.Destination.String(), "bob@example.test")

	// Confirming what is not pending is a conflict; confirming the
	// reservation assigns it.
	r = m.c.do(t, "POST", "/api/v1/access-credentials/confirm", map[string]any{"credential_ids": ids(k["K-01"])})
	requireNativeError(t, r, http.StatusConflict, "CONFLICT", "not pending")
	got, r = credentialCall(t, m.c, "confirm", map[string]any{"credential_ids": ids(k["K-03"])})
	requireEqual(t, "confirmed", got[0].StatusAssignment, "assigned")
	token = r.header.Get("X-Consistency-Token")
	rl = m.c.do(t, "GET", "/api/v1/access-credentials/reserved", nil, "X-Consistency-Token", token)
	requireEqual(t, "reserved after confirm", decode[list[accessCredential]](t, rl).Meta.Pagination.TotalItems, 0)

	// One return takes keys back from two people.
	got, r = credentialCall(t, m.c, "return", map[string]any{"credential_ids": ids(k["K-02"], k["K-03"], k["K-01"]),
		"metadata": map[string]any{"condition": "worn", "notes": "bent tip"}})
	for _, g := range got {
		requireEqual(t, g.CredentialID+" returned", g.StatusAssignment, "available")
		requireEqual(t, g.CredentialID+" assigned_to", g.AssignedTo.Set, false)
	}
	token = r.header.Get("X-Consistency-Token")
	r = m.c.do(t, "POST", "/api/v1/access-credentials/return", map[string]any{"credential_ids": ids(k["K-02"])})
	requireNativeError(t, r, http.StatusConflict, "CONFLICT", "not assigned")
	al = m.c.do(t, "GET", "/api/v1/access-credentials/assignments?limit=100", nil, "X-Consistency-Token", token)
	requireStatus(t, al, http.StatusOK)
	for _, a := range decode[list[assignmentItem]](t, al).Data {
		if a.Credential.ID == k["K-03"].ID {
			if a.LastReturn == nil || a.LastReturn.IndividualID != bob.ID || a.LastReturn.Metadata.Notes.String() != "bent tip" {
				t.Fatalf("K-03's last return: %+v", a.LastReturn)
			}
		}
	}
	h := credentialHistory(t, m.c, k["K-03"].ID, token)
	requireEqual(t, "K-03 history", eventTypes(h), "access_credential.created access_credential.reserved "+
		"access_credential.assignment_confirmed access_credential.returned")
	ir = m.c.do(t, "GET", "/api/v1/individuals/"+bob.ID+"/history?limit=100", nil, "X-Consistency-Token", token)
	if err := json.Unmarshal(ir.body, &ih); err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, v := range ih.Data {
		types = append(types, v.EventType)
	}
	requireEqual(t, "Bob's history", strings.Join(types, " "), "individual.created individual.credentials_assigned "+
		"individual.credentials_confirmed individual.credentials_returned")

	// With nothing held, the person can go.
	r = m.c.do(t, "DELETE", "/api/v1/individuals/"+ada.ID, nil)
	requireStatus(t, r, http.StatusOK)
}

func etagOf(v uint64) string {
	b, _ := json.Marshal(v)
	return `"` + string(b) + `"`
}

// An individual confirms receipt of what is reserved for them with their
// own X-Token; someone else's reservation is 404 to them, and the X-Token
// opens no other credential route.
func TestSelfServiceConfirmsReservedCredentials(t *testing.T) {
	t.Parallel()
	m, mb := runWithMailbox(t)
	ada, _ := mustCreate(t, m.c, map[string]any{"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.test", "ext_id": "ada"})
	bob, _ := mustCreate(t, m.c, newIndividual("Bob", "Builder", "bob@example.test"))
	k := mustCredentials(t, m.c, nil, "S-1", "S-2", "S-3")
	digital := map[string]any{"type": "digital", "destination": "ada@example.test"}
	credentialCall(t, m.c, "assign", map[string]any{"credential_ids": ids(k["S-1"], k["S-2"]), "individual_id": ada.ID, "confirmation": digital})
	_, r := credentialCall(t, m.c, "assign", map[string]any{"credential_ids": ids(k["S-3"]), "individual_id": bob.ID, "confirmation": digital})
	waitFor(t, m, r.header.Get("X-Consistency-Token"))
	self := as(m.c, "")
	tok := xToken(t, m, mb, "ada")

	before := lastSeq(t, m)
	r = self.do(t, "POST", "/api/v1/access-credentials/confirm", map[string]any{"credential_ids": ids(k["S-1"], k["S-3"])}, "Authorization", "", "X-Token", tok)
	requireNativeError(t, r, http.StatusNotFound, "NOT_FOUND", k["S-3"].ID)
	requireEqual(t, "events after a refused confirmation", lastSeq(t, m), before)
	for _, route := range []struct{ method, path string }{
		{"GET", "/api/v1/access-credentials"}, {"GET", "/api/v1/access-credentials/" + k["S-1"].ID},
		{"POST", "/api/v1/access-credentials/return"}, {"POST", "/api/v1/access-credentials/assign"},
	} {
		r := self.do(t, route.method, route.path, map[string]any{"credential_ids": ids(k["S-1"])}, "Authorization", "", "X-Token", tok)
		requireNativeError(t, r, http.StatusForbidden, "INSUFFICIENT_PERMISSIONS", "access-credentials")
	}

	got, r := credentialCall(t, self, "confirm", map[string]any{"credential_ids": ids(k["S-1"], k["S-2"])}, "Authorization", "", "X-Token", tok)
	for _, c := range got {
		requireEqual(t, c.CredentialID+" after confirmation", c.StatusAssignment, "assigned")
	}
	h := credentialHistory(t, m.c, k["S-2"].ID, r.header.Get("X-Consistency-Token"))
	requireEqual(t, "confirmed by", h[len(h)-1].Actor, "individual:"+ada.ID)
	r = self.do(t, "POST", "/api/v1/access-credentials/confirm", map[string]any{"credential_ids": ids(k["S-1"])}, "Authorization", "", "X-Token", tok)
	requireNativeError(t, r, http.StatusConflict, "CONFLICT", "not pending")
}

// An assign retried with its Idempotency-Key answers the first outcome and
// appends nothing; the same key on another body is a conflict.
func TestAssignIsIdempotent(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	ada, _ := mustCreate(t, m.c, newIndividual("Ada", "Lovelace", "ada@example.test"))
	k := mustCredentials(t, m.c, nil, "I-1", "I-2")
	body := map[string]any{"credential_ids": ids(k["I-1"], k["I-2"]), "individual_id": ada.ID}
	first, r1 := credentialCall(t, m.c, "assign", body, "Idempotency-Key", "assign-once")
	before := lastSeq(t, m)
	again, r2 := credentialCall(t, m.c, "assign", body, "Idempotency-Key", "assign-once")
	requireEqual(t, "replayed", r2.header.Get("Idempotent-Replayed"), "true")
	requireDeepEqual(t, "replayed answer", again, first)
	requireEqual(t, "consistency token", r2.header.Get("X-Consistency-Token"), r1.header.Get("X-Consistency-Token"))
	requireEqual(t, "events after the retry", lastSeq(t, m), before)
	r := m.c.do(t, "POST", "/api/v1/access-credentials/assign", map[string]any{"credential_ids": ids(k["I-1"]), "individual_id": ada.ID},
		"Idempotency-Key", "assign-once")
	requireNativeError(t, r, http.StatusConflict, "CONFLICT", "Idempotency-Key")
}

// A credential command retried after its outcome was lost (the outcome file
// gone) is recognised by its command id and appends nothing: a create names
// the same credential, an assign and a return answer as they did.
func TestCredentialCommandsAfterTheOutcomeWasLost(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	m := mustRun(t, dir)
	ada, _ := mustCreate(t, m.c, newIndividual("Ada", "Lovelace", "ada@example.test"))
	create := m.c.do(t, "POST", "/api/v1/access-credentials", keyBody("LOST-1"), "Idempotency-Key", "create-lost-1")
	requireStatus(t, create, http.StatusCreated)
	cr := decode[item[accessCredential]](t, create).Data
	assign := map[string]any{"credential_ids": ids(cr), "individual_id": ada.ID}
	credentialCall(t, m.c, "assign", assign, "Idempotency-Key", "assign-lost-1")
	ret := map[string]any{"credential_ids": ids(cr)}
	returned, _ := credentialCall(t, m.c, "return", ret, "Idempotency-Key", "return-lost-1")
	mustClose(t, m)
	if err := os.Remove(filepath.Join(dir, "idempotency.db")); err != nil {
		t.Fatal(err)
	}
	m = mustRun(t, dir)
	before := lastSeq(t, m)
	r := m.c.do(t, "POST", "/api/v1/access-credentials", keyBody("LOST-1"), "Idempotency-Key", "create-lost-1")
	requireStatus(t, r, http.StatusCreated)
	requireEqual(t, "id of the retried create", decode[item[accessCredential]](t, r).Data.ID, cr.ID)
	got, _ := credentialCall(t, m.c, "return", ret, "Idempotency-Key", "return-lost-1")
	requireDeepEqual(t, "retried return", got, returned)
	got, _ = credentialCall(t, m.c, "assign", assign, "Idempotency-Key", "assign-lost-1")
	requireEqual(t, "retried assign appended nothing", lastSeq(t, m), before)
	requireEqual(t, "retried assign answers the credential as it is", got[0].StatusAssignment, "available")
}
