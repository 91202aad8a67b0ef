package projections

import (
	"time"

	"github.com/portcullis/portcullis/domain"
)

var bucketLocations = []byte("locations") // tenant,id → Location

// Location is the read model of a location.
type Location struct {
	ID            string    `msgpack:"id"`
	Name          string    `msgpack:"name"`
	Address       string    `msgpack:"address"`
	TimeZone      string    `msgpack:"time_zone"`
	BuildingCount int       `msgpack:"building_count"`
	CreatedAt     time.Time `msgpack:"created_at"`
	UpdatedAt     time.Time `msgpack:"updated_at"`
	Deleted       bool      `msgpack:"deleted,omitempty"`
	CreatedSeq    uint64    `msgpack:"created_seq"`
	Version       uint64    `msgpack:"version"`
}

func (l Location) created() uint64 { return l.CreatedSeq }
func (l Location) live() bool      { return l.CreatedSeq != 0 && !l.Deleted }
func (l Location) dims() []dim     { return nil }

// LocationOrderFields are the fields a list of locations sorts on.
var LocationOrderFields = []string{"created_at", "updated_at", "name", "time_zone"}

// LocationFilter narrows a list of locations; Search matches name and
// address.
type LocationFilter struct {
	Search string
	// AsOf, when set, lists as the read models stood at that position.
	AsOf *uint64
}

type locationsProjection struct{}

func (locationsProjection) apply(tx *vtx, e domain.Event) error {
	if e.Aggregate.Type != domain.AggregateLocation {
		return nil
	}
	return applyPlace(tx, bucketLocations, domain.AggregateLocation, e, func(l *Location) bool {
		switch d := e.Data.(type) {
		case *domain.LocationCreated:
			*l = Location{ID: e.Aggregate.ID, Name: d.Name, Address: d.Address, TimeZone: d.TimeZone,
				CreatedAt: e.OccurredAt, CreatedSeq: e.Sequence}
		case *domain.LocationUpdated:
			setString(&l.Name, d.Name)
			setString(&l.Address, d.Address)
			setString(&l.TimeZone, d.TimeZone)
		case *domain.LocationDeleted:
			l.Deleted = true
		case *domain.LocationBuildingAttached:
			l.BuildingCount++
		case *domain.LocationBuildingDetached:
			l.BuildingCount--
		default:
			return false
		}
		stamp(&l.UpdatedAt, &l.Version, e)
		return true
	})
}

// setString applies one optional field of a patch event.
func setString(dst *string, src *string) {
	if src != nil {
		*dst = *src
	}
}

// Location returns one live location of a tenant.
func (db *DB) Location(tenant, id string) (Location, bool, error) {
	l, found, err := getPlace[Location](db, bucketLocations, tenant, id)
	return l, found && l.live(), err
}

// Locations returns one page of a tenant's live locations and the number
// that match.
func (db *DB) Locations(tenant string, f LocationFilter, order []domain.Order, page domain.Page) ([]Location, int, error) {
	q := placeQuery[Location]{asOf: f.AsOf, bucket: bucketLocations, kind: domain.AggregateLocation, order: order,
		compare: func(a, b Location, field string) int {
			switch field {
			case "updated_at":
				return compareTimes(a.UpdatedAt, b.UpdatedAt)
			case "name":
				return compareText(a.Name, b.Name)
			case "time_zone":
				return compareText(a.TimeZone, b.TimeZone)
			}
			return 0
		}}
	if f.Search != "" {
		q.match = func(l Location) bool { return placeSearch(f.Search, l.Name, l.Address) }
	}
	return listPlaces(db, tenant, q, page)
}
