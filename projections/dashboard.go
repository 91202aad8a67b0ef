package projections

import (
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/portcullis/portcullis/domain"
)

// Dashboard is a tenant at a glance, every figure read from a counter the
// read models keep as events arrive.
type Dashboard struct {
	Individuals          int
	Locations            int
	Buildings            int
	Spaces               int
	AccessPoints         int
	AccessPointsByStatus map[string]int
	LockingSystems       int
	ActiveLockingSystems int
	Credentials          CredentialStats
	// LinkedCredentials counts the credentials linked to at least one
	// access point.
	LinkedCredentials int
	// LatestActivity are the newest entries of the tenant's audit log,
	// newest first.
	LatestActivity []AuditEntry
}

// Dashboard reads a tenant's dashboard as of now, with up to latest
// entries of its audit log.
func (db *DB) Dashboard(tenant string, now time.Time, latest int) (Dashboard, error) {
	var d Dashboard
	err := db.bolt.View(func(tx *bolt.Tx) error {
		counts := tx.Bucket(bucketCounts)
		place := func(kind string, dm dim) int { return int(getUint(counts, placeCountKey(tenant, kind, dm))) }
		all := dim{dimAll, ""}
		d.Individuals = int(getUint(counts, key(tenant, "individuals")))
		d.Locations = place(domain.AggregateLocation, all)
		d.Buildings = place(domain.AggregateBuilding, all)
		d.Spaces = place(domain.AggregateSpace, all)
		d.AccessPoints = place(domain.AggregateAccessPoint, all)
		d.AccessPointsByStatus = map[string]int{}
		for _, st := range domain.AccessPointStatuses {
			d.AccessPointsByStatus[st] = place(domain.AggregateAccessPoint, dim{"status", st})
		}
		sum := controlSystemSummary(tx, tenant)
		d.LockingSystems, d.ActiveLockingSystems, d.LinkedCredentials = sum.LockingSystems, sum.ActiveLockingSystems, sum.Credentials.Linked
		d.Credentials = credentialStats(tx, tenant, now)
		var err error
		d.LatestActivity, err = latestAudit(tx, tenant, latest)
		return err
	})
	return d, err
}

// latestAudit reads the newest n entries of a tenant's audit log.
func latestAudit(tx *bolt.Tx, tenant string, n int) ([]AuditEntry, error) {
	var out []AuditEntry
	s := indexStream(tx.Bucket(bucketAudit), []byte(tenant), true)
	for len(out) < n {
		e, ok := s.next()
		if !ok {
			break
		}
		a, err := decodeAuditEntry(e.id)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}
