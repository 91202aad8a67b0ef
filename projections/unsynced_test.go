package projections

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// setCheckpoint commits a checkpoint, the way the runner commits a batch.
func setCheckpoint(t *testing.T, db *DB, pos uint64) {
	t.Helper()
	if err := db.bolt.Update(func(tx *bolt.Tx) error { return putUint(tx.Bucket(bucketMeta), keyCheckpoint, pos) }); err != nil {
		t.Fatal(err)
	}
}

func mustOpenAs(t *testing.T, path, boot string) *DB {
	t.Helper()
	db, err := openDB(path, boot)
	if err != nil {
		t.Fatalf("open as boot %q: %v", boot, err)
	}
	return db
}

// Commits without fsync are kept across a process crash (same boot), and
// the file is discarded, to be rebuilt from the log, when a boot that may
// have lost its page cache wrote it; a clean close makes it durable.
func TestUnsyncedReadModelsAfterCrashes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "readmodels.db")

	db := mustOpenAs(t, path, "boot-a")
	if !db.bolt.NoSync {
		t.Fatal("the file is fsynced on every commit although the boot is known")
	}
	setCheckpoint(t, db, 42)
	db.bolt.Close() // the process dies: no fsync, the marker stays

	db = mustOpenAs(t, path, "boot-a")
	if cp, _ := db.Checkpoint(); cp != 42 {
		t.Fatalf("after a process crash the checkpoint is %d, want 42 (the page cache kept it)", cp)
	}
	setCheckpoint(t, db, 43)
	db.bolt.Close() // the machine dies in the same state

	db = mustOpenAs(t, path, "boot-b")
	if cp, _ := db.Checkpoint(); cp != 0 {
		t.Fatalf("after a reboot the unsynced file was kept at checkpoint %d, want it discarded", cp)
	}
	setCheckpoint(t, db, 7)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(unsyncedMarker(path)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a clean close left the marker: %v", err)
	}

	db = mustOpenAs(t, path, "boot-c")
	if cp, _ := db.Checkpoint(); cp != 7 {
		t.Fatalf("after a clean close and a reboot the checkpoint is %d, want 7", cp)
	}
	db.Close()

	// Where the boot cannot be told, every commit is fsynced and no marker
	// is written.
	db = mustOpenAs(t, path, "")
	if db.bolt.NoSync {
		t.Fatal("NoSync without a boot id")
	}
	if _, err := os.Stat(unsyncedMarker(path)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a marker without a boot id: %v", err)
	}
	db.Close()
}
