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
