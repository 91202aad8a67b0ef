package projections

import (
	"errors"
	"fmt"
	"time"

	"github.com/vmihailenco/msgpack/v5"
	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Outcome is the first answer to a mutation sent with an Idempotency-Key,
// replayed to every retry of it. It lives in its own file, apart from the
// read models: it is not derived from the log, so a rebuild must not drop it.
type Outcome struct {
	Fingerprint []byte            `msgpack:"fp"` // hash of method, path and body
	Status      int               `msgpack:"status"`
	Header      map[string]string `msgpack:"hdr"`
	Body        []byte            `msgpack:"body"`
	StoredAt    time.Time         `msgpack:"at"`
}

var bucketOutcomes = []byte("outcomes")

// Outcomes keeps idempotent outcomes for a retention period.
type Outcomes struct {
	bolt      *bolt.DB
	retention time.Duration
}

// OpenOutcomes opens or creates the outcome file at path.
func OpenOutcomes(path string, retention time.Duration) (*Outcomes, error) {
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, ErrLocked
	}
	if err != nil {
		return nil, fmt.Errorf("projections: open %s: %w", path, err)
	}
	err = b.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketOutcomes)
		return err
	})
	if err != nil {
		b.Close()
		return nil, err
	}
	return &Outcomes{bolt: b, retention: retention}, nil
}

// Close closes the file.
func (o *Outcomes) Close() error { return o.bolt.Close() }

// Get returns the stored outcome for scope, if it is still retained.
func (o *Outcomes) Get(scope string) (Outcome, bool, error) {
	var out Outcome
	var found bool
	err := o.bolt.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketOutcomes).Get([]byte(scope))
		if v == nil {
			return nil
		}
		found = true
		return msgpack.Unmarshal(v, &out)
	})
	if found && time.Since(out.StoredAt) > o.retention {
		return Outcome{}, false, err
	}
	return out, found, err
}

// Put stores the outcome for scope.
func (o *Outcomes) Put(scope string, out Outcome) error {
	data, err := msgpack.Marshal(&out)
	if err != nil {
		return err
	}
	return o.bolt.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketOutcomes).Put([]byte(scope), data)
	})
}

// Expire deletes outcomes older than the retention period and says how many.
func (o *Outcomes) Expire(now time.Time) (int, error) {
	n := 0
	err := o.bolt.Update(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketOutcomes).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			var out struct {
				StoredAt time.Time `msgpack:"at"`
			}
			if msgpack.Unmarshal(v, &out) == nil && now.Sub(out.StoredAt) <= o.retention {
				continue
			}
			if err := c.Delete(); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}
