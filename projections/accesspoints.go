package projections

import (
	"time"

	"github.com/portcullis/portcullis/domain"
)

var bucketAccessPoints = []byte("access_points") // tenant,id → AccessPoint

// AccessPoint is the read model of an access point, with the ids of the
// access credentials linked to it (sorted) and their count.
type AccessPoint struct {
	ID              string    `msgpack:"id"`
	PointName       string    `msgpack:"point_name"`
	Label           string    `msgpack:"label"`
	SpaceID         string    `msgpack:"space_id"`
	LockingSystemID string    `msgpack:"locking_system_id"`
	OutsideA        string    `msgpack:"outside_a"`
	InsideB         string    `msgpack:"inside_b"`
	Area            string    `msgpack:"area"`
	Department      string    `msgpack:"department"`
	Status          string    `msgpack:"status"`
	DeleteProtected bool      `msgpack:"delete_protected"`
	CredentialIDs   []string  `msgpack:"credential_ids"`
	CreatedAt       time.Time `msgpack:"created_at"`
	UpdatedAt       time.Time `msgpack:"updated_at"`
	Deleted         bool      `msgpack:"deleted,omitempty"`
	CreatedSeq      uint64    `msgpack:"created_seq"`
	Version         uint64    `msgpack:"version"`
}

func (a AccessPoint) created() uint64 { return a.CreatedSeq }
func (a AccessPoint) live() bool      { return a.CreatedSeq != 0 && !a.Deleted }
func (a AccessPoint) dims() []dim {
	return []dim{{"space_id", a.SpaceID}, {"locking_system_id", a.LockingSystemID}, {"status", a.Status}}
}

// AccessPointOrderFields are the fields a list of access points sorts on.
var AccessPointOrderFields = []string{"created_at", "updated_at", "point_name", "label", "status"}

// AccessPointFilter narrows a list of access points; Search matches
// point_name and label.
type AccessPointFilter struct {
	SpaceID         string
	LockingSystemID string
	Status          string
	Search          string
	// AsOf, when set, lists as the read models stood at that position.
	AsOf *uint64
}

type accessPointsProjection struct{}

func (accessPointsProjection) apply(tx *vtx, e domain.Event) error {
	if e.Aggregate.Type != domain.AggregateAccessPoint {
		return nil
	}
	return applyPlace(tx, bucketAccessPoints, domain.AggregateAccessPoint, e, func(a *AccessPoint) bool {
		switch d := e.Data.(type) {
		case *domain.AccessPointCreated:
			f := d.AccessPointFields
			*a = AccessPoint{ID: e.Aggregate.ID, PointName: f.PointName, Label: f.Label, SpaceID: f.SpaceID,
				LockingSystemID: f.LockingSystemID, OutsideA: f.OutsideA, InsideB: f.InsideB, Area: f.Area,
				Department: f.Department, Status: f.Status, DeleteProtected: f.DeleteProtected,
				CreatedAt: e.OccurredAt, CreatedSeq: e.Sequence}
		case *domain.AccessPointUpdated:
			for _, x := range []struct{ dst, src *string }{
				{&a.PointName, d.PointName}, {&a.Label, d.Label}, {&a.SpaceID, d.SpaceID},
				{&a.LockingSystemID, d.LockingSystemID}, {&a.OutsideA, d.OutsideA}, {&a.InsideB, d.InsideB},
				{&a.Area, d.Area}, {&a.Department, d.Department}, {&a.Status, d.Status},
			} {
				setString(x.dst, x.src)
			}
			if d.DeleteProtected != nil {
				a.DeleteProtected = *d.DeleteProtected
			}
		case *domain.AccessPointDeleted:
			a.Deleted = true
		case *domain.AccessPointCredentialsLinked:
			a.CredentialIDs = domain.IDSet(a.CredentialIDs).With(d.CredentialIDs...)
		case *domain.AccessPointCredentialsUnlinked:
			a.CredentialIDs = domain.IDSet(a.CredentialIDs).Without(d.CredentialIDs...)
		default:
			return false
		}
		stamp(&a.UpdatedAt, &a.Version, e)
		return true
	})
}

// AccessPoint returns one live access point of a tenant.
func (db *DB) AccessPoint(tenant, id string) (AccessPoint, bool, error) {
	a, found, err := getPlace[AccessPoint](db, bucketAccessPoints, tenant, id)
	return a, found && a.live(), err
}

// AccessPoints returns one page of a tenant's live access points and the
// number that match.
func (db *DB) AccessPoints(tenant string, f AccessPointFilter, order []domain.Order, page domain.Page) ([]AccessPoint, int, error) {
	q := placeQuery[AccessPoint]{asOf: f.AsOf, bucket: bucketAccessPoints, kind: domain.AggregateAccessPoint, order: order,
		filters: []dim{{"space_id", f.SpaceID}, {"locking_system_id", f.LockingSystemID}, {"status", f.Status}},
		compare: func(a, b AccessPoint, field string) int {
			switch field {
			case "updated_at":
				return compareTimes(a.UpdatedAt, b.UpdatedAt)
			case "point_name":
				return compareText(a.PointName, b.PointName)
			case "label":
				return compareText(a.Label, b.Label)
			case "status":
				return compareText(a.Status, b.Status)
			}
			return 0
		}}
	if f.Search != "" {
		q.match = func(a AccessPoint) bool { return placeSearch(f.Search, a.PointName, a.Label) }
	}
	return listPlaces(db, tenant, q, page)
}
