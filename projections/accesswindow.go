package projections

import (
	"slices"
	"time"

	"github.com/portcullis/portcullis/domain"
)

// LogChange is a position at which a record an access decision reads
// changed, with the time of the event there.
type LogChange struct {
	Pos uint64
	At  time.Time
}

// AccessWindow gathers what the access-window report needs about one door
// between two log positions (after fromPos, up to toPos): the people who
// held a credential linked to the door in some state of that stretch of the
// log, and every position at which a record deciding their access changed
// (the door, those credentials, those people, the spaces around the door).
// Between two such positions every decision about the door reads the same
// records.
func (db *DB) AccessWindow(tenant, accessPointID string, fromPos, toPos uint64) ([]string, []LogChange, error) {
	var people []string
	var changes []LogChange
	err := db.view(func(tx *vtx) error {
		var c accessWindowCollector
		c.tx, c.tenant, c.from, c.to = tx, tenant, fromPos, toPos
		doors, err := c.states(domain.Ref{Type: domain.AggregateAccessPoint, ID: accessPointID})
		if err != nil {
			return err
		}
		if len(doors) == 0 {
			return &domain.Error{Code: domain.CodeNotFound, Field: "access_point_id",
				Message: "access point " + accessPointID + " did not exist in the window"}
		}
		credentials, spaces := domain.IDSet(nil), domain.IDSet(nil)
		for _, v := range doors {
			var ap AccessPoint
			if err := v.DecodeState(&ap); err != nil {
				return err
			}
			credentials = credentials.With(ap.CredentialIDs...)
			chain, err := c.spaceChain(ap.SpaceID, max(v.Sequence, fromPos))
			if err != nil {
				return err
			}
			spaces = spaces.With(chain...)
		}
		holders := domain.IDSet(nil)
		for _, id := range credentials {
			states, err := c.states(domain.Ref{Type: domain.AggregateCredential, ID: id})
			if err != nil {
				return err
			}
			for _, v := range states {
				var cr Credential
				if err := v.DecodeState(&cr); err != nil {
					return err
				}
				if cr.AssignedTo != "" {
					holders = holders.With(cr.AssignedTo)
				}
			}
		}
		for _, id := range holders {
			if err := c.track(domain.Ref{Type: domain.AggregateIndividual, ID: id}); err != nil {
				return err
			}
		}
		for _, id := range spaces {
			if err := c.track(domain.Ref{Type: domain.AggregateSpace, ID: id}); err != nil {
				return err
			}
		}
		people, changes = holders, c.changes
		return nil
	})
	slices.SortFunc(changes, func(a, b LogChange) int { return int64Compare(a.Pos, b.Pos) })
	changes = slices.CompactFunc(changes, func(a, b LogChange) bool { return a.Pos == b.Pos })
	return people, changes, err
}

func int64Compare(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

type accessWindowCollector struct {
	tx       *vtx
	tenant   string
	from, to uint64
	changes  []LogChange
}

// states returns a record's version at fromPos (if it lived then) and every
// version after it up to toPos, noting their positions as changes.
func (c *accessWindowCollector) states(ref domain.Ref) ([]Version, error) {
	var out []Version
	if v, ok, err := versionAsOf(c.tx, c.tenant, ref, c.from); err != nil {
		return nil, err
	} else if ok {
		out = append(out, v)
	}
	err := versionsAfter(c.tx, c.tenant, ref, c.from, c.to, func(ver Version) error {
		c.changes = append(c.changes, LogChange{Pos: ver.Sequence, At: ver.OccurredAt})
		out = append(out, ver)
		return nil
	})
	return out, err
}

// track notes the changes of a record in the window.
func (c *accessWindowCollector) track(ref domain.Ref) error {
	_, err := c.states(ref)
	return err
}

// spaceChain is a space and the spaces enclosing it as of position pos.
func (c *accessWindowCollector) spaceChain(id string, pos uint64) ([]string, error) {
	var out []string
	for depth := 0; id != "" && depth < maxSpaceDepth; depth++ {
		v, ok, err := versionAsOf(c.tx, c.tenant, domain.Ref{Type: domain.AggregateSpace, ID: id}, pos)
		if err != nil || !ok {
			return out, err
		}
		var s Space
		if err := v.DecodeState(&s); err != nil {
			return out, err
		}
		out = append(out, s.ID)
		id = s.ParentID
	}
	return out, nil
}
