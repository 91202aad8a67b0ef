package main

import (
	"fmt"
	"io"
	"math"
	"runtime/metrics"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// With --stages the bench records, while the mix runs paced, how long each
// stage of a command and of the projection runner took (the server's own
// Observe hooks: HTTP handler, writer queue, group send, fsync, runner
// wait, apply, commit), and what the Go runtime saw meanwhile (how long
// runnable goroutines waited for a CPU, GC pauses, GC cycles), and prints
// them after the run: where the time of a paced command and of the
// projection lag goes.

// stageLog collects stage times while it is on.
type stageLog struct {
	on atomic.Bool
	mu sync.Mutex
	d  map[string][]time.Duration
}

func newStageLog() *stageLog { return &stageLog{d: map[string][]time.Duration{}} }

// observe is the hook the server's parts call.
func (l *stageLog) observe(stage string, d time.Duration) {
	if !l.on.Load() {
		return
	}
	l.mu.Lock()
	l.d[stage] = append(l.d[stage], d)
	l.mu.Unlock()
}

// runtimeSample holds the runtime metrics the stage report compares before
// and after the paced run.
type runtimeSample struct {
	s []metrics.Sample
	h map[int]*metrics.Float64Histogram // copies of the histograms, by index
}

var runtimeMetricNames = []string{
	"/sched/latencies:seconds",
	"/sched/pauses/total/gc:seconds",
	"/gc/cycles/total:gc-cycles",
	"/cpu/classes/total:cpu-seconds",
	"/cpu/classes/gc/total:cpu-seconds",
	"/cpu/classes/user:cpu-seconds",
	"/cpu/classes/idle:cpu-seconds",
}

func readRuntime() runtimeSample {
	s := make([]metrics.Sample, len(runtimeMetricNames))
	for i, n := range runtimeMetricNames {
		s[i].Name = n
	}
	metrics.Read(s)
	// Histograms may be reused by the next metrics.Read: keep copies.
	h := map[int]*metrics.Float64Histogram{}
	for i := range s {
		if s[i].Value.Kind() == metrics.KindFloat64Histogram {
			x := s[i].Value.Float64Histogram()
			h[i] = &metrics.Float64Histogram{Counts: slices.Clone(x.Counts), Buckets: slices.Clone(x.Buckets)}
		}
	}
	return runtimeSample{s, h}
}

// report prints the stages and the runtime's view of the interval.
func (l *stageLog) report(w io.Writer, before, after runtimeSample, wall time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(w, "\nSTAGE (paced run, %.1f s)          COUNT     MEAN ms    P50 ms    P90 ms    P99 ms     MAX ms\n", wall.Seconds())
	names := make([]string, 0, len(l.d))
	for n := range l.d {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		v := slices.Clone(l.d[n])
		slices.Sort(v)
		var sum time.Duration
		for _, x := range v {
			sum += x
		}
		q := func(p float64) float64 {
			return float64(v[min(len(v)-1, int(p*float64(len(v))))]) / 1e6
		}
		if strings.HasSuffix(n, "_group") || strings.HasSuffix(n, "_groups") || strings.HasSuffix(n, "_batch") {
			// counts, not times
			fmt.Fprintf(w, "%-34s %6d %10.1f %9.0f %9.0f %9.0f %10.0f   (count per group)\n", n, len(v),
				float64(sum)/float64(len(v)), q(.5)*1e6, q(.9)*1e6, q(.99)*1e6, float64(v[len(v)-1]))
			continue
		}
		fmt.Fprintf(w, "%-34s %6d %10.3f %9.3f %9.3f %9.3f %10.3f\n", n, len(v),
			float64(sum)/float64(len(v))/1e6, q(.5), q(.9), q(.99), float64(v[len(v)-1])/1e6)
	}
	for i, n := range runtimeMetricNames {
		a, b := before.s[i].Value, after.s[i].Value
		switch a.Kind() {
		case metrics.KindFloat64Histogram:
			ha, hb := before.h[i], after.h[i]
			counts := make([]uint64, len(hb.Counts))
			var total uint64
			for j := range counts {
				counts[j] = hb.Counts[j] - ha.Counts[j]
				total += counts[j]
			}
			qs := func(p float64) float64 {
				if total == 0 {
					return 0
				}
				want := uint64(math.Ceil(p * float64(total)))
				var run uint64
				for j, c := range counts {
					run += c
					if run >= want {
						return hb.Buckets[j+1] * 1e3
					}
				}
				return math.Inf(1)
			}
			fmt.Fprintf(w, "runtime %-26s %6d  p50 <= %.3f ms  p90 <= %.3f ms  p99 <= %.3f ms  p99.9 <= %.3f ms\n", n, total,
				qs(.5), qs(.9), qs(.99), qs(.999))
		case metrics.KindFloat64:
			fmt.Fprintf(w, "runtime %-40s %10.3f s (%.2f cores over the run)\n", n, b.Float64()-a.Float64(),
				(b.Float64()-a.Float64())/wall.Seconds())
		case metrics.KindUint64:
			fmt.Fprintf(w, "runtime %-40s %10d\n", n, b.Uint64()-a.Uint64())
		}
	}
}
