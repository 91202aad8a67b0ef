package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	phttp "github.com/portcullis/portcullis/http"
)

// asOfExceptions are the native GET routes that refuse as_of, and why.
// Every other native GET answers as of the instant (asOfProbes).
var asOfExceptions = map[string]string{
	"GET /api/v1/events":                "the live feed: it streams what happens from now on (resume with Last-Event-ID)",
	"GET /api/v1/audit-logs/checkpoint": "signs the chain's head now; GET /audit-logs/verify?as_of= checks the chain as of an instant",
	"GET /docs/errors":                  "documentation, not state",
	"GET /docs/errors/{code}":           "documentation, not state",
}

// staticRoutes answer the same whatever the log holds (the catalog of
// integrations is code) or are not changed by the scenario.
var staticRoutes = map[string]bool{
	"/api/v1/integrations/categories": true, "/api/v1/integrations/applications": true,
	"/api/v1/integrations/applications/{id}": true, "/api/v1/integrations/applications/{id}/connection-schema": true,
	"/api/v1/permissions": true, "/api/v1/tenants": true, "/api/v1/locations": true, "/api/v1/locations/{id}": true,
	"/api/v1/locations/{id}/history": true, "/api/v1/buildings": true, "/api/v1/buildings/{id}": true,
	"/api/v1/buildings/{id}/history": true, "/api/v1/spaces": true, "/api/v1/spaces/{id}": true,
	"/api/v1/spaces/{id}/history": true, "/api/v1/service-users": true, "/api/v1/service-users/{id}": true,
	"/api/v1/service-users/{id}/history": true, "/api/v1/oauth-clients": true, "/api/v1/oauth-clients/{id}": true,
	"/api/v1/oauth-clients/{id}/history": true, "/api/v1/integrations/connections": true,
	"/api/v1/integrations/connections/{id}": true, "/api/v1/integrations/connections/{id}/deliveries": true,
}

// asOfProbe is one GET of the proof: the route it exercises and the path.
type asOfProbe struct{ route, path string }

// asOfNormal takes out of an answer only what differs between two requests
// for the same state: the request id (masked by readAll), how long a
// verification took, and the audit log's totals, which are kept as live
// counters only (null as of an instant).
func asOfNormal(route, answer string) string {
	answer = elapsedField.ReplaceAllString(answer, `"elapsed_ms":0`)
	if route == "/api/v1/audit-logs" {
		answer = auditTotals.ReplaceAllString(answer, `"$1":null`)
	}
	return answer
}

var (
	elapsedField = regexp.MustCompile(`"elapsed_ms":\d+`)
	auditTotals  = regexp.MustCompile(`"(total_items|total_pages)":(\d+|null)`)
)

// Every native GET with as_of answers what the live GET answered at that
// instant — lists, records, sub-resource lists, views, stats, access
// decisions, reports, history, the audit log and its verification, users,
// roles, clients, integrations — captured at several moments of a scenario
// of more than 200 mutations across resources, and compared byte for byte
// later (after asOfNormal). The routes are taken from the router: a native
// GET that is neither probed here nor an exception fails the test.
func TestEveryGetAsOfEqualsLiveAnswersOfTheMoment(t *testing.T) {
	t.Parallel()
	m := mustRunWebhooks(t, t.TempDir(), phttp.WebhookConfig{})
	c := m.c
	rng := rand.New(rand.NewPCG(11, 7))
	start := time.Now()
	pick := func(s []string) string { return s[rng.IntN(len(s))] }

	loc, _ := mustPost[location](t, c, "/locations", map[string]any{"name": "HQ", "time_zone": "Europe/Zurich"})
	bld, _ := mustPost[building](t, c, "/buildings", map[string]any{"name": "Tower", "location_id": loc.ID})
	outer, _ := mustPost[space](t, c, "/spaces", map[string]any{"name": "Floor", "building_id": bld.ID})
	inner, _ := mustPost[space](t, c, "/spaces", map[string]any{"name": "Lab", "building_id": bld.ID, "parent_id": outer.ID})
	spaces := []string{outer.ID, inner.ID}
	var systems, doors, people, keys []string
	for i := range 2 {
		ls, _ := mustPost[lockingSystem](t, c, "/locking-systems", map[string]any{"name": fmt.Sprint("System ", i), "brand": "KABA"})
		systems = append(systems, ls.ID)
	}
	for i := range 4 {
		ap, _ := mustPost[accessPoint](t, c, "/access-points", map[string]any{"point_name": fmt.Sprint("Door ", i),
			"space_id": spaces[i%2], "locking_system_id": systems[i%2]})
		doors = append(doors, ap.ID)
	}
	depts := []string{"Research", "Security", "Facilities"}
	for i := range 5 {
		p, _ := mustCreate(t, c, map[string]any{"first_name": fmt.Sprint("P", i), "last_name": "Person",
			"email": fmt.Sprintf("p%d@asof.test", i), "department": depts[i%3]})
		people = append(people, p.ID)
	}
	for i := range 6 {
		k, _ := mustAccessCredential(t, c, keyBody(fmt.Sprintf("K-%03d", i)))
		keys = append(keys, k.ID)
	}
	requireStatus(t, c.do(t, "POST", "/api/v1/roles", map[string]any{"name": "desk", "permissions": []string{"individuals:read"}}), http.StatusCreated)
	su, _ := mustServiceUser(t, c, "sync", "viewer", time.Hour)
	r := c.do(t, "POST", "/api/v1/oauth-clients", map[string]any{"name": "reader", "role": "viewer", "scopes": []string{"spaces:read"}})
	requireStatus(t, r, http.StatusCreated)
	oc := decode[item[oauthClientCreated]](t, r).Data.ClientID
	r = c.do(t, "POST", "/api/v1/integrations/applications/salto-proaccess/connect",
		map[string]any{"name": "HQ doors", "server_url": "https://93.184.215.14:8443/api", "username": "svc", "password": "not-shown-1"})
	requireStatus(t, r, http.StatusCreated)
	salto := decode[item[connectionView]](t, r).Data.ID
	// A webhook for an event the scenario never makes: its delivery log stays
	// the same whenever it is read.
	hook, _ := connectWebhook(t, c, "http://127.0.0.1:9/hook", "dispatch_target.deleted")

	holder := map[string]string{} // credential → individual holding it
	var token string
	var captures []asOfCapture
	var probes []asOfProbe
	var probesOf [][]asOfProbe // each capture's probes
	mutations := 0
	for mutations < 210 {
		var r response
		ok := http.StatusOK
		switch k := rng.IntN(13); k {
		case 0:
			p, res := mustCreate(t, c, map[string]any{"first_name": fmt.Sprint("N", mutations), "last_name": "New",
				"email": fmt.Sprintf("n%d@asof.test", mutations), "department": pick(depts)})
			people, r = append(people, p.ID), res
		case 1:
			r = c.do(t, "PATCH", "/api/v1/individuals/"+pick(people), map[string]any{"department": pick(depts),
				"status": pick([]string{"active", "active", "inactive"})})
		case 2:
			kc, res := mustAccessCredential(t, c, keyBody(fmt.Sprintf("K-%03d", 100+mutations)))
			keys, r = append(keys, kc.ID), res
		case 3:
			r = c.do(t, "PATCH", "/api/v1/access-credentials/"+pick(keys), map[string]any{
				"credential_name": fmt.Sprint("Key ", mutations), "status": pick([]string{"active", "active", "damaged"})})
		case 4, 5:
			r = c.do(t, "POST", "/api/v1/access-credentials/"+pick(keys)+"/access-points", map[string]any{"access_point_ids": []string{pick(doors)}})
		case 6:
			r = c.do(t, "DELETE", "/api/v1/access-credentials/"+pick(keys)+"/access-points", map[string]any{"access_point_ids": []string{pick(doors)}})
		case 7:
			kid := pick(keys)
			if holder[kid] != "" {
				r = c.do(t, "POST", "/api/v1/access-credentials/return", map[string]any{"credential_ids": []string{kid}})
				if r.status == ok {
					delete(holder, kid)
				}
				break
			}
			who := pick(people)
			body := map[string]any{"credential_ids": []string{kid}, "individual_id": who,
				"due_date": start.Add(time.Duration(10+rng.IntN(20)) * 24 * time.Hour).UTC().Format(time.RFC3339), "due_reason": "project"}
			if rng.IntN(2) == 0 {
				body["confirmation"] = map[string]any{"type": "digital", "destination": "desk@asof.test"}
			}
			r = c.do(t, "POST", "/api/v1/access-credentials/assign", body)
			if r.status == ok {
				holder[kid] = who
			}
		case 8:
			rules := []map[string]any{{"individual_ids": []string{pick(people)}, "departments": []string{pick(depts)}}}
			r = c.do(t, "PUT", "/api/v1/spaces/"+pick(spaces)+"/access-rules", map[string]any{"rules": rules})
		case 9:
			r = c.do(t, "PATCH", "/api/v1/access-points/"+pick(doors), map[string]any{"label": fmt.Sprint("L", mutations),
				"space_id": pick(spaces), "status": pick([]string{"active", "inactive"})})
		case 10:
			ap, res := mustPost[accessPoint](t, c, "/access-points", map[string]any{"point_name": fmt.Sprint("Door ", mutations),
				"space_id": pick(spaces), "locking_system_id": pick(systems)})
			doors, r = append(doors, ap.ID), res
		case 11:
			r = c.do(t, "PATCH", "/api/v1/roles/desk", map[string]any{"permissions": [][]string{{"individuals:read"}, {"individuals:read", "spaces:read"}}[rng.IntN(2)]})
		default:
			r = c.do(t, "PATCH", "/api/v1/locking-systems/"+pick(systems), map[string]any{"revision_number": fmt.Sprint("R", mutations)})
		}
		if r.status/100 != 2 {
			continue // refused (e.g. a damaged key assigned): nothing appended
		}
		mutations++
		token = maxToken(token, r.header.Get("X-Consistency-Token"))
		if mutations%40 != 0 && mutations != 210 {
			continue
		}
		probes = asOfProbesOf(asOfScenario{start: start, to: time.Now(), loc: loc.ID, bld: bld.ID, space: inner.ID, system: systems[0],
			door: doors[0], person: people[0], key: keys[0], serviceUser: su.ID, oauthClient: oc, connection: salto, webhook: hook.ID})
		paths := make([]string, len(probes))
		for i, p := range probes {
			paths[i] = p.path
		}
		cp := asOfCapture{answers: readAll(t, c, paths, "X-Consistency-Token", token)}
		cp.at = time.Now()
		for i, p := range probes {
			cp.answers[p.path] = asOfNormal(p.route, cp.answers[paths[i]])
		}
		captures, probesOf = append(captures, cp), append(probesOf, probes)
	}

	for i, cp := range captures {
		for _, p := range probesOf[i] {
			want, captured := cp.answers[p.path]
			if !captured {
				continue
			}
			got := asOfNormal(p.route, readAll(t, c, []string{withAsOf(p.path, cp.at)})[withAsOf(p.path, cp.at)])
			if got != want {
				t.Errorf("GET %s as of %s:\n got %s\nwant %s", p.path, cp.at.Format(time.RFC3339Nano), clip([]byte(got)), clip([]byte(want)))
			}
		}
	}
	if len(captures) < 5 {
		t.Fatalf("%d captures, want at least 5", len(captures))
	}
	// The answers moved between the captures, so an as_of answer that were
	// the live one (or any one capture's) could not pass.
	for _, p := range probes {
		seen := map[string]bool{}
		for _, cp := range captures {
			seen[cp.answers[p.path]] = true
		}
		if len(seen) < 2 && !staticRoutes[p.route] && p.route != "/api/v1/reports/access-window" {
			t.Errorf("GET %s answered the same at every capture: the scenario does not change it", p.path)
		}
	}

	// Every native GET of the router is probed, or refuses as_of for a
	// reason.
	normal := func(p string) string { return templateParams.ReplaceAllString(p, "{}") }
	probed := map[string]bool{}
	for _, p := range probes {
		probed[normal(p.route)] = true
	}
	var missing []string
	excepted := map[string]bool{}
	for _, rt := range m.HTTP.Routes() {
		if rt.Method != "GET" || !isNativePath(rt.Path) {
			continue
		}
		name := rt.Method + " " + rt.Path
		if _, ok := asOfExceptions[name]; ok {
			if strings.HasPrefix(rt.Path, "/api/v1/") {
				requireNativeError(t, c.do(t, "GET", withAsOf(rt.Path, time.Now().Add(-time.Minute)), nil), http.StatusBadRequest, "BAD_REQUEST", "as_of")
			}
			excepted[name] = true
			continue
		}
		if !probed[normal(rt.Path)] {
			missing = append(missing, name)
		}
	}
	slices.Sort(missing)
	for name := range asOfExceptions {
		if !excepted[name] {
			t.Errorf("exception %q names no route", name)
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d native GET routes are not shown to answer as_of (probe them in asOfProbesOf or add a justified exception):\n  %s",
			len(missing), strings.Join(missing, "\n  "))
	}

	// Bad as_of is the native envelope naming it, on any route.
	for _, p := range []string{"/api/v1/stats/dashboard", "/api/v1/access-control-systems/overview", "/api/v1/spaces/" + inner.ID + "/overview"} {
		requireNativeError(t, c.do(t, "GET", p+"?as_of=yesterday", nil), http.StatusBadRequest, "BAD_REQUEST", "as_of")
		requireNativeError(t, c.do(t, "GET", withAsOf(p, time.Now().Add(time.Hour)), nil), http.StatusBadRequest, "BAD_REQUEST", "as_of")
	}
	// Before the scenario: an empty dashboard, a space that did not exist.
	before := start.Add(-time.Hour)
	requireNativeError(t, c.do(t, "GET", withAsOf("/api/v1/spaces/"+inner.ID+"/overview", before), nil), http.StatusNotFound, "NOT_FOUND", "")
	var d struct {
		Data struct {
			Individuals int `json:"individuals"`
			Spaces      int `json:"spaces"`
		} `json:"data"`
	}
	if err := json.Unmarshal(c.do(t, "GET", withAsOf("/api/v1/stats/dashboard", before), nil).body, &d); err != nil {
		t.Fatal(err)
	}
	requireEqual(t, "individuals an hour before", d.Data.Individuals, 0)
	requireEqual(t, "spaces an hour before", d.Data.Spaces, 0)
}

// asOfScenario names the records the probes read.
type asOfScenario struct {
	start, to                                     time.Time
	loc, bld, space, system, door, person, key    string
	serviceUser, oauthClient, connection, webhook string
}

// asOfProbesOf is one GET of every as_of-capable native route, with the
// filters, orders and pages that take different paths through the read
// models.
func asOfProbesOf(s asOfScenario) []asOfProbe {
	v := url.Values{"access_point_id": {s.door}, "from": {s.start.UTC().Format(time.RFC3339Nano)}, "to": {s.to.UTC().Format(time.RFC3339Nano)}}
	decision := url.Values{"individual_id": {s.person}, "access_point_id": {s.door}, "at": {"2026-11-23T10:00:00+01:00"}}
	ps := []asOfProbe{
		{"/api/v1/individuals", "/api/v1/individuals?limit=100"},
		{"/api/v1/individuals", "/api/v1/individuals?status=inactive&order=last_name.asc&limit=5"},
		{"/api/v1/individuals/{id}", "/api/v1/individuals/" + s.person},
		{"/api/v1/individuals/{id}/history", "/api/v1/individuals/" + s.person + "/history?limit=100"},
		{"/api/v1/locations", "/api/v1/locations"},
		{"/api/v1/locations/{id}", "/api/v1/locations/" + s.loc},
		{"/api/v1/locations/{id}/history", "/api/v1/locations/" + s.loc + "/history"},
		{"/api/v1/buildings", "/api/v1/buildings"},
		{"/api/v1/buildings/{id}", "/api/v1/buildings/" + s.bld},
		{"/api/v1/buildings/{id}/history", "/api/v1/buildings/" + s.bld + "/history"},
		{"/api/v1/spaces", "/api/v1/spaces?order=name.desc"},
		{"/api/v1/spaces/{id}", "/api/v1/spaces/" + s.space},
		{"/api/v1/spaces/{id}/history", "/api/v1/spaces/" + s.space + "/history?limit=100"},
		{"/api/v1/spaces/{id}/access-points", "/api/v1/spaces/" + s.space + "/access-points?limit=100"},
		{"/api/v1/spaces/{id}/access-rules", "/api/v1/spaces/" + s.space + "/access-rules"},
		{"/api/v1/spaces/{id}/overview", "/api/v1/spaces/" + s.space + "/overview"},
		{"/api/v1/spaces/{id}/individuals", "/api/v1/spaces/" + s.space + "/individuals?limit=100"},
		{"/api/v1/spaces/{id}/active-assignments", "/api/v1/spaces/" + s.space + "/active-assignments?limit=100"},
		{"/api/v1/spaces/{id}/active-assignments", "/api/v1/spaces/" + s.space + "/active-assignments?limit=3&page=2&order=created_at.desc"},
		{"/api/v1/spaces/{id}/recent-activity", "/api/v1/spaces/" + s.space + "/recent-activity?limit=100"},
		{"/api/v1/locking-systems", "/api/v1/locking-systems"},
		{"/api/v1/locking-systems/{id}", "/api/v1/locking-systems/" + s.system},
		{"/api/v1/locking-systems/{id}/history", "/api/v1/locking-systems/" + s.system + "/history?limit=100"},
		{"/api/v1/access-control-systems/overview", "/api/v1/access-control-systems/overview"},
		{"/api/v1/access-control-systems/active", "/api/v1/access-control-systems/active"},
		{"/api/v1/access-control-systems/{locking_system_id}/locking-plan", "/api/v1/access-control-systems/" + s.system + "/locking-plan?limit=100"},
		{"/api/v1/access-control-systems/{locking_system_id}/locking-plan", "/api/v1/access-control-systems/" + s.system + "/locking-plan?limit=2&page=2&status_assignment=assigned"},
		{"/api/v1/access-points", "/api/v1/access-points?limit=100"},
		{"/api/v1/access-points", "/api/v1/access-points?status=inactive&limit=100"},
		{"/api/v1/access-points/{id}", "/api/v1/access-points/" + s.door},
		{"/api/v1/access-points/{id}/history", "/api/v1/access-points/" + s.door + "/history?limit=100"},
		{"/api/v1/access-credentials", "/api/v1/access-credentials?limit=100"},
		{"/api/v1/access-credentials", "/api/v1/access-credentials?status_assignment=assigned&limit=100"},
		{"/api/v1/access-credentials", "/api/v1/access-credentials?access_point_id=" + s.door + "&limit=100"},
		{"/api/v1/access-credentials/{id}", "/api/v1/access-credentials/" + s.key},
		{"/api/v1/access-credentials/{id}/history", "/api/v1/access-credentials/" + s.key + "/history?limit=100"},
		{"/api/v1/access-credentials/reserved", "/api/v1/access-credentials/reserved?limit=100"},
		{"/api/v1/access-credentials/stats", "/api/v1/access-credentials/stats"},
		{"/api/v1/access-credentials/suggest-id", "/api/v1/access-credentials/suggest-id"},
		{"/api/v1/access-credentials/assignments", "/api/v1/access-credentials/assignments?limit=100"},
		{"/api/v1/access-credentials/assignments", "/api/v1/access-credentials/assignments?status_assignment=assigned&limit=100"},
		{"/api/v1/stats/dashboard", "/api/v1/stats/dashboard"},
		{"/api/v1/stats/credentials", "/api/v1/stats/credentials"},
		{"/api/v1/access-decisions", "/api/v1/access-decisions?" + decision.Encode()},
		{"/api/v1/reports/access-window", "/api/v1/reports/access-window?" + v.Encode()},
		{"/api/v1/audit-logs", "/api/v1/audit-logs?order=sequence.desc&limit=50"},
		{"/api/v1/audit-logs", "/api/v1/audit-logs?entity_type=access_credential&order=sequence.desc&limit=20"},
		{"/api/v1/audit-logs/export", "/api/v1/audit-logs/export?format=ndjson&entity_type=space"},
		{"/api/v1/audit-logs/verify", "/api/v1/audit-logs/verify"},
		{"/api/v1/service-users", "/api/v1/service-users"},
		{"/api/v1/service-users/{id}", "/api/v1/service-users/" + s.serviceUser},
		{"/api/v1/service-users/{id}/history", "/api/v1/service-users/" + s.serviceUser + "/history"},
		{"/api/v1/oauth-clients", "/api/v1/oauth-clients"},
		{"/api/v1/oauth-clients/{id}", "/api/v1/oauth-clients/" + s.oauthClient},
		{"/api/v1/oauth-clients/{id}/history", "/api/v1/oauth-clients/" + s.oauthClient + "/history"},
		{"/api/v1/roles", "/api/v1/roles"},
		{"/api/v1/roles/{name}", "/api/v1/roles/desk"},
		{"/api/v1/permissions", "/api/v1/permissions"},
		{"/api/v1/tenants", "/api/v1/tenants"},
		{"/api/v1/integrations/categories", "/api/v1/integrations/categories"},
		{"/api/v1/integrations/applications", "/api/v1/integrations/applications"},
		{"/api/v1/integrations/applications/{id}", "/api/v1/integrations/applications/webhook"},
		{"/api/v1/integrations/applications/{id}/connection-schema", "/api/v1/integrations/applications/salto-proaccess/connection-schema"},
		{"/api/v1/integrations/connections", "/api/v1/integrations/connections"},
		{"/api/v1/integrations/connections/{id}", "/api/v1/integrations/connections/" + s.connection},
		{"/api/v1/integrations/connections/{id}/deliveries", "/api/v1/integrations/connections/" + s.webhook + "/deliveries"},
	}
	return ps
}
