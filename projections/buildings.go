package projections

import (
	"time"

	"github.com/portcullis/portcullis/domain"
)

var bucketBuildings = []byte("buildings") // tenant,id → Building

// Building is the read model of a building. SpaceCount counts every space
// in it, at any depth.
type Building struct {
	ID         string    `msgpack:"id"`
	Name       string    `msgpack:"name"`
	LocationID string    `msgpack:"location_id"`
	SpaceCount int       `msgpack:"space_count"`
	CreatedAt  time.Time `msgpack:"created_at"`
	UpdatedAt  time.Time `msgpack:"updated_at"`
	Deleted    bool      `msgpack:"deleted,omitempty"`
	CreatedSeq uint64    `msgpack:"created_seq"`
	Version    uint64    `msgpack:"version"`
}

func (b Building) created() uint64 { return b.CreatedSeq }
func (b Building) live() bool      { return b.CreatedSeq != 0 && !b.Deleted }
func (b Building) dims() []dim     { return []dim{{"location_id", b.LocationID}} }

// BuildingOrderFields are the fields a list of buildings sorts on.
var BuildingOrderFields = []string{"created_at", "updated_at", "name"}

// BuildingFilter narrows a list of buildings; Search matches the name.
type BuildingFilter struct {
	LocationID string
	Search     string
	// AsOf, when set, lists as the read models stood at that position.
	AsOf *uint64
}

type buildingsProjection struct{}

func (buildingsProjection) apply(tx *vtx, e domain.Event) error {
	if e.Aggregate.Type != domain.AggregateBuilding {
		return nil
	}
	return applyPlace(tx, bucketBuildings, domain.AggregateBuilding, e, func(b *Building) bool {
		switch d := e.Data.(type) {
		case *domain.BuildingCreated:
			*b = Building{ID: e.Aggregate.ID, Name: d.Name, LocationID: d.LocationID, CreatedAt: e.OccurredAt, CreatedSeq: e.Sequence}
		case *domain.BuildingUpdated:
			setString(&b.Name, d.Name)
			setString(&b.LocationID, d.LocationID)
		case *domain.BuildingDeleted:
			b.Deleted = true
		case *domain.BuildingSpaceAttached:
			b.SpaceCount++
		case *domain.BuildingSpaceMoved:
		case *domain.BuildingSpaceDetached:
			b.SpaceCount--
		default:
			return false
		}
		stamp(&b.UpdatedAt, &b.Version, e)
		return true
	})
}

// Building returns one live building of a tenant.
func (db *DB) Building(tenant, id string) (Building, bool, error) {
	b, found, err := getPlace[Building](db, bucketBuildings, tenant, id)
	return b, found && b.live(), err
}

// Buildings returns one page of a tenant's live buildings and the number
// that match.
func (db *DB) Buildings(tenant string, f BuildingFilter, order []domain.Order, page domain.Page) ([]Building, int, error) {
	q := placeQuery[Building]{asOf: f.AsOf, bucket: bucketBuildings, kind: domain.AggregateBuilding, order: order,
		filters: []dim{{"location_id", f.LocationID}},
		compare: func(a, b Building, field string) int {
			switch field {
			case "updated_at":
				return compareTimes(a.UpdatedAt, b.UpdatedAt)
			case "name":
				return compareText(a.Name, b.Name)
			}
			return 0
		}}
	if f.Search != "" {
		q.match = func(b Building) bool { return placeSearch(f.Search, b.Name) }
	}
	return listPlaces(db, tenant, q, page)
}
