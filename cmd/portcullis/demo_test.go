package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// tenantDemo is the answer of POST /settings/tenant-demo.
type tenantDemo struct {
	Locations      int `json:"locations"`
	Buildings      int `json:"buildings"`
	Spaces         int `json:"spaces"`
	LockingSystems int `json:"locking_systems"`
	AccessPoints   int `json:"access_points"`
	Individuals    int `json:"individuals"`
	Credentials    int `json:"credentials"`
	Links          int `json:"links"`
	Assigned       int `json:"assigned"`
	Pending        int `json:"pending"`
	Overdue        int `json:"overdue"`
	Returned       int `json:"returned"`
	AccessRules    int `json:"access_rules"`
	Example        struct {
		IndividualID  string `json:"individual_id"`
		AccessPointID string `json:"access_point_id"`
		Decision      string `json:"decision"`
	} `json:"example"`
}

// mustDemo fills the caller's tenant with the demo data.
func mustDemo(t testing.TB, c *client) (tenantDemo, string) {
	t.Helper()
	start := time.Now()
	r := c.do(t, "POST", "/api/v1/settings/tenant-demo", nil)
	requireStatus(t, r, http.StatusCreated)
	t.Logf("demo data in %v", time.Since(start))
	return decode[item[tenantDemo]](t, r).Data, token(r)
}

// The demo fills a tenant through the commands: the counts it reports are
// what the lists and stats then show, and a second call is CONFLICT.
func TestTenantDemo(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	d, tok := mustDemo(t, m.c)
	requireEqual(t, "locations", d.Locations, 1)
	requireEqual(t, "buildings", d.Buildings, 2)
	requireEqual(t, "spaces", d.Spaces, 22)
	requireEqual(t, "locking systems", d.LockingSystems, 2)
	requireEqual(t, "access points", d.AccessPoints, 40)
	requireEqual(t, "individuals", d.Individuals, 80)
	requireEqual(t, "credentials", d.Credentials, 300)
	for path, want := range map[string]int{
		"/api/v1/locations": 1, "/api/v1/buildings": 2, "/api/v1/spaces": 22, "/api/v1/locking-systems": 2,
		"/api/v1/access-points": 40, "/api/v1/individuals": 80, "/api/v1/access-credentials": 300,
		"/api/v1/access-credentials/reserved":                   d.Pending,
		"/api/v1/access-credentials?status_assignment=assigned": d.Assigned,
		"/api/v1/access-credentials/assignments?overdue=true":   d.Overdue,
	} {
		_, p := listIDs(t, m.c, path, tok)
		requireEqual(t, path, p.TotalItems, want)
	}
	if d.Pending == 0 || d.Overdue == 0 || d.Assigned < 100 || d.Links < 300 || d.Returned == 0 || d.AccessRules == 0 {
		t.Fatalf("demo counts: %+v", d)
	}
	// The example person may open the example door during office hours
	// in Zurich, and not on a Sunday night.
	for at, want := range map[string]bool{
		nextWeekday(time.Wednesday, 10, 30): true, nextWeekday(time.Friday, 18, 45): true,
		nextWeekday(time.Sunday, 3, 0): false, nextWeekday(time.Tuesday, 20, 0): false,
	} {
		q := url.Values{"individual_id": {d.Example.IndividualID}, "access_point_id": {d.Example.AccessPointID}, "at": {at}}
		r := m.c.do(t, "GET", "/api/v1/access-decisions?"+q.Encode(), nil, "X-Consistency-Token", tok)
		requireStatus(t, r, http.StatusOK)
		dec := decode[item[accessDecision]](t, r).Data
		if dec.Allowed != want || dec.TimeZone != "Europe/Zurich" {
			t.Fatalf("demo decision at %s: allowed %v (%v), want %v", at, dec.Allowed, dec.codes(), want)
		}
	}
	requireEqual(t, "example decision path", strings.HasPrefix(d.Example.Decision, "/api/v1/access-decisions?individual_id="+d.Example.IndividualID), true)

	// The dashboard counts what the demo made.
	dash, _ := mustRead[dashboard](t, m.c, "/api/v1/stats/dashboard", tok)
	if dash.Individuals != 80 || dash.Spaces != 22 || dash.AccessPoints != 40 || dash.LockingSystems != 2 || dash.ActiveLockingSystems != 2 ||
		dash.Credentials.Total != 300 || dash.PendingConfirmations != d.Pending || dash.OverdueReturns != d.Overdue ||
		dash.Credentials.ByStatusAssignment["assigned"] != d.Assigned || dash.Credentials.Expired == 0 || dash.LinkedCredentials < 200 {
		t.Fatalf("dashboard after the demo: %+v (demo %+v)", dash, d)
	}

	// A second fill is CONFLICT and appends nothing; so is a body with
	// fields, and a caller without settings:write is refused.
	before := lastSeq(t, m)
	r := m.c.do(t, "POST", "/api/v1/settings/tenant-demo", nil)
	requireNativeError(t, r, http.StatusConflict, "CONFLICT", "demo")
	requireNativeError(t, m.c.do(t, "POST", "/api/v1/settings/tenant-demo", map[string]any{"size": "large"}), http.StatusBadRequest, "BAD_REQUEST", "size")
	requireNativeError(t, m.c.do(t, "POST", "/api/v1/settings/tenant-demo?size=large", nil), http.StatusBadRequest, "BAD_REQUEST", "size")
	_, op := mustServiceUser(t, m.c, "demo-operator", "operator", time.Hour)
	requireNativeError(t, as(m.c, op.Token).do(t, "POST", "/api/v1/settings/tenant-demo", nil), http.StatusForbidden, "INSUFFICIENT_PERMISSIONS", "settings:write")
	requireAppended(t, m, before, 2) // the operator and its token
}

// A tenant whose own records use one of the demo's credential numbers gets
// CONFLICT naming it and no demo data; another tenant gets its own demo.
func TestTenantDemoRefusesTakenValues(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	mustAccessCredential(t, m.c, keyBody("K-0007"))
	before := lastSeq(t, m)
	requireNativeError(t, m.c.do(t, "POST", "/api/v1/settings/tenant-demo", nil), http.StatusConflict, "CONFLICT", "K-0007")
	requireAppended(t, m, before, 0)

	other := otherTenantAdmin(t, m, "demo-other")
	d, tok := mustDemo(t, other)
	_, p := listIDs(t, other, "/api/v1/access-credentials", tok)
	requireEqual(t, "the other tenant's credentials", p.TotalItems, d.Credentials)
	_, p = listIDs(t, m.c, "/api/v1/access-credentials", tok)
	requireEqual(t, "default's credentials", p.TotalItems, 1)
}

// nextWeekday is the next day (after today) that is day, at hh:mm in
// Zurich, as RFC 3339.
func nextWeekday(day time.Weekday, hh, mm int) string {
	zone, err := time.LoadLocation("Europe/Zurich")
	if err != nil {
		panic(err)
	}
	t := time.Now().In(zone).AddDate(0, 0, 1)
	for t.Weekday() != day {
		t = t.AddDate(0, 0, 1)
	}
	return time.Date(t.Year(), t.Month(), t.Day(), hh, mm, 0, 0, zone).Format(time.RFC3339)
}

// A fill cut short (here: the client gives up and the request's context
// ends) leaves part of the demo; calling again completes it without
// creating anything twice.
func TestTenantDemoResumesAfterAnInterruption(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	// Several attempts cut short after the same time, each getting further
	// than the one before it, then one that may finish. They carry one
	// Idempotency-Key, as a client retrying should: an attempt whose client
	// gave up may still finish on the server, and then the retry gets its
	// answer instead of CONFLICT for a fill that is complete.
	impatient := &client{base: m.c.base, token: m.c.token, hc: &http.Client{Timeout: 700 * time.Millisecond}}
	const key = "Idempotency-Key"
	var seen []int
	var d tenantDemo
	var tok string
	for range 4 {
		if r, err := impatient.try("POST", "/api/v1/settings/tenant-demo", nil, key, "fill-demo"); err == nil {
			requireStatus(t, r, http.StatusCreated)
			d, tok = decode[item[tenantDemo]](t, r).Data, token(r)
			break
		}
		time.Sleep(300 * time.Millisecond) // let the request's commands wind down
		_, p := listIDs(t, m.c, "/api/v1/access-credentials", "")
		seen = append(seen, p.TotalItems)
	}
	t.Logf("credentials after each interrupted attempt: %v", seen)
	if tok == "" {
		r := m.c.do(t, "POST", "/api/v1/settings/tenant-demo", nil, key, "fill-demo")
		requireStatus(t, r, http.StatusCreated)
		d, tok = decode[item[tenantDemo]](t, r).Data, token(r)
	}
	if len(seen) == 0 {
		t.Log("the first attempt was not interrupted")
	}
	for path, want := range map[string]int{"/api/v1/spaces": 22, "/api/v1/access-points": 40, "/api/v1/individuals": 80,
		"/api/v1/access-credentials": 300, "/api/v1/locations": 1, "/api/v1/buildings": 2} {
		_, p := listIDs(t, m.c, path, tok)
		requireEqual(t, path, p.TotalItems, want)
	}
	dash, _ := mustRead[dashboard](t, m.c, "/api/v1/stats/dashboard", tok)
	if dash.PendingConfirmations != d.Pending || dash.Credentials.ByStatusAssignment["assigned"] != d.Assigned {
		t.Fatalf("dashboard after a resumed fill: %+v, demo %+v", dash, d)
	}
	requireNativeError(t, m.c.do(t, "POST", "/api/v1/settings/tenant-demo", nil), http.StatusConflict, "CONFLICT", "demo")
}
