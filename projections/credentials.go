package projections

import (
	"bytes"
	"encoding/binary"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis/portcullis/domain"
)

// The access credential read model is built for lists and stats that stay
// fast at a million credentials per tenant: every list the API offers walks
// an index in creation order, every total is a counter, and the time-bound
// stats (expired, overdue, due soon) add up per-day counters instead of
// scanning records. All of it is derived from events alone, so a rebuild
// writes the same bytes.
var (
	// tenant,id → Credential
	bucketCredentials = []byte("credentials")
	// tenant,index,value 0x00 ordinal → id, for the indexes named below
	bucketCredentialIndex = []byte("credential_index")
	// tenant 0x00 block → live credentials whose ordinal is in the block
	bucketCredentialBlocks = []byte("credential_blocks")
	// tenant,index,value → number of credentials in that index entry
	bucketCredentialCounts = []byte("credential_counts")
	// tenant,normalized number → id
	bucketCredentialNumbers = []byte("credential_numbers")
	// tenant,shape → count; tenant,shape 0x00 number → id (see numberShape)
	bucketCredentialShapes       = []byte("credential_shapes")
	bucketCredentialShapeNumbers = []byte("credential_shape_numbers")
	// tenant,kind 0x00 time ordinal → id; tenant,kind 0x00 day → count
	bucketCredentialTimes    = []byte("credential_times")
	bucketCredentialTimeDays = []byte("credential_time_days")
)

// Indexes of credentials, each ordered by creation within its value.
const (
	credIdxAll        = "all"        // every live credential
	credIdxStatus     = "status"     // by status
	credIdxType       = "type"       // by type
	credIdxAssignment = "assignment" // by status_assignment
	credIdxHolder     = "holder"     // by the individual holding it
	credIdxAccessPt   = "ap"         // by linked access point
	credOrdinal       = "ordinal"    // counter only: the last ordinal given out
)

// Kinds of time index.
const (
	credTimeValidUntil = "valid_until" // every live credential with a valid_until
	credTimeDue        = "due"         // held credentials with a due date
)

// credentialBlock is how many ordinals share a block counter. A page at any
// depth costs one pass over the tenant's block counters plus at most one
// block's worth of index steps, instead of a walk from the start.
const credentialBlock = 1024

// Credential is the read model of an access credential.
type Credential struct {
	ID               string               `msgpack:"id"`
	CredentialID     string               `msgpack:"credential_id"`
	CredentialName   string               `msgpack:"credential_name"`
	Type             string               `msgpack:"type"`
	Status           string               `msgpack:"status"`
	ValidFrom        time.Time            `msgpack:"valid_from,omitempty"`
	ValidUntil       time.Time            `msgpack:"valid_until,omitempty"`
	Source           string               `msgpack:"source"`
	Counter          int                  `msgpack:"counter"`
	DeleteProtected  bool                 `msgpack:"delete_protected"`
	AssignmentStatus string               `msgpack:"status_assignment"`
	AssignedTo       string               `msgpack:"assigned_to,omitempty"`
	DueDate          time.Time            `msgpack:"due_date,omitempty"`
	DueReason        string               `msgpack:"due_reason,omitempty"`
	Condition        string               `msgpack:"condition,omitempty"`
	Notes            string               `msgpack:"notes,omitempty"`
	Confirmation     *domain.Confirmation `msgpack:"confirmation,omitempty"`
	AssignedAt       time.Time            `msgpack:"assigned_at,omitempty"`
	ConfirmedAt      time.Time            `msgpack:"confirmed_at,omitempty"`
	// The last return, kept after the credential is available again.
	ReturnedAt      time.Time `msgpack:"returned_at,omitempty"`
	ReturnedBy      string    `msgpack:"returned_by,omitempty"`
	ReturnCondition string    `msgpack:"return_condition,omitempty"`
	ReturnNotes     string    `msgpack:"return_notes,omitempty"`
	LinkedTo        []string  `msgpack:"linked_to,omitempty"`
	CreatedAt       time.Time `msgpack:"created_at"`
	UpdatedAt       time.Time `msgpack:"updated_at"`
	Deleted         bool      `msgpack:"deleted,omitempty"`
	Ordinal         uint64    `msgpack:"ordinal"` // per-tenant creation number, the key of every index
	Version         uint64    `msgpack:"version"` // position of the last event that changed it: the ETag
}

type credentialsProjection struct{}

func (credentialsProjection) apply(tx *vtx, e domain.Event) error {
	if e.Aggregate.Type != domain.AggregateCredential {
		return nil
	}
	switch e.Data.(type) {
	case *domain.CredentialCreated, *domain.CredentialUpdated, *domain.CredentialStatusChanged, *domain.CredentialDeleted,
		*domain.CredentialAssigned, *domain.CredentialReserved, *domain.CredentialAssignmentConfirmed,
		*domain.CredentialReturned, *domain.CredentialAccessPointsLinked, *domain.CredentialAccessPointsUnlinked:
	default:
		return nil // an event this model does not know leaves it as it was
	}
	k := key(e.Tenant, e.Aggregate.ID)
	var rec Credential
	var listed []credentialWrite
	if _, ok := e.Data.(*domain.CredentialCreated); !ok {
		found, err := getValue(tx.Bucket(bucketCredentials), k, &rec)
		if err != nil || !found || rec.Deleted {
			return err
		}
		// What the credential is listed under now; reindexCredential
		// writes only what the change below moves.
		listed = credentialWrites(e.Tenant, &rec)
	}
	switch d := e.Data.(type) {
	case *domain.CredentialCreated:
		counts := tx.Bucket(bucketCredentialCounts)
		ord := key(e.Tenant, credOrdinal, "")
		if err := addUint(counts, ord, 1); err != nil {
			return err
		}
		f := d.CredentialFields
		rec = Credential{ID: e.Aggregate.ID, CredentialID: f.CredentialID, CredentialName: f.CredentialName,
			Type: f.Type, Status: f.Status, ValidFrom: f.ValidFrom, ValidUntil: f.ValidUntil, Source: f.Source,
			Counter: f.Counter, DeleteProtected: f.DeleteProtected, AssignmentStatus: domain.AssignmentAvailable,
			CreatedAt: e.OccurredAt, Ordinal: getUint(counts, ord)}
	case *domain.CredentialUpdated:
		p := d.CredentialPatch
		setStr := func(dst, src *string) {
			if src != nil {
				*dst = *src
			}
		}
		setStr(&rec.CredentialID, p.CredentialID)
		setStr(&rec.CredentialName, p.CredentialName)
		setStr(&rec.Type, p.Type)
		setStr(&rec.Source, p.Source)
		if p.ValidFrom != nil {
			rec.ValidFrom = *p.ValidFrom
		}
		if p.ValidUntil != nil {
			rec.ValidUntil = *p.ValidUntil
		}
		if p.Counter != nil {
			rec.Counter = *p.Counter
		}
		if p.DeleteProtected != nil {
			rec.DeleteProtected = *p.DeleteProtected
		}
	case *domain.CredentialStatusChanged:
		rec.Status = d.Status
	case *domain.CredentialDeleted:
		rec.Deleted = true
	case *domain.CredentialAssigned:
		rec.hold(d.Assignment, domain.AssignmentAssigned, e.OccurredAt)
		rec.ConfirmedAt = e.OccurredAt
	case *domain.CredentialReserved:
		rec.hold(d.Assignment, domain.AssignmentPending, e.OccurredAt)
	case *domain.CredentialAssignmentConfirmed:
		rec.AssignmentStatus, rec.ConfirmedAt = domain.AssignmentAssigned, e.OccurredAt
	case *domain.CredentialReturned:
		rec.ReturnedAt, rec.ReturnedBy = e.OccurredAt, d.IndividualID
		rec.ReturnCondition, rec.ReturnNotes = d.Condition, d.Notes
		rec.AssignmentStatus, rec.AssignedTo, rec.DueDate, rec.DueReason = domain.AssignmentAvailable, "", time.Time{}, ""
		rec.Condition, rec.Notes, rec.Confirmation = "", "", nil
		rec.AssignedAt, rec.ConfirmedAt = time.Time{}, time.Time{}
	case *domain.CredentialAccessPointsLinked:
		rec.LinkedTo = domain.LinkIDs(rec.LinkedTo, d.AccessPointIDs)
	case *domain.CredentialAccessPointsUnlinked:
		rec.LinkedTo = domain.UnlinkIDs(rec.LinkedTo, d.AccessPointIDs)
	}
	rec.UpdatedAt = e.OccurredAt
	rec.Version = e.Sequence
	var lists []credentialWrite
	if !rec.Deleted {
		lists = credentialWrites(e.Tenant, &rec)
	}
	if err := reindexCredential(tx, listed, lists); err != nil {
		return err
	}
	return putRecord(tx, bucketCredentials, k, e, &rec)
}

// hold records an assignment or a reservation.
func (rec *Credential) hold(a domain.Assignment, status string, at time.Time) {
	rec.AssignmentStatus, rec.AssignedTo, rec.AssignedAt = status, a.IndividualID, at
	rec.DueDate, rec.DueReason, rec.Condition, rec.Notes = a.DueDate, a.DueReason, a.Condition, a.Notes
	rec.Confirmation, rec.ConfirmedAt = a.Confirmation, time.Time{}
}

// credentialEntries are the (index, value) pairs a live credential is
// listed under.
func credentialEntries(rec *Credential) [][2]string {
	out := [][2]string{{credIdxAll, ""}, {credIdxStatus, rec.Status}, {credIdxType, rec.Type},
		{credIdxAssignment, rec.AssignmentStatus}}
	if rec.AssignedTo != "" {
		out = append(out, [2]string{credIdxHolder, rec.AssignedTo})
	}
	for _, ap := range rec.LinkedTo {
		out = append(out, [2]string{credIdxAccessPt, ap})
	}
	return out
}

// credentialTimes are the time indexes a live credential is in.
func credentialTimes(rec *Credential) map[string]time.Time {
	out := map[string]time.Time{}
	if !rec.ValidUntil.IsZero() {
		out[credTimeValidUntil] = rec.ValidUntil
	}
	if rec.AssignedTo != "" && !rec.DueDate.IsZero() {
		out[credTimeDue] = rec.DueDate
	}
	return out
}

// credentialWrite is one place a live credential is listed: an index
// entry (key → the credential's id) or a counter it adds one to.
type credentialWrite struct {
	bucket  []byte
	key     []byte
	id      []byte
	counter bool
}

func (w credentialWrite) same(o credentialWrite) bool {
	return w.counter == o.counter && bytes.Equal(w.bucket, o.bucket) && bytes.Equal(w.key, o.key) && bytes.Equal(w.id, o.id)
}

// credentialWrites is every index entry and counter a live credential is
// listed under.
func credentialWrites(tenant string, rec *Credential) []credentialWrite {
	id := []byte(rec.ID)
	var out []credentialWrite
	for _, en := range credentialEntries(rec) {
		ck := key(tenant, en[0], en[1])
		out = append(out, credentialWrite{bucket: bucketCredentialIndex, key: seqKey(ck, rec.Ordinal), id: id},
			credentialWrite{bucket: bucketCredentialCounts, key: ck, counter: true})
	}
	out = append(out, credentialWrite{bucket: bucketCredentialBlocks, key: seqKey([]byte(tenant), rec.Ordinal/credentialBlock), counter: true},
		credentialWrite{bucket: bucketCredentialNumbers, key: key(tenant, domain.NormalizeCredentialNumber(rec.CredentialID)), id: id})
	if shape, n, ok := numberShape(rec.CredentialID); ok {
		out = append(out, credentialWrite{bucket: bucketCredentialShapes, key: key(tenant, shape), counter: true},
			credentialWrite{bucket: bucketCredentialShapeNumbers, key: seqKey(key(tenant, shape), n), id: id})
	}
	for kind, t := range credentialTimes(rec) {
		out = append(out, credentialWrite{bucket: bucketCredentialTimes, key: timeKey(tenant, kind, t, rec.Ordinal), id: id},
			credentialWrite{bucket: bucketCredentialTimeDays, key: seqKey(key(tenant, kind), dayOf(t)), counter: true})
	}
	return out
}

// reindexCredential moves a credential from the listings before (nil: it
// was not live) to the listings after (nil: it is no longer live). A
// listing in both stays as it is: taking it out and putting it back, or
// a counter's -1 and +1, would write the value the key already has, and a
// version at this position equal to the one before it, which no read
// (live or as of any position) can tell from no write at all.
func reindexCredential(tx *vtx, before, after []credentialWrite) error {
	kept := make([]bool, len(after))
	for _, w := range before {
		matched := false
		for i, a := range after {
			if !kept[i] && a.same(w) { // a listing twice is matched once each
				kept[i], matched = true, true
				break
			}
		}
		if matched {
			continue
		}
		if err := credentialWriteApply(tx, w, -1); err != nil {
			return err
		}
	}
	for i, w := range after {
		if kept[i] {
			continue
		}
		if err := credentialWriteApply(tx, w, 1); err != nil {
			return err
		}
	}
	return nil
}

// credentialWriteApply adds (delta 1) or removes (-1) one listing.
func credentialWriteApply(tx *vtx, w credentialWrite, delta int64) error {
	b := tx.Bucket(w.bucket)
	switch {
	case w.counter:
		return addUint(b, w.key, delta)
	case delta > 0:
		return b.Put(w.key, w.id)
	default:
		return b.Delete(w.key)
	}
}

// numberShape splits a credential number into its scheme and its number:
// the last run of digits is the number, what surrounds it and how many
// digits it has are the shape ("K-0042" → "K-", 4 digits, "" with 42).
// Numbers without digits, or with more than 18, have no shape.
func numberShape(s string) (shape string, n uint64, ok bool) {
	end := strings.LastIndexAny(s, "0123456789")
	if end < 0 {
		return "", 0, false
	}
	start := end
	for start > 0 && s[start-1] >= '0' && s[start-1] <= '9' {
		start--
	}
	digits := s[start : end+1]
	if len(digits) > 18 {
		return "", 0, false
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	if err != nil {
		return "", 0, false
	}
	return s[:start] + "\x01" + s[end+1:] + "\x01" + strconv.Itoa(len(digits)), n, true
}

// formatShape renders number n in shape.
func formatShape(shape string, n uint64) string {
	prefix, rest, _ := strings.Cut(shape, "\x01")
	suffix, width, _ := strings.Cut(rest, "\x01")
	w, _ := strconv.Atoi(width)
	digits := strconv.FormatUint(n, 10)
	if pad := w - len(digits); pad > 0 {
		digits = strings.Repeat("0", pad) + digits
	}
	return prefix + digits + suffix
}

// describeShape renders a shape for people: "K-####".
func describeShape(shape string) string {
	prefix, rest, _ := strings.Cut(shape, "\x01")
	suffix, width, _ := strings.Cut(rest, "\x01")
	w, _ := strconv.Atoi(width)
	return prefix + strings.Repeat("#", w) + suffix
}

// timeKey orders entries of a time index by time, then creation.
func timeKey(tenant, kind string, t time.Time, ordinal uint64) []byte {
	k := seqKey(key(tenant, kind), timeBits(t))
	return binary.BigEndian.AppendUint64(k, ordinal)
}

// timeBits maps a time to an unsigned number in the same order.
func timeBits(t time.Time) uint64 { return uint64(t.UnixNano()) ^ (1 << 63) }

// dayOf is the UTC day of t as an ordered number.
func dayOf(t time.Time) uint64 { return uint64(dayNumber(t)) ^ (1 << 63) }

// dayNumber counts UTC days since 1970-01-01 (negative before it).
func dayNumber(t time.Time) int64 {
	s := t.Unix()
	d := s / 86400
	if s%86400 < 0 {
		d--
	}
	return d
}
