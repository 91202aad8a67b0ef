package domain

import (
	"strings"
	"time"
)

// AggregateLocation is the aggregate type of a location: a site with an
// address and the time zone in which the access rules of its spaces read
// their wall-clock windows. It holds the ids of its buildings.
const AggregateLocation = "location"

// Event types of locations.
const (
	TypeLocationCreated          = "location.created"
	TypeLocationUpdated          = "location.updated"
	TypeLocationDeleted          = "location.deleted"
	TypeLocationBuildingAttached = "location.building_attached"
	TypeLocationBuildingDetached = "location.building_detached"
)

// LocationFields are the client-set fields of a location. TimeZone is an
// IANA zone name such as "Europe/Zurich".
type LocationFields struct {
	Name     string `msgpack:"name"`
	Address  string `msgpack:"address"`
	TimeZone string `msgpack:"time_zone"`
}

// LocationCreated starts a location.
type LocationCreated struct {
	LocationFields `msgpack:",inline"`
}

func (*LocationCreated) EventType() string { return TypeLocationCreated }
func (*LocationCreated) EventVersion() int { return 1 }

// LocationPatch names the fields a change sets; nil leaves a field alone.
type LocationPatch struct {
	Name     *string `msgpack:"name,omitempty"`
	Address  *string `msgpack:"address,omitempty"`
	TimeZone *string `msgpack:"time_zone,omitempty"`
}

// LocationUpdated records changed fields of a location.
type LocationUpdated struct {
	LocationPatch `msgpack:",inline"`
}

func (*LocationUpdated) EventType() string { return TypeLocationUpdated }
func (*LocationUpdated) EventVersion() int { return 1 }

// LocationDeleted ends a location. Its history stays in the log.
type LocationDeleted struct{}

func (*LocationDeleted) EventType() string { return TypeLocationDeleted }
func (*LocationDeleted) EventVersion() int { return 1 }

// LocationBuildingAttached records that a building now stands at the
// location; appended with the building's creation or move.
type LocationBuildingAttached struct {
	BuildingID string `msgpack:"building_id"`
}

func (*LocationBuildingAttached) EventType() string { return TypeLocationBuildingAttached }
func (*LocationBuildingAttached) EventVersion() int { return 1 }

// LocationBuildingDetached records that a building left the location;
// appended with the building's deletion or move.
type LocationBuildingDetached struct {
	BuildingID string `msgpack:"building_id"`
}

func (*LocationBuildingDetached) EventType() string { return TypeLocationBuildingDetached }
func (*LocationBuildingDetached) EventVersion() int { return 1 }

// Location is the state of a location aggregate.
type Location struct {
	ID string
	LocationFields
	Buildings IDSet
	CreatedAt time.Time
	UpdatedAt time.Time
	Deleted   bool
}

// Exists reports whether the location was created and not deleted.
func (l *Location) Exists() bool { return !l.CreatedAt.IsZero() && !l.Deleted }

// Apply folds one event into the location.
func (l *Location) Apply(e Event) {
	l.UpdatedAt = e.OccurredAt
	switch d := e.Data.(type) {
	case *LocationCreated:
		l.ID, l.LocationFields, l.CreatedAt = e.Aggregate.ID, d.LocationFields, e.OccurredAt
	case *LocationUpdated:
		for _, x := range []struct{ dst, src *string }{
			{&l.Name, d.Name}, {&l.Address, d.Address}, {&l.TimeZone, d.TimeZone},
		} {
			if x.src != nil {
				*x.dst = *x.src
			}
		}
	case *LocationDeleted:
		l.Deleted = true
	case *LocationBuildingAttached:
		l.Buildings = l.Buildings.With(d.BuildingID)
	case *LocationBuildingDetached:
		l.Buildings = l.Buildings.Without(d.BuildingID)
	}
}

// LocationNotFound is the miss of a location that is not there (any more).
func LocationNotFound(id string) *Error { return Errorf(CodeNotFound, "location %s not found", id) }

// DefaultTimeZone is the zone of a location created without one.
const DefaultTimeZone = "UTC"

// CheckTimeZone reports whether name is an IANA time zone this process
// knows. "Local" is refused: it would mean whatever zone the server runs in.
func CheckTimeZone(field, name string) error {
	if name == "" || name == "Local" {
		return Invalid(field, "must be an IANA time zone such as Europe/Zurich")
	}
	if _, err := time.LoadLocation(name); err != nil {
		return Invalid(field, "%q is not an IANA time zone", name)
	}
	return nil
}

func validateLocation(f LocationFields) error {
	if err := checkName("name", f.Name, true, 200); err != nil {
		return err
	}
	if err := checkName("address", f.Address, false, 500); err != nil {
		return err
	}
	return CheckTimeZone("time_zone", f.TimeZone)
}

// CreateLocation decides the creation of a location; the returned fields are
// the normalized ones the event carries.
func (l *Location) CreateLocation(in LocationFields) ([]EventData, LocationFields, error) {
	in.Name, in.Address, in.TimeZone = strings.TrimSpace(in.Name), strings.TrimSpace(in.Address), strings.TrimSpace(in.TimeZone)
	if in.TimeZone == "" {
		in.TimeZone = DefaultTimeZone
	}
	if !l.CreatedAt.IsZero() {
		return nil, in, Errorf(CodeConflict, "location %s already exists", l.ID)
	}
	if err := validateLocation(in); err != nil {
		return nil, in, err
	}
	return []EventData{&LocationCreated{LocationFields: in}}, in, nil
}

// UpdateLocation decides a change; a patch that changes nothing decides
// nothing.
func (l *Location) UpdateLocation(p LocationPatch) ([]EventData, error) {
	if !l.Exists() {
		return nil, LocationNotFound(l.ID)
	}
	p.Name, p.Address, p.TimeZone = trimPtr(p.Name), trimPtr(p.Address), trimPtr(p.TimeZone)
	next := l.LocationFields
	for _, x := range []struct{ dst, src *string }{{&next.Name, p.Name}, {&next.Address, p.Address}, {&next.TimeZone, p.TimeZone}} {
		if x.src != nil {
			*x.dst = *x.src
		}
	}
	if err := validateLocation(next); err != nil {
		return nil, err
	}
	changed := LocationPatch{Name: changedOnly(l.Name, p.Name), Address: changedOnly(l.Address, p.Address),
		TimeZone: changedOnly(l.TimeZone, p.TimeZone)}
	if changed == (LocationPatch{}) {
		return nil, nil
	}
	return []EventData{&LocationUpdated{LocationPatch: changed}}, nil
}

// DeleteLocation decides the deletion; a location with buildings stays.
// names maps building ids to names for the conflict message.
func (l *Location) DeleteLocation(names map[string]string) ([]EventData, error) {
	if !l.Exists() {
		return nil, LocationNotFound(l.ID)
	}
	if err := childrenConflict("location", l.ID, Children{Kind: "buildings", IDs: l.Buildings, Names: names}); err != nil {
		return nil, err
	}
	return []EventData{&LocationDeleted{}}, nil
}

// AttachBuilding decides that building id now stands here. field names the
// input that named this location, for the answer when it does not exist.
func (l *Location) AttachBuilding(id, field string) ([]EventData, error) {
	if !l.Exists() {
		return nil, parentMissing(field, "location")
	}
	if l.Buildings.Has(id) {
		return nil, nil
	}
	return []EventData{&LocationBuildingAttached{BuildingID: id}}, nil
}

// DetachBuilding decides that building id left; nothing if it was not here.
func (l *Location) DetachBuilding(id string) []EventData {
	if !l.Buildings.Has(id) {
		return nil
	}
	return []EventData{&LocationBuildingDetached{BuildingID: id}}
}
