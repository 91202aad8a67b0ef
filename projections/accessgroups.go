package projections

import (
	"cmp"
	"encoding/binary"
	"slices"

	"github.com/portcullis/portcullis/domain"
)

// The eSystems read models: access groups, their permission records, and
// the access roles and permission records those point at. Lists are
// filtered and sorted with the list-query language (domain.Query) over the
// views the domain defines, so a read model and a command that matches
// records by a field agree on what matches.
var (
	bucketAccessGroups           = []byte("es_access_groups")            // tenant,id → AccessGroup
	bucketAccessGroupPermissions = []byte("es_access_group_permissions") // tenant,group id,be64 id → GroupPermissionView
	bucketAccessRecords          = []byte("es_access_records")           // tenant,aggregate type,id → AccessRecord
)

// AccessGroup is the read model of an access group. Version is the
// position of the last event on the group or any of its permission records:
// the group's ETag.
type AccessGroup struct {
	domain.AccessRecordView `msgpack:",inline"`
	Version                 uint64 `msgpack:"version"`
	CreatedSeq              uint64 `msgpack:"created_seq"`
}

// AccessRecord is the read model of an access role or a permission record.
type AccessRecord struct {
	domain.AccessRecordView `msgpack:",inline"`
	Version                 uint64 `msgpack:"version"`
	CreatedSeq              uint64 `msgpack:"created_seq"`
}

type accessGroupsProjection struct{}

func groupPermissionKey(tenant, groupID string, id int64) []byte {
	return key(tenant, groupID, string(binary.BigEndian.AppendUint64(nil, uint64(id))))
}

func (accessGroupsProjection) apply(tx *vtx, e domain.Event) error {
	switch e.Aggregate.Type {
	case domain.AggregateAccessRole, domain.AggregateAccessPermission:
		var f domain.RecordFields
		switch d := e.Data.(type) {
		case *domain.AccessRoleCreated:
			f = d.RecordFields
		case *domain.AccessPermissionCreated:
			f = d.RecordFields
		default:
			return nil
		}
		rec := AccessRecord{AccessRecordView: domain.AccessRecordView{ID: e.Aggregate.ID, RecordFields: f,
			CreatedAt: e.OccurredAt, ModifiedAt: e.OccurredAt}, Version: e.Sequence, CreatedSeq: e.Sequence}
		return putRecord(tx, bucketAccessRecords, key(e.Tenant, e.Aggregate.Type, e.Aggregate.ID), e, &rec)
	case domain.AggregateAccessGroup:
	default:
		return nil
	}
	groups := tx.Bucket(bucketAccessGroups)
	gk := key(e.Tenant, e.Aggregate.ID)
	var g AccessGroup
	if _, ok := e.Data.(*domain.AccessGroupCreated); !ok {
		if found, err := getValue(groups, gk, &g); err != nil || !found {
			return err
		}
	}
	g.ModifiedAt, g.Version = e.OccurredAt, e.Sequence
	perms := tx.Bucket(bucketAccessGroupPermissions)
	switch d := e.Data.(type) {
	case *domain.AccessGroupCreated:
		g = AccessGroup{AccessRecordView: domain.AccessRecordView{ID: e.Aggregate.ID, RecordFields: d.RecordFields,
			CreatedAt: e.OccurredAt, ModifiedAt: e.OccurredAt}, Version: e.Sequence, CreatedSeq: e.Sequence}
		return putRecord(tx, bucketAccessGroups, gk, e, &g)
	case *domain.AccessGroupUpdated:
		for _, x := range []struct{ dst, src *string }{
			{&g.Name, d.Name}, {&g.ExternalID, d.ExternalID}, {&g.Description, d.Description},
		} {
			if x.src != nil {
				*x.dst = *x.src
			}
		}
		return putRecord(tx, bucketAccessGroups, gk, e, &g)
	case *domain.AccessGroupDeleted:
		prefix := append(key(e.Tenant, e.Aggregate.ID), 0)
		c := perms.Cursor()
		for k, _ := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, _ = c.Seek(prefix) {
			if err := perms.Delete(k); err != nil {
				return err
			}
		}
		if err := groups.Delete(gk); err != nil {
			return err
		}
		return putRecordHistory(tx, e, &g)
	case *domain.AccessGroupPermissionAdded:
		v := domain.GroupPermissionView{ID: d.ID, IsActive: d.IsActive, CreatedAt: e.OccurredAt}
		var err error
		if v.AccessRole, err = recordRef(tx, e.Tenant, domain.AggregateAccessRole, d.AccessRoleID); err != nil {
			return err
		}
		if v.Permission, err = recordRef(tx, e.Tenant, domain.AggregateAccessPermission, d.PermissionID); err != nil {
			return err
		}
		if err := putValue(perms, groupPermissionKey(e.Tenant, e.Aggregate.ID, d.ID), &v); err != nil {
			return err
		}
	case *domain.AccessGroupPermissionChanged:
		pk := groupPermissionKey(e.Tenant, e.Aggregate.ID, d.ID)
		var v domain.GroupPermissionView
		if found, err := getValue(perms, pk, &v); err != nil || !found {
			return err
		}
		var err error
		if d.AccessRoleID != nil {
			if v.AccessRole, err = recordRef(tx, e.Tenant, domain.AggregateAccessRole, *d.AccessRoleID); err != nil {
				return err
			}
		}
		if d.PermissionID != nil {
			if v.Permission, err = recordRef(tx, e.Tenant, domain.AggregateAccessPermission, *d.PermissionID); err != nil {
				return err
			}
		}
		if d.IsActive != nil {
			v.IsActive = *d.IsActive
		}
		if err := putValue(perms, pk, &v); err != nil {
			return err
		}
	case *domain.AccessGroupPermissionRemoved:
		if err := perms.Delete(groupPermissionKey(e.Tenant, e.Aggregate.ID, d.ID)); err != nil {
			return err
		}
	default:
		return nil
	}
	// A change of a permission record is a new version of the group.
	return putValue(groups, gk, &g)
}

// recordRef summarizes the access role or permission record id. Those are
// never changed or deleted, so the summary a permission record keeps stays
// true; one that is missing keeps only its id.
func recordRef(tx *vtx, tenant, aggType, id string) (domain.RecordRef, error) {
	typ := domain.RecordTypeAccessRole
	if aggType == domain.AggregateAccessPermission {
		typ = domain.RecordTypePermission
	}
	var rec AccessRecord
	if _, err := getValue(tx.Bucket(bucketAccessRecords), key(tenant, aggType, id), &rec); err != nil {
		return domain.RecordRef{}, err
	}
	return domain.RecordRef{ID: id, ExternalID: rec.ExternalID, Name: rec.Name, Type: typ}, nil
}

// AccessGroup returns one live access group of a tenant.
func (db *DB) AccessGroup(tenant, id string) (AccessGroup, bool, error) {
	var g AccessGroup
	var found bool
	err := db.view(func(tx *vtx) error {
		var err error
		found, err = getValue(tx.Bucket(bucketAccessGroups), key(tenant, id), &g)
		return err
	})
	return g, found, err
}

// AccessGroups returns one page of the tenant's access groups that q
// selects, in q's order and then creation order, and how many it selects.
func (db *DB) AccessGroups(tenant string, q domain.Query, page domain.Page) ([]AccessGroup, int, error) {
	return queryRecords(db, bucketAccessGroups, append([]byte(tenant), 0), q, page,
		func(g AccessGroup) domain.Getter { return g.Get }, func(g AccessGroup) uint64 { return g.CreatedSeq })
}

// AccessRecord returns one access role (aggType domain.AggregateAccessRole)
// or permission record of a tenant.
func (db *DB) AccessRecord(tenant, aggType, id string) (AccessRecord, bool, error) {
	var rec AccessRecord
	var found bool
	err := db.view(func(tx *vtx) error {
		var err error
		found, err = getValue(tx.Bucket(bucketAccessRecords), key(tenant, aggType, id), &rec)
		return err
	})
	return rec, found, err
}

// AccessRecords is AccessGroups for access roles or permission records.
func (db *DB) AccessRecords(tenant, aggType string, q domain.Query, page domain.Page) ([]AccessRecord, int, error) {
	return queryRecords(db, bucketAccessRecords, append(key(tenant, aggType), 0), q, page,
		func(r AccessRecord) domain.Getter { return r.Get }, func(r AccessRecord) uint64 { return r.CreatedSeq })
}

// GroupPermissions returns one page of a group's permission records that q
// selects, in q's order and then by Id, and how many it selects.
func (db *DB) GroupPermissions(tenant, groupID string, q domain.Query, page domain.Page) ([]domain.GroupPermissionView, int, error) {
	return queryRecords(db, bucketAccessGroupPermissions, append(key(tenant, groupID), 0), q, page,
		func(v domain.GroupPermissionView) domain.Getter { return v.Get }, func(v domain.GroupPermissionView) uint64 { return uint64(v.ID) })
}

// queryRecords scans the records under prefix, keeps those q matches, sorts
// them by q and then by tiebreak, and cuts out page.
func queryRecords[T any](db *DB, bucket, prefix []byte, q domain.Query, page domain.Page,
	getter func(T) domain.Getter, tiebreak func(T) uint64) ([]T, int, error) {
	var all []T
	err := db.view(func(tx *vtx) error {
		c := tx.Bucket(bucket).Cursor()
		for k, v := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, v = c.Next() {
			var rec T
			if err := unmarshal(v, &rec); err != nil {
				return err
			}
			if q.Match(getter(rec)) {
				all = append(all, rec)
			}
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	slices.SortStableFunc(all, func(a, b T) int {
		if c := q.Compare(getter(a), getter(b)); c != 0 {
			return c
		}
		return cmp.Compare(tiebreak(a), tiebreak(b))
	})
	lo, hi := page.Bounds(len(all))
	return all[lo:hi], len(all), nil
}
