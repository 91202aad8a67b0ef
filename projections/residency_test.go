//go:build linux

package projections

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/portcullis/portcullis/domain"
)

// residencyValue is what key i holds: 1 KiB that names i throughout, so a
// page read from the wrong place or zeroed cannot pass for it.
func residencyValue(i uint64) []byte {
	return bytes.Repeat(binary.BigEndian.AppendUint64(nil, i*2654435761+1), 128)
}

// Dropping the mapped pages while readers read and a writer grows the file
// (so that bbolt remaps, from a small first mapping, over and over) leaves
// every read correct, and takes the pages out of the resident set.
func TestDropMappedUnderConcurrentReadersAndRemaps(t *testing.T) {
	b, err := bolt.Open(filepath.Join(t.TempDir(), "drop.db"), 0o600, &bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	bucket := []byte("b")
	const txs, perTx = 60, 200 // 12 MiB of values: the mapping grows from 32 KiB in steps
	var written atomic.Uint64  // keys below it are committed
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var reads, drops atomic.Int64
	errs := make(chan error, 8)
	for r := range 3 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(r), 7))
			for {
				select {
				case <-stop:
					return
				default:
				}
				n := written.Load()
				if n == 0 {
					continue
				}
				err := b.View(func(tx *bolt.Tx) error {
					for range 50 {
						i := rng.Uint64N(n)
						got := tx.Bucket(bucket).Get(binary.BigEndian.AppendUint64(nil, i))
						if !bytes.Equal(got, residencyValue(i)) {
							return fmt.Errorf("key %d of %d read %d bytes that are not its value", i, n, len(got))
						}
					}
					return nil
				})
				if err != nil {
					errs <- err
					return
				}
				reads.Add(1)
			}
		})
	}
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := dropMapped(b); err != nil {
				errs <- fmt.Errorf("drop: %w", err)
				return
			}
			drops.Add(1)
		}
	})
	var remaps int
	for x := range txs {
		before := b.Info().Data
		err := b.Update(func(tx *bolt.Tx) error {
			bk, err := tx.CreateBucketIfNotExists(bucket)
			if err != nil {
				return err
			}
			for j := range perTx {
				i := uint64(x*perTx + j)
				if err := bk.Put(binary.BigEndian.AppendUint64(nil, i), residencyValue(i)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		written.Store(uint64((x + 1) * perTx))
		b.View(func(*bolt.Tx) error {
			if b.Info().Data != before {
				remaps++
			}
			return nil
		})
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if remaps < 3 || reads.Load() == 0 || drops.Load() == 0 {
		t.Fatalf("%d remaps, %d read transactions, %d drops: the race this test is about did not happen", remaps, reads.Load(), drops.Load())
	}

	// Every page read through the mapping is resident; the drop takes them
	// out, and they read the same afterwards.
	var size int64
	readAll := func() {
		t.Helper()
		err := b.View(func(tx *bolt.Tx) error {
			size = tx.Size()
			var i uint64
			return tx.Bucket(bucket).ForEach(func(k, v []byte) error {
				if binary.BigEndian.Uint64(k) != i || !bytes.Equal(v, residencyValue(i)) {
					return fmt.Errorf("key %x is not entry %d", k, i)
				}
				i++
				return nil
			})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	readAll()
	before, err := residentFileBytes()
	if err != nil {
		t.Fatal(err)
	}
	if err := dropMapped(b); err != nil {
		t.Fatal(err)
	}
	after, err := residentFileBytes()
	if err != nil {
		t.Fatal(err)
	}
	if before-after < size/2 {
		t.Fatalf("mapped file pages resident: %d KiB before the drop, %d KiB after, for a file of %d KiB in use", before>>10, after>>10, size>>10)
	}
	readAll()
}

// With a budget that every commit exceeds (1 byte), the runner drops the mapped
// pages after each commit while a reader lists the individuals; the read
// models come out byte for byte as a rebuild without drops makes them.
func TestRunnerDropsMappedPagesAndReadsStayCorrect(t *testing.T) {
	store := mustOpenStore(t)
	last := scenario(t, store, 60)
	plain := mustOpenDB(t, filepath.Join(t.TempDir(), "plain.db"))
	plain.resident = nil
	r, _ := NewRunner(plain, store)
	if err := r.CatchUp(context.Background(), last, nil); err != nil {
		t.Fatal(err)
	}

	db := mustOpenDB(t, filepath.Join(t.TempDir(), "dropped.db"))
	if db.resident == nil {
		t.Fatal("no residency on Linux")
	}
	db.SetMappedBudget(1)
	stop := make(chan struct{})
	readErr := make(chan error, 1)
	go func() {
		defer close(readErr)
		for {
			select {
			case <-stop:
				return
			default:
			}
			items, total, err := db.Individuals("t1", IndividualFilter{}, nil, domain.Page{Page: 1, Limit: 100})
			if err == nil && len(items) != total {
				err = fmt.Errorf("listed %d of %d individuals", len(items), total)
			}
			for _, it := range items {
				if it.LastName != "L" {
					err = fmt.Errorf("individual %s read as %+v", it.ID, it)
				}
			}
			if err != nil {
				readErr <- err
				return
			}
		}
	}()
	r, _ = NewRunner(db, store)
	// One event per transaction, so that there are many commits to drop after.
	for pos := uint64(1); pos <= last; pos++ {
		if err := r.CatchUp(context.Background(), pos, nil); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	if err := <-readErr; err != nil {
		t.Fatal(err)
	}
	if db.resident.off || db.resident.drops == 0 {
		t.Fatalf("residency off %v after %d drops", db.resident.off, db.resident.drops)
	}
	if !bytes.Equal(dump(t, plain), dump(t, db)) {
		t.Fatal("read models built with the mapped pages dropped differ")
	}
}
