package domain_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/domain"
)

func TestAccessRuleAdmits(t *testing.T) {
	zurich, err := time.LoadLocation("Europe/Zurich")
	if err != nil {
		t.Fatal(err)
	}
	office := domain.AccessRule{ID: "office", IndividualIDs: []string{"ada"}, Departments: []string{"Engineering"},
		Schedule:  []domain.TimeWindow{{Days: []string{"mon", "tue", "wed", "thu", "fri"}, From: "08:00", To: "18:00"}},
		ValidFrom: "2026-01-01", ValidUntil: "2026-12-31"}
	night := domain.AccessRule{ID: "night", Departments: []string{"Security"},
		Schedule: []domain.TimeWindow{{Days: []string{"fri"}, From: "22:00", To: "06:00"}}}
	always := domain.AccessRule{ID: "always", IndividualIDs: []string{"bob"}}
	allDay := domain.AccessRule{ID: "allday", IndividualIDs: []string{"bob"},
		Schedule: []domain.TimeWindow{{Days: []string{"sun"}, From: "00:00", To: "24:00"}}}
	// at reads a wall-clock time in Zurich.
	at := func(s string) time.Time {
		t.Helper()
		v, err := time.ParseInLocation("2006-01-02 15:04", s, zurich)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	// 2026-03-06 is a Friday; 2026-03-29 is the spring DST change in Zurich.
	for _, c := range []struct {
		name       string
		rule       domain.AccessRule
		individual string
		department string
		at         time.Time
		want       string
		reason     string
	}{
		{"named individual in window", office, "ada", "", at("2026-03-06 09:00"), domain.RuleAdmitted, "names the individual"},
		{"department in window", office, "eve", "Engineering", at("2026-03-06 17:59"), domain.RuleAdmitted, `department "Engineering"`},
		{"department ignores case", office, "eve", " engineering ", at("2026-03-06 08:00"), domain.RuleAdmitted, "fri 08:00–18:00"},
		{"neither named nor department", office, "eve", "Sales", at("2026-03-06 09:00"), domain.RuleNotNamed, "names neither"},
		{"no department given", office, "eve", "", at("2026-03-06 09:00"), domain.RuleNotNamed, ""},
		{"window end is exclusive", office, "ada", "", at("2026-03-06 18:00"), domain.RuleOutsideSchedule, "fri 18:00"},
		{"before the window", office, "ada", "", at("2026-03-06 07:59"), domain.RuleOutsideSchedule, "outside its time windows"},
		{"weekend", office, "ada", "", at("2026-03-07 10:00"), domain.RuleOutsideSchedule, "sat 10:00"},
		{"before valid_from", office, "ada", "", at("2025-12-31 09:00"), domain.RuleNotYetValid, "valid only from 2026-01-01"},
		{"on valid_from", office, "ada", "", at("2026-01-01 09:00"), domain.RuleAdmitted, ""},
		{"on valid_until", office, "ada", "", at("2026-12-31 17:00"), domain.RuleAdmitted, ""},
		{"after valid_until", office, "ada", "", at("2027-01-01 09:00"), domain.RuleNoLongerValid, "until 2026-12-31"},
		{"dates read in the location's zone", office, "ada", "", time.Date(2025, 12, 31, 23, 30, 0, 0, time.UTC),
			domain.RuleOutsideSchedule, "thu 00:30"}, // 00:30 on 2026-01-01 in Zurich: valid, but no window
		{"window read in the location's zone", office, "ada", "", time.Date(2026, 3, 6, 7, 30, 0, 0, time.UTC),
			domain.RuleAdmitted, ""}, // 08:30 in Zurich
		{"overnight start day", night, "", "Security", at("2026-03-06 23:00"), domain.RuleAdmitted, "fri 22:00–06:00"},
		{"overnight into the next day", night, "", "Security", at("2026-03-07 05:59"), domain.RuleAdmitted, ""},
		{"overnight end is exclusive", night, "", "Security", at("2026-03-07 06:00"), domain.RuleOutsideSchedule, ""},
		{"overnight not the evening before", night, "", "Security", at("2026-03-06 05:00"), domain.RuleOutsideSchedule, ""},
		{"empty schedule at any time", always, "bob", "", at("2026-03-08 03:00"), domain.RuleAdmitted, "at any time"},
		{"24:00 ends the day", allDay, "bob", "", at("2026-03-08 23:59"), domain.RuleAdmitted, ""},
		{"24:00 does not spill over", allDay, "bob", "", at("2026-03-09 00:00"), domain.RuleOutsideSchedule, ""},
		{"wall clock across DST", office, "ada", "", at("2026-03-30 08:00"), domain.RuleAdmitted, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := c.rule.Match(c.individual, c.department, c.at, zurich)
			ok, reason := c.rule.Admits(c.individual, c.department, c.at, zurich)
			if m.Outcome != c.want || ok != (c.want == domain.RuleAdmitted) || reason != m.Reason {
				t.Fatalf("got %s (%v, %q), want %s", m.Outcome, ok, reason, c.want)
			}
			if !strings.Contains(m.Reason, c.reason) || !strings.Contains(m.Reason, c.rule.ID) {
				t.Fatalf("reason %q does not name the rule or contain %q", m.Reason, c.reason)
			}
		})
	}
}

func TestNormalizeAccessRules(t *testing.T) {
	newID := func(i int) string { return fmt.Sprintf("gen-%d", i) }
	good := func() domain.AccessRule {
		return domain.AccessRule{IndividualIDs: []string{"ada", "ada"}, Departments: []string{" Ops ", "ops"},
			Schedule: []domain.TimeWindow{{Days: []string{"Mon", "mon"}, From: "08:00", To: "18:00"}}, ValidFrom: "2026-01-01"}
	}
	rules, err := domain.NormalizeAccessRules([]domain.AccessRule{good(), func() domain.AccessRule { r := good(); r.ID = "mine"; return r }()}, newID, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := rules[0]
	if r.ID != "gen-0" || rules[1].ID != "mine" || len(r.IndividualIDs) != 1 || len(r.Departments) != 1 || r.Departments[0] != "Ops" ||
		len(r.Schedule[0].Days) != 1 || r.Schedule[0].Days[0] != "mon" {
		t.Fatalf("normalized %+v", rules)
	}
	if rules, err := domain.NormalizeAccessRules(nil, newID, nil); rules != nil || err != nil {
		t.Fatalf("an empty set: %v %v", rules, err)
	}
	for _, c := range []struct {
		field string
		edit  func(*domain.AccessRule)
	}{
		{"rules[1].id", func(r *domain.AccessRule) { r.ID = "a b" }},
		{"rules[1].individual_ids", func(r *domain.AccessRule) { r.IndividualIDs, r.Departments = nil, nil }},
		{"rules[1].individual_ids[0]", func(r *domain.AccessRule) { r.IndividualIDs = []string{"x.y"} }},
		{"rules[1].departments[1]", func(r *domain.AccessRule) { r.Departments = []string{"a", " "} }},
		{"rules[1].schedule[0].days", func(r *domain.AccessRule) { r.Schedule[0].Days = nil }},
		{"rules[1].schedule[0].days[1]", func(r *domain.AccessRule) { r.Schedule[0].Days = []string{"mon", "funday"} }},
		{"rules[1].schedule[0].from", func(r *domain.AccessRule) { r.Schedule[0].From = "8:00" }},
		{"rules[1].schedule[0].from", func(r *domain.AccessRule) { r.Schedule[0].From = "24:00" }},
		{"rules[1].schedule[0].to", func(r *domain.AccessRule) { r.Schedule[0].To = "18:60" }},
		{"rules[1].schedule[0].to", func(r *domain.AccessRule) { r.Schedule[0].To = "24:01" }},
		{"rules[1].schedule[0].to", func(r *domain.AccessRule) { r.Schedule[0].To = "08:00" }},
		{"rules[1].valid_from", func(r *domain.AccessRule) { r.ValidFrom = "2026-02-30" }},
		{"rules[1].valid_until", func(r *domain.AccessRule) { r.ValidUntil = "31.12.2026" }},
		{"rules[1].valid_until", func(r *domain.AccessRule) { r.ValidUntil = "2025-12-31" }},
	} {
		t.Run(c.field, func(t *testing.T) {
			bad := good()
			c.edit(&bad)
			_, err := domain.NormalizeAccessRules([]domain.AccessRule{good(), bad}, newID, nil)
			requireErr(t, err, domain.CodeInvalid, c.field)
		})
	}
	_, err = domain.NormalizeAccessRules([]domain.AccessRule{good(), {IndividualIDs: []string{"ada", "ghost"}}}, newID,
		func(id string) bool { return id == "ada" })
	requireErr(t, err, domain.CodeInvalid, "rules[1].individual_ids[1]", "names no individual")
	_, err = domain.NormalizeAccessRules([]domain.AccessRule{{ID: "a", IndividualIDs: []string{"x"}}, {ID: "a", IndividualIDs: []string{"y"}}}, newID, nil)
	requireErr(t, err, domain.CodeInvalid, "rules[1].id", "rules[0]")
}
