package commands

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/portcullis/portcullis/domain"
)

// DemoCounts are what a fill created.
type DemoCounts struct {
	Locations      int
	Buildings      int
	Spaces         int
	LockingSystems int
	AccessPoints   int
	Individuals    int
	Credentials    int
	Links          int // credential ⇄ access point links
	Assigned       int // credentials assigned outright
	Pending        int // credentials reserved until the person confirms
	Overdue        int // held credentials already past their due date
	Returned       int
	AccessRules    int
	// ExampleIndividual may open ExampleAccessPoint during office hours.
	ExampleIndividual  string
	ExampleAccessPoint string
	// Position is the consistency token of the fill's last event.
	Position uint64
}

// demoConcurrency bounds the commands a fill runs at once: enough for the
// writer to share its atomic batches among them (group commit).
const demoConcurrency = 64

// demo is one fill in progress.
type demo struct {
	c    *Commands
	meta Meta
	plan domain.DemoPlan

	mu  sync.Mutex
	pos uint64
}

// metaFor is the meta of one step: the caller's, with the step's own
// derived command id.
func (d *demo) metaFor(step string, i int) Meta {
	m := d.meta
	m.CommandID = deriveID("demo/"+d.meta.Tenant, step, i)
	m.IfMatch = nil
	return m
}

func (d *demo) landed(pos uint64) {
	d.mu.Lock()
	d.pos = max(d.pos, pos)
	d.mu.Unlock()
}

// create runs a creation step unless an earlier fill already made its
// record. A retried command is recognized by the record's list of recent
// commands, which may have moved past the creating one by then (a locking
// system gets an event per access point), so the step looks for the
// record itself, by the id the command derives from its command id.
func create[T any, P existing[T]](ctx context.Context, d *demo, step string, i int, kind string, ref func(string) domain.Ref,
	run func(m Meta) (uint64, error)) (string, error) {
	m := d.metaFor(step, i)
	id := deriveID(m.CommandID, kind, 0)
	s, err := current[T, P](ctx, d.c, m.Tenant, ref(id))
	if err != nil || P(&s).Exists() {
		return id, err
	}
	pos, err := run(m)
	d.landed(pos)
	return id, err
}

// concurrently runs fn(i) for i in [0, n) with up to limit at once, and returns the
// first error.
func concurrently(ctx context.Context, n, limit int, fn func(i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := fn(i); err != nil {
				cancel(err)
			}
		})
	}
	wg.Wait()
	return context.Cause(ctx)
}

// FillDemo fills the caller's tenant (meta.Tenant) with the demo site (domain.NewDemoPlan) through
// the same commands the API runs, one command per record or per batch the
// API has a batch form for, independent commands concurrently.
//
// Every command's id is derived from the tenant and the step, not from the
// request: a fill that failed half way (a crash, a timeout) is completed by
// calling it again, each command that already landed recognizing its own
// id and appending nothing. Once every step has landed the tenant's demo
// claim (domain.UniqueTenantDemo) is taken; from then on a fill is
// CONFLICT. Before anything is appended, every email and credential number
// of the plan is checked against the tenant's claims, so a tenant whose
// own records use one of them gets CONFLICT naming it instead of half a
// demo.
func (c *Commands) FillDemo(ctx context.Context, meta Meta, now time.Time) (DemoCounts, error) {
	d := &demo{c: c, meta: meta, plan: domain.NewDemoPlan(now)}
	marker := domain.UniqueRef(domain.UniqueTenantDemo, "complete")
	done, err := load[domain.UniqueValue](ctx, c, meta.Tenant, marker)
	if err != nil {
		return DemoCounts{}, err
	}
	if done.State.Owner != "" {
		return DemoCounts{}, domain.Errorf(domain.CodeConflict, "this tenant already has the demo data")
	}
	if err := d.checkClaims(ctx); err != nil {
		return DemoCounts{}, err
	}
	counts, err := d.fill(ctx)
	if err != nil {
		return DemoCounts{}, err
	}
	// The claim is the last step: only a complete fill takes it.
	m := d.metaFor("complete", 0)
	pos, err := c.run(ctx, m, marker, func(ctx context.Context) ([]change, error) {
		return c.claims(ctx, m.Tenant, "demo", nil, []uniqueValue{{domain.UniqueTenantDemo, "complete", "tenant"}})
	})
	if err != nil {
		return DemoCounts{}, err
	}
	d.landed(pos)
	counts.Position = d.pos
	return counts, nil
}

// checkClaims refuses a fill whose emails or credential numbers the tenant
// already uses for records of its own (a value the fill itself claimed in
// an earlier attempt is fine).
func (d *demo) checkClaims(ctx context.Context) error {
	type claim struct{ kind, value, owner, what string }
	var all []claim
	for i, p := range d.plan.People {
		all = append(all, claim{domain.UniqueIndividualEmail, p.Email,
			deriveID(d.metaFor("individual", i).CommandID, "individual", 0), "email " + p.Email})
	}
	for i, cr := range d.plan.Credentials {
		all = append(all, claim{domain.UniqueCredentialNumber, domain.NormalizeCredentialNumber(cr.CredentialID),
			deriveID(d.metaFor("credential", i).CommandID, "access_credential", 0), "credential_id " + cr.CredentialID})
	}
	return concurrently(ctx, len(all), demoConcurrency, func(i int) error {
		s, err := load[domain.UniqueValue](ctx, d.c, d.meta.Tenant, domain.UniqueRef(all[i].kind, all[i].value))
		if err != nil {
			return err
		}
		if s.State.Owner != "" && s.State.Owner != all[i].owner {
			return domain.Errorf(domain.CodeConflict, "the demo data cannot be added: the tenant already uses %s", all[i].what)
		}
		return nil
	})
}

// fill runs the plan: places, then people and credentials, then links,
// assignments and rules.
func (d *demo) fill(ctx context.Context) (DemoCounts, error) {
	p, c := d.plan, d.c
	n := DemoCounts{Locations: 1, Buildings: len(p.Buildings), Spaces: len(p.Spaces), LockingSystems: len(p.Systems),
		AccessPoints: len(p.Doors), Individuals: len(p.People), Credentials: len(p.Credentials),
		Returned: len(p.Returns)}
	loc, err := create[domain.Location](ctx, d, "location", 0, "location", locationRef, func(m Meta) (uint64, error) {
		r, err := c.CreateLocation(ctx, m, p.Location)
		return r.Position, err
	})
	if err != nil {
		return n, err
	}
	buildings := make([]string, len(p.Buildings))
	systems := make([]string, len(p.Systems))
	spaces := make([]string, len(p.Spaces))
	// Buildings and locking systems at once; then each building's spaces
	// in plan order (parents first; creations in one building queue on it
	// anyway), the buildings side by side.
	err = concurrently(ctx, len(p.Buildings)+len(p.Systems), demoConcurrency, func(i int) error {
		if i < len(p.Buildings) {
			var err error
			buildings[i], err = create[domain.Building](ctx, d, "building", i, "building", buildingRef, func(m Meta) (uint64, error) {
				r, err := c.CreateBuilding(ctx, m, domain.BuildingFields{Name: p.Buildings[i], LocationID: loc})
				return r.Position, err
			})
			return err
		}
		i -= len(p.Buildings)
		var err error
		systems[i], err = create[domain.LockingSystem](ctx, d, "locking_system", i, "locking_system", lockingSystemRef, func(m Meta) (uint64, error) {
			r, err := c.CreateLockingSystem(ctx, m, p.Systems[i])
			return r.Position, err
		})
		return err
	})
	if err != nil {
		return n, err
	}
	err = concurrently(ctx, len(p.Buildings), demoConcurrency, func(b int) error {
		for i, s := range p.Spaces {
			if s.Building != b {
				continue
			}
			in := domain.SpaceFields{Name: s.Name, BuildingID: buildings[b]}
			if s.Parent >= 0 {
				in.ParentID = spaces[s.Parent]
			}
			var err error
			spaces[i], err = create[domain.Space](ctx, d, "space", i, "space", spaceRef, func(m Meta) (uint64, error) {
				r, err := c.CreateSpace(ctx, m, in)
				return r.Position, err
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return n, err
	}
	// Access points one after the other within each locking system (a
	// creation attaches to its space and its system, which concurrent
	// creations would fight over), the systems side by side.
	doors := make([]string, len(p.Doors))
	err = concurrently(ctx, len(p.Systems), demoConcurrency, func(sys int) error {
		for i, door := range p.Doors {
			if door.System != sys {
				continue
			}
			f := door.Fields
			f.SpaceID, f.LockingSystemID = spaces[door.Space], systems[door.System]
			var err error
			doors[i], err = create[domain.AccessPoint](ctx, d, "access_point", i, "access_point", accessPointRef, func(m Meta) (uint64, error) {
				r, err := c.CreateAccessPoint(ctx, m, f)
				return r.Position, err
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return n, err
	}
	// People and credentials, all independent.
	people := make([]string, len(p.People))
	creds := make([]string, len(p.Credentials))
	err = concurrently(ctx, len(p.People)+len(p.Credentials), demoConcurrency, func(i int) error {
		if i < len(p.People) {
			var err error
			people[i], err = create[domain.Individual](ctx, d, "individual", i, "individual", individualRef, func(m Meta) (uint64, error) {
				r, err := c.CreateIndividual(ctx, m, p.People[i])
				return r.Position, err
			})
			return err
		}
		i -= len(p.People)
		var err error
		creds[i], err = create[domain.Credential](ctx, d, "credential", i, "access_credential", credentialRef, func(m Meta) (uint64, error) {
			r, err := c.CreateCredential(ctx, m, p.Credentials[i])
			return r.Position, err
		})
		return err
	})
	if err != nil {
		return n, err
	}
	// Links from each door's side, in batches of the API's size. The doors
	// of one locking system share credentials, and concurrent links of one
	// credential would only retry, so they go one after the other; the
	// systems (whose credentials differ) side by side.
	var links sync.Map
	err = concurrently(ctx, len(p.Systems), demoConcurrency, func(sys int) error {
		for i, linked := range p.Links {
			if p.Doors[i].System != sys {
				continue
			}
			for chunk, lo := 0, 0; lo < len(linked); chunk, lo = chunk+1, lo+domain.MaxCredentialBatch {
				batch := linked[lo:min(lo+domain.MaxCredentialBatch, len(linked))]
				ids := make([]string, len(batch))
				for j, k := range batch {
					ids[j] = creds[k]
				}
				res, err := c.LinkCredentials(ctx, d.metaFor(fmt.Sprintf("link/%d", i), chunk), doors[i], ids)
				if err != nil {
					return fmt.Errorf("demo: link %s: %w", p.Doors[i].Fields.PointName, err)
				}
				d.landed(res.Position)
				links.Store([2]int{i, chunk}, len(ids))
			}
		}
		return nil
	})
	if err != nil {
		return n, err
	}
	links.Range(func(_, v any) bool {
		n.Links += v.(int)
		return true
	})
	// Assignments (one command per person), the round trips of the
	// returns, and the access rules, side by side.
	rules := func(i int) error {
		r := p.Rules[i]
		var in []domain.AccessRule
		for _, dr := range r.Rules {
			ar := domain.AccessRule{Departments: dr.Departments, Schedule: dr.Schedule, ValidFrom: dr.ValidFrom, ValidUntil: dr.ValidUntil}
			for _, person := range dr.People {
				ar.IndividualIDs = append(ar.IndividualIDs, people[person])
			}
			in = append(in, ar)
		}
		res, err := c.ReplaceAccessRules(ctx, d.metaFor("rules", i), spaces[r.Space], in)
		d.landed(res.Position)
		return err
	}
	returns := func(i int) error {
		r := p.Returns[i]
		ids := []string{creds[r.Credential]}
		res, err := c.AssignCredentials(ctx, d.metaFor("return_assign", i), ids, domain.Assignment{IndividualID: people[r.Person],
			Condition: "good", Notes: "lent for a site visit"})
		if err != nil {
			return err
		}
		d.landed(res.Position)
		res, err = c.ReturnCredentials(ctx, d.metaFor("return", i), ids, r.Condition, r.Notes)
		d.landed(res.Position)
		return err
	}
	now := time.Now()
	err = concurrently(ctx, len(p.Assignments)+len(p.Returns)+len(p.Rules), demoConcurrency, func(i int) error {
		switch {
		case i < len(p.Assignments):
			a := p.Assignments[i]
			ids := make([]string, len(a.Credentials))
			for j, k := range a.Credentials {
				ids[j] = creds[k]
			}
			in := a.Assignment
			in.IndividualID = people[a.Person]
			// An earlier fill may have handed them out already.
			cr, err := current[domain.Credential](ctx, c, d.meta.Tenant, credentialRef(ids[0]))
			if err != nil || (cr.Holder != nil && cr.Holder.IndividualID == in.IndividualID) {
				return err
			}
			res, err := c.AssignCredentials(ctx, d.metaFor("assign", i), ids, in)
			d.landed(res.Position)
			return err
		case i < len(p.Assignments)+len(p.Returns):
			return returns(i - len(p.Assignments))
		default:
			return rules(i - len(p.Assignments) - len(p.Returns))
		}
	})
	if err != nil {
		return n, err
	}
	for _, a := range p.Assignments {
		k := len(a.Credentials)
		if a.Assignment.Confirmation != nil {
			n.Pending += k
		} else {
			n.Assigned += k
		}
		if !a.Assignment.DueDate.IsZero() && a.Assignment.DueDate.Before(now) {
			n.Overdue += k
		}
	}
	for _, r := range p.Rules {
		n.AccessRules += len(r.Rules)
	}
	n.ExampleIndividual, n.ExampleAccessPoint = people[p.Example.Person], doors[p.Example.Door]
	return n, nil
}
