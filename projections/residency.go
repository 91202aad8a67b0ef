//go:build linux

package projections

import (
	"bytes"
	"os"
	"strconv"
	"sync"
	"syscall"

	bolt "go.etcd.io/bbolt"
)

// The read models' pages in the process's resident set.
//
// bbolt maps the whole read-model file and reads it through that mapping,
// so every page a transaction touches stays mapped into the process and
// counts in its resident set (RssFile) until the kernel wants the memory
// back. A rebuild touches nearly every page: at 1M events 1.5 GiB of the
// file was resident beside ~450 MiB of our own (docs/performance.md).
// Those pages are clean copies of the page cache: bbolt writes the file
// with pwrite, never through the mapping, which is read only. Dropping
// them from our mapping (madvise MADV_DONTNEED) takes them out of the
// resident set and leaves them in the page cache, from which the next read
// maps them back with a minor fault, without going to the disk.
//
// The drop runs inside a read transaction. bbolt holds its mmap lock for
// reading through every read transaction and takes it for writing to grow
// (remap) its mapping, so while the drop runs the mapping cannot move: the
// address and length are those of the live mapping. Readers in other
// transactions that touch a dropped page meanwhile fault it back in.
//
// The runner checks the budget after each commit once it has caught up
// with the log, and once a second while it follows (reads alone also map
// pages in). It drops only when the file pages resident in the process
// have grown by the budget since the last drop, which /proc/self/statm
// tells cheaply. The floor is what stayed resident right after the last
// drop (the binary's own pages, other mapped files), so the budget is
// about what can be dropped. A budget of 0, the default, turns these
// drops off: a following runner's commits write new pages all over the
// file (~180 KB of pages per event in the bench mix), so a 64 MiB budget
// filled about every 100 ms and every page then faulted back; that raised
// the mix's projection lag p50 from 11-14 ms to 81-154 ms
// (docs/performance.md, Memory).
//
// While the runner works through a backlog (a rebuild, a start far
// behind) it does not drop: each transaction of 2000 events touches
// ~200 KB of the file per event at random, and bbolt's commit more, so
// one transaction alone maps in more than the budget (~670 MiB at 1M
// events), and dropping between transactions made every touch fault the
// page back (~2 µs each here): a rebuild took 2.2× as long, for a peak
// that was still one transaction's pages. It drops them all once the
// backlog is done, whatever the budget (docs/performance.md).

// DefaultMappedBudget is the budget a DB starts with: none, so a following
// runner never drops (see above); a rebuild or catch-up still drops at its
// end.
const DefaultMappedBudget = 0

// statmFile tells the process's resident pages; its third field counts
// the pages of mapped files (and shared memory).
const statmFile = "/proc/self/statm"

// residency keeps the read models' mapped pages within a budget.
type residency struct {
	mu     sync.Mutex
	budget int64 // 0: no drops
	floor  int64 // mapped file bytes resident right after the last drop
	off    bool  // statm or madvise failed once: no more attempts
	drops  int   // how many times the pages were dropped, for tests
}

// trimResident drops the read models' pages from the mapping when the
// process's mapped file pages have outgrown the budget. It never fails the
// caller: a kernel that refuses turns it off for this DB.
func (db *DB) trimResident() { db.shedResident(false) }

// dropResident drops the read models' pages from the mapping whatever the
// budget: a backlog is done.
func (db *DB) dropResident() { db.shedResident(true) }

// shedResident drops the pages when forced or over the budget.
func (db *DB) shedResident(force bool) {
	r := db.resident
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.off || (!force && r.budget <= 0) {
		return
	}
	if !force {
		now, err := residentFileBytes()
		if err != nil {
			r.off = true
			return
		}
		if now < r.floor+r.budget {
			return
		}
	}
	r.drop(db)
}

// drop drops the pages and notes the new floor; r.mu is held.
func (r *residency) drop(db *DB) {
	if err := dropMapped(db.bolt); err != nil {
		r.off = true
		return
	}
	r.drops++
	var err error
	if r.floor, err = residentFileBytes(); err != nil {
		r.off = true
	}
}

// SetMappedBudget sets how many bytes of the file's pages the process may
// map in beyond the floor before they are dropped; 0 keeps them all (the
// kernel still reclaims them under pressure: they are page cache).
func (db *DB) SetMappedBudget(n int64) {
	if r := db.resident; r != nil {
		r.mu.Lock()
		r.budget = max(n, 0)
		r.mu.Unlock()
	}
}

// dropMapped drops every page of b's mapping in use from the process's
// resident set; they stay in the page cache.
func dropMapped(b *bolt.DB) error {
	return b.View(func(tx *bolt.Tx) error {
		// The read transaction holds the mmap lock: Info's address is the
		// live mapping's, and tx.Size (the pages in use when the
		// transaction began) is within it.
		_, _, errno := syscall.Syscall(syscall.SYS_MADVISE, b.Info().Data, uintptr(tx.Size()), syscall.MADV_DONTNEED)
		if errno != 0 {
			return errno
		}
		return nil
	})
}

// newResidency is the budget's keeper for one DB, nil where the resident
// pages cannot be read (then nothing is dropped).
func newResidency() *residency {
	if _, err := residentFileBytes(); err != nil {
		return nil
	}
	return &residency{budget: DefaultMappedBudget}
}

// residentFileBytes is how many bytes of mapped files (RssFile, with
// RssShmem) the process has resident.
func residentFileBytes() (int64, error) {
	b, err := os.ReadFile(statmFile)
	if err != nil {
		return 0, err
	}
	f := bytes.Fields(b)
	if len(f) < 3 {
		return 0, syscall.EINVAL
	}
	pages, err := strconv.ParseInt(string(f[2]), 10, 64)
	if err != nil {
		return 0, err
	}
	return pages * int64(os.Getpagesize()), nil
}
