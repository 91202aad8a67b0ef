package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/domain"
	phttp "github.com/portcullis/portcullis/http"
)

// auditEntry is an audit log entry as the native face shows it.
type auditEntry struct {
	Sequence         uint64        `json:"sequence"`
	ConsistencyToken string        `json:"consistency_token"`
	OccurredAt       string        `json:"occurred_at"`
	Tenant           string        `json:"tenant"`
	Actor            string        `json:"actor"`
	Face             *string       `json:"face"`
	RequestID        *string       `json:"request_id"`
	EntityType       string        `json:"entity_type"`
	EntityID         string        `json:"entity_id"`
	Action           string        `json:"action"`
	Changes          []auditChange `json:"changes"`
}

type auditChange struct {
	Field  string          `json:"field"`
	Before json.RawMessage `json:"before"`
	After  json.RawMessage `json:"after"`
}

func (a auditEntry) face() string {
	if a.Face == nil {
		return ""
	}
	return *a.Face
}

// change renders one field's change as before→after, "none" when absent.
func (a auditEntry) change(field string) string {
	for _, c := range a.Changes {
		if c.Field == field {
			return string(c.Before) + "→" + string(c.After)
		}
	}
	return "none"
}

type auditPage struct {
	Msg  string       `json:"msg"`
	Data []auditEntry `json:"data"`
	Meta struct {
		Pagination struct {
			CurrentCount int  `json:"current_count"`
			CurrentPage  int  `json:"current_page"`
			PerPage      int  `json:"per_page"`
			TotalPages   *int `json:"total_pages"`
			TotalItems   *int `json:"total_items"`
		} `json:"pagination"`
		Cursor     *string `json:"cursor"`
		NextCursor *string `json:"next_cursor"`
	} `json:"meta"`
}

// auditPageOf reads one page of the audit log.
func auditPageOf(t testing.TB, c *client, query string, headers ...string) (auditPage, response) {
	t.Helper()
	r := c.do(t, "GET", "/api/v1/audit-logs?"+query, nil, headers...)
	requireStatus(t, r, http.StatusOK)
	return decode[auditPage](t, r), r
}

// readAudit follows next_cursor from the first page to the last, with
// limit entries a page, and returns every entry and the raw bodies.
func readAudit(t testing.TB, c *client, query string, limit int, headers ...string) ([]auditEntry, []byte) {
	t.Helper()
	var out []auditEntry
	var raw []byte
	q := fmt.Sprintf("limit=%d&%s", limit, query)
	for pages := 0; ; pages++ {
		p, r := auditPageOf(t, c, q, headers...)
		raw = append(raw, r.body...)
		if len(p.Data) > limit || p.Meta.Pagination.CurrentCount != len(p.Data) {
			t.Fatalf("page of %d entries for limit %d, current_count %d", len(p.Data), limit, p.Meta.Pagination.CurrentCount)
		}
		out = append(out, p.Data...)
		if p.Meta.NextCursor == nil {
			return out, raw
		}
		if len(p.Data) != limit {
			t.Fatalf("a page with a next_cursor has %d entries, want %d", len(p.Data), limit)
		}
		requireEqual(t, "next_cursor", *p.Meta.NextCursor, p.Data[len(p.Data)-1].ConsistencyToken)
		q = fmt.Sprintf("limit=%d&cursor=%s&%s", limit, *p.Meta.NextCursor, query)
	}
}

// export downloads the whole export in format.
func export(t testing.TB, c *client, format, query string, headers ...string) response {
	t.Helper()
	r := c.do(t, "GET", "/api/v1/audit-logs/export?format="+format+"&"+query, nil, headers...)
	requireStatus(t, r, http.StatusOK)
	return r
}

// parseNDJSON decodes an NDJSON export strictly, one entry a line.
func parseNDJSON(t testing.TB, body []byte) []auditEntry {
	t.Helper()
	var out []auditEntry
	for _, line := range bytes.Split(bytes.TrimSuffix(body, []byte("\n")), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		out = append(out, decode[auditEntry](t, response{status: 200, body: line}))
	}
	return out
}

// secretForms are the ways a secret could show up: as given, or as the
// SHA-256 the log keeps of tokens and client secrets, in hex or base64.
func secretForms(secrets ...string) []string {
	var out []string
	for _, s := range secrets {
		h := sha256.Sum256([]byte(s))
		out = append(out, s, hex.EncodeToString(h[:]), base64.StdEncoding.EncodeToString(h[:]),
			base64.RawURLEncoding.EncodeToString(h[:]))
	}
	return out
}

func requireNoSecretIn(t testing.TB, what string, body []byte, secrets []string) {
	t.Helper()
	for _, s := range secretForms(secrets...) {
		if bytes.Contains(body, []byte(s)) {
			t.Fatalf("a secret (or its hash) is in %s", what)
		}
	}
}

// The audit log shows every face's mutations in log order, each with its
// face, actor and the fields it changed, and never a secret: not in pages,
// not in either export, not in any file of the data directory.
func TestAuditLogOfEveryFace(t *testing.T) {
	t.Parallel()
	m, mb := runWithMailbox(t)
	secrets := []string{testAdminToken}

	// Native, as the bootstrap admin.
	ada, r := mustCreate(t, m.c, newIndividual("Ada", "Lovelace", "ada@example.test"))
	requireStatus(t, m.c.do(t, "PATCH", "/api/v1/individuals/"+ada.ID, map[string]any{"department": "Research"}), http.StatusOK)
	// Native, as a service user with its own token.
	ops, tok := mustServiceUser(t, m.c, "ops", "admin", time.Hour)
	secrets = append(secrets, tok.Token)
	_, r = mustCreate(t, as(m.c, tok.Token), newIndividual("Bob", "Ops", "bob@example.test"))

	// nevisIDM and eSystems, as an OAuth2 client.
	r = m.c.do(t, "POST", "/api/v1/oauth-clients", map[string]any{"name": "sync", "role": "admin",
		"scopes": []string{"AccessControl.UserCreate", "AccessControl.DispatchTargetCreate", "AccessManager:Create"}})
	requireStatus(t, r, http.StatusCreated)
	cl := decode[item[oauthClientCreated]](t, r).Data
	status, tokAnswer := requestToken(t, m.c, url.Values{"grant_type": {"client_credentials"},
		"client_id": {cl.ClientID}, "client_secret": {cl.ClientSecret}}, nil)
	requireEqual(t, "token status", status, http.StatusOK)
	bearer := as(m.c, "")
	bearer.bearer = tokAnswer["access_token"].(string)
	secrets = append(secrets, cl.ClientSecret, bearer.bearer)
	mustNevisUser(t, bearer, "default", userBody("grace", "Grace", "Hopper", "grace@example.test"))
	_, r = mustTarget(t, bearer, "grace", targetBody("grace-phone", true))
	_, r = mustES[esRecord](t, bearer, "/AccessGroup", esRecordBody("Main entrance", "grp-main"))

	// nevisIDM SelfAdmin: Grace deletes her own device with an X-Token.
	waitFor(t, m, r.header.Get("X-Consistency-Token"))
	grace := userID(t, m, "grace")
	otp := "/api/v1/individuals/" + grace + "/otp"
	requireStatus(t, m.c.do(t, "POST", otp, nil), http.StatusAccepted)
	code := mb.nextCode(t)
	r = m.c.do(t, "POST", otp+"/verify", map[string]any{"code": code})
	requireStatus(t, r, http.StatusOK)
	xtok := decode[item[struct {
		Token     string `json:"token"`
		TokenType string `json:"token_type"`
		ExpiresIn int    `json:"expires_in"`
	}]](t, r).Data.Token
	secrets = append(secrets, `"`+code+`"`, xtok) // a six-digit code alone could match any number
	r = as(m.c, "").do(t, "DELETE", nevisPath+"/default/users/grace/dispatch-targets/grace-phone", nil,
		"Authorization", "", "X-Token", xtok)
	requireStatus(t, r, http.StatusNoContent)
	last := r.header.Get("X-Consistency-Token")

	// A made-up token: its failure is recorded under _system, never the
	// token itself.
	wrong := "pcat_made-up-secret-that-must-not-be-kept"
	secrets = append(secrets, wrong)
	requireNativeError(t, as(m.c, wrong).do(t, "GET", "/api/v1/individuals", nil), http.StatusUnauthorized, "UNAUTHORIZED", "")

	entries, raw := readAudit(t, m.c, "", 7, "X-Consistency-Token", last)
	requireNoSecretIn(t, "the audit pages", raw, secrets)
	var prev uint64
	find := func(action, entityID string) auditEntry {
		t.Helper()
		for _, a := range entries {
			if a.Action == action && (entityID == "" || a.EntityID == entityID) {
				return a
			}
		}
		t.Fatalf("no %s entry for %q", action, entityID)
		return auditEntry{}
	}
	for _, a := range entries {
		if a.Sequence <= prev {
			t.Fatalf("entry %d after %d: not in log order", a.Sequence, prev)
		}
		prev = a.Sequence
		requireEqual(t, "tenant of an entry", a.Tenant, domain.DefaultTenant)
		requireEqual(t, "consistency token of an entry", a.ConsistencyToken, fmt.Sprint(a.Sequence))
	}
	for _, c := range []struct {
		entry       auditEntry
		face, actor string
	}{
		{find(domain.TypeTenantCreated, ""), domain.FaceSystem, "system"},
		{find(domain.TypeServiceUserCreated, "admin"), domain.FaceSystem, "system"},
		{find(domain.TypeIndividualCreated, ada.ID), domain.FaceNative, "service_user:admin"},
		{find(domain.TypeIndividualUpdated, ada.ID), domain.FaceNative, "service_user:admin"},
		{find(domain.TypeServiceUserTokenIssued, ops.ID), domain.FaceNative, "service_user:admin"},
		{find(domain.TypeIndividualCreated, userID(t, m, "grace")), domain.FaceNevisIDM, "oauth_client:" + cl.ClientID},
		{find(domain.TypeDispatchTargetCreated, grace), domain.FaceNevisIDM, "oauth_client:" + cl.ClientID},
		{find(domain.TypeAccessGroupCreated, ""), domain.FaceESystems, "oauth_client:" + cl.ClientID},
		{find(domain.TypeOTPVerified, grace), domain.FaceNative, "service_user:admin"},
		{find(domain.TypeDispatchTargetDeleted, grace), domain.FaceNevisIDM, "individual:" + grace},
	} {
		if c.entry.face() != c.face || c.entry.Actor != c.actor {
			t.Fatalf("%s of %s: face %q actor %q, want %q %q", c.entry.Action, c.entry.EntityID,
				c.entry.face(), c.entry.Actor, c.face, c.actor)
		}
		if c.entry.face() != domain.FaceSystem && (c.entry.RequestID == nil || *c.entry.RequestID == "") {
			t.Fatalf("%s has no request id", c.entry.Action)
		}
	}
	bobs := 0
	for _, a := range entries {
		if a.Action == domain.TypeIndividualCreated && a.Actor == "service_user:"+ops.ID {
			bobs++
		}
	}
	requireEqual(t, "individuals created by the ops service user", bobs, 1)
	upd := find(domain.TypeIndividualUpdated, ada.ID)
	requireEqual(t, "changes of the update", len(upd.Changes), 1)
	requireEqual(t, "department change", upd.change("department"), `null→"Research"`)
	created := find(domain.TypeIndividualCreated, ada.ID)
	requireEqual(t, "email on creation", created.change("email"), `null→"ada@example.test"`)
	requireEqual(t, "department on creation (not set)", created.change("department"), "none")
	group := find(domain.TypeAccessGroupCreated, "")
	requireEqual(t, "group name on creation", group.change("name"), `null→"Main entrance"`)
	gone := find(domain.TypeDispatchTargetDeleted, grace)
	requireEqual(t, "deleted target", gone.change("ext_id"), `null→"grace-phone"`)

	// Both exports hold exactly the entries the pages showed.
	nd := export(t, m.c, "ndjson", "", "X-Consistency-Token", last)
	requireEqual(t, "NDJSON content type", nd.header.Get("Content-Type"), "application/x-ndjson")
	requireNoSecretIn(t, "the NDJSON export", nd.body, secrets)
	fromExport := parseNDJSON(t, nd.body)
	requireEqual(t, "NDJSON entries", len(fromExport), len(entries))
	for i := range entries {
		a, _ := json.Marshal(entries[i])
		b, _ := json.Marshal(fromExport[i])
		requireEqual(t, "NDJSON entry", string(b), string(a))
	}
	cv := export(t, m.c, "csv", "", "X-Consistency-Token", last)
	requireNoSecretIn(t, "the CSV export", cv.body, secrets)
	rows, err := csv.NewReader(bytes.NewReader(cv.body)).ReadAll()
	if err != nil {
		t.Fatalf("CSV export: %v", err)
	}
	requireEqual(t, "CSV rows", len(rows), len(entries)+1)
	requireEqual(t, "CSV header", strings.Join(rows[0], ","), "sequence,occurred_at,tenant,actor,face,request_id,entity_type,entity_id,action,changes")
	for i, row := range rows[1:] {
		var changes []auditChange
		if err := json.Unmarshal([]byte(row[9]), &changes); err != nil {
			t.Fatalf("CSV changes of row %d: %v", i+1, err)
		}
		a := entries[i]
		requireEqual(t, "CSV row", strings.Join(row[:9], ","), strings.Join([]string{fmt.Sprint(a.Sequence), a.OccurredAt,
			a.Tenant, a.Actor, a.face(), *orEmpty(a.RequestID), a.EntityType, a.EntityID, a.Action}, ","))
		requireEqual(t, "CSV changes", len(changes), len(a.Changes))
	}

	// The failed authentication is the system admin's to read, under
	// _system; the appending happens off the request path.
	var failure auditEntry
	for deadline := time.Now().Add(10 * time.Second); failure.Action == "" && time.Now().Before(deadline); {
		sys, raw := readAudit(t, m.c, "tenant=_system&action=auth.failed", 100)
		requireNoSecretIn(t, "the _system audit log", raw, secrets)
		for _, a := range sys {
			if a.change("path") == `null→"/api/v1/individuals"` && a.change("reason") == `null→"unknown"` {
				failure = a
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if failure.Action == "" || failure.Actor != "anonymous" || failure.face() != domain.FaceNative {
		t.Fatalf("the failed authentication in _system: %+v", failure)
	}
	requireNativeError(t, as(m.c, tok.Token).do(t, "GET", "/api/v1/audit-logs?tenant=nope", nil),
		http.StatusForbidden, "INSUFFICIENT_PERMISSIONS", "")
	mustClose(t, m)
	var kept []string
	for _, s := range secrets {
		if !strings.HasPrefix(s, `"`) {
			kept = append(kept, s)
		}
	}
	requireSecretsAbsent(t, m.Config.DataDir, secretForms(kept...)...)
}

func orEmpty(s *string) *string {
	if s == nil {
		e := ""
		return &e
	}
	return s
}

// Filters seek what they name; cursor paging holds at 0, 1 and many
// entries and past the end; bad parameters are refused by name; a caller
// sees only its own tenant's log; a rebuild gives the same bytes.
func TestAuditLogFiltersPagingAndIsolation(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	m := mustRun(t, dir)
	var ids []string
	for i := range 5 {
		ind, _ := mustCreate(t, m.c, map[string]any{"first_name": fmt.Sprint("P", i), "last_name": "L"})
		ids = append(ids, ind.ID)
	}
	for i := range 4 {
		requireStatus(t, m.c.do(t, "PATCH", "/api/v1/individuals/"+ids[1], map[string]any{"department": fmt.Sprint("D", i)}), http.StatusOK)
	}
	ops, tok := mustServiceUser(t, m.c, "ops", "admin", time.Hour)
	opsc := as(m.c, tok.Token)
	mid := time.Now().UTC()
	time.Sleep(2 * time.Millisecond)
	for i := range 3 {
		requireStatus(t, opsc.do(t, "PATCH", "/api/v1/individuals/"+ids[2], map[string]any{"department": fmt.Sprint("O", i)}), http.StatusOK)
	}
	r := opsc.do(t, "DELETE", "/api/v1/individuals/"+ids[3], nil)
	requireStatus(t, r, http.StatusOK)
	last := r.header.Get("X-Consistency-Token")
	wait := []string{"X-Consistency-Token", last}

	all, _ := readAudit(t, m.c, "", 100, wait...)
	requireEqual(t, "last entry", all[len(all)-1].ConsistencyToken, last)
	filter := func(keep func(a auditEntry) bool) []uint64 {
		var out []uint64
		for _, a := range all {
			if keep(a) {
				out = append(out, a.Sequence)
			}
		}
		return out
	}
	seqs := func(entries []auditEntry) []uint64 {
		var out []uint64
		for _, a := range entries {
			out = append(out, a.Sequence)
		}
		return out
	}
	opsActor := "service_user:" + ops.ID
	for _, c := range []struct {
		query string
		want  []uint64
	}{
		{"actor=" + url.QueryEscape(opsActor), filter(func(a auditEntry) bool { return a.Actor == opsActor })},
		{"entity_id=" + ids[1], filter(func(a auditEntry) bool { return a.EntityID == ids[1] })},
		{"entity_type=individual&action=individual.updated", filter(func(a auditEntry) bool { return a.Action == "individual.updated" })},
		{"action=individual.updated&actor=" + url.QueryEscape(opsActor), filter(func(a auditEntry) bool {
			return a.Action == "individual.updated" && a.Actor == opsActor
		})},
		{"entity_type=unique_value", filter(func(a auditEntry) bool { return a.EntityType == "unique_value" })},
		{"from=" + mid.Format(time.RFC3339Nano), filter(func(a auditEntry) bool {
			at, _ := time.Parse(time.RFC3339Nano, a.OccurredAt)
			return !at.Before(mid)
		})},
		{"to=" + mid.Format(time.RFC3339Nano) + "&entity_type=individual", filter(func(a auditEntry) bool {
			at, _ := time.Parse(time.RFC3339Nano, a.OccurredAt)
			return !at.After(mid) && a.EntityType == "individual"
		})},
	} {
		if len(c.want) == 0 {
			t.Fatalf("%s: the scenario has no such entries", c.query)
		}
		got, _ := readAudit(t, m.c, c.query, 2, wait...)
		requireEqual(t, c.query, fmt.Sprint(seqs(got)), fmt.Sprint(c.want))
		desc, _ := readAudit(t, m.c, c.query+"&order=sequence.desc", 3, wait...)
		for i, j := 0, len(desc)-1; i < j; i, j = i+1, j-1 {
			desc[i], desc[j] = desc[j], desc[i]
		}
		requireEqual(t, c.query+" newest first", fmt.Sprint(seqs(desc)), fmt.Sprint(c.want))
		nd := parseNDJSON(t, export(t, m.c, "ndjson", c.query, wait...).body)
		requireEqual(t, c.query+" exported", fmt.Sprint(seqs(nd)), fmt.Sprint(c.want))
	}

	// Zero entries: an empty page, no next cursor, a count of 0.
	p, _ := auditPageOf(t, m.c, "actor=nobody")
	if len(p.Data) != 0 || p.Meta.NextCursor != nil || p.Meta.Pagination.TotalItems == nil || *p.Meta.Pagination.TotalItems != 0 {
		t.Fatalf("no entries: %+v", p)
	}
	// One entry.
	p, _ = auditPageOf(t, m.c, "action=service_user.token_issued")
	if len(p.Data) != 1 || p.Meta.NextCursor != nil || *p.Meta.Pagination.TotalItems != 1 || *p.Meta.Pagination.TotalPages != 1 {
		t.Fatalf("one entry: %+v", p.Meta)
	}
	// Many: the first page counts them; a cursor page does not.
	p, _ = auditPageOf(t, m.c, "limit=4")
	if *p.Meta.Pagination.TotalItems != len(all) || *p.Meta.Pagination.TotalPages != (len(all)+3)/4 || p.Meta.NextCursor == nil {
		t.Fatalf("first of many: %+v", p.Meta.Pagination)
	}
	p, _ = auditPageOf(t, m.c, "limit=4&cursor="+*p.Meta.NextCursor)
	if p.Meta.Pagination.TotalItems != nil || p.Meta.Cursor == nil || p.Data[0].Sequence != all[4].Sequence {
		t.Fatalf("second of many: %+v", p.Meta)
	}
	// Page numbers still work for small offsets, and agree with cursors.
	p, _ = auditPageOf(t, m.c, "limit=4&page=2")
	requireEqual(t, "page 2 starts at", p.Data[0].Sequence, all[4].Sequence)
	// Past the end.
	p, _ = auditPageOf(t, m.c, "cursor="+last)
	if len(p.Data) != 0 || p.Meta.NextCursor != nil {
		t.Fatalf("past the end: %+v", p)
	}
	p, _ = auditPageOf(t, m.c, "cursor=1&order=sequence.desc")
	if len(p.Data) != 0 || p.Meta.NextCursor != nil {
		t.Fatalf("past the start, newest first: %+v", p)
	}

	for _, c := range []struct{ query, field string }{
		{"from=yesterday", "from"},
		{"to=2026-13-01T00:00:00Z", "to"},
		{"from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", "to"},
		{"cursor=abc", "cursor"},
		{"cursor=5&page=2", "cursor"},
		{"page=2000", "page"},
		{"limit=1000", "limit"},
		{"order=actor.asc", "order"},
		{"actor=", "actor"},
		{"colour=red", "colour"},
	} {
		requireNativeError(t, m.c.do(t, "GET", "/api/v1/audit-logs?"+c.query, nil), http.StatusBadRequest, "BAD_REQUEST", c.field)
	}
	requireNativeError(t, m.c.do(t, "GET", "/api/v1/audit-logs/export?format=xml", nil), http.StatusBadRequest, "BAD_REQUEST", "format")
	requireNativeError(t, m.c.do(t, "GET", "/api/v1/audit-logs/export?limit=5", nil), http.StatusBadRequest, "BAD_REQUEST", "page")

	// Another tenant: its admin sees its entries only, and may not name
	// ours; the system admin may name it.
	requireStatus(t, m.c.do(t, "POST", "/api/v1/tenants", map[string]any{"ext_id": "acme", "display_name": "Acme"}), http.StatusCreated)
	r = m.c.do(t, "POST", "/api/v1/service-users", map[string]any{"name": "acme-admin", "role": "admin", "tenant": "acme"})
	requireStatus(t, r, http.StatusCreated)
	acmeUser := decode[item[serviceUser]](t, r).Data
	r = m.c.do(t, "POST", "/api/v1/service-users/"+acmeUser.ID+"/tokens", map[string]any{"tenant": "acme",
		"expires_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
	requireStatus(t, r, http.StatusCreated)
	acme := as(m.c, decode[item[issuedToken]](t, r).Data.Token)
	_, r = mustCreate(t, acme, map[string]any{"first_name": "Acme", "last_name": "Person"})
	acmeWait := []string{"X-Consistency-Token", r.header.Get("X-Consistency-Token")}
	acmeEntries, _ := readAudit(t, acme, "", 100, acmeWait...)
	if len(acmeEntries) == 0 {
		t.Fatal("acme sees no entries")
	}
	for _, a := range acmeEntries {
		requireEqual(t, "tenant of acme's entry", a.Tenant, "acme")
	}
	nd := parseNDJSON(t, export(t, acme, "ndjson", "", acmeWait...).body)
	requireEqual(t, "acme's export", len(nd), len(acmeEntries))
	ours, _ := readAudit(t, m.c, "", 100, acmeWait...)
	for _, a := range ours {
		requireEqual(t, "tenant of the default tenant's entry", a.Tenant, domain.DefaultTenant)
	}
	requireNativeError(t, acme.do(t, "GET", "/api/v1/audit-logs?tenant=default", nil), http.StatusForbidden, "INSUFFICIENT_PERMISSIONS", "")
	requireNativeError(t, acme.do(t, "GET", "/api/v1/audit-logs/export?tenant=default", nil), http.StatusForbidden, "INSUFFICIENT_PERMISSIONS", "")
	viaAdmin, _ := readAudit(t, m.c, "tenant=acme", 100, acmeWait...)
	requireEqual(t, "acme's log read by the system admin", fmt.Sprint(seqs(viaAdmin)), fmt.Sprint(seqs(acmeEntries)))
	requireNativeError(t, m.c.do(t, "GET", "/api/v1/audit-logs?tenant=nope", nil), http.StatusBadRequest, "BAD_REQUEST", "tenant")
	// A viewer may not read the audit log at all.
	_, vtok := mustServiceUser(t, m.c, "viewer", "viewer", time.Hour)
	requireNativeError(t, as(m.c, vtok.Token).do(t, "GET", "/api/v1/audit-logs", nil), http.StatusForbidden, "INSUFFICIENT_PERMISSIONS", "audit-logs:read")

	// Rebuilt read models give the same entries, byte for byte.
	head := fmt.Sprint(lastSeq(t, m))
	before := export(t, m.c, "ndjson", "", "X-Consistency-Token", head).body
	beforeCSV := export(t, m.c, "csv", "tenant=acme", "X-Consistency-Token", head).body
	mustClose(t, m)
	var stderr bytes.Buffer
	if err := run(t.Context(), []string{"rebuild", "--data-dir", dir}, &bytes.Buffer{}, &stderr); err != nil {
		t.Fatalf("rebuild: %v\n%s", err, stderr.String())
	}
	m = mustRun(t, dir)
	requireEqual(t, "NDJSON export after a rebuild", string(export(t, m.c, "ndjson", "", "X-Consistency-Token", head).body), string(before))
	requireEqual(t, "CSV export after a rebuild", string(export(t, m.c, "csv", "tenant=acme", "X-Consistency-Token", head).body), string(beforeCSV))
}

// Integration secrets (a connection's password and client secret, a
// webhook's signing secret and its rotation) appear in no audit page and no
// export, while the connections' own entries do.
func TestAuditLogHidesIntegrationSecrets(t *testing.T) {
	t.Parallel()
	m := mustRunWebhooks(t, t.TempDir(), phttp.WebhookConfig{})
	secrets := []string{"salto-Pa55word-in-no-audit-entry", "scim-secret-in-no-audit-entry"}
	r := m.c.do(t, "POST", "/api/v1/integrations/applications/salto-proaccess/connect",
		map[string]any{"name": "HQ doors", "server_url": "https://93.184.215.14:8443/api", "username": "svc", "password": secrets[0]})
	requireStatus(t, r, http.StatusCreated)
	r = m.c.do(t, "POST", "/api/v1/integrations/applications/entra-id-scim/connect",
		map[string]any{"directory_tenant_id": "b1c2", "client_id": "c3d4", "client_secret": secrets[1]})
	requireStatus(t, r, http.StatusCreated)
	cn, _ := connectWebhook(t, m.c, "http://127.0.0.1:9/hook", "individual.*")
	r = m.c.do(t, "POST", "/api/v1/integrations/connections/"+cn.ID+"/rotate-secret", map[string]any{"overlap_seconds": 60})
	requireStatus(t, r, http.StatusOK)
	rotated := decode[item[connectionView]](t, r).Data.Secret
	secrets = append(secrets, cn.Secret, rotated)
	last := r.header.Get("X-Consistency-Token")

	entries, raw := readAudit(t, m.c, "", 100, "X-Consistency-Token", last)
	requireNoSecretIn(t, "the audit pages", raw, secrets)
	requireNoSecretIn(t, "the NDJSON export", export(t, m.c, "ndjson", "", "X-Consistency-Token", last).body, secrets)
	requireNoSecretIn(t, "the CSV export", export(t, m.c, "csv", "", "X-Consistency-Token", last).body, secrets)
	var connects int
	for _, a := range entries {
		if a.EntityType == "integration_connection" || strings.HasPrefix(a.Action, "integration") || strings.Contains(a.Action, "connection") {
			connects++
			for _, c := range a.Changes {
				if domain.SecretField(c.Field) {
					t.Fatalf("%s shows the field %s", a.Action, c.Field)
				}
			}
		}
	}
	if connects < 4 {
		t.Fatalf("%d entries of connections, want at least the 3 connects and the rotation", connects)
	}
}
