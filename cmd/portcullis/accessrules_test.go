package main

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

type accessRules struct {
	SpaceID  string `json:"space_id"`
	TimeZone string `json:"time_zone"`
	Rules    []struct {
		ID            string   `json:"id"`
		IndividualIDs []string `json:"individual_ids"`
		Departments   []string `json:"departments"`
		Schedule      []struct {
			Days []string `json:"days"`
			From string   `json:"from"`
			To   string   `json:"to"`
		} `json:"schedule"`
		ValidFrom  optional `json:"valid_from"`
		ValidUntil optional `json:"valid_until"`
	} `json:"rules"`
}

func TestSpaceAccessRules(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	c := m.c
	b := mustBuilding(t, c, "Ruled") // its location is in Europe/Zurich
	sp, sr := mustPost[space](t, c, "/spaces", map[string]any{"name": "Office", "building_id": b.ID})
	ada, _ := mustCreate(t, c, newIndividual("Ada", "Lovelace", "ada@example.test"))
	path := "/api/v1/spaces/" + sp.ID + "/access-rules"

	empty, tag := mustRead[accessRules](t, c, path, token(sr))
	if empty.SpaceID != sp.ID || empty.TimeZone != "Europe/Zurich" || len(empty.Rules) != 0 {
		t.Fatalf("rules of a new space: %+v", empty)
	}
	requireEqual(t, "ETag of the rules", tag, sr.header.Get("ETag"))

	rules := []map[string]any{
		{"id": "office-hours", "individual_ids": []string{ada.ID}, "departments": []string{"Engineering"},
			"schedule":   []map[string]any{{"days": []string{"mon", "tue", "wed", "thu", "fri"}, "from": "08:00", "to": "18:00"}},
			"valid_from": "2026-01-01", "valid_until": "2026-12-31"},
		{"departments": []string{"Security", "security"},
			"schedule": []map[string]any{{"days": []string{"fri"}, "from": "22:00", "to": "06:00"}}},
	}
	before := lastSeq(t, m)
	set, r := mustChange[accessRules](t, c, "PUT", path, map[string]any{"rules": rules}, "If-Match", tag)
	requireAppended(t, m, before, 1)
	if len(set.Rules) != 2 || set.Rules[0].ID != "office-hours" || set.Rules[1].ID == "" || len(set.Rules[1].Departments) != 1 ||
		set.Rules[1].ValidFrom.Set || len(set.Rules[1].IndividualIDs) != 0 || set.TimeZone != "Europe/Zurich" {
		t.Fatalf("set %+v", set)
	}
	got, gtag := mustRead[accessRules](t, c, path, token(r))
	requireEqual(t, "rules read back", len(got.Rules), 2)
	requireEqual(t, "generated id read back", got.Rules[1].ID, set.Rules[1].ID)
	requireEqual(t, "ETag after the PUT", gtag, r.header.Get("ETag"))
	requireNativeError(t, c.do(t, "PUT", path, map[string]any{"rules": rules}, "If-Match", tag), http.StatusPreconditionFailed, "PRECONDITION_FAILED", "")

	// Every bad input names its field with its index, and appends nothing.
	before = lastSeq(t, m)
	good := func() map[string]any {
		return map[string]any{"individual_ids": []string{ada.ID},
			"schedule": []map[string]any{{"days": []string{"mon"}, "from": "08:00", "to": "18:00"}}}
	}
	with := func(k string, v any) map[string]any { g := good(); g[k] = v; return g }
	window := func(k string, v any) map[string]any {
		w := map[string]any{"days": []string{"mon"}, "from": "08:00", "to": "18:00"}
		w[k] = v
		return with("schedule", []map[string]any{{"days": []string{"sun"}, "from": "00:00", "to": "24:00"}, w})
	}
	for _, bad := range []struct {
		rule  any
		field string
	}{
		{with("individual_ids", []string{"nobody"}), "rules[1].individual_ids[0]"},
		{with("individual_ids", []any{ada.ID, 7}), "rules[1].individual_ids[1]"},
		{with("individual_ids", nil), "rules[1].individual_ids"},
		{with("departments", []string{" "}), "rules[1].departments[0]"},
		{with("colour", "red"), "rules[1].colour"},
		{with("valid_from", "2026-13-01"), "rules[1].valid_from"},
		{map[string]any{"individual_ids": []string{ada.ID}, "valid_from": "2026-02-01", "valid_until": "2026-01-31"}, "rules[1].valid_until"},
		{with("id", "a b"), "rules[1].id"},
		{with("id", "office-hours"), "rules[1].id"},
		{window("from", "8:00"), "rules[1].schedule[1].from"},
		{window("to", "18:00:00"), "rules[1].schedule[1].to"},
		{window("to", "08:00"), "rules[1].schedule[1].to"},
		{window("days", []string{"mon", "someday"}), "rules[1].schedule[1].days[1]"},
		{window("days", []string{}), "rules[1].schedule[1].days"},
		{window("extra", true), "rules[1].schedule[1].extra"},
		{window("from", nil), "rules[1].schedule[1].from"},
		{with("schedule", []any{"mon 8-18"}), "rules[1].schedule[0]"},
		{"a rule", "rules[1]"},
	} {
		body := map[string]any{"rules": []any{rules[0], bad.rule}}
		requireNativeError(t, c.do(t, "PUT", path, body), http.StatusBadRequest, "BAD_REQUEST", bad.field)
	}
	requireNativeError(t, c.do(t, "PUT", path, map[string]any{}), http.StatusBadRequest, "BAD_REQUEST", "rules")
	requireNativeError(t, c.do(t, "PUT", path, map[string]any{"rules": "none"}), http.StatusBadRequest, "BAD_REQUEST", "rules")
	requireNativeError(t, c.do(t, "PUT", "/api/v1/spaces/none/access-rules", map[string]any{"rules": []any{}}), http.StatusNotFound, "NOT_FOUND", "")
	requireNativeError(t, c.do(t, "GET", "/api/v1/spaces/none/access-rules", nil), http.StatusNotFound, "NOT_FOUND", "")
	requireAppended(t, m, before, 0)

	// The same rules again append nothing; an empty set clears them.
	same := []map[string]any{rules[0], {"id": set.Rules[1].ID, "departments": []string{"Security"},
		"schedule": []map[string]any{{"days": []string{"fri"}, "from": "22:00", "to": "06:00"}}}}
	before = lastSeq(t, m)
	mustChange[accessRules](t, c, "PUT", path, map[string]any{"rules": same})
	requireAppended(t, m, before, 0)
	cleared, cr := mustChange[accessRules](t, c, "PUT", path, map[string]any{"rules": []any{}})
	requireEqual(t, "cleared", len(cleared.Rules), 0)
	h := placeHistoryOf[space](t, c, "/api/v1/spaces/"+sp.ID, token(cr))
	requireEqual(t, "space history", strings.Join(placeEventTypes(h), ","),
		"space.created,space.access_rules_replaced,space.access_rules_replaced")

	_, vt := mustServiceUser(t, c, "viewer", "viewer", time.Hour)
	v := as(c, vt.Token)
	requireStatus(t, v.do(t, "GET", path, nil), http.StatusOK)
	requireNativeError(t, v.do(t, "PUT", path, map[string]any{"rules": []any{}}), http.StatusForbidden, "INSUFFICIENT_PERMISSIONS", "access-rules:write")
}
