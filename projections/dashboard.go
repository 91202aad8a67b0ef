package projections

import (
	"time"

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
	err := db.view(func(tx *vtx) error {
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
		d.LatestActivity, err = latestAudit(tx, tenant, latest, db.asOf, db.past)
		return err
	})
	return d, err
}

// latestAudit reads the newest n entries of a tenant's audit log; as of a
// position (past), the newest up to it.
func latestAudit(tx *vtx, tenant string, n int, upTo uint64, past bool) ([]AuditEntry, error) {
	var out []AuditEntry
	p := append([]byte(tenant), 0)
	c := tx.Bucket(bucketAudit).Cursor()
	start := append([]byte(tenant), 1)
	if past && upTo < ^uint64(0) {
		start = seqKey([]byte(tenant), upTo+1)
	}
	k, v := c.Seek(start)
	if k == nil {
		k, v = c.Last()
	} else {
		k, v = c.Prev()
	}
	for ; k != nil && hasPrefix(k, p) && len(k) == len(p)+8 && len(out) < n; k, v = c.Prev() {
		a, err := decodeAuditEntry(v)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}
