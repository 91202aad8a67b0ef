package projections

import (
	"time"

	"github.com/portcullis/portcullis/domain"
)

var bucketLockingSystems = []byte("locking_systems") // tenant,id → LockingSystem

// LockingSystem is the read model of a locking system.
type LockingSystem struct {
	ID               string    `msgpack:"id"`
	Name             string    `msgpack:"name"`
	Brand            string    `msgpack:"brand"`
	SystemType       string    `msgpack:"system_type"`
	SystemTechnology string    `msgpack:"system_technology"`
	RevisionNumber   string    `msgpack:"revision_number"`
	AccessPointCount int       `msgpack:"access_point_count"`
	CreatedAt        time.Time `msgpack:"created_at"`
	UpdatedAt        time.Time `msgpack:"updated_at"`
	Deleted          bool      `msgpack:"deleted,omitempty"`
	CreatedSeq       uint64    `msgpack:"created_seq"`
	Version          uint64    `msgpack:"version"`
}

func (l LockingSystem) created() uint64 { return l.CreatedSeq }
func (l LockingSystem) live() bool      { return l.CreatedSeq != 0 && !l.Deleted }
func (l LockingSystem) dims() []dim {
	d := []dim{{"system_type", l.SystemType}}
	if l.Brand != "" {
		d = append(d, dim{"brand", l.Brand})
	}
	return d
}

// LockingSystemOrderFields are the fields a list of locking systems sorts
// on.
var LockingSystemOrderFields = []string{"created_at", "updated_at", "name", "brand", "system_type"}

// LockingSystemFilter narrows a list of locking systems; Brand matches
// exactly, Search matches name and brand.
type LockingSystemFilter struct {
	Brand      string
	SystemType string
	Search     string
	// AsOf, when set, lists as the read models stood at that position.
	AsOf *uint64
}

type lockingSystemsProjection struct{}

func (lockingSystemsProjection) apply(tx *vtx, e domain.Event) error {
	if e.Aggregate.Type != domain.AggregateLockingSystem {
		return nil
	}
	return applyPlace(tx, bucketLockingSystems, domain.AggregateLockingSystem, e, func(l *LockingSystem) bool {
		switch d := e.Data.(type) {
		case *domain.LockingSystemCreated:
			*l = LockingSystem{ID: e.Aggregate.ID, Name: d.Name, Brand: d.Brand, SystemType: d.SystemType,
				SystemTechnology: d.SystemTechnology, RevisionNumber: d.RevisionNumber, CreatedAt: e.OccurredAt, CreatedSeq: e.Sequence}
		case *domain.LockingSystemUpdated:
			setString(&l.Name, d.Name)
			setString(&l.Brand, d.Brand)
			setString(&l.SystemType, d.SystemType)
			setString(&l.SystemTechnology, d.SystemTechnology)
			setString(&l.RevisionNumber, d.RevisionNumber)
		case *domain.LockingSystemDeleted:
			l.Deleted = true
		case *domain.LockingSystemAccessPointsAttached:
			l.AccessPointCount += len(d.AccessPointIDs)
		case *domain.LockingSystemAccessPointsDetached:
			l.AccessPointCount -= len(d.AccessPointIDs)
		default:
			return false
		}
		stamp(&l.UpdatedAt, &l.Version, e)
		return true
	})
}

// LockingSystem returns one live locking system of a tenant.
func (db *DB) LockingSystem(tenant, id string) (LockingSystem, bool, error) {
	l, found, err := getPlace[LockingSystem](db, bucketLockingSystems, tenant, id)
	return l, found && l.live(), err
}

// LockingSystems returns one page of a tenant's live locking systems and
// the number that match.
func (db *DB) LockingSystems(tenant string, f LockingSystemFilter, order []domain.Order, page domain.Page) ([]LockingSystem, int, error) {
	return listPlaces(db, tenant, lockingSystemQuery(f, order), page)
}

// lockingSystemQuery is the list query of locking systems, shared by the
// views that list them with their counts.
func lockingSystemQuery(f LockingSystemFilter, order []domain.Order) placeQuery[LockingSystem] {
	q := placeQuery[LockingSystem]{asOf: f.AsOf, bucket: bucketLockingSystems, kind: domain.AggregateLockingSystem, order: order,
		filters: []dim{{"brand", f.Brand}, {"system_type", f.SystemType}},
		compare: func(a, b LockingSystem, field string) int {
			switch field {
			case "updated_at":
				return compareTimes(a.UpdatedAt, b.UpdatedAt)
			case "name":
				return compareText(a.Name, b.Name)
			case "brand":
				return compareText(a.Brand, b.Brand)
			case "system_type":
				return compareText(a.SystemType, b.SystemType)
			}
			return 0
		}}
	if f.Search != "" {
		q.match = func(l LockingSystem) bool { return placeSearch(f.Search, l.Name, l.Brand) }
	}
	return q
}
