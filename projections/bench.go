package projections

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/portcullis/portcullis/domain"
)

// RawPuts measures bare bbolt, the ceiling of every read model: it writes n
// values of valueSize bytes into a fresh file at path, perTx puts per
// transaction, and returns how long the commits took. The file is opened as
// OpenDB opens the read models. Keys are 16 pseudo-random bytes, like the
// uuids our records are keyed by, so pages split as they do in the models.
func RawPuts(path string, n, perTx, valueSize int) (time.Duration, error) {
	if perTx < 1 {
		return 0, errors.New("projections: raw puts: perTx must be at least 1")
	}
	b, err := bolt.Open(path, 0o600, boltOptions())
	if err != nil {
		return 0, fmt.Errorf("projections: raw puts: open %s: %w", path, err)
	}
	defer b.Close()
	value := make([]byte, valueSize)
	for i := range value {
		value[i] = byte('a' + i%26)
	}
	keys := make([][]byte, n)
	for i := range keys {
		h := sha256.Sum256(binary.BigEndian.AppendUint64(nil, uint64(i)))
		keys[i] = h[:16]
	}
	name := []byte("raw")
	start := time.Now()
	for done := 0; done < n; {
		err := b.Update(func(tx *bolt.Tx) error {
			bk, err := tx.CreateBucketIfNotExists(name)
			if err != nil {
				return err
			}
			for end := min(done+perTx, n); done < end; done++ {
				if err := bk.Put(keys[done], value); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return 0, fmt.Errorf("projections: raw puts: %w", err)
		}
	}
	return time.Since(start), nil
}

// ApplyEvents applies events to the read models exactly as the runner
// applies the log's, maxBatch to a transaction with the checkpoint, for
// benchmarks that need read models of millions of events sooner than
// commands could write their log. Positions must follow the checkpoint.
func (db *DB) ApplyEvents(events []domain.Event) error {
	r, err := NewRunner(db, nil)
	if err != nil {
		return err
	}
	for len(events) > 0 {
		n := min(len(events), maxBatch)
		if err := r.commit(events[:n]); err != nil {
			return err
		}
		events = events[n:]
	}
	return nil
}

// RawCommits times n bare bbolt transactions of one put each (a random
// 16-byte key, valueSize bytes) in a fresh file at path, opened as OpenDB
// opens the read models: each is one commit with its fsyncs, the least a
// read model's commit costs. It returns each commit's latency.
func RawCommits(path string, n, valueSize int) ([]time.Duration, error) {
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return nil, fmt.Errorf("projections: raw commits: open %s: %w", path, err)
	}
	defer b.Close()
	value := make([]byte, valueSize)
	name := []byte("raw")
	lat := make([]time.Duration, 0, n)
	for i := range n {
		h := sha256.Sum256(binary.BigEndian.AppendUint64(nil, uint64(i)))
		start := time.Now()
		err := b.Update(func(tx *bolt.Tx) error {
			bk, err := tx.CreateBucketIfNotExists(name)
			if err != nil {
				return err
			}
			return bk.Put(h[:16], value)
		})
		if err != nil {
			return nil, fmt.Errorf("projections: raw commits: %w", err)
		}
		lat = append(lat, time.Since(start))
	}
	return lat, nil
}
