package commands

import (
	"context"

	"github.com/portcullis/portcullis/domain"
	"github.com/portcullis/portcullis/eventstore"
)

// The place commands (locations, buildings, spaces, locking systems, access
// points) change a record and, in the same atomic append, the parents that
// must know of it: a creation attaches the record to its parents, a move
// detaches it from the old parent and attaches it to the new one, a deletion
// detaches it. Every parent decision reads the parent from the log, never
// from a read model.

// Placed is a place record after a command, with its positions.
type Placed[T any] struct {
	Record T
	Result
}

func placed[T any](s snap[T], res Result) Placed[T] { return Placed[T]{Record: s.State, Result: res} }

func locationRef(id string) domain.Ref { return domain.Ref{Type: domain.AggregateLocation, ID: id} }
func buildingRef(id string) domain.Ref { return domain.Ref{Type: domain.AggregateBuilding, ID: id} }
func spaceRef(id string) domain.Ref    { return domain.Ref{Type: domain.AggregateSpace, ID: id} }
func lockingSystemRef(id string) domain.Ref {
	return domain.Ref{Type: domain.AggregateLockingSystem, ID: id}
}
func accessPointRef(id string) domain.Ref {
	return domain.Ref{Type: domain.AggregateAccessPoint, ID: id}
}

// decidePlace runs a decision on a primary aggregate that may change others
// too: decision returns the primary's events and the changes of the rest.
// The command queues on lock's in-process mutex (the primary, or the parent
// whose children it changes). With mustExist, a missing primary is
// NOT_FOUND (named by what) and If-Match applies.
func decidePlace[T any, P existing[T]](ctx context.Context, c *Commands, meta Meta, lock, ref domain.Ref, what string, mustExist bool,
	decision func(ctx context.Context, s snap[T]) ([]domain.EventData, []change, error)) (Placed[T], error) {
	var after snap[T]
	pos, err := c.run(ctx, meta, lock, func(ctx context.Context) ([]change, error) {
		s, err := load[T, P](ctx, c, meta.Tenant, ref)
		if err != nil {
			return nil, err
		}
		after = s
		if s.applied(meta.CommandID) {
			return nil, nil
		}
		if mustExist {
			if !P(&s.State).Exists() {
				return nil, domain.Errorf(domain.CodeNotFound, "%s %s not found", what, ref.ID)
			}
			if err := meta.checkVersion(s.Seq); err != nil {
				return nil, err
			}
		}
		data, others, err := decision(ctx, s)
		if err != nil || len(data) == 0 && len(others) == 0 {
			return nil, err
		}
		var changes []change
		if len(data) > 0 {
			changes = append(changes, decide[T, P](c, meta.Tenant, ref, s, data, &after))
		}
		return append(changes, others...), nil
	})
	if err != nil {
		return Placed[T]{}, err
	}
	if pos == 0 {
		pos = after.Seq
	}
	return Placed[T]{Record: after.State, Result: Result{Position: pos, Version: after.Seq}}, nil
}

// recordNames reads, from the log, the names of the records a conflict
// message will show (at most domain.NamedChildren of ids).
func recordNames[T any, P existing[T]](ctx context.Context, c *Commands, tenant string, ref func(string) domain.Ref,
	ids domain.IDSet, name func(*T) string, into map[string]string) (map[string]string, error) {
	if into == nil {
		into = map[string]string{}
	}
	for _, id := range ids.Head() {
		s, err := load[T, P](ctx, c, tenant, ref(id))
		if err != nil {
			return nil, err
		}
		into[id] = name(&s.State)
	}
	return into, nil
}

func buildingName(b *domain.Building) string           { return b.Name }
func spaceName(s *domain.Space) string                 { return s.Name }
func accessPointName(a *domain.AccessPoint) string     { return a.PointName }
func lockingSystemName(l *domain.LockingSystem) string { return l.Name }

// loadParent is load for a parent a client named: a cached state that says
// it does not exist is checked against the log again, since another process
// may have created it since.
func loadParent[T any, P existing[T]](ctx context.Context, c *Commands, tenant string, ref domain.Ref) (snap[T], error) {
	s, err := load[T, P](ctx, c, tenant, ref)
	if err == nil && !P(&s.State).Exists() {
		c.cache.drop(eventstore.Subject(tenant, ref))
		s, err = load[T, P](ctx, c, tenant, ref)
	}
	return s, err
}

// credentialLabel is how a conflict message names an access credential: the
// number stamped on it, and its name when it has one.
func credentialLabel(c *domain.Credential) string {
	if c.CredentialName == "" {
		return c.CredentialID
	}
	return c.CredentialID + " " + c.CredentialName
}
