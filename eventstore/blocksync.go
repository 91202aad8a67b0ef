package eventstore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// When this process is the only one that can reach its embedded server
// (no --nats-url, no --nats-listen) the writer makes appends durable itself:
// the server writes each message into its block file before it acknowledges
// it (a single-replica file store flushes in place), and the writer fsyncs
// the stream's newest block once per group, before any command of the group
// is answered. A 2xx still means on disk, and a group of commands costs one
// fsync instead of one per event (or one atomic batch, which costs several).
// TestServerWritesBeforeAck guards the server behaviour this relies on.

// blockSyncer fsyncs the message blocks of the event stream.
type blockSyncer struct {
	dir string   // the stream's msgs directory
	f   *os.File // the newest block, kept open
	idx uint64   // its number
}

// streamDir is where the embedded server keeps the event stream.
func streamDir(dataDir string) string {
	return filepath.Join(dataDir, "jetstream", "jetstream", "$G", "streams", StreamName)
}

// newBlockSyncer finds the stream's blocks and makes everything the server
// wrote for the stream so far durable (its metadata and blocks, written by
// a server that did not sync them itself).
func newBlockSyncer(dataDir string) (*blockSyncer, error) {
	root := streamDir(dataDir)
	b := &blockSyncer{dir: filepath.Join(root, "msgs")}
	if _, err := os.Stat(b.dir); err != nil {
		return nil, fmt.Errorf("eventstore: the embedded server's stream files are not where expected: %w", err)
	}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if n, ok := blockNumber(d.Name()); ok && !d.IsDir() && n > b.idx {
			b.idx = n
		}
		return syncPath(p)
	})
	if err != nil {
		return nil, fmt.Errorf("eventstore: sync stream files: %w", err)
	}
	if b.idx > 0 {
		if b.f, err = os.Open(filepath.Join(b.dir, strconv.FormatUint(b.idx, 10)+".blk")); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// sync makes every block written so far durable: the newest one, and any
// block the server started since the last call (with the directory entry
// that names it).
func (b *blockSyncer) sync() error {
	for {
		next, err := os.Open(filepath.Join(b.dir, strconv.FormatUint(b.idx+1, 10)+".blk"))
		if errors.Is(err, os.ErrNotExist) {
			break
		}
		if err != nil {
			return err
		}
		if b.f != nil {
			err = b.f.Sync()
			b.f.Close()
			if err != nil {
				next.Close()
				return err
			}
		}
		b.f, b.idx = next, b.idx+1
		if err := syncPath(b.dir); err != nil {
			return err
		}
	}
	if b.f == nil {
		return nil
	}
	return b.f.Sync()
}

func (b *blockSyncer) close() {
	if b.f != nil {
		b.f.Close()
	}
}

func blockNumber(name string) (uint64, bool) {
	if !strings.HasSuffix(name, ".blk") {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimSuffix(name, ".blk"), 10, 64)
	return n, err == nil
}

// syncPath fsyncs one file or directory.
func syncPath(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
