package projections

import (
	"time"

	"github.com/portcullis/portcullis/domain"
)

// maxSpaceDepth bounds the walk from a door's space outwards. The commands
// refuse cycles; the bound keeps a read safe whatever the file holds.
const maxSpaceDepth = 64

// readRecord decodes the record ref of a tenant into into and reports
// whether it is live. The live reader reads the record buckets; the as-of
// reader reads each record's newest version at or below a position.
type readRecord func(bucket []byte, ref domain.Ref, into interface{ isDeleted() bool }) (bool, error)

func (i *Individual) isDeleted() bool  { return i.Deleted }
func (a *AccessPoint) isDeleted() bool { return a.Deleted }
func (c *Credential) isDeleted() bool  { return c.Deleted }
func (s *Space) isDeleted() bool       { return s.Deleted }
func (b *Building) isDeleted() bool    { return b.Deleted }
func (l *Location) isDeleted() bool    { return l.Deleted }

func liveReader(tx *vtx, tenant string) readRecord {
	return func(bucket []byte, ref domain.Ref, into interface{ isDeleted() bool }) (bool, error) {
		found, err := getValue(tx.Bucket(bucket), key(tenant, ref.ID), into)
		return found && !into.isDeleted(), err
	}
}

func asOfReader(tx *vtx, tenant string, pos uint64) readRecord {
	return func(_ []byte, ref domain.Ref, into interface{ isDeleted() bool }) (bool, error) {
		ver, ok, err := versionAsOf(tx, tenant, ref, pos)
		if err != nil || !ok {
			return false, err
		}
		if err := ver.DecodeState(into); err != nil {
			return false, err
		}
		return !into.isDeleted(), nil
	}
}

// DecisionInput gathers, in one read transaction, everything the access
// decision reads about individualID and accessPointID at the moment at:
// the person, the door, the credentials the person holds with whether each
// is linked to the door, the rules of the door's space and of every space
// around it, and the zone of the door's location. It also returns the
// position the read models were at, so the answer can say what it knew.
func (db *DB) DecisionInput(tenant, individualID, accessPointID string, at time.Time) (domain.DecisionInput, uint64, error) {
	var in domain.DecisionInput
	var pos uint64
	err := db.view(func(tx *vtx) error {
		pos = getUint(tx.Bucket(bucketMeta), keyCheckpoint)
		var err error
		in, err = decisionInput(liveReader(tx, tenant), individualID, accessPointID, at)
		return err
	})
	return in, pos, err
}

// DecisionInputAsOf is DecisionInput as the system knew it at log position
// pos: "could this person open this door at that moment, as the system
// knew it then?"
func (db *DB) DecisionInputAsOf(tenant, individualID, accessPointID string, at time.Time, pos uint64) (domain.DecisionInput, error) {
	var in domain.DecisionInput
	err := db.view(func(tx *vtx) error {
		var err error
		in, err = decisionInput(asOfReader(tx, tenant, pos), individualID, accessPointID, at)
		return err
	})
	return in, err
}

func decisionInput(read readRecord, individualID, accessPointID string, at time.Time) (domain.DecisionInput, error) {
	in := domain.DecisionInput{At: at, Location: time.UTC}
	var ind Individual
	if found, err := read(bucketIndividuals, domain.Ref{Type: domain.AggregateIndividual, ID: individualID}, &ind); err != nil {
		return in, err
	} else if !found {
		return in, &domain.Error{Code: domain.CodeNotFound, Field: "individual_id", Message: "individual " + individualID + " not found"}
	}
	var ap AccessPoint
	if found, err := read(bucketAccessPoints, domain.Ref{Type: domain.AggregateAccessPoint, ID: accessPointID}, &ap); err != nil {
		return in, err
	} else if !found {
		return in, &domain.Error{Code: domain.CodeNotFound, Field: "access_point_id", Message: "access point " + accessPointID + " not found"}
	}
	in.Person = domain.DecisionPerson{ID: ind.ID, Department: ind.Department, Status: ind.Status}
	in.Door = domain.DecisionDoor{ID: ap.ID, Status: ap.Status}

	linked := domain.IDSet(ap.CredentialIDs)
	for _, id := range ind.Held {
		var c Credential
		found, err := read(bucketCredentials, domain.Ref{Type: domain.AggregateCredential, ID: id}, &c)
		if err != nil {
			return in, err
		}
		if !found || c.AssignedTo != ind.ID {
			continue
		}
		in.Credentials = append(in.Credentials, domain.DecisionCredential{ID: c.ID, CredentialID: c.CredentialID,
			Status: c.Status, StatusAssignment: c.AssignmentStatus, ValidFrom: c.ValidFrom, ValidUntil: c.ValidUntil,
			Linked: linked.Has(c.ID)})
	}

	buildingID := ""
	for id, depth := ap.SpaceID, 0; id != "" && depth < maxSpaceDepth; depth++ {
		var s Space
		found, err := read(bucketSpaces, domain.Ref{Type: domain.AggregateSpace, ID: id}, &s)
		if err != nil {
			return in, err
		}
		if !found {
			break
		}
		in.Spaces = append(in.Spaces, domain.SpaceRules{SpaceID: s.ID, Rules: s.Rules})
		buildingID, id = s.BuildingID, s.ParentID
	}
	var b Building
	if _, err := read(bucketBuildings, domain.Ref{Type: domain.AggregateBuilding, ID: buildingID}, &b); err != nil || buildingID == "" {
		return in, err
	}
	var l Location
	if _, err := read(bucketLocations, domain.Ref{Type: domain.AggregateLocation, ID: b.LocationID}, &l); err != nil {
		return in, err
	}
	if l.TimeZone != "" {
		loc, err := time.LoadLocation(l.TimeZone)
		if err != nil {
			return in, err
		}
		in.Location = loc
	}
	return in, nil
}
