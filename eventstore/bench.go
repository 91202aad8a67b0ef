package eventstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The raw baselines live here because this is the only package allowed to
// speak to NATS: the bench command measures what JetStream does on its own
// with these helpers, then what our append and projection paths make of it.

// rawStreamName and rawSubjectPrefix name the throwaway stream of the raw
// baselines; they never meet the event stream's subjects.
const (
	rawStreamName    = "BENCH_RAW"
	rawSubjectPrefix = "bench.raw"
)

// RawStream is a bare JetStream stream on its own embedded server, started
// with the same options as the store's (the same sync setting above all), so
// that its publish and read rates are the ceiling our paths are judged by.
type RawStream struct {
	ns      *server.Server
	nc      *nats.Conn
	js      jetstream.JetStream
	batches chan struct{} // as in Store: atomic batches in flight
}

// OpenRawStream starts an embedded server in cfg.DataDir, which should be a
// scratch directory, and creates the throwaway stream. cfg.URL must be empty:
// a baseline against a remote cluster would measure the network instead.
func OpenRawStream(ctx context.Context, cfg Config) (*RawStream, error) {
	if cfg.URL != "" {
		return nil, errors.New("eventstore: raw stream runs on the embedded server only")
	}
	r := &RawStream{batches: make(chan struct{}, maxInflightBatches)}
	var err error
	if r.ns, err = startEmbedded(cfg, false); err != nil {
		return nil, err
	}
	if r.nc, err = nats.Connect("", nats.InProcessServer(r.ns), nats.Name("portcullis-bench")); err != nil {
		r.Close()
		return nil, fmt.Errorf("connect to nats: %w", err)
	}
	if r.js, err = jetstream.New(r.nc); err != nil {
		r.Close()
		return nil, err
	}
	_, err = r.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:       rawStreamName,
		Subjects:   []string{rawSubjectPrefix + ".>"},
		Storage:    jetstream.FileStorage,
		Retention:  jetstream.LimitsPolicy,
		Replicas:   1,
		Duplicates: 2 * time.Minute,
		// Atomic batches are what a command with several events appends.
		AllowAtomicPublish: true,
	})
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("create stream %s: %w", rawStreamName, err)
	}
	return r, nil
}

// Close disconnects and shuts the embedded server down.
func (r *RawStream) Close() error {
	if r.nc != nil {
		r.nc.Close()
	}
	if r.ns != nil {
		r.ns.Shutdown()
		r.ns.WaitForShutdown()
	}
	return nil
}

// Publish appends n messages of size bytes with synchronous publishes from
// concurrency publishers, each waiting for its ack before sending its next
// message, as a command does. Every message goes to its own subject, like the
// events of many aggregates. It returns how long the n acks took.
func (r *RawStream) Publish(ctx context.Context, n, concurrency, size int) (time.Duration, error) {
	payload := make([]byte, size)
	for i := range payload {
		payload[i] = byte('a' + i%26)
	}
	var next atomic.Int64
	start := time.Now()
	err := fanOut(concurrency, func() error {
		for {
			i := next.Add(1)
			if i > int64(n) {
				return nil
			}
			// The subject must be unique across calls on one stream, so it
			// takes the time of this call besides the message's number.
			subj := rawSubjectPrefix + "." + strconv.FormatInt(start.UnixNano(), 36) + "." + strconv.FormatInt(i, 10)
			if _, err := r.js.Publish(ctx, subj, payload); err != nil {
				return fmt.Errorf("eventstore: raw publish: %w", err)
			}
		}
	})
	return time.Since(start), err
}

// PublishBatches appends n atomic batches of perBatch messages of size
// bytes each, from concurrency publishers, each waiting for its batch's ack:
// the bare form of an append that spans several aggregates. As in Append, at
// most maxInflightBatches are open at a time. It returns how long the n acks
// took.
func (r *RawStream) PublishBatches(ctx context.Context, n, perBatch, concurrency, size int) (time.Duration, error) {
	payload := make([]byte, size)
	for i := range payload {
		payload[i] = byte('a' + i%26)
	}
	var next atomic.Int64
	start := time.Now()
	prefix := rawSubjectPrefix + "." + strconv.FormatInt(start.UnixNano(), 36) + ".b"
	err := fanOut(concurrency, func() error {
		for {
			i := next.Add(1)
			if i > int64(n) {
				return nil
			}
			msgs := make([]*nats.Msg, perBatch)
			for j := range msgs {
				subj := prefix + strconv.FormatInt(i, 10) + "-" + strconv.Itoa(j)
				msgs[j] = &nats.Msg{Subject: subj, Data: payload, Header: nats.Header{}}
			}
			if _, err := publishAtomic(ctx, r.js, r.batches, msgs); err != nil {
				return fmt.Errorf("eventstore: raw batch publish: %w", err)
			}
		}
	})
	return time.Since(start), err
}

// Consume reads the first n messages of the throwaway stream with an ordered
// consumer and returns how long it took.
func (r *RawStream) Consume(ctx context.Context, n int) (time.Duration, error) {
	return consumeOrdered(ctx, r.js, rawStreamName, n)
}

// RawConsume reads the first n events of the log with a bare ordered
// consumer, configured as Subscribe configures it but decoding nothing. It
// is the ceiling of the projection runner on this very stream.
func (s *Store) RawConsume(ctx context.Context, n int) (time.Duration, error) {
	return consumeOrdered(ctx, s.js, StreamName, n)
}

// consumeOrdered times an ordered consumer from its creation to the n-th
// message, with the same pull size as Subscribe.
func consumeOrdered(ctx context.Context, js jetstream.JetStream, stream string, n int) (time.Duration, error) {
	start := time.Now()
	cons, err := js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy})
	if err != nil {
		return 0, fmt.Errorf("eventstore: raw consume: %w", err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(4096))
	if err != nil {
		return 0, fmt.Errorf("eventstore: raw consume: %w", err)
	}
	defer it.Stop()
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	bytes := 0
	for range n {
		m, err := it.Next()
		if err != nil {
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
			return 0, fmt.Errorf("eventstore: raw consume: %w", err)
		}
		bytes += len(m.Data())
	}
	elapsed := time.Since(start)
	if bytes == 0 && n > 0 {
		return elapsed, errors.New("eventstore: raw consume: every message was empty")
	}
	return elapsed, nil
}

// fanOut runs fn on concurrency goroutines and returns the first error.
func fanOut(concurrency int, fn func() error) error {
	var wg sync.WaitGroup
	errs := make([]error, max(concurrency, 1))
	for w := range errs {
		wg.Go(func() { errs[w] = fn() })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// PublishFor is Publish sized by time instead of count: concurrency
// publishers send synchronous publishes for about d, and it reports how many
// were acknowledged, how long they took and each one's latency from send to
// ack. The bench takes the raw fsynced publish's rate and p99 from it.
func (r *RawStream) PublishFor(ctx context.Context, d time.Duration, concurrency, size int) (int, time.Duration, []time.Duration, error) {
	payload := make([]byte, size)
	for i := range payload {
		payload[i] = byte('a' + i%26)
	}
	var next atomic.Int64
	start := time.Now()
	deadline := start.Add(d)
	lats := make([][]time.Duration, concurrency)
	var w atomic.Int64
	err := fanOut(concurrency, func() error {
		mine := &lats[w.Add(1)-1]
		for time.Now().Before(deadline) {
			i := next.Add(1)
			subj := rawSubjectPrefix + "." + strconv.FormatInt(start.UnixNano(), 36) + ".t" + strconv.FormatInt(i, 10)
			t := time.Now()
			if _, err := r.js.Publish(ctx, subj, payload); err != nil {
				return fmt.Errorf("eventstore: raw publish: %w", err)
			}
			*mine = append(*mine, time.Since(t))
		}
		return nil
	})
	elapsed := time.Since(start)
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	return len(all), elapsed, all, err
}

// PacedDelivery publishes at rate messages/s for about d from up to
// publishers synchronous publishers, while an ordered consumer (pulling as
// Subscribe pulls) reads them, and returns each message's delivery lag:
// from its publish's ack to the consumer receiving it (zero when the
// consumer had it first). It is the raw form of the projection lag: the
// bare consumer's share of the time from an append's ack to its read model.
func (r *RawStream) PacedDelivery(ctx context.Context, rate float64, d time.Duration, publishers, size int) (int, time.Duration, []time.Duration, error) {
	if rate <= 0 {
		return 0, 0, nil, errors.New("eventstore: paced delivery: rate must be positive")
	}
	st, err := r.js.Stream(ctx, rawStreamName)
	if err != nil {
		return 0, 0, nil, fmt.Errorf("eventstore: paced delivery: %w", err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return 0, 0, nil, fmt.Errorf("eventstore: paced delivery: %w", err)
	}
	base := info.State.LastSeq
	cons, err := r.js.OrderedConsumer(ctx, rawStreamName, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: base + 1})
	if err != nil {
		return 0, 0, nil, fmt.Errorf("eventstore: paced delivery: %w", err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(4096))
	if err != nil {
		return 0, 0, nil, fmt.Errorf("eventstore: paced delivery: %w", err)
	}
	defer it.Stop()
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()

	total := max(int(rate*d.Seconds()), 1)
	acked := make([]int64, total) // Unix ns of each message's ack, by sequence - base - 1
	recv := make([]int64, total)
	consumed := make(chan error, 1)
	go func() {
		for got := 0; got < total; {
			m, err := it.Next()
			if err != nil {
				consumed <- err
				return
			}
			now := time.Now().UnixNano()
			meta, err := m.Metadata()
			if err != nil {
				consumed <- err
				return
			}
			if k := int(meta.Sequence.Stream - base - 1); k >= 0 && k < total {
				recv[k] = now
				got++
			}
		}
		consumed <- nil
	}()

	payload := make([]byte, size)
	for i := range payload {
		payload[i] = byte('a' + i%26)
	}
	var next atomic.Int64
	start := time.Now()
	prefix := rawSubjectPrefix + "." + strconv.FormatInt(start.UnixNano(), 36) + ".p"
	err = fanOut(publishers, func() error {
		for {
			i := next.Add(1) - 1
			if i >= int64(total) {
				return nil
			}
			// Message i is due at start + i/rate: the pace holds even when
			// a publisher was late, as an open-loop client's would.
			time.Sleep(time.Until(start.Add(time.Duration(float64(i) / rate * float64(time.Second)))))
			ack, err := r.js.Publish(ctx, prefix+strconv.FormatInt(i, 10), payload)
			if err != nil {
				return fmt.Errorf("eventstore: paced publish: %w", err)
			}
			if k := int(ack.Sequence - base - 1); k >= 0 && k < total {
				atomic.StoreInt64(&acked[k], time.Now().UnixNano())
			}
		}
	})
	elapsed := time.Since(start)
	if err != nil {
		return 0, 0, nil, err
	}
	select {
	case err := <-consumed:
		if err != nil {
			return 0, 0, nil, fmt.Errorf("eventstore: paced delivery: %w", err)
		}
	case <-ctx.Done():
		return 0, 0, nil, ctx.Err()
	}
	lag := make([]time.Duration, total)
	for k := range total {
		lag[k] = time.Duration(max(recv[k]-atomic.LoadInt64(&acked[k]), 0))
	}
	return total, elapsed, lag, nil
}
