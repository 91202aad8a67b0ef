package projections

import (
	"time"

	"github.com/portcullis/portcullis/domain"
)

var bucketSpaces = []byte("spaces") // tenant,id → Space

// Space is the read model of a space, with its access rules.
type Space struct {
	ID               string              `msgpack:"id"`
	Name             string              `msgpack:"name"`
	BuildingID       string              `msgpack:"building_id"`
	ParentID         string              `msgpack:"parent_id"`
	DeleteProtected  bool                `msgpack:"delete_protected"`
	AccessPointCount int                 `msgpack:"access_point_count"`
	Rules            []domain.AccessRule `msgpack:"rules"`
	CreatedAt        time.Time           `msgpack:"created_at"`
	UpdatedAt        time.Time           `msgpack:"updated_at"`
	Deleted          bool                `msgpack:"deleted,omitempty"`
	CreatedSeq       uint64              `msgpack:"created_seq"`
	Version          uint64              `msgpack:"version"`
}

func (s Space) created() uint64 { return s.CreatedSeq }
func (s Space) live() bool      { return s.CreatedSeq != 0 && !s.Deleted }
func (s Space) dims() []dim {
	d := []dim{{"building_id", s.BuildingID}}
	if s.ParentID != "" {
		d = append(d, dim{"parent_id", s.ParentID})
	}
	return d
}

// SpaceOrderFields are the fields a list of spaces sorts on.
var SpaceOrderFields = []string{"created_at", "updated_at", "name"}

// SpaceFilter narrows a list of spaces; Search matches the name.
type SpaceFilter struct {
	BuildingID string
	ParentID   string
	Search     string
	// AsOf, when set, lists as the read models stood at that position.
	AsOf *uint64
}

type spacesProjection struct{}

func (spacesProjection) apply(tx *vtx, e domain.Event) error {
	if e.Aggregate.Type != domain.AggregateSpace {
		return nil
	}
	return applyPlace(tx, bucketSpaces, domain.AggregateSpace, e, func(s *Space) bool {
		switch d := e.Data.(type) {
		case *domain.SpaceCreated:
			*s = Space{ID: e.Aggregate.ID, Name: d.Name, BuildingID: d.BuildingID, ParentID: d.ParentID,
				DeleteProtected: d.DeleteProtected, CreatedAt: e.OccurredAt, CreatedSeq: e.Sequence}
		case *domain.SpaceUpdated:
			setString(&s.Name, d.Name)
			setString(&s.BuildingID, d.BuildingID)
			setString(&s.ParentID, d.ParentID)
			if d.DeleteProtected != nil {
				s.DeleteProtected = *d.DeleteProtected
			}
		case *domain.SpaceDeleted:
			s.Deleted = true
		case *domain.SpaceAccessPointsAttached:
			s.AccessPointCount += len(d.AccessPointIDs)
		case *domain.SpaceAccessPointsDetached:
			s.AccessPointCount -= len(d.AccessPointIDs)
		case *domain.SpaceAccessRulesReplaced:
			s.Rules = d.Rules
		default:
			return false
		}
		stamp(&s.UpdatedAt, &s.Version, e)
		return true
	})
}

// Space returns one live space of a tenant.
func (db *DB) Space(tenant, id string) (Space, bool, error) {
	s, found, err := getPlace[Space](db, bucketSpaces, tenant, id)
	return s, found && s.live(), err
}

// Spaces returns one page of a tenant's live spaces and the number that
// match.
func (db *DB) Spaces(tenant string, f SpaceFilter, order []domain.Order, page domain.Page) ([]Space, int, error) {
	q := placeQuery[Space]{asOf: f.AsOf, bucket: bucketSpaces, kind: domain.AggregateSpace, order: order,
		filters: []dim{{"building_id", f.BuildingID}, {"parent_id", f.ParentID}},
		compare: func(a, b Space, field string) int {
			switch field {
			case "updated_at":
				return compareTimes(a.UpdatedAt, b.UpdatedAt)
			case "name":
				return compareText(a.Name, b.Name)
			}
			return 0
		}}
	if f.Search != "" {
		q.match = func(s Space) bool { return placeSearch(f.Search, s.Name) }
	}
	return listPlaces(db, tenant, q, page)
}

// SpaceTimeZone is the time zone a space's access rules are read in: its
// location's, through its building.
func (db *DB) SpaceTimeZone(tenant string, s Space) (string, error) {
	b, _, err := getPlace[Building](db, bucketBuildings, tenant, s.BuildingID)
	if err != nil {
		return "", err
	}
	l, _, err := getPlace[Location](db, bucketLocations, tenant, b.LocationID)
	return l.TimeZone, err
}
