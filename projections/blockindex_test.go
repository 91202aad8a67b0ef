package projections

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/portcullis/portcullis/domain"
)

// A page of a blocked index at any depth, either way, is the page a plain
// walk of the entries finds, after puts and deletes that leave some blocks
// empty and others partly filled, beside a neighbour index.
func TestBlockedIndexPagesMatchAWalk(t *testing.T) {
	db := mustOpenDB(t, filepath.Join(t.TempDir(), "rm.db"))
	rng := rand.New(rand.NewPCG(1, 2))
	live := map[uint64]bool{}
	err := db.update(func(tx *vtx) error {
		b := blockedIndex(tx, bucketViewMembers, key("t1", "g"), 4) // blocks of 16
		other := blockedIndex(tx, bucketViewMembers, key("t1", "g2"), 4)
		for range 3000 {
			seq := uint64(rng.IntN(5000)) + 1
			if rng.IntN(3) == 0 && seq < 800 || seq > 2000 && seq < 2300 {
				continue // leave whole blocks empty
			}
			if live[seq] {
				if err := b.delete(seq); err != nil {
					return err
				}
				delete(live, seq)
			} else {
				if err := b.put(seq, fmt.Appendf(nil, "v%d", seq)); err != nil {
					return err
				}
				live[seq] = true
			}
			if err := other.put(seq, []byte("x")); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var want []uint64
	for seq := range live {
		want = append(want, seq)
	}
	slices.Sort(want)
	for _, desc := range []bool{false, true} {
		all := slices.Clone(want)
		if desc {
			slices.Reverse(all)
		}
		for _, limit := range []int{1, 7, 100} {
			for pg := 1; pg <= len(all)/limit+2; pg += 1 + rng.IntN(9) {
				p := domain.Page{Page: pg, Limit: limit}
				var got []uint64
				err := db.view(func(tx *vtx) error {
					es, err := blockedIndex(tx, bucketViewMembers, key("t1", "g"), 4).page(desc, p)
					for _, e := range es {
						if string(e.id) != fmt.Sprintf("v%d", e.seq) {
							t.Fatalf("entry %d holds %q", e.seq, e.id)
						}
						got = append(got, e.seq)
					}
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				lo, hi := p.Bounds(len(all))
				if !slices.Equal(got, all[lo:hi]) {
					t.Fatalf("desc=%v page %d of %d: %v, want %v", desc, pg, limit, got, all[lo:hi])
				}
			}
		}
	}
}
