package commands

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/portcullis/portcullis/domain"
)

// Spaces nest, and which space lies in which is kept by their building
// (domain.AggregateBuilding): a creation, move or deletion of a space is
// appended together with an event on its building. Creations queue on the
// building's in-process lock, so that creating many spaces in one building
// at once does not turn into a storm of retries.

// CreateSpace creates a space in its building, inside parent_id when given.
// A space given only a parent_id lies in its parent's building.
func (c *Commands) CreateSpace(ctx context.Context, meta Meta, in domain.SpaceFields) (Placed[domain.Space], error) {
	id := deriveID(meta.CommandID, "space", 0)
	ref := spaceRef(id)
	in.BuildingID, in.ParentID = strings.TrimSpace(in.BuildingID), strings.TrimSpace(in.ParentID)
	lock := ref
	if b, err := c.spaceBuilding(ctx, meta.Tenant, in); err == nil && domain.ValidToken(b) {
		lock = buildingRef(b)
	}
	return decidePlace(ctx, c, meta, lock, ref, "space", false,
		func(ctx context.Context, s snap[domain.Space]) ([]domain.EventData, []change, error) {
			var err error
			if in.BuildingID, err = c.spaceBuilding(ctx, meta.Tenant, in); err != nil {
				return nil, nil, err
			}
			data, fields, err := s.State.CreateSpace(id, in)
			if err != nil {
				return nil, nil, err
			}
			bref := buildingRef(fields.BuildingID)
			b, err := loadParent[domain.Building](ctx, c, meta.Tenant, bref)
			if err != nil {
				return nil, nil, err
			}
			attach, err := b.State.AttachSpace(id, fields.ParentID, "building_id")
			if err != nil {
				return nil, nil, err
			}
			return data, []change{decide(c, meta.Tenant, bref, b, attach, nil)}, nil
		})
}

// spaceBuilding is the building a new space goes to: the one named, else
// its parent's.
func (c *Commands) spaceBuilding(ctx context.Context, tenant string, in domain.SpaceFields) (string, error) {
	if in.BuildingID != "" || in.ParentID == "" || !domain.ValidToken(in.ParentID) {
		return in.BuildingID, nil
	}
	p, err := loadParent[domain.Space](ctx, c, tenant, spaceRef(in.ParentID))
	if err != nil {
		return "", err
	}
	if !p.State.Exists() {
		return "", domain.Invalid("parent_id", "names no space of this tenant")
	}
	return p.State.BuildingID, nil
}

// UpdateSpace changes fields of a space. A new parent_id or building_id
// moves it: within its building the building records the move (refusing a
// cycle); to another building it is detached from the old and attached to
// the new one, all in one append. A new parent_id alone implies the
// parent's building; a new building_id alone means the top of that building.
func (c *Commands) UpdateSpace(ctx context.Context, meta Meta, id string, p domain.SpacePatch) (Placed[domain.Space], error) {
	ref := spaceRef(id)
	return decidePlace(ctx, c, meta, ref, ref, "space", true,
		func(ctx context.Context, s snap[domain.Space]) ([]domain.EventData, []change, error) {
			p, err := c.resolveSpacePatch(ctx, meta.Tenant, s.State, p)
			if err != nil {
				return nil, nil, err
			}
			data, ev, err := s.State.UpdateSpace(p)
			if err != nil || ev == nil || (ev.BuildingID == nil && ev.ParentID == nil) {
				return data, nil, err
			}
			to, parent := s.State.BuildingID, s.State.ParentID
			if ev.BuildingID != nil {
				to = *ev.BuildingID
			}
			if ev.ParentID != nil {
				parent = *ev.ParentID
			}
			moves, err := c.relocateSpace(ctx, meta.Tenant, id, s.State.BuildingID, to, parent)
			return data, moves, err
		})
}

func (c *Commands) resolveSpacePatch(ctx context.Context, tenant string, cur domain.Space, p domain.SpacePatch) (domain.SpacePatch, error) {
	if p.ParentID != nil {
		v := strings.TrimSpace(*p.ParentID)
		p.ParentID = &v
	}
	if p.BuildingID != nil {
		v := strings.TrimSpace(*p.BuildingID)
		p.BuildingID = &v
	}
	if p.ParentID != nil && *p.ParentID != "" && p.BuildingID == nil {
		b, err := c.spaceBuilding(ctx, tenant, domain.SpaceFields{ParentID: *p.ParentID})
		if err != nil {
			return p, err
		}
		if b != "" {
			p.BuildingID = &b
		}
	}
	if p.BuildingID != nil && *p.BuildingID != cur.BuildingID && p.ParentID == nil {
		top := ""
		p.ParentID = &top
	}
	return p, nil
}

// relocateSpace decides the building events of moving space id from
// building from into parent of building to.
func (c *Commands) relocateSpace(ctx context.Context, tenant, id, from, to, parent string) ([]change, error) {
	fref, tref := buildingRef(from), buildingRef(to)
	f, err := load[domain.Building](ctx, c, tenant, fref)
	if err != nil {
		return nil, err
	}
	t := f
	if to != from {
		if t, err = loadParent[domain.Building](ctx, c, tenant, tref); err != nil {
			return nil, err
		}
	}
	var names map[string]string
	if to != from {
		if names, err = recordNames[domain.Space](ctx, c, tenant, spaceRef, f.State.ChildSpaces(id), spaceName, nil); err != nil {
			return nil, err
		}
	}
	fromEvents, toEvents, err := domain.RelocateSpace(id, &f.State, &t.State, parent, names)
	if err != nil {
		return nil, err
	}
	var changes []change
	if len(fromEvents) > 0 {
		changes = append(changes, decide(c, tenant, fref, f, fromEvents, nil))
	}
	if len(toEvents) > 0 {
		changes = append(changes, decide(c, tenant, tref, t, toEvents, nil))
	}
	return changes, nil
}

// DeleteSpace deletes a space that holds no spaces and no access points
// and detaches it from its building.
func (c *Commands) DeleteSpace(ctx context.Context, meta Meta, id string) (Placed[domain.Space], error) {
	ref := spaceRef(id)
	return decidePlace(ctx, c, meta, ref, ref, "space", true,
		func(ctx context.Context, s snap[domain.Space]) ([]domain.EventData, []change, error) {
			bref := buildingRef(s.State.BuildingID)
			b, err := load[domain.Building](ctx, c, meta.Tenant, bref)
			if err != nil {
				return nil, nil, err
			}
			names, err := recordNames[domain.Space](ctx, c, meta.Tenant, spaceRef, b.State.ChildSpaces(id), spaceName, nil)
			if err != nil {
				return nil, nil, err
			}
			if names, err = recordNames[domain.AccessPoint](ctx, c, meta.Tenant, accessPointRef, s.State.AccessPoints, accessPointName, names); err != nil {
				return nil, nil, err
			}
			data, detach, err := s.State.DeleteSpace(&b.State, names)
			if err != nil {
				return nil, nil, err
			}
			return data, []change{decide(c, meta.Tenant, bref, b, detach, nil)}, nil
		})
}

// maxAssign bounds how many access points one request moves.
const maxAssign = 1000

// AssignAccessPoints moves access points into a space in one atomic
// append: each access point's change, the detach from each old space and
// the attach to this one. It returns the access points as they are after.
func (c *Commands) AssignAccessPoints(ctx context.Context, meta Meta, spaceID string, ids []string) (Placed[domain.Space], []domain.AccessPoint, error) {
	ref := spaceRef(spaceID)
	var out []snap[domain.AccessPoint]
	res, err := decidePlace(ctx, c, meta, ref, ref, "space", true,
		func(ctx context.Context, s snap[domain.Space]) ([]domain.EventData, []change, error) {
			if len(ids) == 0 {
				return nil, nil, domain.Invalid("access_point_ids", "must name at least one id")
			}
			if len(ids) > maxAssign {
				return nil, nil, domain.Invalid("access_point_ids", "must name at most %d access points", maxAssign)
			}
			// Room for every id up front: decide keeps a pointer into out.
			out = make([]snap[domain.AccessPoint], 0, len(ids))
			var changes []change
			var moved []string
			from := map[string][]string{}
			seen := map[string]bool{}
			for i, apID := range ids {
				field := fmt.Sprintf("access_point_ids[%d]", i)
				if !domain.ValidToken(apID) {
					return nil, nil, domain.Invalid(field, "is not a valid id")
				}
				if seen[apID] {
					continue
				}
				seen[apID] = true
				aref := accessPointRef(apID)
				a, err := loadParent[domain.AccessPoint](ctx, c, meta.Tenant, aref)
				if err != nil {
					return nil, nil, err
				}
				if !a.State.Exists() {
					return nil, nil, domain.Invalid(field, "names no access point of this tenant")
				}
				out = append(out, a)
				if a.State.SpaceID == spaceID {
					continue
				}
				data, _, err := a.State.UpdateAccessPoint(domain.AccessPointPatch{SpaceID: &spaceID})
				if err != nil {
					return nil, nil, err
				}
				changes = append(changes, decide(c, meta.Tenant, aref, a, data, &out[len(out)-1]))
				moved = append(moved, apID)
				from[a.State.SpaceID] = append(from[a.State.SpaceID], apID)
			}
			if len(moved) == 0 {
				return nil, nil, nil
			}
			for _, old := range slices.Sorted(maps.Keys(from)) {
				oref := spaceRef(old)
				o, err := load[domain.Space](ctx, c, meta.Tenant, oref)
				if err != nil {
					return nil, nil, err
				}
				if data := o.State.DetachAccessPoints(from[old]); len(data) > 0 {
					changes = append(changes, decide(c, meta.Tenant, oref, o, data, nil))
				}
			}
			attach, err := s.State.AttachAccessPoints(moved, "id")
			return attach, changes, err
		})
	if err != nil {
		return res, nil, err
	}
	aps := make([]domain.AccessPoint, len(out))
	for i, a := range out {
		aps[i] = a.State
	}
	return res, aps, nil
}

// ReplaceAccessRules replaces a space's access rules. Every individual a
// rule names must be a person of the tenant when the rules are set (read
// from the log); one deleted later is simply never admitted.
func (c *Commands) ReplaceAccessRules(ctx context.Context, meta Meta, spaceID string, rules []domain.AccessRule) (Placed[domain.Space], error) {
	ref := spaceRef(spaceID)
	return decidePlace(ctx, c, meta, ref, ref, "space", true,
		func(ctx context.Context, s snap[domain.Space]) ([]domain.EventData, []change, error) {
			known := map[string]bool{}
			for _, r := range rules {
				for _, id := range r.IndividualIDs {
					id = strings.TrimSpace(id)
					if _, done := known[id]; done || !domain.ValidToken(id) {
						continue
					}
					ind, err := current[domain.Individual](ctx, c, meta.Tenant, individualRef(id))
					if err != nil {
						return nil, nil, err
					}
					known[id] = ind.Exists()
				}
			}
			newID := func(i int) string { return deriveID(meta.CommandID, "access_rule", i) }
			data, _, err := s.State.ReplaceAccessRules(rules, newID, func(id string) bool { return known[id] })
			return data, nil, err
		})
}

// SpaceTimeZone is the time zone a space's access rules are read in, its
// location's, as the log has it.
func (c *Commands) SpaceTimeZone(ctx context.Context, tenant string, s domain.Space) (string, error) {
	b, err := current[domain.Building](ctx, c, tenant, buildingRef(s.BuildingID))
	if err != nil {
		return "", err
	}
	l, err := current[domain.Location](ctx, c, tenant, locationRef(b.LocationID))
	return l.TimeZone, err
}
