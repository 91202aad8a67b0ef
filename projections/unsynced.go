package projections

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// The read models are not fsynced on every commit.
//
// They are derived data: the log is the record, and the runner rebuilds
// every read model from it. A commit that is not fsynced is still in the
// kernel's page cache, which survives the process: after a crash or a
// kill -9 the file reads exactly as the last commit left it (bbolt writes
// the data pages, then the meta page that makes them current). Only a
// crash of the machine itself (power loss, kernel panic) can lose or tear
// unsynced pages. So the file is opened without fsync (bbolt's NoSync)
// while a marker beside it, fsynced before the first such commit, names
// the boot that wrote it; a clean close fsyncs the file and removes the
// marker. An open that finds a marker of another boot deletes the file
// unopened, and the runner rebuilds it from the log.
//
// What this buys: the runner's two fdatasyncs per commit shared the disk
// with the log's own fsync, which every command waits for; see
// docs/performance.md. Where the boot cannot be told (no
// /proc/sys/kernel/random/boot_id), every commit is fsynced as before.

// bootIDFile names the running boot on Linux.
const bootIDFile = "/proc/sys/kernel/random/boot_id"

// currentBootID is the running boot's id, empty when it cannot be told.
func currentBootID() string {
	b, err := os.ReadFile(bootIDFile)
	if err != nil {
		return ""
	}
	return string(bytes.TrimSpace(b))
}

// unsyncedMarker is the marker's path for the read-model file at path.
func unsyncedMarker(path string) string { return path + ".unsynced" }

// discardIfTornByReboot deletes the read-model file at path when its marker
// says it was written without fsync during another boot, which may have
// ended with pages lost.
func discardIfTornByReboot(path, boot string) error {
	b, err := os.ReadFile(unsyncedMarker(path))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("projections: read %s: %w", unsyncedMarker(path), err)
	}
	if string(b) == boot {
		return nil // the same boot: a process crash, the page cache kept every commit
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("projections: discard read models written before a reboot: %w", err)
	}
	return os.Remove(unsyncedMarker(path))
}

// markUnsynced writes the marker naming boot, durably, before any commit
// goes without fsync.
func markUnsynced(path, boot string) error {
	f, err := os.OpenFile(unsyncedMarker(path), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("projections: mark %s: %w", path, err)
	}
	_, err = f.WriteString(boot)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	if err != nil {
		return fmt.Errorf("projections: mark %s: %w", path, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
