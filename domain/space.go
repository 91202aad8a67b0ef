package domain

import (
	"reflect"
	"strings"
	"time"
)

// AggregateSpace is the aggregate type of a space: a room, floor or zone of
// a building; spaces nest. Which space lies in which is kept by the building
// (see AggregateBuilding); the space itself holds the ids of its access
// points and its access rules.
const AggregateSpace = "space"

// Event types of spaces.
const (
	TypeSpaceCreated              = "space.created"
	TypeSpaceUpdated              = "space.updated"
	TypeSpaceDeleted              = "space.deleted"
	TypeSpaceAccessPointsAttached = "space.access_points_attached"
	TypeSpaceAccessPointsDetached = "space.access_points_detached"
	TypeSpaceAccessRulesReplaced  = "space.access_rules_replaced"
)

// SpaceFields are the client-set fields of a space. ParentID is "" for a
// space at the top of its building.
type SpaceFields struct {
	Name            string `msgpack:"name"`
	BuildingID      string `msgpack:"building_id"`
	ParentID        string `msgpack:"parent_id"`
	DeleteProtected bool   `msgpack:"delete_protected"`
}

// SpaceCreated starts a space.
type SpaceCreated struct {
	SpaceFields `msgpack:",inline"`
}

func (*SpaceCreated) EventType() string { return TypeSpaceCreated }
func (*SpaceCreated) EventVersion() int { return 1 }

// SpacePatch names the fields a change sets; nil leaves a field alone, and
// a ParentID of "" moves the space to the top of its building. A change of
// BuildingID or ParentID is appended with the events on the buildings.
type SpacePatch struct {
	Name            *string `msgpack:"name,omitempty"`
	BuildingID      *string `msgpack:"building_id,omitempty"`
	ParentID        *string `msgpack:"parent_id,omitempty"`
	DeleteProtected *bool   `msgpack:"delete_protected,omitempty"`
}

// SpaceUpdated records changed fields of a space.
type SpaceUpdated struct {
	SpacePatch `msgpack:",inline"`
}

func (*SpaceUpdated) EventType() string { return TypeSpaceUpdated }
func (*SpaceUpdated) EventVersion() int { return 1 }

// SpaceDeleted ends a space. Its history stays in the log.
type SpaceDeleted struct{}

func (*SpaceDeleted) EventType() string { return TypeSpaceDeleted }
func (*SpaceDeleted) EventVersion() int { return 1 }

// SpaceAccessPointsAttached records that access points now belong to the
// space; appended with their creation or move.
type SpaceAccessPointsAttached struct {
	AccessPointIDs []string `msgpack:"access_point_ids"`
}

func (*SpaceAccessPointsAttached) EventType() string { return TypeSpaceAccessPointsAttached }
func (*SpaceAccessPointsAttached) EventVersion() int { return 1 }

// SpaceAccessPointsDetached records that access points left the space;
// appended with their deletion or move.
type SpaceAccessPointsDetached struct {
	AccessPointIDs []string `msgpack:"access_point_ids"`
}

func (*SpaceAccessPointsDetached) EventType() string { return TypeSpaceAccessPointsDetached }
func (*SpaceAccessPointsDetached) EventVersion() int { return 1 }

// SpaceAccessRulesReplaced replaces the space's access rules as a whole.
type SpaceAccessRulesReplaced struct {
	Rules []AccessRule `msgpack:"rules"`
}

func (*SpaceAccessRulesReplaced) EventType() string { return TypeSpaceAccessRulesReplaced }
func (*SpaceAccessRulesReplaced) EventVersion() int { return 1 }

// Space is the state of a space aggregate.
type Space struct {
	ID string
	SpaceFields
	AccessPoints IDSet
	// Rules are replaced as a whole, never changed in place.
	Rules     []AccessRule
	CreatedAt time.Time
	UpdatedAt time.Time
	Deleted   bool
}

// Exists reports whether the space was created and not deleted.
func (s *Space) Exists() bool { return !s.CreatedAt.IsZero() && !s.Deleted }

// Apply folds one event into the space.
func (s *Space) Apply(e Event) {
	s.UpdatedAt = e.OccurredAt
	switch d := e.Data.(type) {
	case *SpaceCreated:
		s.ID, s.SpaceFields, s.CreatedAt = e.Aggregate.ID, d.SpaceFields, e.OccurredAt
	case *SpaceUpdated:
		d.SpacePatch.applyTo(&s.SpaceFields)
	case *SpaceDeleted:
		s.Deleted = true
	case *SpaceAccessPointsAttached:
		s.AccessPoints = s.AccessPoints.With(d.AccessPointIDs...)
	case *SpaceAccessPointsDetached:
		s.AccessPoints = s.AccessPoints.Without(d.AccessPointIDs...)
	case *SpaceAccessRulesReplaced:
		s.Rules = d.Rules
	}
}

func (p SpacePatch) applyTo(f *SpaceFields) {
	for _, x := range []struct{ dst, src *string }{{&f.Name, p.Name}, {&f.BuildingID, p.BuildingID}, {&f.ParentID, p.ParentID}} {
		if x.src != nil {
			*x.dst = *x.src
		}
	}
	if p.DeleteProtected != nil {
		f.DeleteProtected = *p.DeleteProtected
	}
}

// SpaceNotFound is the miss of a space that is not there (any more).
func SpaceNotFound(id string) *Error { return Errorf(CodeNotFound, "space %s not found", id) }

func validateSpace(f SpaceFields) error {
	if err := checkName("name", f.Name, true, 200); err != nil {
		return err
	}
	if err := checkRef("building_id", f.BuildingID, true); err != nil {
		return err
	}
	return checkRef("parent_id", f.ParentID, false)
}

// CreateSpace decides the creation of space id. The caller has resolved
// BuildingID (from parent_id when only that was given) and attaches the
// space to its building in the same append.
func (s *Space) CreateSpace(id string, in SpaceFields) ([]EventData, SpaceFields, error) {
	in.Name, in.BuildingID, in.ParentID = strings.TrimSpace(in.Name), strings.TrimSpace(in.BuildingID), strings.TrimSpace(in.ParentID)
	if !s.CreatedAt.IsZero() {
		return nil, in, Errorf(CodeConflict, "space %s already exists", id)
	}
	if err := validateSpace(in); err != nil {
		return nil, in, err
	}
	if in.ParentID == id {
		return nil, in, Invalid("parent_id", "a space cannot lie inside itself")
	}
	return []EventData{&SpaceCreated{SpaceFields: in}}, in, nil
}

// UpdateSpace decides a change; a patch that changes nothing decides
// nothing. The caller has resolved BuildingID and ParentID together (a new
// parent implies its building; a new building without a parent means its
// top) and reads them off the event to move the space with RelocateSpace.
func (s *Space) UpdateSpace(p SpacePatch) ([]EventData, *SpaceUpdated, error) {
	if !s.Exists() {
		return nil, nil, SpaceNotFound(s.ID)
	}
	p.Name, p.BuildingID, p.ParentID = trimPtr(p.Name), trimPtr(p.BuildingID), trimPtr(p.ParentID)
	next := s.SpaceFields
	p.applyTo(&next)
	if err := validateSpace(next); err != nil {
		return nil, nil, err
	}
	if next.ParentID == s.ID {
		return nil, nil, Invalid("parent_id", "a space cannot lie inside itself")
	}
	changed := SpacePatch{Name: changedOnly(s.Name, p.Name), BuildingID: changedOnly(s.BuildingID, p.BuildingID),
		ParentID: changedOnly(s.ParentID, p.ParentID), DeleteProtected: changedBool(s.DeleteProtected, p.DeleteProtected)}
	if changed == (SpacePatch{}) {
		return nil, nil, nil
	}
	ev := &SpaceUpdated{SpacePatch: changed}
	return []EventData{ev}, ev, nil
}

// RelocateSpace decides the building events of moving space id inside
// parent ("" for the top) of building to, from building from (the same
// state when it stays in its building). A space that other spaces lie in
// moves within its building with them, but does not change building: that
// would split the tree. names maps space ids to names for that refusal.
func RelocateSpace(id string, from, to *Building, parent string, names map[string]string) (fromEvents, toEvents []EventData, err error) {
	if from.ID == to.ID {
		toEvents, err = to.MoveSpace(id, parent)
		return nil, toEvents, err
	}
	if kids := from.ChildSpaces(id); len(kids) > 0 {
		return nil, nil, Errorf(CodeConflict, "space %s holds %s; it can change building only once they are moved or deleted",
			id, Children{Kind: "spaces", IDs: kids, Names: names}.describe())
	}
	if toEvents, err = to.AttachSpace(id, parent, "building_id"); err != nil {
		return nil, nil, err
	}
	return from.DetachSpace(id), toEvents, nil
}

// DeleteSpace decides the deletion of the space, which lies in building b:
// the space's event and the building's. A delete-protected space, or one
// that still holds spaces or access points, stays; names maps their ids to
// names for the conflict message.
func (s *Space) DeleteSpace(b *Building, names map[string]string) (spaceEvents, buildingEvents []EventData, err error) {
	if !s.Exists() {
		return nil, nil, SpaceNotFound(s.ID)
	}
	if s.DeleteProtected {
		return nil, nil, deleteProtected("space", s.ID)
	}
	if err := childrenConflict("space", s.ID,
		Children{Kind: "spaces", IDs: b.ChildSpaces(s.ID), Names: names},
		Children{Kind: "access points", IDs: s.AccessPoints, Names: names}); err != nil {
		return nil, nil, err
	}
	return []EventData{&SpaceDeleted{}}, b.DetachSpace(s.ID), nil
}

// AttachAccessPoints decides that access points ids now belong to the
// space; ids already here are left out. field names the input that named
// this space, for the answer when it does not exist.
func (s *Space) AttachAccessPoints(ids []string, field string) ([]EventData, error) {
	if !s.Exists() {
		return nil, parentMissing(field, "space")
	}
	var add []string
	for _, id := range ids {
		if !s.AccessPoints.Has(id) {
			add = append(add, id)
		}
	}
	if len(add) == 0 {
		return nil, nil
	}
	return []EventData{&SpaceAccessPointsAttached{AccessPointIDs: add}}, nil
}

// DetachAccessPoints decides that access points ids left the space; those
// that were not here are left out.
func (s *Space) DetachAccessPoints(ids []string) []EventData {
	var drop []string
	for _, id := range ids {
		if s.AccessPoints.Has(id) {
			drop = append(drop, id)
		}
	}
	if len(drop) == 0 {
		return nil
	}
	return []EventData{&SpaceAccessPointsDetached{AccessPointIDs: drop}}
}

// ReplaceAccessRules decides a new rule set for the space (see
// NormalizeAccessRules for what is checked, newID for rules without an id
// and known for the individuals named); the same rules again decide nothing.
func (s *Space) ReplaceAccessRules(rules []AccessRule, newID func(i int) string, known func(string) bool) ([]EventData, []AccessRule, error) {
	if !s.Exists() {
		return nil, nil, SpaceNotFound(s.ID)
	}
	rules, err := NormalizeAccessRules(rules, newID, known)
	if err != nil {
		return nil, nil, err
	}
	if reflect.DeepEqual(rules, s.Rules) {
		return nil, rules, nil
	}
	return []EventData{&SpaceAccessRulesReplaced{Rules: rules}}, rules, nil
}
