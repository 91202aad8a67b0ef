package main

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/domain"
)

// openRoutes are the routes every authenticated caller may use whatever its
// role: they only tell a caller about itself.
var openRoutes = map[string]bool{
	"GET /api/v1/permissions": true,
}

// systemRoutes are the system admin's alone: no role of a tenant passes,
// not even admin.
var systemRoutes = map[string]bool{
	"GET /api/v1/tenants": true, "POST /api/v1/tenants": true,
}

// refusedRights reads the rights a refusal for a missing right names, in
// each face's words; nil when r is no such refusal.
func refusedRights(face string, r response) []string {
	if r.status != http.StatusForbidden {
		return nil
	}
	var m *regexp.Regexp
	switch face {
	case "native":
		var e nativeError
		if json.Unmarshal(r.body, &e) != nil || e.Error.Code != "INSUFFICIENT_PERMISSIONS" {
			return nil
		}
		m = regexp.MustCompile(`lacks the permission (.+)$`)
		if s := m.FindStringSubmatch(e.Msg); s != nil {
			return strings.Split(s[1], " or ")
		}
	case "nevisidm":
		var e struct {
			Errors []struct{ Code, Message string } `json:"errors"`
		}
		if json.Unmarshal(r.body, &e) != nil || len(e.Errors) != 1 || e.Errors[0].Code != "errors.insufficientRightsFunction" {
			return nil
		}
		m = regexp.MustCompile(`required right '([^']+)'`)
		if s := m.FindStringSubmatch(e.Errors[0].Message); s != nil {
			return []string{s[1]}
		}
	case "esystems":
		var e struct {
			Errors []string `json:"Errors"`
			Type   string   `json:"Type"`
		}
		if json.Unmarshal(r.body, &e) != nil || e.Type != "/Errors/Permission" || len(e.Errors) != 1 {
			return nil
		}
		m = regexp.MustCompile(`needs the scope (.+)$`)
		if s := m.FindStringSubmatch(e.Errors[0]); s != nil {
			return strings.Split(s[1], " or ")
		}
	}
	return []string{"(a refusal that names no right: " + clip(r.body) + ")"}
}

// probePath fills a route's variables with values that name nothing, except
// the nevisIDM client, which must be the caller's own so that the right is
// what decides.
func probePath(path string) string {
	path = strings.ReplaceAll(path, "{clientExtId}", "default")
	return pathVar.ReplaceAllString(path, "x1")
}

// Every route of every face asks for a right, and only for it: a role that
// lacks every right of a route is refused in the face's envelope with the
// right named; a custom role holding just that right passes; each built-in
// role passes exactly where it holds one of the route's rights.
func TestEveryRouteChecksRights(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	mkRole := func(name string, perms ...string) {
		r := m.c.do(t, "POST", "/api/v1/roles", map[string]any{"name": name, "permissions": perms})
		if r.status != http.StatusCreated && r.status != http.StatusConflict {
			t.Fatalf("role %s: %d %s", name, r.status, clip(r.body))
		}
	}
	// Two probes with one unrelated right each: a route is refused by at
	// least one of them unless it is open.
	mkRole("probe-a", "settings:read")
	mkRole("probe-b", "stats:read")
	tokens := map[string]*client{}
	for _, role := range []string{"probe-a", "probe-b", domain.RoleAdmin, domain.RoleOperator, domain.RoleAuditor, domain.RoleViewer} {
		_, tok := mustServiceUser(t, m.c, "matrix-"+role, role, time.Hour)
		tokens[role] = as(m.c, tok.Token)
	}
	routes := 0
	for _, rt := range m.HTTP.Routes() {
		face := faceOf(rt.Path)
		if face == "" {
			continue
		}
		routes++
		name := rt.Method + " " + rt.Path
		path := probePath(rt.Path)
		var body any
		if rt.Method == "POST" || rt.Method == "PATCH" || rt.Method == "PUT" {
			body = map[string]any{}
		}
		call := func(c *client) response {
			r := c.do(t, rt.Method, path, body)
			if r.status >= 500 {
				t.Errorf("%s: %d %s", name, r.status, clip(r.body))
			}
			return r
		}
		needs := refusedRights(face, call(tokens["probe-a"]))
		if needs == nil {
			needs = refusedRights(face, call(tokens["probe-b"]))
		}
		if systemRoutes[name] {
			for role, c := range tokens {
				if r := call(c); checkNativeError(r, http.StatusForbidden, "INSUFFICIENT_PERMISSIONS", "") != nil {
					t.Errorf("%s as %s: %d %s, want refused", name, role, r.status, clip(r.body))
				}
			}
			if r := call(m.c); r.status == http.StatusForbidden || r.status == http.StatusUnauthorized {
				t.Errorf("%s as the system admin: refused %s", name, clip(r.body))
			}
			continue
		}
		if openRoutes[name] {
			if needs != nil {
				t.Errorf("%s is open to every caller but refused a probe: needs %v", name, needs)
			}
			continue
		}
		if needs == nil {
			t.Errorf("%s: neither probe role was refused for a missing right", name)
			continue
		}
		if strings.HasPrefix(needs[0], "(") || !domain.ValidPermission(needs[0]) {
			t.Errorf("%s: the refusal does not name a known right: %v", name, needs)
			continue
		}
		if !rightFitsMethod(face, rt.Method, needs) {
			t.Errorf("%s asks for %v, a right of another kind of action", name, needs)
		}
		// A custom role with only the named right passes the check.
		holder := "holds-" + strings.ToLower(strings.NewReplacer(":", "-", ".", "-").Replace(needs[0]))
		if _, ok := tokens[holder]; !ok {
			mkRole(holder, needs[0])
			_, tok := mustServiceUser(t, m.c, "matrix-"+holder, holder, time.Hour)
			tokens[holder] = as(m.c, tok.Token)
		}
		if got := refusedRights(face, call(tokens[holder])); got != nil {
			t.Errorf("%s: a role holding %s is still refused (%v)", name, needs[0], got)
		}
		for _, role := range []string{domain.RoleAdmin, domain.RoleOperator, domain.RoleAuditor, domain.RoleViewer} {
			perms, _ := domain.BuiltinRole(role)
			want := domain.Can(perms, needs...)
			if face == "nevisidm" {
				// nevisIDM names only the first right a route accepts.
				want = want || slices.ContainsFunc(perms, func(p string) bool { return p == needs[0] })
			}
			got := refusedRights(face, call(tokens[role])) == nil
			if got != want {
				t.Errorf("%s as %s: passes %v, want %v (route needs %v)", name, role, got, want, needs)
			}
		}
	}
	if routes < 50 {
		t.Fatalf("only %d routes under the faces: the walk is missing some", routes)
	}
	t.Logf("%d routes checked against 2 probe roles, the right-holding role and 4 built-in roles", routes)
}

// rightFitsMethod reports whether one of a route's rights is of the kind
// of action its method is: reads need a read right, deletes a delete right.
// It catches a route wired to the wrong right, which the rest of the matrix,
// learning the right from the server, would accept.
func rightFitsMethod(face, method string, rights []string) bool {
	var want []string
	switch face {
	case "native":
		want = map[string][]string{"GET": {":read"}, "POST": {":write"}, "PATCH": {":write"}, "PUT": {":write"}, "DELETE": {":delete", ":write"}}[method]
	case "nevisidm":
		want = map[string][]string{"GET": {"View"}, "POST": {"Create"}, "PATCH": {"Modify"}, "PUT": {"Modify"}, "DELETE": {"Delete"}}[method]
	case "esystems":
		want = map[string][]string{"GET": {":Read"}, "POST": {":Create"}, "PATCH": {":Update", ":Create"}, "PUT": {":Update"}, "DELETE": {":Delete"}}[method]
	}
	for _, r := range rights {
		for _, w := range want {
			if strings.HasSuffix(r, w) {
				return true
			}
		}
	}
	return false
}

// tenantRecords are records of the tenant default that another tenant's
// admin aims at, by the route variable that names them.
type tenantRecords struct {
	byVar  map[string]string // route variable → value, where one value fits every route
	byPath map[string]string // path prefix → {id} value
	marks  []string          // strings that only default's records carry
}

func (tr tenantRecords) fill(path string) string {
	for prefix, id := range tr.byPath {
		if strings.HasPrefix(path, prefix) {
			path = strings.Replace(path, "{id}", id, 1)
			path = strings.Replace(path, "{Id}", id, 1)
		}
	}
	for v, val := range tr.byVar {
		path = strings.ReplaceAll(path, "{"+v+"}", val)
	}
	return pathVar.ReplaceAllString(path, "x1")
}

// seedTenantRecords creates one record of each kind in tenant default.
func seedTenantRecords(t *testing.T, m *testMain) tenantRecords {
	t.Helper()
	ind, _ := mustCreate(t, m.c, map[string]any{"ext_id": "matrix-person", "first_name": "Matrix", "last_name": "Person",
		"email": "matrix-person@example.test"})
	target, _ := mustTarget(t, m.c, ind.ExtID, targetBody("matrix-phone", false))
	fido, _ := mustCredential(t, m.c, ind.ExtID, credentialBody("matrix-fido", "bWF0cml4LWtleQ", target.ExtID))
	su, tok := mustServiceUser(t, m.c, "matrix-service-user", domain.RoleViewer, time.Hour)
	r := m.c.do(t, "POST", "/api/v1/oauth-clients", map[string]any{"name": "matrix-client", "role": "viewer", "scopes": []string{"AccessManager:Read"}})
	requireStatus(t, r, http.StatusCreated)
	oc := decode[item[oauthClientCreated]](t, r).Data
	requireStatus(t, m.c.do(t, "POST", "/api/v1/roles", map[string]any{"name": "matrix-role", "permissions": []string{"individuals:read"}}), http.StatusCreated)
	es := esBearer(t, m, "", "admin", esAllScopes...)
	role, _ := mustES[esRecord](t, es, "/AccessRole", esRecordBody("Matrix Role", "matrix-es-role"))
	perm, _ := mustES[esRecord](t, es, "/Permission", esRecordBody("Matrix Door", "matrix-es-perm"))
	group, _ := mustES[esRecord](t, es, "/AccessGroup", esRecordBody("Matrix Group", "matrix-es-group"))
	rec, _ := mustES[esGroupPermission](t, es, "/AccessGroup/"+group.ID+"/Permission", map[string]any{
		"AccessRoleId": role.ID, "PermissionId": perm.ID})
	return tenantRecords{
		byVar: map[string]string{
			"clientExtId": "default", "userExtId": ind.ExtID, "dispatchTargetExtId": target.ExtID,
			"credentialExtId": fido.ExtID, "token_id": tok.TokenID, "name": "matrix-role",
			"SubId": strconv.FormatInt(rec.ID, 10),
		},
		byPath: map[string]string{
			"/api/v1/individuals/":   ind.ID,
			"/api/v1/service-users/": su.ID,
			"/api/v1/oauth-clients/": oc.ClientID,
			esPath + "/AccessGroup/": group.ID,
			esPath + "/AccessRole/":  role.ID,
			esPath + "/Permission/":  perm.ID,
		},
		marks: []string{ind.ID, "matrix-person", "matrix-phone", "matrix-fido", su.ID, oc.ClientID, "matrix-service-user",
			"matrix-role", "Matrix Role", "Matrix Door", "Matrix Group", group.ID, role.ID, perm.ID},
	}
}

// An admin of another tenant aims every route of every face at tenant
// default's records: nothing is found, nothing is changed, no list or
// count shows them, and the log gains nothing.
func TestEveryRouteKeepsTenantsApart(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	recs := seedTenantRecords(t, m)
	requireStatus(t, m.c.do(t, "POST", "/api/v1/tenants", map[string]any{"ext_id": "acme", "display_name": "Acme"}), http.StatusCreated)
	r := m.c.do(t, "POST", "/api/v1/service-users", map[string]any{"name": "acme-admin", "role": "admin", "tenant": "acme"})
	requireStatus(t, r, http.StatusCreated)
	u := decode[item[serviceUser]](t, r).Data
	r = m.c.do(t, "POST", "/api/v1/service-users/"+u.ID+"/tokens",
		map[string]any{"expires_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339), "tenant": "acme"})
	requireStatus(t, r, http.StatusCreated)
	acme := as(m.c, decode[item[issuedToken]](t, r).Data.Token)
	waitFor(t, m, strconv.FormatUint(lastSeq(t, m), 10))

	before := lastSeq(t, m)
	routes := 0
	for _, rt := range m.HTTP.Routes() {
		face := faceOf(rt.Path)
		if face == "" || rt.Path == "/api/v1/tenants" {
			continue // the system admin's own routes are the system's, not a tenant's
		}
		routes++
		name := rt.Method + " " + rt.Path
		hasVars := strings.Contains(rt.Path, "{")
		if !hasVars && rt.Method != "GET" {
			continue // creations make acme's own records: covered by each resource's tests
		}
		path := recs.fill(rt.Path)
		var body any
		if rt.Method == "POST" || rt.Method == "PATCH" || rt.Method == "PUT" {
			body = map[string]any{}
		}
		r := acme.do(t, rt.Method, path, body)
		switch {
		case r.status >= 500:
			t.Errorf("%s as acme: %d %s", name, r.status, clip(r.body))
		case hasVars && r.status < 300:
			t.Errorf("%s as acme on default's record: %d %s", name, r.status, clip(r.body))
		case face == "nevisidm" && strings.Contains(rt.Path, "{clientExtId}") && r.status != http.StatusForbidden:
			t.Errorf("%s as acme on client default: %d, want 403 errors.combinedDataroomDenied", name, r.status)
		case face == "native" && hasVars && r.status != http.StatusNotFound && r.status != http.StatusBadRequest:
			t.Errorf("%s as acme on default's record: %d, want 404 (no existence leak) %s", name, r.status, clip(r.body))
		}
		if r.status < 300 {
			for _, mark := range recs.marks {
				if strings.Contains(string(r.body), mark) {
					t.Errorf("%s as acme shows default's %q: %s", name, mark, clip(r.body))
				}
			}
		}
		if hasVars {
			// No existence leak: default's record is answered as one that
			// never existed.
			if miss := acme.do(t, rt.Method, probePath(strings.ReplaceAll(rt.Path, "{SubId}", "999999")), body); miss.status != r.status {
				t.Errorf("%s as acme: %d for default's record but %d for none: %s", name, r.status, miss.status, clip(r.body))
			}
		}
	}
	if after := lastSeq(t, m); after != before {
		t.Fatalf("the sweep appended %d events to the log", after-before)
	}
	t.Logf("%d routes aimed at another tenant's records", routes)
}
