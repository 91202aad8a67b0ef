package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/domain"
)

// The eSystems face, end to end on the real server, with OAuth2 bearer
// tokens as its clients use.

const esPath = "/Endpoint/rest/api/v1"

// esErrorBody is the eSystems error envelope, decoded strictly.
type esErrorBody struct {
	Errors     []string `json:"Errors"`
	Type       string   `json:"Type"`
	Title      string   `json:"Title"`
	StatusCode int      `json:"StatusCode"`
	Instance   string   `json:"Instance"`
	RequestKey string   `json:"RequestKey"`
}

// requireESError fails unless r is the eSystems error envelope with status
// and type for the request path, and (when not empty) an error naming want.
func requireESError(t testing.TB, r response, status int, typ, path, want string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status: got %d, want %d; body %s", r.status, status, clip(r.body))
	}
	var e esErrorBody
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("not the eSystems error envelope: %v: %s", err, clip(r.body))
	}
	switch {
	case e.Type != typ || e.StatusCode != status:
		t.Fatalf("type %q status %d, want %q %d: %s", e.Type, e.StatusCode, typ, status, r.body)
	case e.Title == "" || len(e.Errors) != 1 || e.Errors[0] == "":
		t.Fatalf("title or errors missing: %s", r.body)
	case path != "" && e.Instance != path:
		t.Fatalf("Instance %q, want %q", e.Instance, path)
	case e.RequestKey == "" || e.RequestKey != r.header.Get("X-Request-Id"):
		t.Fatalf("RequestKey %q, want the X-Request-Id %q", e.RequestKey, r.header.Get("X-Request-Id"))
	case want != "" && !strings.Contains(e.Errors[0], want):
		t.Fatalf("error %q does not name %q", e.Errors[0], want)
	}
}

// esBearer makes an OAuth2 client of tenant (the caller's own when empty)
// with role and scopes, and returns a client that sends its access token.
func esBearer(t testing.TB, m *testMain, tenant, role string, scopes ...string) *client {
	t.Helper()
	body := map[string]any{"name": "es-" + role, "role": role, "scopes": scopes}
	if tenant != "" {
		body["tenant"] = tenant
	}
	r := m.c.do(t, "POST", "/api/v1/oauth-clients", body)
	requireStatus(t, r, http.StatusCreated)
	cl := decode[item[oauthClientCreated]](t, r).Data
	status, tok := requestToken(t, m.c, url.Values{"grant_type": {"client_credentials"},
		"client_id": {cl.ClientID}, "client_secret": {cl.ClientSecret}}, nil)
	requireEqual(t, "token status", status, http.StatusOK)
	c := as(m.c, "")
	c.bearer = tok["access_token"].(string)
	return c
}

var esAllScopes = []string{"AccessManager:Read", "AccessManager:Create", "AccessManager:Update", "AccessManager:Delete"}

type esAbstract struct {
	ID         string  `json:"Id"`
	ExternalID *string `json:"ExternalId"`
	Name       *string `json:"Name"`
	Type       string  `json:"Type"`
}

type esGroupPermission struct {
	ID           int64      `json:"Id"`
	AccessRoleID esAbstract `json:"AccessRoleId"`
	PermissionID esAbstract `json:"PermissionId"`
	IsActive     bool       `json:"Is_Active"`
	CreatedOn    string     `json:"CreatedOn"`
}

type esRecord struct {
	ID          string  `json:"Id"`
	ExternalID  *string `json:"ExternalId"`
	Name        string  `json:"Name"`
	Description *string `json:"Description"`
	CreatedOn   string  `json:"CreatedOn"`
	ModifiedOn  string  `json:"ModifiedOn"`
}

type esList[T any] struct {
	Meta struct {
		TotalItems  int    `json:"TotalItems"`
		CurrentPage int    `json:"CurrentPage"`
		PageSize    int    `json:"PageSize"`
		Type        string `json:"Type"`
	} `json:"Meta"`
	Data []T `json:"Data"`
}

type esSync struct {
	Inserted  []esGroupPermission `json:"Inserted"`
	Updated   []esGroupPermission `json:"Updated"`
	Unchanged []esGroupPermission `json:"Unchanged"`
	Deleted   []esGroupPermission `json:"Deleted"`
}

// mustES creates a record with POST path and returns it and the response.
func mustES[T any](t testing.TB, c *client, path string, body any) (T, response) {
	t.Helper()
	r := c.do(t, "POST", esPath+path, body)
	requireStatus(t, r, http.StatusCreated)
	return decode[T](t, r), r
}

func esRecordBody(name, extID string) map[string]any {
	b := map[string]any{"Name": name}
	if extID != "" {
		b["ExternalId"] = extID
	}
	return b
}

func esB64(s string) string { return "base64|" + base64.StdEncoding.EncodeToString([]byte(s)) }

// Every status of the seed's DELETE of a group permission record, the
// exact shape of its answer, and id matching by Id, Name, ExternalId and
// base64.
func TestESystemsGroupPermissionDelete(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	c := esBearer(t, m, "", "admin", esAllScopes...)
	role, _ := mustES[esRecord](t, c, "/AccessRole", esRecordBody("Bob Normal", "role-normal"))
	perm, _ := mustES[esRecord](t, c, "/Permission", esRecordBody("Door 12", "name@domain.com"))
	group, _ := mustES[esRecord](t, c, "/AccessGroup", esRecordBody("Main entrance", "grp-main"))
	rec, r := mustES[esGroupPermission](t, c, "/AccessGroup/"+group.ID+"/Permission", map[string]any{
		"AccessRoleId": map[string]any{"Field": "ExternalId", "Value": "role-normal"}, "PermissionId": perm.ID})
	requireEqual(t, "first record id", rec.ID, int64(1))
	requireEqual(t, "new record is active", rec.IsActive, true)
	tok := r.header.Get("X-Consistency-Token")

	// The group is found by Id, Name, ExternalId and base64 of each.
	for _, path := range []string{
		"/AccessGroup/" + group.ID, "/AccessGroup/Main%20entrance?Name=Name", "/AccessGroup/grp-main?Name=ExternalId",
		"/AccessGroup/" + esB64("Main entrance") + "?Name=name", "/AccessGroup/" + esB64(group.ID),
	} {
		r := c.do(t, "GET", esPath+path, nil, "X-Consistency-Token", tok)
		requireStatus(t, r, http.StatusOK)
		requireEqual(t, "group found by "+path, decode[esRecord](t, r).ID, group.ID)
		if r.header.Get("ETag") == "" {
			t.Fatalf("GET %s: no ETag", path)
		}
	}
	// A base64 id may carry "/" (escaped in the path); the permission's
	// ExternalId is an email, as in the seed.
	r = c.do(t, "GET", esPath+"/Permission/"+strings.ReplaceAll(esB64("name@domain.com"), "/", "%2F")+"?Name=ExternalId", nil, "X-Consistency-Token", tok)
	requireStatus(t, r, http.StatusOK)
	requireEqual(t, "permission by base64 ExternalId", decode[esRecord](t, r).ID, perm.ID)

	// Refusals: no token, a bad token, a missing scope, bad input, no
	// match, another tenant; none of them appends anything.
	del := esPath + "/AccessGroup/" + group.ID + "/Permission/1"
	anon := as(m.c, "")
	r, err := anon.try("DELETE", del, nil, "Authorization", "")
	if err != nil {
		t.Fatal(err)
	}
	requireESError(t, r, http.StatusUnauthorized, "/Errors/Unauthorized", del, "")
	bad := as(m.c, "")
	bad.bearer = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."
	requireESError(t, bad.do(t, "DELETE", del, nil), http.StatusUnauthorized, "/Errors/Unauthorized", "", "")
	reader := esBearer(t, m, "", "admin", "AccessManager:Read", "AccessUser:Read")
	requireStatus(t, m.c.do(t, "POST", "/api/v1/tenants", map[string]any{"ext_id": "acme", "display_name": "Acme"}), http.StatusCreated)
	acme := esBearer(t, m, "acme", "admin", esAllScopes...)
	before := lastSeq(t, m)
	requireESError(t, reader.do(t, "DELETE", del, nil), http.StatusForbidden, "/Errors/Permission", "", "AccessManager:Delete")
	requireStatus(t, reader.do(t, "GET", esPath+"/AccessGroup/"+group.ID+"/Permissions", nil, "X-Consistency-Token", tok), http.StatusOK)
	requireESError(t, c.do(t, "DELETE", esPath+"/AccessGroup/"+group.ID+"/Permission/abc", nil), http.StatusBadRequest, "/Errors/Bad Input", "", "SubId")
	requireESError(t, c.do(t, "DELETE", esPath+"/AccessGroup/"+group.ID+"/Permission/base64|!!", nil), http.StatusBadRequest, "/Errors/Bad Input", "", "SubId")
	requireESError(t, c.do(t, "DELETE", del+"?SubName=Color", nil), http.StatusBadRequest, "/Errors/Bad Input", "", "SubName")
	requireESError(t, c.do(t, "DELETE", del+"?Bogus=1", nil), http.StatusBadRequest, "/Errors/Bad Input", "", "Bogus")
	requireESError(t, c.do(t, "DELETE", esPath+"/AccessGroup/"+group.ID+"/Permission/2", nil), http.StatusNotFound, "/Errors/Not Found", "", "SubId")
	requireESError(t, c.do(t, "DELETE", esPath+"/AccessGroup/nope/Permission/1", nil), http.StatusNotFound, "/Errors/Not Found", "", "")
	requireESError(t, c.do(t, "DELETE", esPath+"/AccessGroup/nope/Permission/1?Name=ExternalId", nil), http.StatusNotFound, "/Errors/Not Found", "", "")
	requireESError(t, c.do(t, "GET", esPath+"/NoSuchThing", nil), http.StatusNotFound, "/Errors/Not Found", esPath+"/NoSuchThing", "")
	requireESError(t, c.do(t, "PUT", esPath+"/AccessGroups", nil), http.StatusBadRequest, "/Errors/Bad Input", "", "")
	requireESError(t, acme.do(t, "DELETE", del, nil), http.StatusNotFound, "/Errors/Not Found", "", "")
	requireESError(t, acme.do(t, "GET", esPath+"/AccessGroup/"+group.ID, nil), http.StatusNotFound, "/Errors/Not Found", "", "")
	requireEqual(t, "events appended by refusals", lastSeq(t, m), before)

	// Two records grant the same role: matching it is Multible Rows.
	perm2, _ := mustES[esRecord](t, c, "/Permission", esRecordBody("Door 13", ""))
	mustES[esGroupPermission](t, c, "/AccessGroup/"+group.ID+"/Permission", map[string]any{
		"AccessRoleId": role.ID, "PermissionId": map[string]any{"Field": "Name", "Value": "Door 13"}, "Is_Active": false})
	before = lastSeq(t, m)
	requireESError(t, c.do(t, "DELETE", esPath+"/AccessGroup/"+group.ID+"/Permission/role-normal?SubName=AccessRoleId.ExternalId", nil),
		http.StatusBadRequest, "/Errors/Multible Rows", "", "SubId")
	requireEqual(t, "events appended by Multible Rows", lastSeq(t, m), before)
	_ = perm2

	// The DELETE: 200 with the deleted record, its foreign keys as
	// AbstractText, and nothing else.
	r = c.do(t, "DELETE", esPath+"/AccessGroup/grp-main/Permission/"+esB64("Door 12")+"?Name=ExternalId&SubName=PermissionId.Name", nil)
	requireStatus(t, r, http.StatusOK)
	got := decode[esGroupPermission](t, r)
	want := esGroupPermission{ID: 1,
		AccessRoleID: esAbstract{ID: role.ID, ExternalID: esStr("role-normal"), Name: esStr("Bob Normal"), Type: "AccessRole"},
		PermissionID: esAbstract{ID: perm.ID, ExternalID: esStr("name@domain.com"), Name: esStr("Door 12"), Type: "Permission"},
		IsActive:     true, CreatedOn: rec.CreatedOn}
	if !reflectEqualJSON(got, want) {
		t.Fatalf("deleted record:\n got %+v\nwant %+v", got, want)
	}
	var shape map[string]json.RawMessage
	_ = json.Unmarshal(r.body, &shape)
	if len(shape) != 5 {
		t.Fatalf("deleted record has fields %v, want Id, AccessRoleId, PermissionId, Is_Active, CreatedOn", keys(shape))
	}
	requireEqual(t, "events of the DELETE", lastSeq(t, m)-before, uint64(1))
	requireESError(t, c.do(t, "DELETE", del, nil), http.StatusNotFound, "/Errors/Not Found", "", "")

	// Two groups with one name: matching the name is Multible Rows.
	mustES[esRecord](t, c, "/AccessGroup", esRecordBody("Main entrance", ""))
	r = c.do(t, "GET", esPath+"/AccessGroup/Main%20entrance?Name=Name", nil, "X-Consistency-Token", fmt.Sprint(lastSeq(t, m)))
	requireESError(t, r, http.StatusBadRequest, "/Errors/Multible Rows", esPath+"/AccessGroup/Main entrance", "")
}

func esStr(s string) *string { return &s }

func keys(m map[string]json.RawMessage) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func reflectEqualJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// esGroupEvents loads an access group's events from the log.
func esGroupEvents(t testing.TB, m *testMain, id string) []domain.Event {
	t.Helper()
	events, _, err := m.Store.Load(context.Background(), domain.DefaultTenant, domain.Ref{Type: domain.AggregateAccessGroup, ID: id})
	if err != nil {
		t.Fatal(err)
	}
	return events
}

// A bulk sync with DeleteNotExists updates, inserts and deletes in one
// atomic append; a sync that fails on one item appends nothing; ids come
// from the tenant's sequence, unique under concurrent creates.
func TestESystemsPermissionSync(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	c := esBearer(t, m, "", "operator", esAllScopes...)
	role, _ := mustES[esRecord](t, c, "/AccessRole", esRecordBody("Staff", "staff"))
	var perms []esRecord
	for i := range 3 {
		p, _ := mustES[esRecord](t, c, "/Permission", esRecordBody(fmt.Sprintf("Door %d", i), fmt.Sprintf("door-%d", i)))
		perms = append(perms, p)
	}
	group, _ := mustES[esRecord](t, c, "/AccessGroup", esRecordBody("Staff doors", "staff-doors"))
	gp := esPath + "/AccessGroup/" + group.ID
	for _, p := range perms[:2] {
		mustES[esGroupPermission](t, c, "/AccessGroup/"+group.ID+"/Permission", map[string]any{"AccessRoleId": role.ID, "PermissionId": p.ID})
	}
	// Posting the same pair again updates the record it names.
	r := c.do(t, "POST", gp+"/Permission", map[string]any{"AccessRoleId": role.ID, "PermissionId": perms[0].ID, "Is_Active": true})
	requireStatus(t, r, http.StatusOK)
	requireEqual(t, "upsert of an existing pair", decode[esGroupPermission](t, r).ID, int64(1))

	// Refusals append nothing.
	before := lastSeq(t, m)
	sync := gp + "/Permissions?DeleteNotExists=true"
	body := []any{
		map[string]any{"AccessRoleId": role.ID, "PermissionId": perms[0].ID, "Is_Active": false},
		map[string]any{"AccessRoleId": map[string]any{"Field": "ExternalId", "Value": "STAFF"}, "PermissionId": map[string]any{"Field": "ExternalId", "Value": "door-2"}},
	}
	unknown := append(append([]any{}, body...), map[string]any{"AccessRoleId": role.ID, "PermissionId": "no-such-permission"})
	requireESError(t, c.do(t, "PATCH", sync, unknown), http.StatusNotFound, "/Errors/Not Found", "", "[2].PermissionId")
	requireESError(t, c.do(t, "PATCH", sync, map[string]any{"AccessRoleId": role.ID}), http.StatusBadRequest, "/Errors/Bad Input", "", "body")
	requireESError(t, c.do(t, "PATCH", sync, []any{map[string]any{"AccessRoleId": role.ID}}), http.StatusBadRequest, "/Errors/Bad Input", "", "[0].PermissionId")
	requireESError(t, c.do(t, "PATCH", sync, []any{map[string]any{"AccessRoleId": role.ID, "PermissionId": perms[0].ID, "Color": 1}}),
		http.StatusBadRequest, "/Errors/Bad Input", "", "[0].Color")
	requireESError(t, c.do(t, "PATCH", gp+"/Permissions?DeleteNotExists=maybe", body), http.StatusBadRequest, "/Errors/Bad Input", "", "DeleteNotExists")
	requireESError(t, c.do(t, "PATCH", sync, body, "If-Match", `"1"`), http.StatusPreconditionFailed, "/Errors/Precondition Failed", "", "")
	requireEqual(t, "events appended by refused syncs", lastSeq(t, m), before)

	// The sync: record 1 changes, record 2 goes, a new record 3 comes, in
	// one append with the allocation of id 3.
	r = c.do(t, "PATCH", sync, body, "Idempotency-Key", "sync-1")
	requireStatus(t, r, http.StatusOK)
	out := decode[esSync](t, r)
	ids := func(l []esGroupPermission) string {
		return fmt.Sprint(func() (x []int64) {
			for _, p := range l {
				x = append(x, p.ID)
			}
			return
		}())
	}
	if ids(out.Updated) != "[1]" || ids(out.Inserted) != "[3]" || ids(out.Deleted) != "[2]" || len(out.Unchanged) != 0 {
		t.Fatalf("sync outcome %+v", out)
	}
	requireEqual(t, "record 1 is inactive", out.Updated[0].IsActive, false)
	requireEqual(t, "record 3 points at door-2", *out.Inserted[0].PermissionID.ExternalID, "door-2")
	after := lastSeq(t, m)
	requireEqual(t, "events of the sync", after-before, uint64(4))
	events := esGroupEvents(t, m, group.ID)
	last := events[len(events)-3:]
	for i, e := range last {
		if e.CommandID != last[0].CommandID || e.Sequence != before+1+uint64(i) {
			t.Fatalf("sync event %d: %s at %d by %s, want one command at %d", i, e.Type, e.Sequence, e.CommandID, before+1+uint64(i))
		}
	}
	seqEvents, _, err := m.Store.Load(context.Background(), domain.DefaultTenant, domain.Ref{Type: domain.AggregateIDSequence, ID: domain.IDKindGroupPermission})
	if err != nil {
		t.Fatal(err)
	}
	if e := seqEvents[len(seqEvents)-1]; e.CommandID != last[0].CommandID || e.Sequence != after {
		t.Fatalf("id allocation at %d by %s, want the sync's last position %d", e.Sequence, e.CommandID, after)
	}
	// A retry with the same Idempotency-Key answers the same and appends nothing.
	retry := c.do(t, "PATCH", sync, body, "Idempotency-Key", "sync-1")
	requireStatus(t, retry, http.StatusOK)
	requireEqual(t, "replayed body", string(retry.body), string(r.body))
	requireEqual(t, "events after a replay", lastSeq(t, m), after)

	list := c.do(t, "GET", gp+"/Permissions?Orders=Id%20DESC", nil, "X-Consistency-Token", r.header.Get("X-Consistency-Token"))
	requireStatus(t, list, http.StatusOK)
	l := decode[esList[esGroupPermission]](t, list)
	if l.Meta.TotalItems != 2 || ids(l.Data) != "[3 1]" || l.Meta.Type != "AccessGroupPermission" {
		t.Fatalf("group permissions after sync: %+v", l)
	}
	// Without DeleteNotExists nothing is deleted.
	r = c.do(t, "PATCH", gp+"/Permissions", []any{map[string]any{"AccessRoleId": role.ID, "PermissionId": perms[1].ID}})
	requireStatus(t, r, http.StatusOK)
	if out := decode[esSync](t, r); ids(out.Inserted) != "[4]" || len(out.Deleted) != 0 {
		t.Fatalf("sync without DeleteNotExists: %+v", out)
	}

	// Concurrent creates on several groups get distinct ids from the sequence.
	const n = 8
	groups := make([]esRecord, n)
	for i := range groups {
		groups[i], _ = mustES[esRecord](t, c, "/AccessGroup", esRecordBody(fmt.Sprintf("G%d", i), ""))
	}
	got := make(chan int64, n)
	errs := make(chan error, n)
	for _, g := range groups {
		go func() {
			r, err := c.try("POST", esPath+"/AccessGroup/"+g.ID+"/Permission", map[string]any{"AccessRoleId": role.ID, "PermissionId": perms[0].ID})
			if err == nil && r.status != http.StatusCreated {
				err = fmt.Errorf("status %d: %s", r.status, r.body)
			}
			var p esGroupPermission
			if err == nil {
				err = json.Unmarshal(r.body, &p)
			}
			errs <- err
			got <- p.ID
		}()
	}
	seen := map[int64]bool{}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		seen[<-got] = true
	}
	for id := int64(5); id < 5+n; id++ {
		if !seen[id] {
			t.Fatalf("ids of concurrent creates %v, want %d…%d once each", seen, 5, 4+n)
		}
	}
}

// Groups: create, update, upsert, delete; lists page, filter, order and
// project; bad list parameters are Bad Input.
func TestESystemsGroupsAndLists(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	c := esBearer(t, m, "", "admin", esAllScopes...)
	var tok string
	for _, n := range []string{"Door B", "Door D", "Door A", "Gate E", "Door C"} {
		_, r := mustES[esRecord](t, c, "/AccessGroup", esRecordBody(n, "x-"+strings.ToLower(n[len(n)-1:])))
		tok = r.header.Get("X-Consistency-Token")
	}
	get := func(path string) response {
		t.Helper()
		return c.do(t, "GET", esPath+path, nil, "X-Consistency-Token", tok)
	}
	names := func(l esList[esRecord]) string {
		var out []string
		for _, g := range l.Data {
			out = append(out, g.Name)
		}
		return strings.Join(out, ",")
	}
	for _, tc := range []struct {
		query, names string
		total        int
	}{
		{"", "Door B,Door D,Door A,Gate E,Door C", 5},
		{"?Orders=Name%20DESC&PageSize=2&CurrentPage=2", "Door C,Door B", 5},
		{"?Filters=" + url.QueryEscape("(Name Like Door%) AND (ExternalId NotIn (x-a, x-b))") + "&Orders=Name", "Door C,Door D", 2},
		{"?Filters=" + url.QueryEscape("CreatedOn > 2000-01-01 AND Description = x"), "", 0},
		{"?CurrentPage=9", "", 5},
	} {
		r := get("/AccessGroups" + tc.query)
		requireStatus(t, r, http.StatusOK)
		l := decode[esList[esRecord]](t, r)
		if names(l) != tc.names || l.Meta.TotalItems != tc.total || l.Meta.Type != "AccessGroup" {
			t.Fatalf("%s: got %q total %d, want %q total %d", tc.query, names(l), l.Meta.TotalItems, tc.names, tc.total)
		}
	}
	r := get("/AccessGroups?Fields=Name,Id&PageSize=1")
	var projected esList[map[string]any]
	if err := json.Unmarshal(r.body, &projected); err != nil || len(projected.Data) != 1 || len(projected.Data[0]) != 2 ||
		projected.Meta.PageSize != 1 || projected.Data[0]["Name"] != "Door B" {
		t.Fatalf("Fields=Name,Id: %s", r.body)
	}
	for _, tc := range []struct{ query, field string }{
		{"?PageSize=0", "PageSize"}, {"?PageSize=1001", "PageSize"}, {"?CurrentPage=x", "CurrentPage"},
		{"?Filters=Color%20%3D%201", "Filters"}, {"?Filters=Name%20%3D", "Filters"}, {"?Orders=Name%20SIDEWAYS", "Orders"},
		{"?Fields=Secret", "Fields"}, {"?Filters=CreatedOn%20%3E%20yesterday", "Filters"}, {"?page=1", "page"},
	} {
		requireESError(t, get("/AccessGroups"+tc.query), http.StatusBadRequest, "/Errors/Bad Input", esPath+"/AccessGroups", tc.field)
	}

	// Update, upsert and delete.
	r = get("/AccessGroup/x-a?Name=ExternalId")
	requireStatus(t, r, http.StatusOK)
	a := decode[esRecord](t, r)
	requireESError(t, c.do(t, "PUT", esPath+"/AccessGroup/"+a.ID, map[string]any{"Name": ""}), http.StatusBadRequest, "/Errors/Bad Input", "", "Name")
	requireESError(t, c.do(t, "PUT", esPath+"/AccessGroup/"+a.ID, map[string]any{"Name": "A", "Color": 1}), http.StatusBadRequest, "/Errors/Bad Input", "", "Color")
	requireESError(t, c.do(t, "PUT", esPath+"/AccessGroup/"+a.ID, map[string]any{"ExternalId": "x-b"}), http.StatusConflict, "/Errors/Conflict", "", "ExternalId")
	requireESError(t, c.do(t, "PUT", esPath+"/AccessGroup/"+a.ID, map[string]any{"Description": "x"}, "If-Match", `"1"`),
		http.StatusPreconditionFailed, "/Errors/Precondition Failed", "", "")
	r = c.do(t, "PUT", esPath+"/AccessGroup/"+a.ID, map[string]any{"ExternalId": "x-a2", "Description": "Front"}, "If-Match", r.header.Get("ETag"))
	requireStatus(t, r, http.StatusOK)
	if u := decode[esRecord](t, r); *u.ExternalID != "x-a2" || *u.Description != "Front" || u.Name != "Door A" {
		t.Fatalf("updated group %+v", u)
	}
	// Its old ExternalId is free; the upsert by ExternalId creates, then updates.
	r = c.do(t, "PATCH", esPath+"/AccessGroup", map[string]any{"ExternalId": "x-a", "Name": "Door A (new)"})
	requireStatus(t, r, http.StatusCreated)
	created := decode[esRecord](t, r)
	r = c.do(t, "PATCH", esPath+"/AccessGroup", map[string]any{"ExternalId": "X-A", "Description": "again"})
	requireStatus(t, r, http.StatusOK)
	requireEqual(t, "upsert by ExternalId updates", decode[esRecord](t, r).ID, created.ID)
	r = c.do(t, "PATCH", esPath+"/AccessGroup?Name=Name", map[string]any{"Name": "Gate E", "Description": "by name"})
	requireStatus(t, r, http.StatusOK)
	requireESError(t, c.do(t, "PATCH", esPath+"/AccessGroup", map[string]any{"Id": "no-such-group", "Name": "x"}), http.StatusNotFound, "/Errors/Not Found", "", "")
	requireESError(t, c.do(t, "PATCH", esPath+"/AccessGroup", map[string]any{"Description": "x"}), http.StatusBadRequest, "/Errors/Bad Input", "", "Name")
	requireESError(t, c.do(t, "POST", esPath+"/AccessGroup", map[string]any{"Name": "dup", "ExternalId": "x-b"}), http.StatusConflict, "/Errors/Conflict", "", "ExternalId")
	requireESError(t, c.do(t, "POST", esPath+"/AccessGroup", "{"), http.StatusBadRequest, "/Errors/Bad Input", "", "body")
	requireESError(t, c.do(t, "POST", esPath+"/AccessGroup", map[string]any{"Name": 7}), http.StatusBadRequest, "/Errors/Bad Input", "", "Name")

	r = c.do(t, "DELETE", esPath+"/AccessGroup/"+esB64("x-a2")+"?Name=ExternalId", nil)
	requireStatus(t, r, http.StatusOK)
	requireEqual(t, "deleted group", decode[esRecord](t, r).ID, a.ID)
	tok = r.header.Get("X-Consistency-Token")
	requireESError(t, get("/AccessGroup/"+a.ID), http.StatusNotFound, "/Errors/Not Found", "", "")
	requireESError(t, get("/AccessGroup/"+a.ID+"/Permissions"), http.StatusNotFound, "/Errors/Not Found", "", "")
	requireESError(t, c.do(t, "DELETE", esPath+"/AccessGroup/"+a.ID, nil), http.StatusNotFound, "/Errors/Not Found", "", "")
	// The freed ExternalId can be taken again.
	mustES[esRecord](t, c, "/AccessGroup", esRecordBody("Door A again", "x-a2"))

	// Referenced records list and read like groups.
	_, r = mustES[esRecord](t, c, "/AccessRole", esRecordBody("Visitor", "visitor"))
	tok = r.header.Get("X-Consistency-Token")
	r = get("/AccessRoles?Filters=Name%20%3D%20visitor")
	requireStatus(t, r, http.StatusOK)
	if l := decode[esList[esRecord]](t, r); l.Meta.TotalItems != 1 || l.Meta.Type != "AccessRole" || l.Data[0].Name != "Visitor" {
		t.Fatalf("roles named visitor: %+v", l)
	}
	requireStatus(t, get("/AccessRole/visitor?Name=ExternalId"), http.StatusOK)
	requireESError(t, get("/AccessRole/nobody?Name=ExternalId"), http.StatusNotFound, "/Errors/Not Found", "", "")
}
