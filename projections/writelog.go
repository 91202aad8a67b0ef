package projections

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// WriteLog is every bbolt write one rebuild made, transaction by
// transaction: bucket, key, value, put or delete, in the order the read
// models made them, and the FillPercent they set on each bucket. Replay
// writes the same through bare bbolt with the same transaction
// boundaries: how long the storage the read models require takes, without
// our code. The gap between a rebuild and its replay is our code (decoding
// events, reading records back, encoding, the audit diff); the replay
// itself is the ceiling of a rebuild that keeps this layout.
//
// Reads (the records and versions the projections look up while they
// apply) are not in it: a replay only writes.
type WriteLog struct {
	names  [][]byte          // bucket names, by their index in ops
	byName map[string]uint16 // bucket name → its index
	fill   []float64         // FillPercent each bucket was given (0: bbolt's default)
	ops    []writeOp
	ends   []int // ops[ends[i-1]:ends[i]] is transaction i
	noSync bool  // the recording DB's commits were not fsynced

	// While recording: the handles of the open transaction's buckets.
	handles map[*bolt.Bucket]uint16
	txStart int
	arena   []byte
	bytes   int
}

// writeOp is one recorded write; v is nil for a deletion.
type writeOp struct {
	bucket uint16
	del    bool
	k, v   []byte
}

// RebuildRecording is Rebuild that also records every bbolt write it
// makes. Recording copies every key and value, so a rebuild that records
// is slower than one that does not: time Rebuild, and replay this. Only
// benchmarks record; the runner's own writes check one nil pointer.
func (r *Runner) RebuildRecording(ctx context.Context) (*WriteLog, error) {
	w := &WriteLog{byName: map[string]uint16{}, handles: map[*bolt.Bucket]uint16{}, noSync: r.db.bolt.NoSync}
	r.db.rec = w
	defer func() { r.db.rec = nil }()
	if err := r.Rebuild(ctx, nil); err != nil {
		return nil, err
	}
	return w, nil
}

// Transactions is how many write transactions the rebuild committed.
func (w *WriteLog) Transactions() int { return len(w.ends) }

// Ops is how many puts and deletes the rebuild made.
func (w *WriteLog) Ops() int { return len(w.ops) }

// Bytes is the size of every key and value the rebuild wrote.
func (w *WriteLog) Bytes() int { return w.bytes }

// Buckets is how many buckets the rebuild wrote to.
func (w *WriteLog) Buckets() int { return len(w.names) }

// beginTx starts recording a transaction.
func (w *WriteLog) beginTx() {
	clear(w.handles)
	w.txStart = len(w.ops)
}

// endTx keeps the transaction's writes when it committed, and drops them
// when it rolled back.
func (w *WriteLog) endTx(committed bool) {
	if !committed {
		w.ops = w.ops[:w.txStart]
		return
	}
	if len(w.ops) > w.txStart {
		w.ends = append(w.ends, len(w.ops))
	}
}

// handle notes the name of a bucket handle of the open transaction.
func (w *WriteLog) handle(b *bolt.Bucket, name []byte) {
	if _, ok := w.handles[b]; ok {
		return
	}
	i, ok := w.byName[string(name)]
	if !ok {
		i = uint16(len(w.names))
		w.byName[string(name)] = i
		w.names = append(w.names, append([]byte{}, name...))
		w.fill = append(w.fill, 0)
	}
	w.handles[b] = i
}

// setFill records the FillPercent a bucket was given.
func (w *WriteLog) setFill(b *bolt.Bucket, p float64) {
	if i, ok := w.handles[b]; ok {
		w.fill[i] = p
	}
}

// put records a put (v non-nil, possibly empty) or a deletion (del).
func (w *WriteLog) put(b *bolt.Bucket, k, v []byte, del bool) {
	i, ok := w.handles[b]
	if !ok {
		panic("projections: write log: a write to a bucket no vtx handed out")
	}
	op := writeOp{bucket: i, del: del, k: w.keep(k)}
	if !del {
		op.v = w.keep(v)
		if op.v == nil {
			op.v = []byte{}
		}
	}
	w.bytes += len(k) + len(v)
	w.ops = append(w.ops, op)
}

// keep copies b into the log's arena.
func (w *WriteLog) keep(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	if cap(w.arena)-len(w.arena) < len(b) {
		w.arena = make([]byte, 0, max(1<<20, len(b)))
	}
	start := len(w.arena)
	w.arena = append(w.arena, b...)
	return w.arena[start:len(w.arena):len(w.arena)]
}

// ReplayTimes is how long a replay took, and how much of it went into
// bbolt's commits (splitting pages and writing them).
type ReplayTimes struct {
	Total, Commit time.Duration
}

// Replay writes the log into a fresh file at path, opened as the read
// models are (fsynced or not as the DB that recorded it), through bare
// bbolt: one transaction per recorded one, each bucket looked up once per
// transaction. The buckets are created first, in a transaction of their
// own, as a rebuild's reset does.
func (w *WriteLog) Replay(path string) (ReplayTimes, error) {
	var times ReplayTimes
	opts := boltOptions()
	opts.NoSync = w.noSync
	db, err := bolt.Open(path, 0o600, opts)
	if err != nil {
		return times, fmt.Errorf("projections: replay: open %s: %w", path, err)
	}
	defer db.Close()
	start := time.Now()
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range allBuckets() {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return times, fmt.Errorf("projections: replay: %w", err)
	}
	handles := make([]*bolt.Bucket, len(w.names))
	from := 0
	for _, end := range w.ends {
		commit, err := w.replayTx(db, w.ops[from:end], handles)
		if err != nil {
			return times, fmt.Errorf("projections: replay: %w", err)
		}
		times.Commit += commit
		from = end
	}
	times.Total = time.Since(start)
	return times, nil
}

// replayTx writes one recorded transaction and returns how long its
// commit took.
func (w *WriteLog) replayTx(db *bolt.DB, ops []writeOp, handles []*bolt.Bucket) (time.Duration, error) {
	tx, err := db.Begin(true)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	clear(handles)
	for _, op := range ops {
		b := handles[op.bucket]
		if b == nil {
			if b = tx.Bucket(w.names[op.bucket]); b == nil {
				return 0, fmt.Errorf("no bucket %q", w.names[op.bucket])
			}
			if p := w.fill[op.bucket]; p > 0 {
				b.FillPercent = p
			}
			handles[op.bucket] = b
		}
		if op.del {
			err = b.Delete(op.k)
		} else {
			err = b.Put(op.k, op.v)
		}
		if err != nil {
			return 0, err
		}
	}
	start := time.Now()
	err = tx.Commit()
	return time.Since(start), err
}

// BucketWrites is what a recorded rebuild wrote to one bucket.
type BucketWrites struct {
	Bucket string
	Ops    int
	Bytes  int
	// Unchanged counts the puts that wrote the value the key already had
	// (as far as the log shows: a key's first put counts as a change).
	Unchanged int
}

// PerBucket is the log's writes by bucket, most bytes first: where the
// layout's cost lies.
func (w *WriteLog) PerBucket() []BucketWrites {
	out := make([]BucketWrites, len(w.names))
	for i, n := range w.names {
		out[i].Bucket = string(n)
	}
	last := map[string][]byte{}
	var k []byte
	for _, op := range w.ops {
		out[op.bucket].Ops++
		out[op.bucket].Bytes += len(op.k) + len(op.v)
		k = append(append(k[:0], byte(op.bucket>>8), byte(op.bucket)), op.k...)
		if prev, ok := last[string(k)]; ok && !op.del && prev != nil && bytes.Equal(prev, op.v) {
			out[op.bucket].Unchanged++
		}
		if op.del {
			last[string(k)] = nil
		} else {
			last[string(k)] = op.v
		}
	}
	slices.SortFunc(out, func(x, y BucketWrites) int { return cmp.Compare(y.Bytes, x.Bytes) })
	return out
}
