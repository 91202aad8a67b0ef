package main

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// credentialNumbers lists the numbers of a page, in order.
func credentialNumbers(cs []accessCredential) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.CredentialID
	}
	return out
}

// Lists of credentials page, order and filter as the contract says, with
// totals that agree between the index walks and the filtered ones; stats
// count what the lists show; suggest-id follows the tenant's scheme.
func TestCredentialListsStatsAndSuggestion(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)

	// An empty tenant: empty lists at any page, zero stats, the default
	// scheme.
	r := m.c.do(t, "GET", "/api/v1/access-credentials?page=3", nil)
	requireStatus(t, r, http.StatusOK)
	empty := decode[list[accessCredential]](t, r)
	requireEqual(t, "empty list", fmt.Sprint(len(empty.Data), empty.Meta.Pagination), "0 {0 3 10 0 0}")
	requireEqual(t, "first suggestion", suggestion(t, m.c, ""), "0001 ####")

	ada, _ := mustCreate(t, m.c, newIndividual("Ada", "Lovelace", "ada@example.test"))
	bob, _ := mustCreate(t, m.c, newIndividual("Bob", "Builder", "bob@example.test"))
	types := []string{"mechanical_key", "card", "fob", "mobile", "pin"}
	var all []accessCredential
	for i := range 23 {
		b := map[string]any{"credential_id": fmt.Sprintf("K-%04d", i+1), "type": types[i%5],
			"credential_name": fmt.Sprintf("Door %c", 'A'+(i*7)%23)}
		switch {
		case i%6 == 1:
			b["status"] = "lost"
		case i%6 == 4:
			b["valid_until"] = "2021-06-01T00:00:00Z" // expired
		}
		cr, _ := mustAccessCredential(t, m.c, b)
		all = append(all, cr)
	}
	master, _ := mustAccessCredential(t, m.c, map[string]any{"credential_id": "MASTER", "type": "card"})
	all = append(all, master)
	// Ada holds 0, 3 (overdue) and 6 (due in three days); Bob has 9
	// reserved; 12 was Ada's and came back; 2 is deleted.
	soon := time.Now().Add(72 * time.Hour).UTC().Format(time.RFC3339)
	credentialCall(t, m.c, "assign", map[string]any{"credential_ids": ids(all[0]), "individual_id": ada.ID})
	credentialCall(t, m.c, "assign", map[string]any{"credential_ids": ids(all[3]), "individual_id": ada.ID, "due_date": "2022-01-01T00:00:00Z"})
	credentialCall(t, m.c, "assign", map[string]any{"credential_ids": ids(all[6]), "individual_id": ada.ID, "due_date": soon})
	credentialCall(t, m.c, "assign", map[string]any{"credential_ids": ids(all[9]), "individual_id": bob.ID,
		"confirmation": map[string]any{"type": "digital"}})
	credentialCall(t, m.c, "assign", map[string]any{"credential_ids": ids(all[12]), "individual_id": ada.ID})
	credentialCall(t, m.c, "return", map[string]any{"credential_ids": ids(all[12])})
	r = m.c.do(t, "DELETE", "/api/v1/access-credentials/"+all[2].ID, nil)
	requireStatus(t, r, http.StatusOK)
	token := r.header.Get("X-Consistency-Token")
	live := slices.Delete(slices.Clone(all), 2, 3)
	byNumber := map[string]int{}
	for i, c := range all {
		byNumber[c.CredentialID] = i
	}
	holder := func(c accessCredential) string {
		switch byNumber[c.CredentialID] {
		case 0, 3, 6:
			return ada.ID
		case 9:
			return bob.ID
		}
		return ""
	}
	filter := func(keep func(accessCredential) bool) []string {
		var out []string
		for _, c := range live {
			if keep(c) {
				out = append(out, c.CredentialID)
			}
		}
		return out
	}
	get := func(query string) list[accessCredential] {
		t.Helper()
		r := m.c.do(t, "GET", "/api/v1/access-credentials?"+query, nil, "X-Consistency-Token", token)
		requireStatus(t, r, http.StatusOK)
		return decode[list[accessCredential]](t, r)
	}
	numbers := filter(func(accessCredential) bool { return true })
	reversed := slices.Clone(numbers)
	slices.Reverse(reversed)
	sortedByName := slices.Clone(live)
	slices.SortStableFunc(sortedByName, func(a, b accessCredential) int {
		return strings.Compare(strings.ToLower(b.CredentialName.Value), strings.ToLower(a.CredentialName.Value))
	})
	cases := []struct {
		query string
		want  []string // the whole filtered list, before paging
		page  pagination
	}{
		{"", numbers, pagination{10, 1, 10, 3, 23}},
		{"page=2", numbers, pagination{10, 2, 10, 3, 23}},
		{"page=3", numbers, pagination{3, 3, 10, 3, 23}},
		{"page=4", numbers, pagination{0, 4, 10, 3, 23}},
		{"limit=1&page=23", numbers, pagination{1, 23, 1, 23, 23}},
		{"limit=100", numbers, pagination{23, 1, 100, 1, 23}},
		{"order=created_at.desc&limit=5&page=2", reversed, pagination{5, 2, 5, 5, 23}},
		{"order=credential_name.desc&limit=100", credentialNumbers(sortedByName), pagination{23, 1, 100, 1, 23}},
		{"status=lost&limit=100", filter(func(c accessCredential) bool { return c.Status == "lost" }), pagination{}},
		{"type=card&limit=100", filter(func(c accessCredential) bool { return c.Type == "card" }), pagination{}},
		{"type=card&status=active&limit=2&page=2", filter(func(c accessCredential) bool { return c.Type == "card" && c.Status == "active" }), pagination{}},
		{"status_assignment=assigned&limit=100", filter(func(c accessCredential) bool { return holder(c) == ada.ID }), pagination{}},
		{"status_assignment=pending", filter(func(c accessCredential) bool { return holder(c) == bob.ID }), pagination{}},
		{"status_assignment=available&limit=100", filter(func(c accessCredential) bool { return holder(c) == "" }), pagination{}},
		{"assigned_to=" + ada.ID, filter(func(c accessCredential) bool { return holder(c) == ada.ID }), pagination{}},
		{"assigned_to=" + ada.ID + "&order=created_at.desc&limit=2&page=2", []string{"K-0007", "K-0004", "K-0001"}, pagination{1, 2, 2, 2, 3}},
		{"search=k-000&limit=100", filter(func(c accessCredential) bool { return strings.HasPrefix(c.CredentialID, "K-000") }), pagination{}},
		{"search=DOOR%20b", []string{all[10].CredentialID}, pagination{}},
		{"search=master&type=card", []string{"MASTER"}, pagination{}},
		{"access_point_id=nowhere", nil, pagination{}},
	}
	for _, c := range cases {
		got := get(c.query)
		q, _ := url.ParseQuery(c.query)
		page, limit := 1, 10
		fmt.Sscan(q.Get("page"), &page)
		fmt.Sscan(q.Get("limit"), &limit)
		lo, hi := min((page-1)*limit, len(c.want)), min(page*limit, len(c.want))
		if g, w := credentialNumbers(got.Data), c.want[lo:hi]; !slices.Equal(g, w) {
			t.Fatalf("%s: got %v, want %v", c.query, g, w)
		}
		requireEqual(t, c.query+": total", got.Meta.Pagination.TotalItems, len(c.want))
		if c.page != (pagination{}) {
			requireEqual(t, c.query+": pagination", got.Meta.Pagination, c.page)
		}
	}

	// Every refusal of a bad list parameter names it.
	for _, q := range []string{"page=0", "limit=0", "limit=101", "page=x", "status=missing", "type=badge",
		"status_assignment=maybe", "assigned_to=a.b", "order=colour.asc", "order=created_at", "colour=red",
		"status=lost&status=active"} {
		name, _, _ := strings.Cut(q, "=")
		r := m.c.do(t, "GET", "/api/v1/access-credentials?"+q, nil)
		requireNativeError(t, r, http.StatusBadRequest, "BAD_REQUEST", name)
	}

	// The assignment views.
	al := func(query string) list[assignmentItem] {
		t.Helper()
		r := m.c.do(t, "GET", "/api/v1/access-credentials/assignments?"+query, nil, "X-Consistency-Token", token)
		requireStatus(t, r, http.StatusOK)
		return decode[list[assignmentItem]](t, r)
	}
	overdue := al("overdue=true")
	requireEqual(t, "overdue", fmt.Sprintln(len(overdue.Data), overdue.Data[0].Credential.CredentialID, overdue.Data[0].Overdue), "1 K-0004 true\n")
	held := al("individual_id=" + ada.ID + "&order=due_date.desc")
	requireEqual(t, "Ada's by due date", strings.Join(credentialNumbers(func() []accessCredential {
		var out []accessCredential
		for _, a := range held.Data {
			out = append(out, a.Credential)
		}
		return out
	}()), " "), "K-0007 K-0004 K-0001")
	requireEqual(t, "all assignments", al("limit=100").Meta.Pagination.TotalItems, 23)
	for _, q := range []string{"overdue=yes", "individual_id=a.b", "status_assignment=maybe", "status=lost"} {
		name, _, _ := strings.Cut(q, "=")
		r := m.c.do(t, "GET", "/api/v1/access-credentials/assignments?"+q, nil)
		requireNativeError(t, r, http.StatusBadRequest, "BAD_REQUEST", name)
	}

	// The stats count what the lists show.
	var st item[credentialStats]
	for _, path := range []string{"/api/v1/access-credentials/stats", "/api/v1/stats/credentials"} {
		r = m.c.do(t, "GET", path, nil, "X-Consistency-Token", token)
		requireStatus(t, r, http.StatusOK)
		st = decode[item[credentialStats]](t, r)
		s := st.Data
		requireEqual(t, path+" total", s.Total, 23)
		requireEqual(t, path+" lost", s.ByStatus["lost"], len(filter(func(c accessCredential) bool { return c.Status == "lost" })))
		requireEqual(t, path+" active", s.ByStatus["active"], 23-s.ByStatus["lost"])
		requireEqual(t, path+" cards", s.ByType["card"], len(filter(func(c accessCredential) bool { return c.Type == "card" })))
		requireEqual(t, path+" assignment", fmt.Sprint(s.ByStatusAssignment), "map[assigned:3 available:19 pending:1]")
		requireEqual(t, path+" expired", s.Expired, len(filter(func(c accessCredential) bool { return c.ValidUntil.Set })))
		requireEqual(t, path+" overdue, due soon", fmt.Sprintln(s.Overdue, s.DueSoon, s.DueSoonDays), "1 1 7\n")
	}
	r = m.c.do(t, "GET", "/api/v1/access-credentials/stats?page=1", nil)
	requireNativeError(t, r, http.StatusBadRequest, "BAD_REQUEST", "page")

	// The scheme of most numbers, one past its highest, stepping over a
	// number taken in another case.
	requireEqual(t, "suggestion", suggestion(t, m.c, token), "K-0024 K-####")
	_, r = mustAccessCredential(t, m.c, keyBody("k-0024"))
	requireEqual(t, "suggestion past a taken number", suggestion(t, m.c, r.header.Get("X-Consistency-Token")), "K-0025 K-####")
}

// credentialStats is the stats answer.
type credentialStats struct {
	Total              int            `json:"total"`
	ByStatus           map[string]int `json:"by_status"`
	ByType             map[string]int `json:"by_type"`
	ByStatusAssignment map[string]int `json:"by_status_assignment"`
	Expired            int            `json:"expired"`
	Overdue            int            `json:"overdue"`
	DueSoon            int            `json:"due_soon"`
	DueSoonDays        int            `json:"due_soon_days"`
}

// suggestion asks for the next credential number: "<number> <scheme>".
func suggestion(t testing.TB, c *client, token string) string {
	t.Helper()
	r := c.do(t, "GET", "/api/v1/access-credentials/suggest-id", nil, "X-Consistency-Token", token)
	requireStatus(t, r, http.StatusOK)
	d := decode[item[struct {
		CredentialID string `json:"credential_id"`
		Scheme       string `json:"scheme"`
	}]](t, r).Data
	return d.CredentialID + " " + d.Scheme
}
