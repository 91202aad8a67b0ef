package domain

import "time"

// The eSystems records as the list-query language sees them: one Schema per
// resource (the allow-list of what Filters, Orders and Fields may name) and
// a view whose Get reads a field by the schema's spelling. The views are
// what the read models store, and what commands build from the log when a
// decision must match records by a field (DELETE …/Permission/{SubId}).

// AccessRecordSchema is the schema of access groups, access roles and
// permission records.
var AccessRecordSchema = Schema{
	"Id": KindText, "ExternalId": KindText, "Name": KindText, "Description": KindText,
	"CreatedOn": KindTime, "ModifiedOn": KindTime,
}

// GroupPermissionSchema is the schema of a group's permission records. A
// foreign key alone (AccessRoleId) means its Id, as a column would.
var GroupPermissionSchema = Schema{
	"Id": KindInt, "Is_Active": KindBool, "CreatedOn": KindTime,
	"AccessRoleId": KindText, "AccessRoleId.Id": KindText, "AccessRoleId.ExternalId": KindText,
	"AccessRoleId.Name": KindText, "AccessRoleId.Type": KindText,
	"PermissionId": KindText, "PermissionId.Id": KindText, "PermissionId.ExternalId": KindText,
	"PermissionId.Name": KindText, "PermissionId.Type": KindText,
}

// AccessRecordView is an access group, access role or permission record.
// ModifiedAt is the time of its last event.
type AccessRecordView struct {
	ID           string `msgpack:"id"`
	RecordFields `msgpack:",inline"`
	CreatedAt    time.Time `msgpack:"created_at"`
	ModifiedAt   time.Time `msgpack:"modified_at"`
}

// Get implements Getter over AccessRecordSchema.
func (v AccessRecordView) Get(p FieldPath) (FieldValue, bool) {
	if len(p) != 1 {
		return FieldValue{}, false
	}
	text := func(s string) (FieldValue, bool) { return TextValue(s), s != "" }
	switch p[0] {
	case "Id":
		return text(v.ID)
	case "ExternalId":
		return text(v.ExternalID)
	case "Name":
		return text(v.Name)
	case "Description":
		return text(v.Description)
	case "CreatedOn":
		return TimeValue(v.CreatedAt), true
	case "ModifiedOn":
		return TimeValue(v.ModifiedAt), true
	}
	return FieldValue{}, false
}

// GroupPermissionView is a group's permission record with summaries of what
// it points at.
type GroupPermissionView struct {
	ID         int64     `msgpack:"id"`
	AccessRole RecordRef `msgpack:"access_role"`
	Permission RecordRef `msgpack:"permission"`
	IsActive   bool      `msgpack:"is_active"`
	CreatedAt  time.Time `msgpack:"created_at"`
}

// Get implements Getter over GroupPermissionSchema.
func (v GroupPermissionView) Get(p FieldPath) (FieldValue, bool) {
	sub := ""
	if len(p) == 2 {
		sub = p[1]
	} else if len(p) != 1 {
		return FieldValue{}, false
	}
	switch p[0] {
	case "AccessRoleId":
		return v.AccessRole.get(sub)
	case "PermissionId":
		return v.Permission.get(sub)
	}
	if sub != "" {
		return FieldValue{}, false
	}
	switch p[0] {
	case "Id":
		return IntValue(v.ID), true
	case "Is_Active":
		return BoolValue(v.IsActive), true
	case "CreatedOn":
		return TimeValue(v.CreatedAt), true
	}
	return FieldValue{}, false
}

// View summarizes a permission record of the group with the records it
// points at, found by id in roles and perms (a summary with only the Id
// when one is missing).
func (p GroupPermission) View(roles, perms map[string]AccessRecord) GroupPermissionView {
	ref := func(m map[string]AccessRecord, id, typ string) RecordRef {
		if r, ok := m[id]; ok {
			return r.Ref(typ)
		}
		return RecordRef{ID: id, Type: typ}
	}
	return GroupPermissionView{ID: p.ID, AccessRole: ref(roles, p.AccessRoleID, RecordTypeAccessRole),
		Permission: ref(perms, p.PermissionID, RecordTypePermission), IsActive: p.IsActive, CreatedAt: p.CreatedAt}
}
