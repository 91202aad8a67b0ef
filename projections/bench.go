package projections

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
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
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, FreelistType: bolt.FreelistMapType})
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
