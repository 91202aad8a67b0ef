package eventstore_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis/portcullis/domain"
	"github.com/portcullis/portcullis/eventstore"
)

// openRawStream starts a throwaway raw stream on a real embedded server in
// the benchmark's temp dir.
func openRawStream(b *testing.B, sync string) *eventstore.RawStream {
	b.Helper()
	rs, err := eventstore.OpenRawStream(context.Background(), eventstore.Config{DataDir: b.TempDir(), Sync: sync})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { rs.Close() })
	return rs
}

// BenchmarkRawPublish is the ceiling of Append: bare synchronous publishes,
// fsynced before each ack as the server runs by default, from one publisher
// and from many.
func BenchmarkRawPublish(b *testing.B) {
	for _, bc := range []struct {
		name        string
		concurrency int
	}{{"c1", 1}, {"c64", 64}} {
		b.Run(bc.name, func(b *testing.B) {
			rs := openRawStream(b, eventstore.SyncAlways)
			b.ResetTimer()
			d, err := rs.Publish(context.Background(), b.N, bc.concurrency, 300)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/d.Seconds(), "events/s")
		})
	}
}

// BenchmarkRawConsume is the ceiling of the projection runner: an ordered
// consumer reading messages it does not decode.
func BenchmarkRawConsume(b *testing.B) {
	rs := openRawStream(b, eventstore.SyncInterval)
	ctx := context.Background()
	if _, err := rs.Publish(ctx, b.N, 64, 300); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	d, err := rs.Consume(ctx, b.N)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/d.Seconds(), "msgs/s")
}

// BenchmarkAppend is the append path alone: single-event appends on
// distinct aggregates from 1, 16 and 64 callers, each waiting for its
// answer, fsynced before each ack. Concurrent appends share a durable
// write (group commit); compare with BenchmarkRawPublish/c1.
func BenchmarkAppend(b *testing.B) {
	for _, conc := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("c%d", conc), func(b *testing.B) {
			s := mustOpen(b, eventstore.Config{DataDir: b.TempDir()})
			ctx := context.Background()
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for w := 0; w < conc; w++ {
				wg.Go(func() {
					for {
						i := next.Add(1)
						if i > int64(b.N) {
							return
						}
						cmd := fmt.Sprintf("b%d", i)
						if _, err := s.Append(ctx, []domain.Event{testEvent(cmd, cmd, 0)}, nil); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "appends/s")
			st := s.AppendStats()
			b.ReportMetric(float64(st.Appends)/float64(max(st.Groups, 1)), "appends/group")
		})
	}
}

// BenchmarkVerify walks a chain of 20 000 events, written by 64 callers at
// once: the rate of GET /audit-logs/verify and `portcullis audit verify`.
func BenchmarkVerify(b *testing.B) {
	const events = 20000
	s := mustOpen(b, eventstore.Config{DataDir: b.TempDir(), Sync: eventstore.SyncInterval})
	ctx := context.Background()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for i := next.Add(1); i <= events; i = next.Add(1) {
				cmd := fmt.Sprintf("v%d", i)
				if _, err := s.Append(ctx, []domain.Event{testEvent(cmd, cmd, 0)}, nil); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ResetTimer()
	var walked uint64
	start := time.Now()
	for range b.N {
		rep, err := s.Verify(ctx, nil)
		if err != nil || rep.Break != nil || rep.Checked != events {
			b.Fatalf("verify: %+v, %v", rep, err)
		}
		walked += rep.Checked
	}
	b.ReportMetric(float64(walked)/time.Since(start).Seconds(), "events/s")
	b.StopTimer()
	d, err := s.RawConsume(ctx, events)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(events/d.Seconds(), "raw-consume-events/s")
}
