package main

import (
	"net/http"
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
	r := m.c.do(t, "POST", "/api/v1/settings/tenant-demo", nil)
	requireNativeError(t, r, http.StatusConflict, "CONFLICT", "demo")
}
