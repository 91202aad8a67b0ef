package http

import (
	"fmt"
	"net/http"

	"github.com/portcullis/portcullis/domain"
)

// The access rules of a space: GET answers them with the time zone their
// windows are read in (the space's location's); PUT replaces them as a
// whole. See domain/accessrule.go for what a rule means.

// accessRulesJSON is a space's rule set on the native face.
type accessRulesJSON struct {
	SpaceID  string           `json:"space_id"`
	TimeZone string           `json:"time_zone"`
	Rules    []accessRuleJSON `json:"rules"`
}

type accessRuleJSON struct {
	ID            string           `json:"id"`
	IndividualIDs []string         `json:"individual_ids"`
	Departments   []string         `json:"departments"`
	Schedule      []timeWindowJSON `json:"schedule"`
	ValidFrom     *string          `json:"valid_from"`
	ValidUntil    *string          `json:"valid_until"`
}

type timeWindowJSON struct {
	Days []string `json:"days"`
	From string   `json:"from"`
	To   string   `json:"to"`
}

func accessRulesFrom(spaceID, zone string, rules []domain.AccessRule) accessRulesJSON {
	out := accessRulesJSON{SpaceID: spaceID, TimeZone: zone, Rules: make([]accessRuleJSON, len(rules))}
	for i, r := range rules {
		j := accessRuleJSON{ID: r.ID, IndividualIDs: nonNil(r.IndividualIDs), Departments: nonNil(r.Departments),
			Schedule: make([]timeWindowJSON, len(r.Schedule)), ValidFrom: nullable(r.ValidFrom), ValidUntil: nullable(r.ValidUntil)}
		for k, w := range r.Schedule {
			j.Schedule[k] = timeWindowJSON{Days: w.Days, From: w.From, To: w.To}
		}
		out.Rules[i] = j
	}
	return out
}

func (s *Server) handleSpaceAccessRulesView(w http.ResponseWriter, r *http.Request) error {
	v, err := s.space(r)
	if err != nil {
		return err
	}
	zone, err := s.read(r).SpaceTimeZone(caller(r.Context()).Tenant, v)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(v.Version))
	writeJSON(w, http.StatusOK, nativeItem{Msg: "access rules of the space", Data: accessRulesFrom(v.ID, zone, v.Rules)})
	return nil
}

func (s *Server) handleSpaceAccessRulesReplace(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	m, err := meta(r)
	if err != nil {
		return err
	}
	obj, err := decodeObject(r)
	if err != nil {
		return err
	}
	if err := obj.only("rules"); err != nil {
		return err
	}
	rules, err := decodeAccessRules(obj)
	if err != nil {
		return err
	}
	res, err := s.cmd.ReplaceAccessRules(r.Context(), m, id, rules)
	if err != nil {
		return err
	}
	zone, err := s.cmd.SpaceTimeZone(r.Context(), m.Tenant, res.Record)
	if err != nil {
		return err
	}
	writeMutation(w, http.StatusOK, "access rules replaced", res.Result, accessRulesFrom(res.Record.ID, zone, res.Record.Rules))
	return nil
}

// decodeAccessRules reads "rules" strictly, naming every wrong input with
// its place, e.g. rules[1].schedule[0].days[2].
func decodeAccessRules(obj object) ([]domain.AccessRule, error) {
	raws, err := jsonArray(obj, "rules", "rules", false)
	if err != nil {
		return nil, err
	}
	rules := make([]domain.AccessRule, len(raws))
	for i, raw := range raws {
		name := fmt.Sprintf("rules[%d]", i)
		o, err := nestedObject(raw, name)
		if err != nil {
			return nil, err
		}
		if err := o.only("id", "individual_ids", "departments", "schedule", "valid_from", "valid_until"); err != nil {
			return nil, fieldWithin(name, err)
		}
		rule := &rules[i]
		for _, f := range []struct {
			field string
			dst   *string
		}{{"id", &rule.ID}, {"valid_from", &rule.ValidFrom}, {"valid_until", &rule.ValidUntil}} {
			if *f.dst, _, err = o.str(f.field, true); err != nil {
				return nil, fieldWithin(name, err)
			}
		}
		if rule.IndividualIDs, err = stringArray(o, "individual_ids", name+".individual_ids", true); err != nil {
			return nil, err
		}
		if rule.Departments, err = stringArray(o, "departments", name+".departments", true); err != nil {
			return nil, err
		}
		windows, err := jsonArray(o, "schedule", name+".schedule", true)
		if err != nil {
			return nil, err
		}
		for k, raw := range windows {
			wname := fmt.Sprintf("%s.schedule[%d]", name, k)
			wo, err := nestedObject(raw, wname)
			if err != nil {
				return nil, err
			}
			if err := wo.only("days", "from", "to"); err != nil {
				return nil, fieldWithin(wname, err)
			}
			var tw domain.TimeWindow
			if tw.Days, err = stringArray(wo, "days", wname+".days", false); err != nil {
				return nil, err
			}
			for _, f := range []struct {
				field string
				dst   *string
			}{{"from", &tw.From}, {"to", &tw.To}} {
				var present bool
				if *f.dst, present, err = wo.str(f.field, false); err != nil {
					return nil, fieldWithin(wname, err)
				}
				if !present {
					return nil, domain.Invalid(wname+"."+f.field, "is required")
				}
			}
			rule.Schedule = append(rule.Schedule, tw)
		}
	}
	return rules, nil
}
