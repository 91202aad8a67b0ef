package domain

import (
	"fmt"
	"slices"
	"time"
)

// An access decision answers "may this person open this door at this
// moment?" from what the system knows: the person, the door, the
// credentials the person holds and the doors they are linked to, and the
// access rules of the door's space and the spaces around it. It is a pure
// function of those inputs (the read models feed it), so the same inputs
// taken from an earlier state of the log answer for an earlier moment.
//
// Both keys and rules must agree: a person needs a usable credential linked
// to the door AND a rule of the door's space (or of a space that contains
// it) admitting them at that moment. A space without rules admits no one:
// access is denied by default. A refusal lists every reason, so that the
// person reading it learns everything that is missing at once.

// Reason codes of a decision. The first two explain a grant; the rest are
// what is missing.
const (
	ReasonCredential          = "credential"            // a usable credential is linked to the door
	ReasonRule                = "rule"                  // a rule admits the person now
	ReasonIndividualInactive  = "individual_inactive"   // the person is not active
	ReasonAccessPointInactive = "access_point_inactive" // the door is inactive or in maintenance
	ReasonNoCredential        = "no_credential"         // the person holds no credential
	ReasonNotLinked           = "not_linked"            // no credential of theirs is linked to the door
	ReasonCredentialPending   = "credential_pending"    // assigned but not yet confirmed
	ReasonCredentialDisabled  = "credential_disabled"   // disabled, lost, stolen or damaged
	ReasonCredentialNotYet    = "credential_not_yet_valid"
	ReasonCredentialExpired   = "credential_expired"
	ReasonNoRule              = "no_rule"              // no rule names the person or their department
	ReasonRuleNotYetValid     = "rule_not_yet_valid"   // a rule names them, from a later date
	ReasonRuleNoLongerValid   = "rule_no_longer_valid" // a rule named them, until an earlier date
	ReasonOutsideTimeWindow   = "outside_time_window"  // a rule names them, at other times
)

// The credential and door states a decision asks about.
const (
	credentialStatusPending    = "pending"
	credentialStatusActive     = "active"
	accessPointStatusOperating = AccessPointActive
)

// DecisionPerson is the person a decision is about.
type DecisionPerson struct {
	ID         string
	Department string
	Status     string
}

// DecisionDoor is the access point a decision is about.
type DecisionDoor struct {
	ID     string
	Status string
}

// DecisionCredential is one credential the person holds (assigned or
// pending), with whether it is linked to the door.
type DecisionCredential struct {
	ID               string
	CredentialID     string // the number stamped on it, for the reasons
	Status           string
	StatusAssignment string
	ValidFrom        time.Time // zero: no start
	ValidUntil       time.Time // zero: no end
	Linked           bool
}

// SpaceRules are the rules of one space on the way from the door's space
// outwards.
type SpaceRules struct {
	SpaceID string
	Rules   []AccessRule
}

// DecisionInput is everything a decision reads.
type DecisionInput struct {
	At          time.Time
	Location    *time.Location // the zone rules are read in: the door's location's
	Person      DecisionPerson
	Door        DecisionDoor
	Credentials []DecisionCredential
	Spaces      []SpaceRules // the door's space first, then each enclosing space
}

// Reason is one line of a decision: a code a program can act on, a
// message a person can read, and what it is about.
type Reason struct {
	Code         string
	Message      string
	CredentialID string // the credential's record id, when about one
	RuleID       string
	SpaceID      string
}

// Decision is the answer.
type Decision struct {
	Allowed bool
	Reasons []Reason
}

// Decide decides. See the comment at the top of this file for the policy.
func Decide(in DecisionInput) Decision {
	loc := in.Location
	if loc == nil {
		loc = time.UTC
	}
	var missing []Reason
	if in.Person.Status != IndividualActive {
		missing = append(missing, Reason{Code: ReasonIndividualInactive,
			Message: fmt.Sprintf("individual %s is %s", in.Person.ID, in.Person.Status)})
	}
	if in.Door.Status != accessPointStatusOperating {
		missing = append(missing, Reason{Code: ReasonAccessPointInactive,
			Message: fmt.Sprintf("access point %s is %s", in.Door.ID, in.Door.Status)})
	}
	key, keyProblems := decideCredential(in)
	rule, ruleProblems := decideRule(in, loc)
	missing = append(append(missing, keyProblems...), ruleProblems...)
	if len(missing) > 0 {
		return Decision{Allowed: false, Reasons: missing}
	}
	return Decision{Allowed: true, Reasons: []Reason{key, rule}}
}

// decideCredential finds a usable credential linked to the door, or says
// why there is none.
func decideCredential(in DecisionInput) (Reason, []Reason) {
	if len(in.Credentials) == 0 {
		return Reason{}, []Reason{{Code: ReasonNoCredential,
			Message: fmt.Sprintf("individual %s holds no credential", in.Person.ID)}}
	}
	var problems []Reason
	linked := 0
	for _, c := range in.Credentials {
		if !c.Linked {
			continue
		}
		linked++
		name := "credential " + c.CredentialID
		switch {
		case c.StatusAssignment == credentialStatusPending:
			problems = append(problems, Reason{Code: ReasonCredentialPending, CredentialID: c.ID,
				Message: name + " is assigned but not yet confirmed by the individual"})
		case c.Status != credentialStatusActive:
			problems = append(problems, Reason{Code: ReasonCredentialDisabled, CredentialID: c.ID,
				Message: fmt.Sprintf("%s is %s", name, c.Status)})
		case !c.ValidFrom.IsZero() && in.At.Before(c.ValidFrom):
			problems = append(problems, Reason{Code: ReasonCredentialNotYet, CredentialID: c.ID,
				Message: fmt.Sprintf("%s is valid only from %s", name, c.ValidFrom.UTC().Format(time.RFC3339))})
		case !c.ValidUntil.IsZero() && !in.At.Before(c.ValidUntil):
			problems = append(problems, Reason{Code: ReasonCredentialExpired, CredentialID: c.ID,
				Message: fmt.Sprintf("%s expired at %s", name, c.ValidUntil.UTC().Format(time.RFC3339))})
		default:
			return Reason{Code: ReasonCredential, CredentialID: c.ID,
				Message: fmt.Sprintf("%s is linked to access point %s", name, in.Door.ID)}, nil
		}
	}
	if linked == 0 {
		return Reason{}, []Reason{{Code: ReasonNotLinked, Message: fmt.Sprintf(
			"none of the %d credentials individual %s holds is linked to access point %s",
			len(in.Credentials), in.Person.ID, in.Door.ID)}}
	}
	return Reason{}, problems
}

// ruleReason maps a rule's outcome to a decision's reason code.
var ruleReason = map[string]string{
	RuleNotYetValid:     ReasonRuleNotYetValid,
	RuleNoLongerValid:   ReasonRuleNoLongerValid,
	RuleOutsideSchedule: ReasonOutsideTimeWindow,
}

// decideRule finds a rule that admits the person now, nearest space first,
// or says why none does: every rule that names the person tells what is
// wrong; if none names them, that is the reason.
func decideRule(in DecisionInput, loc *time.Location) (Reason, []Reason) {
	var problems []Reason
	for _, sp := range in.Spaces {
		for _, r := range sp.Rules {
			m := r.Match(in.Person.ID, in.Person.Department, in.At, loc)
			switch {
			case m.Admitted():
				return Reason{Code: ReasonRule, RuleID: r.ID, SpaceID: sp.SpaceID,
					Message: fmt.Sprintf("space %s: %s", sp.SpaceID, m.Reason)}, nil
			case m.Outcome != RuleNotNamed:
				problems = append(problems, Reason{Code: ruleReason[m.Outcome], RuleID: r.ID, SpaceID: sp.SpaceID,
					Message: fmt.Sprintf("space %s: %s", sp.SpaceID, m.Reason)})
			}
		}
	}
	if len(problems) == 0 {
		return Reason{}, []Reason{{Code: ReasonNoRule, Message: fmt.Sprintf(
			"no access rule of the access point's space or the spaces around it names individual %s or their department",
			in.Person.ID)}}
	}
	return Reason{}, problems
}

// FirstAllowed looks for the first instant in [from, to) at which the
// inputs (a state that holds through that interval) let the person in, and
// returns the decision at that instant. Whether a person may enter changes
// within a constant state only where a credential or a rule starts to
// admit (a credential's valid_from, a rule's first valid day, the start of
// one of its weekly windows), so those instants and from itself are the
// only ones that need deciding.
func FirstAllowed(in DecisionInput, from, to time.Time) (Decision, time.Time, bool) {
	loc := in.Location
	if loc == nil {
		loc = time.UTC
	}
	candidates := []time.Time{from}
	add := func(t time.Time) {
		if t.After(from) && t.Before(to) {
			candidates = append(candidates, t)
		}
	}
	for _, c := range in.Credentials {
		if c.Linked && !c.ValidFrom.IsZero() {
			add(c.ValidFrom)
		}
	}
	startOfDay := func(t time.Time) time.Time {
		y, m, d := t.In(loc).Date()
		return time.Date(y, m, d, 0, 0, 0, 0, loc)
	}
	for _, sp := range in.Spaces {
		for _, r := range sp.Rules {
			if r.ValidFrom != "" {
				if d, err := time.ParseInLocation(time.DateOnly, r.ValidFrom, loc); err == nil {
					add(d)
				}
			}
			for day := startOfDay(from); day.Before(to); day = day.AddDate(0, 0, 1) {
				for _, w := range r.Schedule {
					start, ok := clockMinutes(w.From)
					if !ok {
						continue
					}
					for _, name := range w.Days {
						if name == Weekdays[day.Weekday()] {
							y, m, d := day.Date()
							add(time.Date(y, m, d, start/60, start%60, 0, 0, loc))
						}
					}
				}
			}
		}
	}
	slices.SortFunc(candidates, func(a, b time.Time) int { return a.Compare(b) })
	for _, t := range candidates {
		in.At = t
		if d := Decide(in); d.Allowed {
			return d, t, true
		}
	}
	return Decision{}, time.Time{}, false
}
