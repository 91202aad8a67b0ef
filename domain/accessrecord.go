package domain

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The records of the eSystems face that a group permission points at: access
// roles and permissions. They are created and read, never changed or
// deleted, so a group permission may keep a copy of what it points at.
// Field names in errors are the eSystems ones (Name, ExternalId), since no
// other face writes these records.

// Aggregate types of the referenced records.
const (
	AggregateAccessRole       = "access_role"
	AggregateAccessPermission = "access_permission"
)

// Event types of the referenced records.
const (
	TypeAccessRoleCreated       = "access_role.created"
	TypeAccessPermissionCreated = "access_permission.created"
)

// Kinds of unique values: an ExternalId is unique per tenant among records
// of one type, compared ignoring case (NormalizeExternalID), because the
// face matches it ignoring case.
const (
	UniqueAccessGroupExternalID      = "access_group.external_id"
	UniqueAccessRoleExternalID       = "access_role.external_id"
	UniqueAccessPermissionExternalID = "access_permission.external_id"
)

// Record type names as the face shows them in AbstractText.Type and list
// Meta.Type.
const (
	RecordTypeAccessGroup           = "AccessGroup"
	RecordTypeAccessRole            = "AccessRole"
	RecordTypePermission            = "Permission"
	RecordTypeAccessGroupPermission = "AccessGroupPermission"
)

// DetailMultipleRows refines a BAD_REQUEST: a value meant to name one record
// matched several. The eSystems face answers it as "/Errors/Multible Rows".
const DetailMultipleRows = "multiple_rows"

// MultipleRows is the error for a match of more than one record.
func MultipleRows(field, value string, n int) *Error {
	return &Error{Code: CodeInvalid, Field: field, Detail: DetailMultipleRows,
		Message: fmt.Sprintf("There are %d rows in the database for the value '%s'; name the record by a unique field", n, value)}
}

// NormalizeExternalID is the form in which ExternalIds are claimed.
func NormalizeExternalID(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// RecordFields are the client-set fields of a named eSystems record: access
// groups, access roles and permissions share them.
type RecordFields struct {
	Name        string `msgpack:"name"`
	ExternalID  string `msgpack:"external_id"`
	Description string `msgpack:"description"`
}

// Length limits of record fields, as the columns of the reference.
const (
	maxRecordName        = 255
	maxRecordExternalID  = 255
	maxRecordDescription = 2000
)

// normalize trims the fields a client types.
func (f RecordFields) normalize() RecordFields {
	f.Name = strings.TrimSpace(f.Name)
	f.ExternalID = strings.TrimSpace(f.ExternalID)
	f.Description = strings.TrimSpace(f.Description)
	return f
}

func validateRecord(f RecordFields) error {
	switch {
	case f.Name == "":
		return Invalid("Name", "is required")
	case utf8.RuneCountInString(f.Name) > maxRecordName || strings.ContainsFunc(f.Name, unicode.IsControl):
		return Invalid("Name", "must be at most %d characters without control characters", maxRecordName)
	case utf8.RuneCountInString(f.ExternalID) > maxRecordExternalID || strings.ContainsFunc(f.ExternalID, unicode.IsControl):
		return Invalid("ExternalId", "must be at most %d characters without control characters", maxRecordExternalID)
	case utf8.RuneCountInString(f.Description) > maxRecordDescription:
		return Invalid("Description", "must be at most %d characters", maxRecordDescription)
	}
	return nil
}

// AccessRoleCreated starts an access role.
type AccessRoleCreated struct {
	RecordFields `msgpack:",inline"`
}

func (*AccessRoleCreated) EventType() string { return TypeAccessRoleCreated }
func (*AccessRoleCreated) EventVersion() int { return 1 }

// AccessPermissionCreated starts a permission record (the eSystems
// "Permission", not a permission of a Portcullis role).
type AccessPermissionCreated struct {
	RecordFields `msgpack:",inline"`
}

func (*AccessPermissionCreated) EventType() string { return TypeAccessPermissionCreated }
func (*AccessPermissionCreated) EventVersion() int { return 1 }

// AccessRecord is the state of an access role or a permission record.
type AccessRecord struct {
	ID string
	RecordFields
	CreatedAt time.Time
}

// Exists reports whether the record was created.
func (a *AccessRecord) Exists() bool { return !a.CreatedAt.IsZero() }

// Apply folds one event into the record.
func (a *AccessRecord) Apply(e Event) {
	switch d := e.Data.(type) {
	case *AccessRoleCreated:
		a.ID, a.RecordFields, a.CreatedAt = e.Aggregate.ID, d.RecordFields, e.OccurredAt
	case *AccessPermissionCreated:
		a.ID, a.RecordFields, a.CreatedAt = e.Aggregate.ID, d.RecordFields, e.OccurredAt
	}
}

// CreateAccessRecord decides the creation of an access role (aggType
// AggregateAccessRole) or a permission record. The returned fields are the
// normalized ones the event carries.
func (a *AccessRecord) CreateAccessRecord(aggType string, in RecordFields) ([]EventData, RecordFields, error) {
	in = in.normalize()
	if a.Exists() {
		return nil, in, Errorf(CodeConflict, "record %s already exists", a.ID)
	}
	if err := validateRecord(in); err != nil {
		return nil, in, err
	}
	switch aggType {
	case AggregateAccessRole:
		return []EventData{&AccessRoleCreated{RecordFields: in}}, in, nil
	case AggregateAccessPermission:
		return []EventData{&AccessPermissionCreated{RecordFields: in}}, in, nil
	}
	return nil, in, fmt.Errorf("domain: %s is not an access record type", aggType)
}

// RecordRef is the summary of a record that another points at: the
// eSystems AbstractText. Type is the record's type name (AccessRole, …).
type RecordRef struct {
	ID         string `msgpack:"id"`
	ExternalID string `msgpack:"external_id"`
	Name       string `msgpack:"name"`
	Type       string `msgpack:"type"`
}

// Ref summarizes the record as a RecordRef of type typ.
func (a AccessRecord) Ref(typ string) RecordRef {
	return RecordRef{ID: a.ID, ExternalID: a.ExternalID, Name: a.Name, Type: typ}
}

// get reads one field of a RecordRef for the query language; a blank
// optional field is missing (SQL's NULL).
func (r RecordRef) get(field string) (FieldValue, bool) {
	var s string
	switch field {
	case "", "Id":
		s = r.ID
	case "ExternalId":
		s = r.ExternalID
	case "Name":
		s = r.Name
	case "Type":
		s = r.Type
	default:
		return FieldValue{}, false
	}
	if s == "" {
		return FieldValue{}, false
	}
	return TextValue(s), true
}

// AggregateIDSequence is the aggregate type of a tenant's counter of
// integer ids of one kind (its id is the kind). eSystems group permission
// records have int64 ids; they are allocated here, through the log: a
// command that creates records appends one IDsAllocated in the same atomic
// batch as the records, expecting the counter where it read it. Two
// concurrent allocations expect the same position and JetStream accepts
// one, so no id is handed out twice, and since the ids are in the events'
// payloads a rebuild reproduces them exactly.
const AggregateIDSequence = "id_sequence"

// TypeIDsAllocated is the event of an allocation.
const TypeIDsAllocated = "id_sequence.allocated"

// IDKindGroupPermission is the counter of access group permission records.
const IDKindGroupPermission = "access_group_permission"

// IDsAllocated hands out the ids First … First+Count-1.
type IDsAllocated struct {
	First int64 `msgpack:"first"`
	Count int64 `msgpack:"count"`
}

func (*IDsAllocated) EventType() string { return TypeIDsAllocated }
func (*IDsAllocated) EventVersion() int { return 1 }

// IDSequence is the state of a counter: the last id handed out (0: none).
type IDSequence struct {
	Last int64
}

// Apply folds one event into the counter.
func (s *IDSequence) Apply(e Event) {
	if d, ok := e.Data.(*IDsAllocated); ok && d.First+d.Count-1 > s.Last {
		s.Last = d.First + d.Count - 1
	}
}

// Next is the first id not handed out yet.
func (s IDSequence) Next() int64 { return s.Last + 1 }

// Allocate decides handing out n ids from Next on; zero decides nothing.
func (s IDSequence) Allocate(n int64) []EventData {
	if n <= 0 {
		return nil
	}
	return []EventData{&IDsAllocated{First: s.Next(), Count: n}}
}
