package projections

import (
	"bytes"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/portcullis/portcullis/domain"
)

// A versioned bucket read as of a position shows exactly the keys and
// values it held then: Get, and cursors forward and backward from First,
// Last and Seek, checked against snapshots of a plain map over random
// puts and deletes of keys that contain 0x00 and are prefixes of others.
func TestVersionedBucketAsOfEqualsSnapshots(t *testing.T) {
	db := mustOpenDB(t, filepath.Join(t.TempDir(), "rm.db"))
	rng := rand.New(rand.NewPCG(3, 9))
	keys := [][]byte{{}, {0}, {0, 0}, {0, 1}, {1}, {1, 0}, {1, 0, 0}, {1, 0xFF}, {0xFF}, {0xFF, 0}, []byte("a"), []byte("a\x00b"), []byte("ab")}
	live := map[string][]byte{}
	snaps := map[uint64]map[string][]byte{}
	pos := uint64(0)
	for range 60 {
		err := db.update(func(tx *vtx) error {
			for range 1 + rng.IntN(4) {
				pos++
				tx.pos = pos
				b := tx.Bucket(bucketViewCounts)
				for range 1 + rng.IntN(3) {
					k := keys[rng.IntN(len(keys))]
					if len(k) == 0 {
						continue // bbolt refuses empty keys
					}
					if rng.IntN(3) == 0 {
						if err := b.Delete(k); err != nil {
							return err
						}
						delete(live, string(k))
						continue
					}
					v := []byte(fmt.Sprint(pos, rng.IntN(100)))
					if rng.IntN(5) == 0 {
						v = []byte{}
					}
					if err := b.Put(k, v); err != nil {
						return err
					}
					live[string(k)] = v
				}
				snaps[pos] = maps.Clone(live)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	snaps[0] = map[string][]byte{}
	for at := uint64(0); at <= pos; at++ {
		want := snaps[at]
		sorted := slices.Sorted(maps.Keys(want))
		err := db.At(at).view(func(tx *vtx) error {
			b := tx.Bucket(bucketViewCounts)
			for _, k := range keys[1:] {
				got := b.Get(k)
				w, ok := want[string(k)]
				if (got != nil) != ok || !bytes.Equal(got, w) {
					t.Errorf("at %d Get(%x) = %q, want %q (present %v)", at, k, got, w, ok)
				}
			}
			var fwd, back []string
			c := b.Cursor()
			for k, v := c.First(); k != nil; k, v = c.Next() {
				fwd = append(fwd, string(k))
				if !bytes.Equal(v, want[string(k)]) {
					t.Errorf("at %d cursor %x = %q, want %q", at, k, v, want[string(k)])
				}
			}
			for k, _ := c.Last(); k != nil; k, _ = c.Prev() {
				back = append(back, string(k))
			}
			slices.Reverse(back)
			if !slices.Equal(fwd, sorted) || !slices.Equal(back, sorted) {
				t.Errorf("at %d keys forward %q backward %q, want %q", at, fwd, back, sorted)
			}
			for _, from := range keys {
				k, _ := c.Seek(from)
				i, _ := slices.BinarySearch(sorted, string(from))
				if (k == nil) != (i == len(sorted)) || (k != nil && string(k) != sorted[i]) {
					t.Errorf("at %d Seek(%x) = %x, want index %d of %q", at, from, k, i, sorted)
				}
				if k == nil {
					continue
				}
				if p, _ := c.Prev(); (i == 0) != (p == nil) || (p != nil && string(p) != sorted[i-1]) {
					t.Errorf("at %d Seek(%x) then Prev = %x, want index %d of %q", at, from, p, i-1, sorted)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// The live read is the newest snapshot.
	err := db.view(func(tx *vtx) error {
		var got []string
		c := tx.Bucket(bucketViewCounts).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			got = append(got, string(k))
		}
		if want := slices.Sorted(maps.Keys(live)); !slices.Equal(got, want) {
			t.Errorf("live keys %q, want %q", got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The views read through the versions at the newest position answer what
// they answer live, over the bench's fixture (credentials, a site, links
// and holds): the dashboard, the overview, locking plans and a space's
// active assignments, first and later pages.
func TestViewsAsOfNewestEqualLive(t *testing.T) {
	db := mustOpenDB(t, filepath.Join(t.TempDir(), "rm.db"))
	const n = 3000
	if err := WriteCredentialFixture(db, n); err != nil {
		t.Fatal(err)
	}
	if err := WriteViewFixture(db, n); err != nil {
		t.Fatal(err)
	}
	past := db.At(^uint64(0) - 1)
	same := func(what string, live, asOf func(db *DB) (any, error)) {
		t.Helper()
		a, err := live(db)
		if err != nil {
			t.Fatal(err)
		}
		b, err := asOf(past)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s as of the newest position differs from live:\n got %+v\nwant %+v", what, b, a)
		}
	}
	dash := func(db *DB) (any, error) { return db.Dashboard("t1", credentialBenchBase, 5) }
	same("dashboard", dash, dash)
	for _, p := range []int{1, 2, 3} {
		plan := func(db *DB) (any, error) {
			pl, ok, err := db.LockingPlan("t1", viewBenchID("ls", 0), CredentialFilter{}, false, domain.Page{Page: p, Limit: 50})
			return []any{pl, ok}, err
		}
		same(fmt.Sprint("locking plan page ", p), plan, plan)
		held := func(db *DB) (any, error) {
			as, total, ok, err := db.SpaceAssignments("t1", viewBenchID("space", 0), CredentialFilter{}, p == 2, domain.Page{Page: p, Limit: 5})
			return []any{as, total, ok}, err
		}
		same(fmt.Sprint("space assignments page ", p), held, held)
	}
	ov := func(db *DB) (any, error) {
		sum, items, total, err := db.ControlSystemsOverview("t1", LockingSystemFilter{}, nil, domain.Page{Page: 1, Limit: 10})
		return []any{sum, items, total}, err
	}
	same("overview", ov, ov)
	creds := func(db *DB) (any, error) {
		cs, total, err := db.Credentials("t1", CredentialFilter{Status: "lost"}, nil, domain.Page{Page: 3, Limit: 20})
		return []any{cs, total}, err
	}
	same("lost credentials page 3", creds, creds)
}
