package domain_test

import (
	"slices"
	"testing"
	"time"

	"github.com/portcullis/portcullis/domain"
)

// The decision table: given a person, a door, the person's credentials and
// the rules around the door, at a moment, then allowed or not with these
// reason codes.
func TestDecide(t *testing.T) {
	zurich, err := time.LoadLocation("Europe/Zurich")
	if err != nil {
		t.Fatal(err)
	}
	// Tuesday 2026-03-10, 09:30 in Zurich (08:30 UTC).
	tueMorning := time.Date(2026, 3, 10, 9, 30, 0, 0, zurich)
	tueNight := time.Date(2026, 3, 10, 23, 30, 0, 0, zurich)
	office := domain.AccessRule{ID: "office-hours", IndividualIDs: []string{"ada"},
		Schedule: []domain.TimeWindow{{Days: []string{"mon", "tue", "wed", "thu", "fri"}, From: "07:00", To: "19:00"}}}
	research := domain.AccessRule{ID: "research", Departments: []string{"Research"}}
	future := domain.AccessRule{ID: "from-april", IndividualIDs: []string{"ada"}, ValidFrom: "2026-04-01"}
	past := domain.AccessRule{ID: "until-feb", IndividualIDs: []string{"ada"}, ValidUntil: "2026-02-28"}
	key := func(edit func(*domain.DecisionCredential)) domain.DecisionCredential {
		c := domain.DecisionCredential{ID: "cred-1", CredentialID: "0042", Status: "active", StatusAssignment: "assigned", Linked: true}
		if edit != nil {
			edit(&c)
		}
		return c
	}
	base := func() domain.DecisionInput {
		return domain.DecisionInput{At: tueMorning, Location: zurich,
			Person:      domain.DecisionPerson{ID: "ada", Department: "Engineering", Status: "active"},
			Door:        domain.DecisionDoor{ID: "front-door", Status: "active"},
			Credentials: []domain.DecisionCredential{key(nil)},
			Spaces:      []domain.SpaceRules{{SpaceID: "lobby", Rules: []domain.AccessRule{office}}}}
	}
	cases := []struct {
		name    string
		edit    func(*domain.DecisionInput)
		allowed bool
		codes   []string
	}{
		{"linked key and office hours", nil, true, []string{"credential", "rule"}},
		{"department rule of an enclosing space", func(in *domain.DecisionInput) {
			in.Person.ID, in.Person.Department = "bob", "research "
			in.Spaces = append(in.Spaces, domain.SpaceRules{SpaceID: "building", Rules: []domain.AccessRule{research}})
		}, true, []string{"credential", "rule"}},
		{"one of two keys is usable", func(in *domain.DecisionInput) {
			in.Credentials = []domain.DecisionCredential{key(func(c *domain.DecisionCredential) { c.ID, c.Status = "cred-0", "lost" }), key(nil)}
		}, true, []string{"credential", "rule"}},
		{"no credential", func(in *domain.DecisionInput) { in.Credentials = nil }, false, []string{"no_credential"}},
		{"key not linked", func(in *domain.DecisionInput) {
			in.Credentials = []domain.DecisionCredential{key(func(c *domain.DecisionCredential) { c.Linked = false })}
		}, false, []string{"not_linked"}},
		{"key disabled", func(in *domain.DecisionInput) {
			in.Credentials = []domain.DecisionCredential{key(func(c *domain.DecisionCredential) { c.Status = "disabled" })}
		}, false, []string{"credential_disabled"}},
		{"key stolen", func(in *domain.DecisionInput) {
			in.Credentials = []domain.DecisionCredential{key(func(c *domain.DecisionCredential) { c.Status = "stolen" })}
		}, false, []string{"credential_disabled"}},
		{"key expired", func(in *domain.DecisionInput) {
			in.Credentials = []domain.DecisionCredential{key(func(c *domain.DecisionCredential) { c.ValidUntil = tueMorning.Add(-time.Hour) })}
		}, false, []string{"credential_expired"}},
		{"key expires at that very moment", func(in *domain.DecisionInput) {
			in.Credentials = []domain.DecisionCredential{key(func(c *domain.DecisionCredential) { c.ValidUntil = tueMorning })}
		}, false, []string{"credential_expired"}},
		{"key not yet valid", func(in *domain.DecisionInput) {
			in.Credentials = []domain.DecisionCredential{key(func(c *domain.DecisionCredential) { c.ValidFrom = tueMorning.Add(time.Hour) })}
		}, false, []string{"credential_not_yet_valid"}},
		{"key pending confirmation", func(in *domain.DecisionInput) {
			in.Credentials = []domain.DecisionCredential{key(func(c *domain.DecisionCredential) { c.StatusAssignment = "pending" })}
		}, false, []string{"credential_pending"}},
		{"outside the time window", func(in *domain.DecisionInput) { in.At = tueNight }, false, []string{"outside_time_window"}},
		{"window read in the location's zone, not UTC", func(in *domain.DecisionInput) {
			in.At = time.Date(2026, 3, 10, 18, 30, 0, 0, time.UTC) // 19:30 in Zurich
		}, false, []string{"outside_time_window"}},
		{"no rule names the person", func(in *domain.DecisionInput) { in.Person.ID = "eve" }, false, []string{"no_rule"}},
		{"a space without rules admits no one", func(in *domain.DecisionInput) { in.Spaces[0].Rules = nil }, false, []string{"no_rule"}},
		{"rule not yet valid", func(in *domain.DecisionInput) { in.Spaces[0].Rules = []domain.AccessRule{future} }, false, []string{"rule_not_yet_valid"}},
		{"rule no longer valid", func(in *domain.DecisionInput) { in.Spaces[0].Rules = []domain.AccessRule{past} }, false, []string{"rule_no_longer_valid"}},
		{"a later rule admits where an earlier one does not", func(in *domain.DecisionInput) {
			in.At = tueNight
			in.Spaces[0].Rules = []domain.AccessRule{office, {ID: "always", IndividualIDs: []string{"ada"}}}
		}, true, []string{"credential", "rule"}},
		{"person inactive", func(in *domain.DecisionInput) { in.Person.Status = "suspended" }, false, []string{"individual_inactive"}},
		{"door in maintenance", func(in *domain.DecisionInput) { in.Door.Status = "maintenance" }, false, []string{"access_point_inactive"}},
		{"everything missing at once is said at once", func(in *domain.DecisionInput) {
			in.Person.Status, in.Credentials, in.At = "inactive", nil, tueNight
		}, false, []string{"individual_inactive", "no_credential", "outside_time_window"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := base()
			if c.edit != nil {
				c.edit(&in)
			}
			got := domain.Decide(in)
			var codes []string
			for _, r := range got.Reasons {
				codes = append(codes, r.Code)
				if r.Message == "" {
					t.Errorf("reason %s has no message", r.Code)
				}
			}
			if got.Allowed != c.allowed || !slices.Equal(codes, c.codes) {
				t.Fatalf("got allowed=%v %v, want allowed=%v %v (%+v)", got.Allowed, codes, c.allowed, c.codes, got.Reasons)
			}
		})
	}
	// A grant names the credential and the rule that made it.
	got := domain.Decide(base())
	if got.Reasons[0].CredentialID != "cred-1" || got.Reasons[1].RuleID != "office-hours" || got.Reasons[1].SpaceID != "lobby" {
		t.Fatalf("grant reasons do not name what granted: %+v", got.Reasons)
	}
}

// The first instant of an interval at which a state lets the person in is
// found where access starts: the interval's start, a window opening, a key
// becoming valid; never when nothing in the interval admits.
func TestFirstAllowed(t *testing.T) {
	zurich, _ := time.LoadLocation("Europe/Zurich")
	in := domain.DecisionInput{Location: zurich,
		Person: domain.DecisionPerson{ID: "ada", Status: "active"}, Door: domain.DecisionDoor{ID: "d", Status: "active"},
		Credentials: []domain.DecisionCredential{{ID: "k", CredentialID: "1", Status: "active", StatusAssignment: "assigned", Linked: true}},
		Spaces: []domain.SpaceRules{{SpaceID: "s", Rules: []domain.AccessRule{{ID: "r", IndividualIDs: []string{"ada"},
			Schedule: []domain.TimeWindow{{Days: []string{"tue"}, From: "08:00", To: "09:00"}}}}}}}
	at := func(s string) time.Time { t, _ := time.ParseInLocation("2006-01-02 15:04", s, zurich); return t }
	cases := []struct {
		name     string
		edit     func(*domain.DecisionInput)
		from, to string
		want     string // "" for never
	}{
		{"inside the window from the start", nil, "2026-03-10 08:30", "2026-03-10 10:00", "2026-03-10 08:30"},
		{"the window opens later", nil, "2026-03-09 12:00", "2026-03-11 12:00", "2026-03-10 08:00"},
		{"ends just as the window opens", nil, "2026-03-09 12:00", "2026-03-10 08:00", ""},
		{"a night only", nil, "2026-03-10 20:00", "2026-03-11 06:00", ""},
		{"the key becomes valid inside the window", func(in *domain.DecisionInput) {
			in.Credentials[0].ValidFrom = at("2026-03-10 08:45")
		}, "2026-03-10 07:00", "2026-03-10 12:00", "2026-03-10 08:45"},
		{"the key is not linked", func(in *domain.DecisionInput) { in.Credentials[0].Linked = false },
			"2026-03-09 00:00", "2026-03-16 00:00", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := in
			in.Credentials = slices.Clone(in.Credentials)
			if c.edit != nil {
				c.edit(&in)
			}
			d, when, ok := domain.FirstAllowed(in, at(c.from), at(c.to))
			if c.want == "" {
				if ok {
					t.Fatalf("allowed at %s, want never", when)
				}
				return
			}
			if !ok || !when.Equal(at(c.want)) || !d.Allowed {
				t.Fatalf("got %v at %s, want allowed at %s", ok, when.In(zurich), c.want)
			}
		})
	}
}
