// Package projections is the only package that speaks to bbolt. It builds
// the read models from the event log: a runner follows the stream and applies
// many events per bbolt transaction, writing its checkpoint in the same
// transaction, so a read model and its position can never disagree.
package projections

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/vmihailenco/msgpack/v5"
	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// ErrLocked means another process holds the read-model file: a server is
// running on the same data directory.
var ErrLocked = errors.New("projections: the read-model file is in use by another process")

var (
	bucketMeta    = []byte("meta")
	keyCheckpoint = []byte("checkpoint")
	keyLayout     = []byte("layout")
)

// layout numbers the way the read models are laid out in the file. A file
// of another layout is emptied when opened, so the runner rebuilds it from
// the log: 2 keeps history by position (history.go); 3 keeps versions of
// every read-model bucket (versions.go) and the individuals' status index.
const layout = 3

// DB is the read-model file. A DB made by At reads every versioned bucket
// as it stood at a past position (versions.go).
type DB struct {
	bolt *bolt.DB
	asOf uint64
	past bool
	// unsynced is the marker to remove once a clean close has fsynced the
	// file; empty when every commit is fsynced (unsynced.go).
	unsynced string
	// rec records every write of the runner's transactions, while a
	// benchmark's RebuildRecording runs (writelog.go).
	rec *WriteLog
	// resident keeps the file's pages that reads mapped into the process
	// within a budget (residency.go); nil on a DB made by At.
	resident *residency
}

// At is the read models as they stood right after position seq: every read
// method of the returned DB answers what it answered then. It shares the
// file with db and must not be used to write.
func (db *DB) At(seq uint64) *DB {
	return &DB{bolt: db.bolt, asOf: seq, past: true}
}

// view runs fn in a read transaction, as of db's position when it has one.
func (db *DB) view(fn func(tx *vtx) error) error {
	return db.bolt.View(func(tx *bolt.Tx) error {
		return fn(&vtx{tx: tx, asOf: db.asOf, past: db.past})
	})
}

// update runs fn in a write transaction; versions are written at tx.pos,
// which the caller sets before each event it applies.
func (db *DB) update(fn func(tx *vtx) error) error {
	if db.rec != nil {
		db.rec.beginTx()
	}
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		t := &vtx{tx: tx, rec: db.rec, buckets: map[string]*vbucket{}}
		if err := fn(t); err != nil {
			return err
		}
		return t.flushVersions()
	})
	if db.rec != nil {
		db.rec.endTx(err == nil)
	}
	return err
}

// OpenDB opens or creates the read-model file at path. Its commits are not
// fsynced where the running boot can be told (unsynced.go).
func OpenDB(path string) (*DB, error) { return openDB(path, currentBootID()) }

// openDB is OpenDB as boot (empty: fsync every commit) would open it.
func openDB(path, boot string) (*DB, error) {
	if boot != "" {
		// A marker of another boot means no process of this boot has
		// opened the file since (each open rewrites it), so nobody holds
		// it, and it may be torn: it goes before bbolt reads it.
		if err := discardIfTornByReboot(path, boot); err != nil {
			return nil, err
		}
	}
	opts := boltOptions()
	opts.NoSync = boot != ""
	b, err := bolt.Open(path, 0o600, opts)
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, ErrLocked
	}
	if err != nil {
		return nil, fmt.Errorf("projections: open %s: %w", path, err)
	}
	db := &DB{bolt: b, resident: newResidency()}
	if boot != "" {
		if err := markUnsynced(path, boot); err != nil {
			b.Close()
			return nil, err
		}
		db.unsynced = unsyncedMarker(path)
	}
	err = b.Update(func(tx *bolt.Tx) error {
		for _, name := range allBuckets() {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		if getUint(meta, keyLayout) == layout {
			return nil
		}
		// Written by a version that laid the read models out differently
		// (or fresh): start them over, and the runner rebuilds them.
		if getUint(meta, keyCheckpoint) != 0 {
			if err := resetBuckets(tx); err != nil {
				return err
			}
		}
		return putUint(tx.Bucket(bucketMeta), keyLayout, layout)
	})
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("projections: create buckets: %w", err)
	}
	return db, nil
}

// boltOptions is how the read-model file is opened. The map starts at a
// size few files outgrow: bbolt remaps when the file outgrows its map, and
// a remap during a commit first copies every key and value the transaction
// has touched out of the old map, which for a rebuild's large transactions
// cost as much as applying their events. It is address space, not memory.
func boltOptions() *bolt.Options {
	return &bolt.Options{Timeout: time.Second, FreelistType: bolt.FreelistMapType, InitialMmapSize: 1 << 30}
}

// Close fsyncs and closes the file; after that it no longer depends on the
// page cache, and its marker goes.
func (db *DB) Close() error {
	if db.unsynced == "" {
		return db.bolt.Close()
	}
	err := db.bolt.Sync()
	if cerr := db.bolt.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Remove(db.unsynced)
	}
	return err
}

// Checkpoint is the stream position the read models reflect.
func (db *DB) Checkpoint() (uint64, error) {
	var pos uint64
	err := db.view(func(tx *vtx) error {
		pos = getUint(tx.Bucket(bucketMeta), keyCheckpoint)
		return nil
	})
	return pos, err
}

// reset empties every read model and the checkpoint, for a rebuild.
func (db *DB) reset() error {
	return db.bolt.Update(func(tx *bolt.Tx) error {
		if err := resetBuckets(tx); err != nil {
			return err
		}
		return putUint(tx.Bucket(bucketMeta), keyLayout, layout)
	})
}

func resetBuckets(tx *bolt.Tx) error {
	for _, name := range allBuckets() {
		if err := tx.DeleteBucket(name); err != nil && !errors.Is(err, bolterrors.ErrBucketNotFound) {
			return err
		}
		if _, err := tx.CreateBucket(name); err != nil {
			return err
		}
	}
	return nil
}

// allBuckets lists every bucket the read models use, and the shadows of
// the versioned ones (versions.go).
func allBuckets() [][]byte {
	return withShadows([][]byte{bucketMeta, bucketTenants, bucketIndividuals, bucketIndividualsByCreated, bucketIndividualsByStatus,
		bucketIndividualsByExtID, bucketCounts, bucketHistory, bucketHistoryIndex,
		bucketTimeline, bucketAudit, bucketAuditIndex, bucketAuditCounts, bucketLives, bucketLifeOf, bucketLiveCount,
		bucketServiceUsers, bucketTokens, bucketTokenHashes, bucketOAuthClients, bucketOAuthClientIDs, bucketRoles,
		bucketNevisUsers, bucketDispatchTargets, bucketDispatchTargetsByCreated,
		bucketFidoUafCredentials, bucketFidoUafCredentialsByCreated, bucketDispatchTargetHistory,
		bucketAccessGroups, bucketAccessGroupPermissions, bucketAccessRecords,
		bucketConnections, bucketConnectionsByCreated, bucketWebhooks,
		bucketCredentials, bucketCredentialIndex, bucketCredentialBlocks, bucketCredentialCounts, bucketCredentialNumbers,
		bucketCredentialShapes, bucketCredentialShapeNumbers, bucketCredentialTimes, bucketCredentialTimeDays,
		bucketLocations, bucketBuildings, bucketSpaces, bucketLockingSystems, bucketAccessPoints, bucketPlaceIndex,
		bucketViewPlacements, bucketViewLinks, bucketViewMembers, bucketViewCounts, bucketViewActivity, bucketViewPeople,
		bucketViewDepartments, bucketViewActiveSystems, bucketViewBlocks})
}

// key joins a tenant and parts into a bbolt key. Tenants and ids are subject
// tokens, which never contain 0x00, so the separator cannot be forged.
func key(parts ...string) []byte {
	n := 0
	for _, p := range parts {
		n += len(p) + 1
	}
	k := make([]byte, 0, n+8)
	for i, p := range parts {
		if i > 0 {
			k = append(k, 0)
		}
		k = append(k, p...)
	}
	return k
}

// seqKey appends a big-endian position to a prefix so keys sort by position.
func seqKey(prefix []byte, seq uint64) []byte {
	k := make([]byte, len(prefix), len(prefix)+9)
	copy(k, prefix)
	k = append(k, 0)
	return binary.BigEndian.AppendUint64(k, seq)
}

// getter and putter are what the helpers below need of a bucket: the read
// models' versioned buckets and the plain buckets of the other files alike.
type (
	getter interface{ Get(k []byte) []byte }
	putter interface{ Put(k, v []byte) error }
)

func putUint(b putter, k []byte, v uint64) error {
	return b.Put(k, binary.BigEndian.AppendUint64(nil, v))
}

func getUint(b getter, k []byte) uint64 {
	v := b.Get(k)
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

func addUint(b interface {
	getter
	putter
}, k []byte, delta int64) error {
	return putUint(b, k, uint64(int64(getUint(b, k))+delta))
}

// marshal is msgpack.Marshal into a buffer the size most read-model
// values fit in: Marshal starts from an empty buffer and grows it three or
// four times for a record, several times per event.
func marshal(v any) ([]byte, error) {
	enc := msgpack.GetEncoder()
	buf := bytes.NewBuffer(make([]byte, 0, 512))
	enc.Reset(buf)
	err := enc.Encode(v)
	msgpack.PutEncoder(enc)
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func putValue(b putter, k []byte, v any) error {
	data, err := marshal(v)
	if err != nil {
		return err
	}
	return b.Put(k, data)
}

// getValue decodes the value at k into v; false when absent. Bytes from
// bbolt are valid only inside the transaction, and msgpack copies them.
func getValue(b getter, k []byte, v any) (bool, error) {
	data := b.Get(k)
	if data == nil {
		return false, nil
	}
	return true, msgpack.Unmarshal(data, v)
}
