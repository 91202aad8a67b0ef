package domain

import (
	"maps"
	"slices"
	"strings"
	"time"
)

// AggregateBuilding is the aggregate type of a building. A building holds
// the tree of its spaces (which space sits in which), not only their ids:
// every creation, move and deletion of a space is appended together with an
// event on its building, so the building's state alone decides whether a
// parent space still has children and whether a move would put a space
// inside itself. Two concurrent moves that would together close a cycle
// both expect the building where they saw it, and only one lands.
const AggregateBuilding = "building"

// Event types of buildings.
const (
	TypeBuildingCreated       = "building.created"
	TypeBuildingUpdated       = "building.updated"
	TypeBuildingDeleted       = "building.deleted"
	TypeBuildingSpaceAttached = "building.space_attached"
	TypeBuildingSpaceMoved    = "building.space_moved"
	TypeBuildingSpaceDetached = "building.space_detached"
)

// BuildingFields are the client-set fields of a building.
type BuildingFields struct {
	Name       string `msgpack:"name"`
	LocationID string `msgpack:"location_id"`
}

// BuildingCreated starts a building.
type BuildingCreated struct {
	BuildingFields `msgpack:",inline"`
}

func (*BuildingCreated) EventType() string { return TypeBuildingCreated }
func (*BuildingCreated) EventVersion() int { return 1 }

// BuildingPatch names the fields a change sets; nil leaves a field alone. A
// change of LocationID is appended with the detach from the old location
// and the attach to the new one.
type BuildingPatch struct {
	Name       *string `msgpack:"name,omitempty"`
	LocationID *string `msgpack:"location_id,omitempty"`
}

// BuildingUpdated records changed fields of a building.
type BuildingUpdated struct {
	BuildingPatch `msgpack:",inline"`
}

func (*BuildingUpdated) EventType() string { return TypeBuildingUpdated }
func (*BuildingUpdated) EventVersion() int { return 1 }

// BuildingDeleted ends a building. Its history stays in the log.
type BuildingDeleted struct{}

func (*BuildingDeleted) EventType() string { return TypeBuildingDeleted }
func (*BuildingDeleted) EventVersion() int { return 1 }

// BuildingSpaceAttached records that a space now lies in the building,
// inside ParentID ("" at the top); appended with the space's creation or
// its move from another building.
type BuildingSpaceAttached struct {
	SpaceID  string `msgpack:"space_id"`
	ParentID string `msgpack:"parent_id"`
}

func (*BuildingSpaceAttached) EventType() string { return TypeBuildingSpaceAttached }
func (*BuildingSpaceAttached) EventVersion() int { return 1 }

// BuildingSpaceMoved records that a space of the building now lies inside
// ParentID ("" at the top); appended with the space's change of parent.
type BuildingSpaceMoved struct {
	SpaceID  string `msgpack:"space_id"`
	ParentID string `msgpack:"parent_id"`
}

func (*BuildingSpaceMoved) EventType() string { return TypeBuildingSpaceMoved }
func (*BuildingSpaceMoved) EventVersion() int { return 1 }

// BuildingSpaceDetached records that a space left the building; appended
// with the space's deletion or its move to another building.
type BuildingSpaceDetached struct {
	SpaceID string `msgpack:"space_id"`
}

func (*BuildingSpaceDetached) EventType() string { return TypeBuildingSpaceDetached }
func (*BuildingSpaceDetached) EventVersion() int { return 1 }

// SpaceTree maps every space of a building to the space it lies in ("" for
// one at the top). Like IDSet it is replaced, never changed in place.
type SpaceTree map[string]string

// Has reports whether space id lies in the building.
func (t SpaceTree) Has(id string) bool { _, ok := t[id]; return ok }

// IDs returns the ids of every space, sorted.
func (t SpaceTree) IDs() IDSet { return IDSet(slices.Sorted(maps.Keys(t))) }

// Children returns the ids of the spaces that lie directly in space id.
func (t SpaceTree) Children(id string) IDSet {
	var out IDSet
	for s, p := range t {
		if p == id {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

// Within reports whether space id lies in space ancestor, at any depth, or
// is it.
func (t SpaceTree) Within(id, ancestor string) bool {
	// The walk is bounded by the tree's size, so a damaged tree cannot loop.
	for range len(t) + 1 {
		if id == ancestor {
			return true
		}
		p, ok := t[id]
		if !ok || p == "" {
			return false
		}
		id = p
	}
	return false
}

func (t SpaceTree) with(id, parent string) SpaceTree {
	out := maps.Clone(t)
	if out == nil {
		out = SpaceTree{}
	}
	out[id] = parent
	return out
}

func (t SpaceTree) without(id string) SpaceTree {
	out := maps.Clone(t)
	delete(out, id)
	return out
}

// Building is the state of a building aggregate.
type Building struct {
	ID string
	BuildingFields
	Spaces    SpaceTree
	CreatedAt time.Time
	UpdatedAt time.Time
	Deleted   bool
}

// Exists reports whether the building was created and not deleted.
func (b *Building) Exists() bool { return !b.CreatedAt.IsZero() && !b.Deleted }

// Apply folds one event into the building.
func (b *Building) Apply(e Event) {
	b.UpdatedAt = e.OccurredAt
	switch d := e.Data.(type) {
	case *BuildingCreated:
		b.ID, b.BuildingFields, b.CreatedAt = e.Aggregate.ID, d.BuildingFields, e.OccurredAt
	case *BuildingUpdated:
		d.BuildingPatch.applyTo(&b.BuildingFields)
	case *BuildingDeleted:
		b.Deleted = true
	case *BuildingSpaceAttached:
		b.Spaces = b.Spaces.with(d.SpaceID, d.ParentID)
	case *BuildingSpaceMoved:
		b.Spaces = b.Spaces.with(d.SpaceID, d.ParentID)
	case *BuildingSpaceDetached:
		b.Spaces = b.Spaces.without(d.SpaceID)
	}
}

func (p BuildingPatch) applyTo(f *BuildingFields) {
	if p.Name != nil {
		f.Name = *p.Name
	}
	if p.LocationID != nil {
		f.LocationID = *p.LocationID
	}
}

// BuildingNotFound is the miss of a building that is not there (any more).
func BuildingNotFound(id string) *Error { return Errorf(CodeNotFound, "building %s not found", id) }

func validateBuilding(f BuildingFields) error {
	if err := checkName("name", f.Name, true, 200); err != nil {
		return err
	}
	return checkRef("location_id", f.LocationID, true)
}

// CreateBuilding decides the creation of a building; the caller attaches it
// to its location in the same append.
func (b *Building) CreateBuilding(in BuildingFields) ([]EventData, BuildingFields, error) {
	in.Name, in.LocationID = strings.TrimSpace(in.Name), strings.TrimSpace(in.LocationID)
	if !b.CreatedAt.IsZero() {
		return nil, in, Errorf(CodeConflict, "building %s already exists", b.ID)
	}
	if err := validateBuilding(in); err != nil {
		return nil, in, err
	}
	return []EventData{&BuildingCreated{BuildingFields: in}}, in, nil
}

// UpdateBuilding decides a change; a patch that changes nothing decides
// nothing. The caller reads LocationID off the event to move the building.
func (b *Building) UpdateBuilding(p BuildingPatch) ([]EventData, *BuildingUpdated, error) {
	if !b.Exists() {
		return nil, nil, BuildingNotFound(b.ID)
	}
	p.Name, p.LocationID = trimPtr(p.Name), trimPtr(p.LocationID)
	next := b.BuildingFields
	p.applyTo(&next)
	if err := validateBuilding(next); err != nil {
		return nil, nil, err
	}
	changed := BuildingPatch{Name: changedOnly(b.Name, p.Name), LocationID: changedOnly(b.LocationID, p.LocationID)}
	if changed == (BuildingPatch{}) {
		return nil, nil, nil
	}
	ev := &BuildingUpdated{BuildingPatch: changed}
	return []EventData{ev}, ev, nil
}

// DeleteBuilding decides the deletion; a building with spaces stays. names
// maps space ids to names for the conflict message.
func (b *Building) DeleteBuilding(names map[string]string) ([]EventData, error) {
	if !b.Exists() {
		return nil, BuildingNotFound(b.ID)
	}
	if err := childrenConflict("building", b.ID, Children{Kind: "spaces", IDs: b.Spaces.IDs(), Names: names}); err != nil {
		return nil, err
	}
	return []EventData{&BuildingDeleted{}}, nil
}

// AttachSpace decides that space id now lies in the building inside parent
// ("" at the top). field names the input that named this building, for the
// answer when it does not exist; a parent that is not a space of this
// building is bad input naming parent_id.
func (b *Building) AttachSpace(id, parent, field string) ([]EventData, error) {
	if !b.Exists() {
		return nil, parentMissing(field, "building")
	}
	if parent != "" && !b.Spaces.Has(parent) {
		return nil, Invalid("parent_id", "names no space of building %s", b.ID)
	}
	if p, ok := b.Spaces[id]; ok && p == parent {
		return nil, nil
	}
	return []EventData{&BuildingSpaceAttached{SpaceID: id, ParentID: parent}}, nil
}

// MoveSpace decides that space id, already in the building, now lies inside
// parent ("" at the top). A space cannot lie inside itself or inside one of
// the spaces it holds.
func (b *Building) MoveSpace(id, parent string) ([]EventData, error) {
	if !b.Exists() || !b.Spaces.Has(id) {
		return nil, Errorf(CodeNotFound, "space %s is not in building %s", id, b.ID)
	}
	if parent != "" && !b.Spaces.Has(parent) {
		return nil, Invalid("parent_id", "names no space of building %s", b.ID)
	}
	if parent != "" && b.Spaces.Within(parent, id) {
		return nil, Invalid("parent_id", "space %s lies inside space %s (or is it), so %s cannot move into it", parent, id, id)
	}
	if b.Spaces[id] == parent {
		return nil, nil
	}
	return []EventData{&BuildingSpaceMoved{SpaceID: id, ParentID: parent}}, nil
}

// DetachSpace decides that space id leaves the building, for its deletion
// or its move to another building. The decisions that call it (DeleteSpace,
// RelocateSpace) first refuse a space that other spaces lie in.
func (b *Building) DetachSpace(id string) []EventData {
	if !b.Spaces.Has(id) {
		return nil
	}
	return []EventData{&BuildingSpaceDetached{SpaceID: id}}
}

// ChildSpaces returns the ids of the spaces that lie directly in space id.
func (b *Building) ChildSpaces(id string) IDSet { return b.Spaces.Children(id) }
