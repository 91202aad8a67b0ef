package main

import (
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"
)

type accessDecision struct {
	Allowed bool `json:"allowed"`
	Reasons []struct {
		Code         string   `json:"code"`
		Message      string   `json:"message"`
		CredentialID optional `json:"credential_id"`
		RuleID       optional `json:"rule_id"`
		SpaceID      optional `json:"space_id"`
	} `json:"reasons"`
	IndividualID     string `json:"individual_id"`
	AccessPointID    string `json:"access_point_id"`
	At               string `json:"at"`
	TimeZone         string `json:"time_zone"`
	ConsistencyToken string `json:"consistency_token"`
}

func (d accessDecision) codes() []string {
	var out []string
	for _, r := range d.Reasons {
		out = append(out, r.Code)
	}
	return out
}

// Access decisions through the real server: a person with a key linked to
// a door and a rule of an enclosing space may open it in the rule's hours
// (read in the location's zone); every change that takes that away is a
// reason in the answer; as_of answers as the system knew it then.
func TestAccessDecisions(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	c := m.c
	b := mustBuilding(t, c, "Decided") // Europe/Zurich
	floor, _ := mustPost[space](t, c, "/spaces", map[string]any{"name": "Floor 1", "building_id": b.ID})
	office, _ := mustPost[space](t, c, "/spaces", map[string]any{"name": "Office", "building_id": b.ID, "parent_id": floor.ID})
	ls, _ := mustPost[lockingSystem](t, c, "/locking-systems", map[string]any{"name": "Keys"})
	door, _ := mustPost[accessPoint](t, c, "/access-points", map[string]any{"point_name": "Office door", "space_id": office.ID,
		"locking_system_id": ls.ID})
	ada, _ := mustCreate(t, c, newIndividual("Ada", "Lovelace", "ada-decided@example.test"))
	key, _ := mustAccessCredential(t, c, keyBody("D-100"))
	_, r := mustChange[[]accessCredential](t, c, "POST", "/api/v1/access-credentials/assign",
		map[string]any{"credential_ids": []string{key.ID}, "individual_id": ada.ID})
	r = c.do(t, "POST", "/api/v1/access-points/"+door.ID+"/access-credentials", map[string]any{"credential_ids": []string{key.ID}})
	requireStatus(t, r, http.StatusOK)
	// The rule sits on the enclosing floor: office hours on weekdays.
	_, r = mustChange[accessRules](t, c, "PUT", "/api/v1/spaces/"+floor.ID+"/access-rules", map[string]any{"rules": []map[string]any{
		{"id": "office-hours", "individual_ids": []string{ada.ID},
			"schedule": []map[string]any{{"days": []string{"mon", "tue", "wed", "thu", "fri"}, "from": "07:00", "to": "19:00"}}}}})

	decide := func(at string, extra ...string) accessDecision {
		t.Helper()
		q := url.Values{"individual_id": {ada.ID}, "access_point_id": {door.ID}, "at": {at}}
		for i := 0; i+1 < len(extra); i += 2 {
			q.Set(extra[i], extra[i+1])
		}
		r := c.do(t, "GET", "/api/v1/access-decisions?"+q.Encode(), nil, "X-Consistency-Token", token(r))
		requireStatus(t, r, http.StatusOK)
		return decode[item[accessDecision]](t, r).Data
	}
	requireDecision := func(d accessDecision, allowed bool, codes ...string) {
		t.Helper()
		if d.Allowed != allowed || !slices.Equal(d.codes(), codes) {
			t.Fatalf("decision: allowed=%v %v, want allowed=%v %v: %+v", d.Allowed, d.codes(), allowed, codes, d.Reasons)
		}
	}
	tuesday := "2026-03-10T09:30:00+01:00"
	d := decide(tuesday)
	requireDecision(d, true, "credential", "rule")
	if d.Reasons[0].CredentialID.Value != key.ID || d.Reasons[1].RuleID.Value != "office-hours" || d.Reasons[1].SpaceID.Value != floor.ID ||
		d.TimeZone != "Europe/Zurich" || d.ConsistencyToken == "" {
		t.Fatalf("a grant must name the key, the rule and its space: %+v", d)
	}
	requireDecision(decide("2026-03-10T18:30:00Z"), false, "outside_time_window") // 19:30 in Zurich
	requireDecision(decide("2026-03-14T10:00:00+01:00"), false, "outside_time_window")

	// Capture the live answer, then take the key away step by step.
	before := time.Now().UTC()
	time.Sleep(20 * time.Millisecond)
	_, r = mustChange[accessCredential](t, c, "PATCH", "/api/v1/access-credentials/"+key.ID, map[string]any{"status": "lost"})
	requireDecision(decide(tuesday), false, "credential_disabled")
	_, r = mustChange[accessCredential](t, c, "PATCH", "/api/v1/access-credentials/"+key.ID, map[string]any{"status": "active"})
	r = c.do(t, "DELETE", "/api/v1/access-points/"+door.ID+"/access-credentials", map[string]any{"credential_ids": []string{key.ID}})
	requireStatus(t, r, http.StatusOK)
	requireDecision(decide(tuesday), false, "not_linked")
	_, r = mustChange[[]accessCredential](t, c, "POST", "/api/v1/access-credentials/return",
		map[string]any{"credential_ids": []string{key.ID}})
	requireDecision(decide(tuesday), false, "no_credential")
	_, r = mustChange[individual](t, c, "PATCH", "/api/v1/individuals/"+ada.ID, map[string]any{"status": "suspended"})
	requireDecision(decide(tuesday), false, "individual_inactive", "no_credential")

	// As the system knew it before the key was lost: allowed, as it was.
	requireDecision(decide(tuesday, "as_of", before.Format(time.RFC3339Nano)), true, "credential", "rule")

	// Bad input and misses, in the native envelope, naming the parameter.
	q := "/api/v1/access-decisions?access_point_id=" + door.ID
	requireNativeError(t, c.do(t, "GET", q, nil), http.StatusBadRequest, "BAD_REQUEST", "individual_id")
	requireNativeError(t, c.do(t, "GET", q+"&individual_id=a.b", nil), http.StatusBadRequest, "BAD_REQUEST", "individual_id")
	requireNativeError(t, c.do(t, "GET", q+"&individual_id="+ada.ID+"&at=tuesday", nil), http.StatusBadRequest, "BAD_REQUEST", "at")
	requireNativeError(t, c.do(t, "GET", q+"&individual_id="+ada.ID+"&door=1", nil), http.StatusBadRequest, "BAD_REQUEST", "door")
	requireNativeError(t, c.do(t, "GET", q+"&individual_id=nobody", nil), http.StatusNotFound, "NOT_FOUND", "individual_id")
	requireNativeError(t, c.do(t, "GET", "/api/v1/access-decisions?individual_id="+ada.ID+"&access_point_id=nowhere", nil),
		http.StatusNotFound, "NOT_FOUND", "access_point_id")
}

type accessWindowEntry struct {
	IndividualID   string `json:"individual_id"`
	FirstAllowedAt string `json:"first_allowed_at"`
	Reasons        []struct {
		Code         string   `json:"code"`
		Message      string   `json:"message"`
		CredentialID optional `json:"credential_id"`
		RuleID       optional `json:"rule_id"`
		SpaceID      optional `json:"space_id"`
	} `json:"reasons"`
	ConsistencyToken string `json:"consistency_token"`
}

// The access-window report names who could have opened a door at some
// moment of a past window, as the system knew it then: a key handed over
// later or taken back earlier counts only for its time.
func TestAccessWindowReport(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	c := m.c
	b := mustBuilding(t, c, "Reported")
	room, _ := mustPost[space](t, c, "/spaces", map[string]any{"name": "Archive", "building_id": b.ID})
	ls, _ := mustPost[lockingSystem](t, c, "/locking-systems", map[string]any{"name": "Keys"})
	door, _ := mustPost[accessPoint](t, c, "/access-points", map[string]any{"point_name": "Archive door", "space_id": room.ID,
		"locking_system_id": ls.ID})
	person := func(first string) individual {
		p, _ := mustCreate(t, c, newIndividual(first, "Window", first+"-window@example.test"))
		return p
	}
	ada, bob, carol, dave := person("ada"), person("bob"), person("carol"), person("dave")
	keys := map[string]accessCredential{}
	for _, n := range []string{"W-1", "W-2", "W-3", "W-4"} {
		keys[n], _ = mustAccessCredential(t, c, keyBody(n))
	}
	requireStatus(t, c.do(t, "POST", "/api/v1/access-points/"+door.ID+"/access-credentials",
		map[string]any{"credential_ids": []string{keys["W-1"].ID, keys["W-2"].ID, keys["W-4"].ID}}), http.StatusOK)
	_, r := mustChange[accessRules](t, c, "PUT", "/api/v1/spaces/"+room.ID+"/access-rules", map[string]any{"rules": []map[string]any{
		{"id": "archivists", "individual_ids": []string{ada.ID, bob.ID, carol.ID}}}})
	assign := func(key string, who individual) response {
		_, r := mustChange[[]accessCredential](t, c, "POST", "/api/v1/access-credentials/assign",
			map[string]any{"credential_ids": []string{keys[key].ID}, "individual_id": who.ID})
		return r
	}
	assign("W-1", ada)
	assign("W-3", carol)    // not linked to the door
	r = assign("W-4", dave) // linked, but no rule names dave
	waitFor(t, m, token(r))
	pause := func() time.Time {
		time.Sleep(30 * time.Millisecond)
		now := time.Now()
		time.Sleep(30 * time.Millisecond)
		return now
	}
	t0 := pause()
	r = assign("W-2", bob) // bob from here on
	t1 := pause()
	_, r = mustChange[[]accessCredential](t, c, "POST", "/api/v1/access-credentials/return",
		map[string]any{"credential_ids": []string{keys["W-1"].ID}}) // ada no longer
	t2 := pause()
	t3 := pause()
	waitFor(t, m, token(r))

	report := func(from, to time.Time) []accessWindowEntry {
		t.Helper()
		q := url.Values{"access_point_id": {door.ID}, "from": {from.UTC().Format(time.RFC3339Nano)}, "to": {to.UTC().Format(time.RFC3339Nano)}}
		r := c.do(t, "GET", "/api/v1/reports/access-window?"+q.Encode(), nil)
		requireStatus(t, r, http.StatusOK)
		return decode[list[accessWindowEntry]](t, r).Data
	}
	who := func(es []accessWindowEntry) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.IndividualID)
		}
		return out
	}
	if got := who(report(t0.Add(-20*time.Millisecond), t0)); !slices.Equal(got, []string{ada.ID}) {
		t.Fatalf("before bob's key: %v, want only ada %s", got, ada.ID)
	}
	if got := who(report(t2, t3)); !slices.Equal(got, []string{bob.ID}) {
		t.Fatalf("after ada returned hers: %v, want only bob %s", got, bob.ID)
	}
	if got := who(report(t1, t2)); !slices.Equal(got, []string{ada.ID, bob.ID}) && !slices.Equal(got, []string{bob.ID, ada.ID}) {
		t.Fatalf("while ada still had hers and bob his: %v, want both", got)
	}
	all := report(t0.Add(-20*time.Millisecond), t3)
	if got := who(all); !slices.Equal(got, []string{ada.ID, bob.ID}) {
		t.Fatalf("the whole window: %v, want ada then bob", got)
	}
	e := all[1]
	if len(e.Reasons) != 2 || e.Reasons[0].CredentialID.Value != keys["W-2"].ID || e.Reasons[1].RuleID.Value != "archivists" {
		t.Fatalf("bob's entry does not say which key and rule: %+v", e)
	}
	if at, err := time.Parse(time.RFC3339Nano, e.FirstAllowedAt); err != nil || at.Before(t0) || at.After(t1) {
		t.Fatalf("bob's first moment %s is not when his key was handed over (between %s and %s)", e.FirstAllowedAt, t0, t1)
	}

	base := "/api/v1/reports/access-window?access_point_id=" + door.ID
	now := time.Now().UTC()
	requireNativeError(t, c.do(t, "GET", base+"&from="+now.Format(time.RFC3339), nil), http.StatusBadRequest, "BAD_REQUEST", "to")
	requireNativeError(t, c.do(t, "GET", base+"&from="+now.Format(time.RFC3339)+"&to="+now.Add(-time.Hour).Format(time.RFC3339), nil),
		http.StatusBadRequest, "BAD_REQUEST", "to")
	requireNativeError(t, c.do(t, "GET", base+"&from="+now.AddDate(0, -6, 0).Format(time.RFC3339)+"&to="+now.Format(time.RFC3339), nil),
		http.StatusBadRequest, "BAD_REQUEST", "to")
	requireNativeError(t, c.do(t, "GET", "/api/v1/reports/access-window?access_point_id=nowhere&from="+t0.UTC().Format(time.RFC3339Nano)+
		"&to="+t2.UTC().Format(time.RFC3339Nano), nil), http.StatusNotFound, "NOT_FOUND", "access_point_id")
}
