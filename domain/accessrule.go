package domain

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// An access rule says who may enter a space (individuals by id, or anyone of
// a department) and when: weekly wall-clock windows in the time zone of the
// space's location, within an inclusive range of dates. A space's rules are
// replaced as a whole (space.access_rules_replaced); a rule admits on its
// own, so a set admits whom any of its rules admits.
//
// Choices where the contract is silent:
//   - An empty schedule means at any time of the valid dates.
//   - A window whose from is after its to runs past midnight: days names the
//     day it starts ("fri" 22:00–06:00 is Friday 22:00 to Saturday 06:00).
//     from equal to to is refused as ambiguous; to may be "24:00".
//   - from is inclusive, to exclusive; valid_from and valid_until are
//     inclusive dates of the location's calendar, checked against the moment
//     itself (the part of an overnight window past valid_until is outside).
//   - Departments match ignoring case and surrounding space.

// Weekdays are the day names a schedule uses, Sunday first as time.Weekday.
var Weekdays = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// Bounds of a rule set, so one PUT cannot grow a space's aggregate without
// limit.
const (
	maxAccessRules     = 200
	maxRuleIndividuals = 1000
	maxRuleDepartments = 100
	maxRuleWindows     = 50
)

// TimeWindow is one weekly window of a rule.
type TimeWindow struct {
	Days []string `msgpack:"days"`
	From string   `msgpack:"from"` // "HH:MM"
	To   string   `msgpack:"to"`   // "HH:MM", or "24:00"
}

// AccessRule is one rule of a space.
type AccessRule struct {
	ID            string       `msgpack:"id"`
	IndividualIDs []string     `msgpack:"individual_ids"`
	Departments   []string     `msgpack:"departments"`
	Schedule      []TimeWindow `msgpack:"schedule"`
	ValidFrom     string       `msgpack:"valid_from"`  // "2006-01-02"; "" for no start
	ValidUntil    string       `msgpack:"valid_until"` // "2006-01-02"; "" for no end
}

// Outcomes of matching a rule, for code that must tell them apart.
const (
	RuleAdmitted        = "admitted"
	RuleNotNamed        = "not_named"
	RuleNotYetValid     = "not_yet_valid"
	RuleNoLongerValid   = "no_longer_valid"
	RuleOutsideSchedule = "outside_schedule"
)

// RuleMatch is what one rule says about one person at one moment: the
// outcome, and a reason a person can read.
type RuleMatch struct {
	Outcome string
	Reason  string
}

// Admitted reports whether the rule lets the person in.
func (m RuleMatch) Admitted() bool { return m.Outcome == RuleAdmitted }

// Admits reports whether the rule lets individualID (of department) in at
// the moment at, reading its windows and dates in loc, with the reason.
func (r AccessRule) Admits(individualID, department string, at time.Time, loc *time.Location) (bool, string) {
	m := r.Match(individualID, department, at, loc)
	return m.Admitted(), m.Reason
}

// Match is Admits with the outcome spelled out. It is a pure function of
// its inputs: the access decision feeds it from the read models.
func (r AccessRule) Match(individualID, department string, at time.Time, loc *time.Location) RuleMatch {
	how := ""
	switch {
	case individualID != "" && slices.Contains(r.IndividualIDs, individualID):
		how = "names the individual"
	case department != "" && slices.ContainsFunc(r.Departments, func(d string) bool { return sameDepartment(d, department) }):
		how = fmt.Sprintf("admits department %q", strings.TrimSpace(department))
	default:
		return RuleMatch{RuleNotNamed, fmt.Sprintf("rule %s names neither the individual nor their department", r.ID)}
	}
	local := at.In(loc)
	date := local.Format(time.DateOnly)
	if r.ValidFrom != "" && date < r.ValidFrom {
		return RuleMatch{RuleNotYetValid, fmt.Sprintf("rule %s %s but is valid only from %s", r.ID, how, r.ValidFrom)}
	}
	if r.ValidUntil != "" && date > r.ValidUntil {
		return RuleMatch{RuleNoLongerValid, fmt.Sprintf("rule %s %s but was valid only until %s", r.ID, how, r.ValidUntil)}
	}
	if len(r.Schedule) == 0 {
		return RuleMatch{RuleAdmitted, fmt.Sprintf("rule %s %s at any time", r.ID, how)}
	}
	minute := local.Hour()*60 + local.Minute()
	today := local.Weekday()
	yesterday := (today + 6) % 7
	for _, w := range r.Schedule {
		from, _ := clockMinutes(w.From)
		to, _ := clockMinutes(w.To)
		for _, d := range w.Days {
			day := time.Weekday(slices.Index(Weekdays, d))
			var in bool
			if from < to {
				in = day == today && minute >= from && minute < to
			} else { // overnight: from the start day into the next
				in = (day == today && minute >= from) || (day == yesterday && minute < to)
			}
			if in {
				return RuleMatch{RuleAdmitted, fmt.Sprintf("rule %s %s on %s %s–%s (%s)", r.ID, how, d, w.From, w.To, loc)}
			}
		}
	}
	return RuleMatch{RuleOutsideSchedule, fmt.Sprintf("rule %s %s but not at %s %s (%s): outside its time windows",
		r.ID, how, Weekdays[today], local.Format("15:04"), loc)}
}

func sameDepartment(a, b string) bool {
	return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b))
}

// clockMinutes reads "HH:MM" (00:00 to 24:00) as minutes after midnight.
func clockMinutes(s string) (int, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	for _, i := range []int{0, 1, 3, 4} {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	h, m := int(s[0]-'0')*10+int(s[1]-'0'), int(s[3]-'0')*10+int(s[4]-'0')
	if m > 59 || h > 24 || (h == 24 && m != 0) {
		return 0, false
	}
	return h*60 + m, true
}

// NormalizeAccessRules checks a rule set as a client sent it and returns it
// as the event carries it: ids given to rules without one (newID(i) for
// rules[i]), names trimmed, repeats dropped. known, if not nil, says whether
// an individual id names a person of the tenant. Every error names the field
// with its index, e.g. rules[2].schedule[0].from.
func NormalizeAccessRules(rules []AccessRule, newID func(i int) string, known func(individualID string) bool) ([]AccessRule, error) {
	if len(rules) > maxAccessRules {
		return nil, Invalid("rules", "must hold at most %d rules", maxAccessRules)
	}
	out := make([]AccessRule, 0, len(rules))
	seen := map[string]int{}
	for i, r := range rules {
		f := fmt.Sprintf("rules[%d]", i)
		r.ID = strings.TrimSpace(r.ID)
		if r.ID == "" {
			r.ID = newID(i)
		} else if !ValidToken(r.ID) {
			return nil, Invalid(f+".id", "must be 1 to 64 letters, digits, '-' or '_'")
		}
		if j, dup := seen[r.ID]; dup {
			return nil, Invalid(f+".id", "repeats the id of rules[%d]", j)
		}
		seen[r.ID] = i
		var err error
		if r.IndividualIDs, err = normalizeRuleList(f+".individual_ids", r.IndividualIDs, maxRuleIndividuals, false, func(field, id string) error {
			if err := checkRef(field, id, true); err != nil {
				return err
			}
			if known != nil && !known(id) {
				return Invalid(field, "names no individual of this tenant")
			}
			return nil
		}); err != nil {
			return nil, err
		}
		if r.Departments, err = normalizeRuleList(f+".departments", r.Departments, maxRuleDepartments, true, func(field, d string) error {
			return checkName(field, d, true, 100)
		}); err != nil {
			return nil, err
		}
		if len(r.IndividualIDs) == 0 && len(r.Departments) == 0 {
			return nil, Invalid(f+".individual_ids", "a rule must name at least one individual or department")
		}
		if r.Schedule, err = normalizeSchedule(f+".schedule", r.Schedule); err != nil {
			return nil, err
		}
		for _, d := range []struct {
			field string
			value *string
		}{{f + ".valid_from", &r.ValidFrom}, {f + ".valid_until", &r.ValidUntil}} {
			*d.value = strings.TrimSpace(*d.value)
			if *d.value == "" {
				continue
			}
			if t, err := time.Parse(time.DateOnly, *d.value); err != nil || t.Format(time.DateOnly) != *d.value {
				return nil, Invalid(d.field, "must be a date like 2026-12-31")
			}
		}
		if r.ValidFrom != "" && r.ValidUntil != "" && r.ValidUntil < r.ValidFrom {
			return nil, Invalid(f+".valid_until", "must not be before valid_from (%s)", r.ValidFrom)
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// normalizeRuleList trims a list, drops repeats (ignoring case with fold)
// and checks every entry.
func normalizeRuleList(field string, in []string, max int, fold bool, check func(field, v string) error) ([]string, error) {
	if len(in) > max {
		return nil, Invalid(field, "must hold at most %d entries", max)
	}
	var out []string
	for i, v := range in {
		v = strings.TrimSpace(v)
		if err := check(fmt.Sprintf("%s[%d]", field, i), v); err != nil {
			return nil, err
		}
		if !slices.ContainsFunc(out, func(o string) bool { return o == v || (fold && strings.EqualFold(o, v)) }) {
			out = append(out, v)
		}
	}
	return out, nil
}

func normalizeSchedule(field string, in []TimeWindow) ([]TimeWindow, error) {
	if len(in) > maxRuleWindows {
		return nil, Invalid(field, "must hold at most %d windows", maxRuleWindows)
	}
	var out []TimeWindow
	for j, w := range in {
		f := fmt.Sprintf("%s[%d]", field, j)
		if len(w.Days) == 0 {
			return nil, Invalid(f+".days", "must name at least one day (%s)", strings.Join(Weekdays, ", "))
		}
		var days []string
		for k, d := range w.Days {
			d = strings.ToLower(strings.TrimSpace(d))
			if !slices.Contains(Weekdays, d) {
				return nil, Invalid(fmt.Sprintf("%s.days[%d]", f, k), "must be one of %s", strings.Join(Weekdays, ", "))
			}
			if !slices.Contains(days, d) {
				days = append(days, d)
			}
		}
		from, ok := clockMinutes(w.From)
		if !ok || from == 24*60 {
			return nil, Invalid(f+".from", "must be a time of day from 00:00 to 23:59")
		}
		to, ok := clockMinutes(w.To)
		if !ok {
			return nil, Invalid(f+".to", "must be a time of day from 00:00 to 24:00")
		}
		if from == to {
			return nil, Invalid(f+".to", "must differ from from (a window whose to is before its from runs past midnight)")
		}
		out = append(out, TimeWindow{Days: days, From: w.From, To: w.To})
	}
	return out, nil
}
