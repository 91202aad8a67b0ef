package projections

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/vmihailenco/msgpack/v5"
	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/portcullis/portcullis/domain"
)

// DeliveryAttempt is one try to deliver one event to one webhook.
type DeliveryAttempt struct {
	Tenant       string        `msgpack:"tenant"`
	ConnectionID string        `msgpack:"conn"`
	EventID      string        `msgpack:"event_id"`
	EventType    string        `msgpack:"event_type"`
	Sequence     uint64        `msgpack:"seq"`
	Attempt      uint64        `msgpack:"attempt"`
	Status       string        `msgpack:"status"`      // DeliveryDelivered or DeliveryFailed
	HTTPStatus   int           `msgpack:"http_status"` // 0 when no answer came
	Latency      time.Duration `msgpack:"latency"`
	Response     string        `msgpack:"response"` // the first bytes of the answer's body
	Error        string        `msgpack:"error,omitempty"`
	At           time.Time     `msgpack:"at"`
	NextAttempt  time.Time     `msgpack:"next,omitempty"` // when a failed attempt is tried again
	Replay       string        `msgpack:"replay,omitempty"`
}

// Delivery statuses.
const (
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
)

// DeliveryStatuses lists them, for list filters.
var DeliveryStatuses = []string{DeliveryDelivered, DeliveryFailed}

var (
	bucketAttempts  = []byte("attempts")   // tenant,conn,attempt no. → DeliveryAttempt
	bucketConnState = []byte("conn_state") // tenant,conn → deliveryState
)

type deliveryState struct {
	Count        uint64    `msgpack:"count"`
	FailingSince time.Time `msgpack:"failing_since"`
}

// Deliveries is the delivery log of every webhook: operational data, not
// derived from the event log, so it lives in a file of its own
// (data/deliveries.db) that a rebuild leaves alone. Each node logs the
// attempts it made. Attempts are written in the background by one writer,
// all those queued meanwhile in one transaction (one fsync for the group),
// so logging never holds an attempt up; what must wait for the log (the
// consumer's acknowledgement of a delivered event) is handed to Record as
// then and runs once the attempt is on disk. A crash can lose the last
// entries only together with the acknowledgements that wait for them, so
// a lost entry's event is delivered (and logged) again.
type Deliveries struct {
	bolt *bolt.DB
	keep uint64
	in   chan queuedAttempt
	done chan struct{}
	mu   sync.Mutex
	err  error
}

// queuedAttempt is an attempt waiting for the writer, and what to do once
// it is written; an entry without an attempt only waits for those before it.
type queuedAttempt struct {
	a    *DeliveryAttempt
	then func()
}

// OpenDeliveries opens or creates the delivery log at path; it keeps the
// newest keep attempts of each webhook.
func OpenDeliveries(path string, keep int) (*Deliveries, error) {
	// The free list is rebuilt on open rather than written with every
	// commit: the writer commits often and the file stays small.
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, NoFreelistSync: true})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, ErrLocked
	}
	if err != nil {
		return nil, fmt.Errorf("projections: open %s: %w", path, err)
	}
	err = b.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketAttempts, bucketConnState} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Close()
		return nil, err
	}
	d := &Deliveries{bolt: b, keep: uint64(max(keep, 1)), in: make(chan queuedAttempt, 4096), done: make(chan struct{})}
	go d.write()
	return d, nil
}

// Close writes what is queued and closes the file.
func (d *Deliveries) Close() error {
	close(d.in)
	<-d.done
	return errors.Join(d.Err(), d.bolt.Close())
}

// Err is the last failure to write the log, if any.
func (d *Deliveries) Err() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.err
}

// Record queues an attempt for the log; then, if not nil, runs on the
// writer's goroutine once the attempt is on disk (or could not be written:
// see Err). It must not block.
func (d *Deliveries) Record(a DeliveryAttempt, then func()) { d.in <- queuedAttempt{&a, then} }

// AfterQueued runs fn on the writer's goroutine once every attempt queued
// before it is on disk.
func (d *Deliveries) AfterQueued(fn func()) { d.in <- queuedAttempt{then: fn} }

// deliveryLinger is how long the writer collects attempts before it
// commits a group: it delays the acknowledgements of delivered events by
// that much (never a delivery), against a commit and an fsync for every
// few attempts while deliveries stream.
const deliveryLinger = 10 * time.Millisecond

// write is the writer: it takes every attempt queued while it committed
// the last group and commits them as the next one.
func (d *Deliveries) write() {
	defer close(d.done)
	var batch []queuedAttempt
	var rows []*DeliveryAttempt
	for q := range d.in {
		batch, rows = append(batch[:0], q), rows[:0]
		// A commit costs the same for one attempt as for hundreds: wait
		// a moment for company (asleep, not woken by each arrival).
		if len(d.in) < cap(d.in)/4 {
			time.Sleep(deliveryLinger)
		}
	more:
		for len(batch) < cap(d.in) {
			select {
			case next, ok := <-d.in:
				if !ok {
					break more
				}
				batch = append(batch, next)
			default:
				break more
			}
		}
		for _, q := range batch {
			if q.a != nil {
				rows = append(rows, q.a)
			}
		}
		if len(rows) > 0 {
			if err := d.bolt.Update(func(tx *bolt.Tx) error { return d.put(tx, rows) }); err != nil {
				d.mu.Lock()
				d.err = err
				d.mu.Unlock()
			}
		}
		for i, q := range batch {
			if q.then != nil {
				q.then()
			}
			batch[i] = queuedAttempt{}
		}
	}
}

func (d *Deliveries) put(tx *bolt.Tx, batch []*DeliveryAttempt) error {
	attempts, states := tx.Bucket(bucketAttempts), tx.Bucket(bucketConnState)
	touched := map[string]deliveryState{}
	for _, a := range batch {
		sk := string(key(a.Tenant, a.ConnectionID))
		st, ok := touched[sk]
		if !ok {
			if _, err := getValue(states, []byte(sk), &st); err != nil {
				return err
			}
		}
		n, err := attempts.NextSequence()
		if err != nil {
			return err
		}
		if err := putValue(attempts, seqKey([]byte(sk), n), a); err != nil {
			return err
		}
		st.Count++
		switch {
		case a.Status == DeliveryDelivered:
			st.FailingSince = time.Time{}
		case st.FailingSince.IsZero():
			st.FailingSince = a.At
		}
		touched[sk] = st
	}
	for sk, st := range touched {
		if st.Count > d.keep {
			prefix := append([]byte(sk), 0)
			c := attempts.Cursor()
			for k, _ := c.Seek(prefix); k != nil && hasPrefix(k, prefix) && st.Count > d.keep; k, _ = c.Seek(prefix) {
				if err := attempts.Delete(k); err != nil {
					return err
				}
				st.Count--
			}
		}
		if err := putValue(states, []byte(sk), &st); err != nil {
			return err
		}
	}
	return nil
}

// FailingSince is when the current run of failed attempts to a webhook
// began, as this node logged it; zero when its last attempt succeeded.
func (d *Deliveries) FailingSince(tenant, conn string) (time.Time, error) {
	var st deliveryState
	err := d.bolt.View(func(tx *bolt.Tx) error {
		_, err := getValue(tx.Bucket(bucketConnState), key(tenant, conn), &st)
		return err
	})
	return st.FailingSince, err
}

// DeliveryFilter narrows a delivery log.
type DeliveryFilter struct {
	Status string
	// Until, when set, keeps the attempts made at or before it: the log
	// as it stood then (as_of).
	Until time.Time
}

// List returns one page of a webhook's attempts, oldest first (newest
// first with desc), and how many match.
func (d *Deliveries) List(tenant, conn string, f DeliveryFilter, desc bool, page domain.Page) ([]DeliveryAttempt, int, error) {
	var out []DeliveryAttempt
	total := 0
	prefix := append(key(tenant, conn), 0)
	err := d.bolt.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketAttempts).Cursor()
		var k, v []byte
		next := c.Next
		if desc {
			end := append(key(tenant, conn), 1)
			if k, v = c.Seek(end); k == nil {
				k, v = c.Last()
			} else {
				k, v = c.Prev()
			}
			next = c.Prev
		} else {
			k, v = c.Seek(prefix)
		}
		skip := page.Offset()
		for ; k != nil && hasPrefix(k, prefix); k, v = next() {
			var a DeliveryAttempt
			if f.Status != "" || !f.Until.IsZero() || (skip == 0 && len(out) < page.Limit) {
				if err := msgpack.Unmarshal(v, &a); err != nil {
					return err
				}
				if (f.Status != "" && a.Status != f.Status) || (!f.Until.IsZero() && a.At.After(f.Until)) {
					continue
				}
			}
			total++
			if skip > 0 {
				skip--
				continue
			}
			if len(out) < page.Limit {
				out = append(out, a)
			}
		}
		return nil
	})
	return out, total, err
}
