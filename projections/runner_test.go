package projections

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/portcullis/portcullis/commands"
	"github.com/portcullis/portcullis/domain"
	"github.com/portcullis/portcullis/eventstore"
)

// mustOpenDB opens a read-model file whose cleanup runs bbolt's consistency
// check before closing it.
func mustOpenDB(t *testing.T, path string) *DB {
	t.Helper()
	db, err := OpenDB(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		err := db.bolt.View(func(tx *bolt.Tx) error {
			for err := range tx.Check() {
				return err
			}
			return nil
		})
		if err != nil {
			t.Errorf("bbolt consistency check: %v", err)
		}
		db.Close()
	})
	return db
}

func mustOpenStore(t *testing.T) *eventstore.Store {
	t.Helper()
	s, err := eventstore.Open(context.Background(), eventstore.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// scenario writes creates, updates and deletes through the real commands and
// returns the last position.
func scenario(t *testing.T, store *eventstore.Store, n int) uint64 {
	t.Helper()
	ctx := context.Background()
	cmd := commands.New(store)
	meta := func() commands.Meta {
		return commands.Meta{Tenant: "t1", Actor: "test", CommandID: commands.NewCommandID()}
	}
	var last uint64
	for i := range n {
		res, err := cmd.CreateIndividual(ctx, meta(), domain.IndividualFields{
			FirstName: fmt.Sprintf("F%03d", i), LastName: "L", Email: fmt.Sprintf("p%d@example.com", i)})
		if err != nil {
			t.Fatal(err)
		}
		last = res.Position
		dept := fmt.Sprintf("D%d", i%3)
		if res, err = cmd.UpdateIndividual(ctx, meta(), res.Individual.ID, domain.IndividualPatch{Department: &dept}); err != nil {
			t.Fatal(err)
		}
		last = res.Position
		if i%5 == 0 {
			if res, err = cmd.DeleteIndividual(ctx, meta(), res.Individual.ID); err != nil {
				t.Fatal(err)
			}
			last = res.Position
		}
	}
	return last
}

// dump returns every key and value of every read model, for byte comparison.
func dump(t *testing.T, db *DB) []byte {
	t.Helper()
	var buf bytes.Buffer
	err := db.view(func(tx *vtx) error {
		for _, name := range allBuckets() {
			fmt.Fprintf(&buf, "[%s]\n", name)
			if err := tx.Bucket(name).ForEach(func(k, v []byte) error {
				fmt.Fprintf(&buf, "%x=%x\n", k, v)
				return nil
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRunnerFollowsAndRebuildIsIdentical(t *testing.T) {
	store := mustOpenStore(t)
	last := scenario(t, store, 40)
	db := mustOpenDB(t, filepath.Join(t.TempDir(), "rm.db"))
	r, err := NewRunner(db, store)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	if err := r.WaitFor(wctx, last); err != nil {
		t.Fatalf("wait for %d: %v (at %d)", last, err, r.Position())
	}
	cancel()
	<-done

	items, total, err := db.Individuals("t1", IndividualFilter{}, nil, domain.Page{Page: 1, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if total != 32 || len(items) != 32 {
		t.Fatalf("listed %d of %d individuals, want 32 of 32 (40 created, 8 deleted)", len(items), total)
	}
	if cp, _ := db.Checkpoint(); cp != last {
		t.Fatalf("checkpoint %d, want %d", cp, last)
	}
	before := dump(t, db)

	if err := r.Rebuild(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if after := dump(t, db); !bytes.Equal(before, after) {
		t.Fatal("read models after rebuild differ from the ones built live")
	}

	// A fresh file built from position 1 is the same too.
	fresh := mustOpenDB(t, filepath.Join(t.TempDir(), "fresh.db"))
	r2, _ := NewRunner(fresh, store)
	if err := r2.CatchUp(context.Background(), last, nil); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, dump(t, fresh)) {
		t.Fatal("read models built into a new file differ")
	}
}

func TestListOrderingFilteringAndPaging(t *testing.T) {
	store := mustOpenStore(t)
	last := scenario(t, store, 12)
	db := mustOpenDB(t, filepath.Join(t.TempDir(), "rm.db"))
	r, _ := NewRunner(db, store)
	if err := r.CatchUp(context.Background(), last, nil); err != nil {
		t.Fatal(err)
	}
	names := func(items []Individual) string {
		var b bytes.Buffer
		for _, i := range items {
			b.WriteString(i.FirstName + " ")
		}
		return b.String()
	}
	// Deleted: F000, F005, F010.
	page2, total, _ := db.Individuals("t1", IndividualFilter{}, nil, domain.Page{Page: 2, Limit: 4})
	if got, want := names(page2), "F006 F007 F008 F009 "; got != want || total != 9 {
		t.Fatalf("page 2 = %q of %d, want %q of 9", got, total, want)
	}
	desc, _, _ := db.Individuals("t1", IndividualFilter{}, []domain.Order{{Field: "created_at", Desc: true}}, domain.Page{Page: 1, Limit: 3})
	if got, want := names(desc), "F011 F009 F008 "; got != want {
		t.Fatalf("newest first = %q, want %q", got, want)
	}
	byDept, total, _ := db.Individuals("t1", IndividualFilter{Search: "p1"}, []domain.Order{{Field: "first_name", Desc: true}}, domain.Page{Page: 1, Limit: 10})
	if got, want := names(byDept), "F011 F001 "; got != want || total != 2 {
		t.Fatalf("search p1 = %q of %d, want %q of 2", got, total, want)
	}
	beyond, total, _ := db.Individuals("t1", IndividualFilter{}, nil, domain.Page{Page: 9, Limit: 10})
	if len(beyond) != 0 || total != 9 {
		t.Fatalf("beyond the last page: %d items of %d, want 0 of 9", len(beyond), total)
	}
	other, total, _ := db.Individuals("t2", IndividualFilter{}, nil, domain.Page{Page: 1, Limit: 10})
	if len(other) != 0 || total != 0 {
		t.Fatalf("another tenant sees %d individuals", total)
	}
}

// A file of another layout (older code) is emptied when opened, so that the
// runner rebuilds it from position 1 instead of mixing two layouts.
func TestOtherLayoutIsRebuilt(t *testing.T) {
	store := mustOpenStore(t)
	last := scenario(t, store, 5)
	path := filepath.Join(t.TempDir(), "rm.db")
	db, err := OpenDB(path)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := NewRunner(db, store)
	if err := r.CatchUp(context.Background(), last, nil); err != nil {
		t.Fatal(err)
	}
	built := dump(t, db)
	if err := db.update(func(tx *vtx) error {
		return putUint(tx.Bucket(bucketMeta), keyLayout, layout-1)
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	db = mustOpenDB(t, path)
	if cp, _ := db.Checkpoint(); cp != 0 {
		t.Fatalf("checkpoint %d after opening another layout, want 0", cp)
	}
	r, _ = NewRunner(db, store)
	if err := r.CatchUp(context.Background(), last, nil); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(built, dump(t, db)) {
		t.Fatal("read models rebuilt after a layout change differ")
	}
}
