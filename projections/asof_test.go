package projections

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/portcullis/portcullis/commands"
	"github.com/portcullis/portcullis/domain"
)

// Lists, counts and single records as of a position equal what the live
// read models answered when they stood at that position.
func TestIndividualsAsOfEqualLiveAnswers(t *testing.T) {
	store := mustOpenStore(t)
	db := mustOpenDB(t, filepath.Join(t.TempDir(), "rm.db"))
	r, _ := NewRunner(db, store)
	ctx := context.Background()
	cmd := commands.New(store)
	rng := rand.New(rand.NewPCG(7, 7))
	meta := func() commands.Meta {
		return commands.Meta{Tenant: "t1", Actor: "test", Face: domain.FaceNative, CommandID: commands.NewCommandID()}
	}
	queries := []struct {
		f     IndividualFilter
		order []domain.Order
		page  domain.Page
	}{
		{page: domain.Page{Page: 1, Limit: 100}},
		{page: domain.Page{Page: 2, Limit: 3}},
		{order: []domain.Order{{Field: "created_at", Desc: true}}, page: domain.Page{Page: 1, Limit: 4}},
		{f: IndividualFilter{Status: "inactive"}, page: domain.Page{Page: 1, Limit: 100}},
		{f: IndividualFilter{Search: "p1"}, order: []domain.Order{{Field: "last_name"}}, page: domain.Page{Page: 1, Limit: 5}},
		{order: []domain.Order{{Field: "updated_at", Desc: true}, {Field: "first_name"}}, page: domain.Page{Page: 2, Limit: 4}},
	}
	type snapshot struct {
		pos     uint64
		ids     []string
		answers []string
	}
	answer := func(asOf uint64, ids []string) []string {
		var out []string
		for _, q := range queries {
			var items []Individual
			var total int
			var err error
			if asOf == 0 {
				items, total, err = db.Individuals("t1", q.f, q.order, q.page)
			} else {
				items, total, err = db.IndividualsAsOf("t1", q.f, q.order, q.page, asOf)
			}
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprintf("%d %+v", total, items))
		}
		for _, id := range ids {
			var ind Individual
			var ok bool
			var err error
			if asOf == 0 {
				ind, ok, err = db.Individual("t1", id)
			} else {
				ind, ok, err = db.IndividualAsOf("t1", id, asOf)
			}
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprintf("%v %+v", ok, ind))
		}
		return out
	}
	var ids, alive []string
	var snaps []snapshot
	for step := range 220 {
		var pos uint64
		switch k := rng.IntN(10); {
		case k < 4 || len(alive) < 3:
			res, err := cmd.CreateIndividual(ctx, meta(), domain.IndividualFields{FirstName: fmt.Sprint("F", rng.IntN(50)),
				LastName: fmt.Sprint("L", rng.IntN(5)), Email: fmt.Sprintf("p%d@example.com", step), Status: "active"})
			if err != nil {
				t.Fatal(err)
			}
			ids, alive, pos = append(ids, res.Individual.ID), append(alive, res.Individual.ID), res.Position
		case k < 8:
			status := []string{"active", "inactive", "suspended"}[rng.IntN(3)]
			res, err := cmd.UpdateIndividual(ctx, meta(), alive[rng.IntN(len(alive))], domain.IndividualPatch{Status: &status})
			if err != nil {
				t.Fatal(err)
			}
			pos = res.Position
		default:
			i := rng.IntN(len(alive))
			res, err := cmd.DeleteIndividual(ctx, meta(), alive[i])
			if err != nil {
				t.Fatal(err)
			}
			alive, pos = append(alive[:i], alive[i+1:]...), res.Position
		}
		if err := r.CatchUp(ctx, pos, nil); err != nil {
			t.Fatal(err)
		}
		// An update that changes nothing answers the record's version,
		// which may be behind the log: the read models stand at the head.
		pos = r.Position()
		if step%11 == 0 || step > 210 {
			snaps = append(snaps, snapshot{pos: pos, ids: ids, answers: answer(0, ids)})
		}
	}
	for _, s := range snaps {
		got := answer(s.pos, s.ids)
		for i := range got {
			if got[i] != s.answers[i] {
				t.Fatalf("as of %d, answer %d:\n got %s\nwant %s", s.pos, i, got[i], s.answers[i])
			}
		}
	}
	// Before anything: nothing.
	if items, total, _ := db.IndividualsAsOf("t1", IndividualFilter{}, nil, domain.Page{Page: 1, Limit: 10}, 0); len(items) != 0 || total != 0 {
		t.Fatalf("as of position 0: %d of %d", len(items), total)
	}
}
