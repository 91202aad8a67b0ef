package main

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// Lists page, order and filter over the live individuals, with totals that
// agree between the index walk and the filtered scan.
func TestListPagingOrderAndFilters(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)

	// 25 individuals in creation order, with distinct first names in mixed
	// case, three statuses and two teams; then one of them is deleted.
	names := []string{"delta", "Alpha", "echo", "Bravo", "charlie", "Foxtrot", "golf", "Hotel", "india", "Juliet",
		"kilo", "Lima", "mike", "November", "oscar", "Papa", "quebec", "Romeo", "sierra", "Tango",
		"uniform", "Victor", "whiskey", "X-ray", "yankee"}
	var all []individual
	token := ""
	for i, name := range names {
		status := "active"
		switch {
		case i%5 == 0:
			status = "inactive"
		case i%7 == 0:
			status = "suspended"
		}
		team := "team-b"
		if i%3 == 0 {
			team = "team-a"
		}
		body := map[string]any{"first_name": name, "last_name": fmt.Sprintf("Member%02d", i),
			"email": fmt.Sprintf("%s.%s@example.test", strings.ToLower(name), team), "status": status}
		ind, r := mustCreate(t, m.c, body)
		all = append(all, ind)
		token = r.header.Get("X-Consistency-Token")
	}
	r := m.c.do(t, "DELETE", "/api/v1/individuals/"+all[4].ID, nil)
	requireStatus(t, r, http.StatusOK)
	token = r.header.Get("X-Consistency-Token")
	live := slices.Delete(slices.Clone(all), 4, 5)

	ids := func(inds []individual) []string {
		out := make([]string, len(inds))
		for i, ind := range inds {
			out[i] = ind.FirstName
		}
		return out
	}
	filter := func(keep func(individual) bool) []individual {
		var out []individual
		for _, ind := range live {
			if keep(ind) {
				out = append(out, ind)
			}
		}
		return out
	}
	byFirstNameDesc := slices.Clone(live)
	slices.SortFunc(byFirstNameDesc, func(a, b individual) int {
		return strings.Compare(strings.ToLower(b.FirstName), strings.ToLower(a.FirstName))
	})
	reversed := slices.Clone(live)
	slices.Reverse(reversed)
	inactive := filter(func(i individual) bool { return i.Status == "inactive" })
	teamA := filter(func(i individual) bool { return strings.Contains(i.Email.Value, "team-a") })
	activeTeamA := filter(func(i individual) bool { return i.Status == "active" && strings.Contains(i.Email.Value, "team-a") })
	window := func(inds []individual, page, limit int) []individual {
		lo := min((page-1)*limit, len(inds))
		return inds[lo:min(lo+limit, len(inds))]
	}

	for _, tc := range []struct {
		query       string
		want        []individual // the matching individuals in order
		page, limit int
	}{
		{"", live, 1, 10},
		{"page=1&limit=10", live, 1, 10},
		{"page=2&limit=10", live, 2, 10},
		{"page=3&limit=10", live, 3, 10},
		{"page=4&limit=10", live, 4, 10},
		{"page=1000000&limit=100", live, 1000000, 100},
		{"limit=100&order=first_name.desc", byFirstNameDesc, 1, 100},
		{"page=2&limit=7&order=first_name.desc", byFirstNameDesc, 2, 7},
		{"limit=100&order=created_at.desc", reversed, 1, 100},
		{"page=3&limit=5&order=created_at.desc", reversed, 3, 5},
		{"limit=100&order=created_at.asc", live, 1, 100},
		{"limit=100&status=inactive", inactive, 1, 100},
		{"page=9&limit=100&status=inactive", inactive, 9, 100},
		{"limit=100&search=TEAM-A", teamA, 1, 100},
		{"limit=100&search=" + url.QueryEscape("member1"), filter(func(i individual) bool {
			return strings.HasPrefix(i.LastName, "Member1")
		}), 1, 100},
		{"page=2&limit=2&search=team-a&status=active", activeTeamA, 2, 2},
		{"limit=100&search=nobody-at-all", nil, 1, 100},
	} {
		t.Run(tc.query, func(t *testing.T) {
			r := m.c.do(t, "GET", "/api/v1/individuals?"+tc.query, nil, "X-Consistency-Token", token)
			requireStatus(t, r, http.StatusOK)
			got := decode[list[individual]](t, r)
			want := window(tc.want, tc.page, tc.limit)
			if !slices.Equal(got.Data, want) {
				t.Fatalf("data: got %v, want %v", ids(got.Data), ids(want))
			}
			if got.Data == nil {
				t.Fatalf("data: got null, want an array")
			}
			wantPages := (len(tc.want) + tc.limit - 1) / tc.limit
			requireEqual(t, "pagination", got.Meta.Pagination, pagination{
				CurrentCount: len(want), CurrentPage: tc.page, PerPage: tc.limit,
				TotalPages: wantPages, TotalItems: len(tc.want),
			})
		})
	}
}
