package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portcullis/portcullis/commands"
	"github.com/portcullis/portcullis/domain"
	"github.com/portcullis/portcullis/eventstore"
	"github.com/portcullis/portcullis/projections"
)

// benchWide is the concurrency of the "many callers" scenarios: enough
// callers that the log, not the callers, is the bottleneck.
const benchWide = 64

// benchMid is the concurrency between one caller and many, where group
// commit starts to pay.
const benchMid = 16

// benchPayload is the size of a raw message, close to an encoded
// individual.created event, so raw and real messages cost the log the same.
const benchPayload = 300

// benchFigure is one measured rate.
type benchFigure struct {
	name    string
	Label   string  `json:"label"`
	Value   float64 `json:"value"`
	Unit    string  `json:"unit"`
	Count   int     `json:"count"`
	Seconds float64 `json:"seconds"`
	// P50 and P99 are the latencies of single operations in milliseconds,
	// for the figures that time each one.
	P50 float64 `json:"p50_ms,omitempty"`
	P99 float64 `json:"p99_ms,omitempty"`
}

// benchRatio compares two figures; Goal is 0 for a ratio that is only
// reported.
type benchRatio struct {
	name  string
	Value float64 `json:"value"`
	Goal  float64 `json:"goal,omitempty"`
	// AtMost marks a goal that is a ceiling (latency against a bound)
	// rather than a floor.
	AtMost bool  `json:"at_most,omitempty"`
	Met    *bool `json:"met,omitempty"`
}

// benchReport is everything one run measured, figures in the order of
// benchFigures.
type benchReport struct {
	N    int    `json:"n"`
	Sync string `json:"sync"`
	CPUs int    `json:"cpus"`
	// Seconds is the run's wall clock time.
	Seconds float64 `json:"seconds"`
	// Memory is the resident set after --million, when it ran.
	Memory  *benchMemory `json:"memory,omitempty"`
	figures []benchFigure
	ratios  []benchRatio
}

func (r *benchReport) add(name, label, unit string, x *benchSpent) {
	f := benchFigure{name: name, Label: label, Unit: unit, Count: x.count, Seconds: x.d.Seconds()}
	if x.d > 0 {
		f.Value = float64(x.count) / x.d.Seconds()
	}
	if len(x.lat) > 0 {
		slices.Sort(x.lat)
		pct := func(p float64) float64 {
			return float64(x.lat[min(len(x.lat)-1, int(p*float64(len(x.lat))))]) / float64(time.Millisecond)
		}
		f.P50, f.P99 = pct(0.50), pct(0.99)
	}
	r.figures = append(r.figures, f)
}

func (r *benchReport) figure(name string) float64 {
	for _, f := range r.figures {
		if f.name == name {
			return f.Value
		}
	}
	return 0
}

// ratio records num/den; a goal > 0 also records whether it was met.
func (r *benchReport) ratio(num, den string, goal float64) {
	r.namedRatio(num+"/"+den, num, den, goal)
}

// namedRatio is ratio under a name of its own, for the ratios scripts look
// up by name.
func (r *benchReport) namedRatio(name, num, den string, goal float64) {
	if !r.has(num) || !r.has(den) {
		return // a part of the run that did not run (--mix-only, --webhooks-only)
	}
	x := benchRatio{name: name, Goal: goal}
	if d := r.figure(den); d > 0 {
		x.Value = r.figure(num) / d
	}
	if goal > 0 {
		met := x.Value >= goal
		x.Met = &met
	}
	r.ratios = append(r.ratios, x)
}

// has says whether the run measured figure name.
func (r *benchReport) has(name string) bool {
	return slices.ContainsFunc(r.figures, func(f benchFigure) bool { return f.name == name })
}

// figureP99 is a figure's p99 latency in ms, 0 when it has none.
func (r *benchReport) figureP99(name string) float64 {
	for _, f := range r.figures {
		if f.name == name {
			return f.P99
		}
	}
	return 0
}

// ceiling records a ratio computed by the caller whose goal is an upper
// bound; a value of 0 (a figure missing) is reported as missed.
func (r *benchReport) ceiling(name string, value, goal float64) {
	met := value > 0 && value <= goal
	r.ratios = append(r.ratios, benchRatio{name: name, Value: value, Goal: goal, AtMost: true, Met: &met})
}

// MarshalJSON keys figures and ratios by name, for scripts that compare runs.
func (r *benchReport) MarshalJSON() ([]byte, error) {
	figures := make(map[string]benchFigure, len(r.figures))
	for _, f := range r.figures {
		figures[f.name] = f
	}
	ratios := make(map[string]benchRatio, len(r.ratios))
	for _, x := range r.ratios {
		ratios[x.name] = x
	}
	type plain benchReport
	return json.Marshal(struct {
		*plain
		Figures map[string]benchFigure `json:"figures"`
		Ratios  map[string]benchRatio  `json:"ratios"`
	}{(*plain)(r), figures, ratios})
}

func (r *benchReport) writeTable(w io.Writer) {
	fmt.Fprintf(w, "portcullis bench: n=%d sync=%s cpus=%d %s, %.0f s\n\n", r.N, r.Sync, r.CPUs, runtime.Version(), r.Seconds)
	fmt.Fprintf(w, "%-22s %-58s %12s %-11s %8s %8s %8s %8s\n", "FIGURE", "WHAT", "RATE", "UNIT", "COUNT", "SECONDS", "P50 ms", "P99 ms")
	for _, f := range r.figures {
		fmt.Fprintf(w, "%-22s %-58s %12.0f %-11s %8d %8.3f", f.name, f.Label, f.Value, f.Unit, f.Count, f.Seconds)
		if f.P99 > 0 {
			fmt.Fprintf(w, " %8.2f %8.2f", f.P50, f.P99)
		}
		fmt.Fprintln(w)
	}
	if r.Memory != nil {
		m := r.Memory
		fmt.Fprintf(w, "\nmemory after %d events and a full rebuild: VmHWM %.0f MiB (peak; sampled peaks anon %.0f, mapped files %.0f), VmRSS %.0f MiB (now: anon %.0f, mapped files %.0f); Go heap in use %.0f MiB; read models file %.0f MiB; memory limit %.0f MiB, %d GCs, mapped budget %.0f MiB\n",
			m.Events, m.HWMMiB, m.PeakAnonMiB, m.PeakFileMiB, m.RSSMiB, m.AnonMiB, m.FileMiB, m.GoHeapMiB, m.ReadModelsMiB, m.MemoryLimitMiB, m.GCs, m.MappedBudgetMiB)
	}
	fmt.Fprintf(w, "\n%-42s %8s %8s  %s\n", "RATIO", "VALUE", "GOAL", "")
	for _, x := range r.ratios {
		goal, verdict := "-", ""
		if x.Met != nil {
			goal, verdict = fmt.Sprintf(">= %.2f", x.Goal), "met"
			if x.AtMost {
				goal = fmt.Sprintf("<= %.2f", x.Goal)
			}
			if !*x.Met {
				verdict = "MISSED"
			}
		}
		fmt.Fprintf(w, "%-42s %8.3f %8s  %s\n", x.name, x.Value, goal, verdict)
	}
}

// runBench measures, in one run on this machine, the raw baselines (bare
// JetStream publish and read, bare bbolt) and our own paths over the same
// dependencies, and prints each figure and each ratio between them. The
// ratios, not the absolute figures, say whether our code wastes what the
// dependencies give it.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", "", "scratch directory; the run works in a new directory inside it and removes it afterwards (default: the system temp dir)")
	n := fs.Int("n", 1000, "operations per scenario: publishes, batches, commands or requests (raw bbolt does 10×n puts)")
	asJSON := fs.Bool("json", false, "print one JSON object with figures and ratios instead of a table")
	syncMode := fs.String("sync", eventstore.SyncAlways, "durability of the embedded server, as for serve: always or interval")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file, for go tool pprof")
	memProfile := fs.String("memprofile", "", "write an allocation profile of the whole run to this file at its end, for go tool pprof")
	mixOnly := fs.Bool("mix-only", false, "run only the HTTP scenario mix and its raw baselines (with --cpuprofile: a profile of the HTTP paths under load)")
	webhooksOnly := fs.Bool("webhooks-only", false, "run only the webhook part (raw POSTs, delivery, lag), for iteration on webhook delivery")
	mixTime := fs.Duration("mix-time", benchMixTime, "how long each client count runs the command mix; reads, no-op and the paced run are sized from it")
	stages := fs.Bool("stages", false, "time each stage of the paced mix's commands and of the projection runner, and print them (with the Go runtime's scheduling delays and GC) to stderr")
	pace := fs.Float64("pace", 0, "commands/s of the paced mix instead of half the peak, to compare builds at one load (the goal verdicts still name half the peak)")
	pacedProfile := fs.String("paced-profile", "", "write a CPU profile of the paced mix alone to this file, and its lock contention to <file>.mutex (not with --cpuprofile)")
	million := fs.Bool("million", false, "also append 1M events through the append path, rebuild the read models from them, and report the resident memory (takes minutes)")
	asofMillion := fs.Bool("asof-million", false, "also time as_of and audit queries over read models of 1M events (takes minutes)")
	asofOnly := fs.Bool("asof-only", false, "run only the time-travel part (10k events, and 1M with --asof-million; with --read-sizes, the reads too)")
	readSizes := fs.String("read-sizes", "", "also time the credential lists, stats and suggestion on read models of these sizes, e.g. 10000,1000000 (built straight through the projection; 1M takes minutes)")
	millionN := fs.Int("million-events", benchMillionEvents, "how many events --million appends, fewer to compare variants quickly (the goal is judged at 1000000)")
	budget := fs.String("mapped-budget", env("PORTCULLIS_MAPPED_BUDGET", ""), mappedBudgetUsage)
	memoryLimit := fs.String("memory-limit", env("PORTCULLIS_MEMORY_LIMIT", ""), memoryLimitUsage)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := applyMemoryLimit(*memoryLimit); err != nil {
		return err
	}
	mapped, err := mappedBudget(*budget)
	if err != nil {
		return err
	}
	if *n < 1 {
		return errors.New("bench: --n must be at least 1")
	}
	sizes, err := parseReadSizes(*readSizes)
	if err != nil {
		return err
	}
	if *syncMode != eventstore.SyncAlways && *syncMode != eventstore.SyncInterval {
		return fmt.Errorf("bench: unknown --sync %q (want %q or %q)", *syncMode, eventstore.SyncAlways, eventstore.SyncInterval)
	}
	if *dataDir != "" {
		if err := os.MkdirAll(*dataDir, 0o700); err != nil {
			return err
		}
	}
	dir, err := os.MkdirTemp(*dataDir, "portcullis-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if *cpuProfile != "" && *pacedProfile != "" {
		return errors.New("bench: --cpuprofile and --paced-profile cannot both run")
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}

	if *memProfile != "" {
		defer func() {
			if err := writeHeapProfile(*memProfile); err != nil {
				fmt.Fprintln(stderr, "bench: memprofile:", err)
			}
		}()
	}

	b := &bench{start: time.Now(), dir: dir, n: *n, sync: *syncMode, log: stderr, spent: map[string]*benchSpent{},
		mixTimes: newMixTimes(*mixTime), memProfile: *memProfile, pacedProfile: *pacedProfile, pace: *pace, millionN: *millionN, mappedBudget: mapped}
	if *stages {
		b.stages = newStageLog()
	}
	// The million events go first, so that VmHWM is their peak, not that
	// of the scenarios before them.
	var mem *benchMemory
	if *million {
		if mem, err = b.millionEvents(ctx); err != nil {
			return err
		}
	}
	switch {
	case *mixOnly:
		if err := b.mixAlone(ctx); err != nil {
			return err
		}
	case *webhooksOnly:
		if err := b.webhooks(ctx); err != nil {
			return err
		}
	case *asofOnly:
		if err := b.timeTravel(10_000, "10k"); err != nil {
			return err
		}
	default:
		if err := b.run(ctx); err != nil {
			return err
		}
		b.ingestPeak()
		if err := b.webhooks(ctx); err != nil {
			return err
		}
		if err := b.timeTravel(10_000, "10k"); err != nil {
			return err
		}
	}
	if *asofMillion {
		if err := b.timeTravel(1_000_000, "1m"); err != nil {
			return err
		}
	}
	var readSpecs []benchFigureSpec
	if !*webhooksOnly {
		if readSpecs, err = b.credentialReads(sizes); err != nil {
			return err
		}
	}
	r := &benchReport{N: *n, Sync: *syncMode, CPUs: runtime.NumCPU(), Memory: mem, Seconds: time.Since(b.start).Seconds()}
	for _, f := range slices.Concat(benchFigures(), benchMixFigures(), benchMillionFigures(), benchAuditFigures(), readSpecs, benchWebhookFigures()) {
		if x, ok := b.spent[f.name]; ok {
			r.add(f.name, f.label, f.unit, x)
		}
	}
	mixRatios(r, mem)
	r.ratio("inproc_update_c64", "raw_publish_c1", 0)
	r.ratio("inproc_update_c16", "raw_publish_c1", 0)
	r.ratio("bare_update_c64", "raw_publish_c1", 0)
	r.ratio("inproc_create_c64", "raw_batch_c1", 0)
	r.ratio("projection_apply", "raw_consume", 0.5)
	r.ratio("projection_apply", "raw_bbolt_replay", 0)
	r.ratio("raw_bbolt_replay", "raw_consume", 0)
	r.ratio("chain_verify", "raw_consume", 0)
	r.ratio("projection_apply", "ingest_peak", 1.2)
	r.ratio("inproc_update_c1", "raw_publish_c1", 0.7)
	r.ratio("inproc_update_c64", "raw_publish_c64", 0.7)
	r.ratio("bare_update_c1", "raw_publish_c1", 0.7)
	r.ratio("bare_update_c64", "raw_publish_c64", 0.7)
	r.ratio("inproc_create_c1", "raw_batch_c1", 0)
	r.ratio("inproc_create_c64", "raw_batch_c64", 0)
	r.ratio("http_update_c1", "inproc_update_c1", 0)
	r.ratio("http_update_c64", "inproc_update_c64", 0)
	r.ratio("http_create_c1", "inproc_create_c1", 0)
	r.ratio("http_create_c64", "inproc_create_c64", 0)
	credentialReadRatios(r, sizes)
	r.ratio("webhook_deliver", "raw_post", 0.5)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	r.writeTable(stdout)
	return nil
}

// benchFigureSpec describes one figure the bench measures, in the order the
// report lists them.
type benchFigureSpec struct{ name, label, unit string }

func benchFigures() []benchFigureSpec {
	return []benchFigureSpec{
		{"raw_publish_c1", "raw JetStream sync publish, 1 publisher", "events/s"},
		{"raw_publish_c16", "raw JetStream sync publish, 16 publishers", "events/s"},
		{"raw_publish_c64", "raw JetStream sync publish, 64 publishers", "events/s"},
		{"raw_batch_c1", "raw JetStream atomic batch of 2, 1 publisher", "batches/s"},
		{"raw_batch_c64", "raw JetStream atomic batch of 2, 64 publishers", "batches/s"},
		{"raw_consume_scratch", "raw ordered consumer, scratch stream", "msgs/s"},
		{"raw_bbolt_puts", "raw bbolt, 1000 puts per transaction", "puts/s"},
		{"inproc_update_c1", "in-process UpdateIndividual (1 event), 1 caller", "commands/s"},
		{"inproc_update_c16", "in-process UpdateIndividual (1 event), 16 callers", "commands/s"},
		{"inproc_update_c64", "in-process UpdateIndividual (1 event), 64 callers", "commands/s"},
		{"bare_update_c1", "in-process UpdateIndividual, projections stopped, 1 caller", "commands/s"},
		{"bare_update_c16", "in-process UpdateIndividual, projections stopped, 16 callers", "commands/s"},
		{"bare_update_c64", "in-process UpdateIndividual, projections stopped, 64 callers", "commands/s"},
		{"inproc_create_c1", "in-process CreateIndividual (batch of 2), 1 caller", "commands/s"},
		{"inproc_create_c64", "in-process CreateIndividual (batch of 2), 64 callers", "commands/s"},
		{"http_update_c1", "HTTP PATCH individual (1 event), 1 client", "commands/s"},
		{"http_update_c16", "HTTP PATCH individual (1 event), 16 clients", "commands/s"},
		{"http_update_c64", "HTTP PATCH individual (1 event), 64 clients", "commands/s"},
		{"http_create_c1", "HTTP POST individual (batch of 2), 1 client", "commands/s"},
		{"http_create_c64", "HTTP POST individual (batch of 2), 64 clients", "commands/s"},
		{"raw_consume", "raw ordered consumer, event stream (best of 2)", "msgs/s"},
		{"projection_apply", "projection rebuild, event stream", "events/s"},
		{"raw_bbolt_replay", "bare bbolt replay of the rebuild's writes, same transactions", "events/s"},
		{"chain_verify", "hash chain verification, event stream", "events/s"},
	}
}

// benchRounds is how many slices the single-event scenarios are cut into.
// A raw slice and the matching slices of our paths run back to back, round
// after round, so that a disk or a neighbour that slows down for a while
// slows the baseline and our paths alike, and their ratio stays fair.
const benchRounds = 4

// benchSpent is how much work a figure did and how long it took, summed
// over its rounds.
type benchSpent struct {
	count int
	d     time.Duration
	lat   []time.Duration // of each operation, where timed one by one
}

// bench is one run: its scratch directory and what it measured so far.
type bench struct {
	start    time.Time
	mixTimes mixTimes
	pace     float64 // commands/s of the paced mix; 0: half the peak
	// memProfile is --memprofile; --million also writes <it>.append and
	// <it>.million.
	memProfile string
	// millionN is how many events --million appends (--million-events).
	millionN int
	// mappedBudget is --mapped-budget, for the --million rebuild.
	mappedBudget int64
	dir          string
	n            int
	sync         string
	log          io.Writer
	spent        map[string]*benchSpent
	// stages, with --stages, records the paced mix's stage times.
	stages *stageLog
	// pacedProfile is --paced-profile.
	pacedProfile string
}

func (b *bench) step(format string, a ...any) {
	fmt.Fprintf(b.log, "bench: %5.1fs "+format+"\n", append([]any{time.Since(b.start).Seconds()}, a...)...)
}

// measure runs fn, which does count operations, and adds it to figure name.
func (b *bench) measure(name string, count int, fn func() (time.Duration, error)) error {
	return b.measureEach(name, count, func() (time.Duration, []time.Duration, error) {
		d, err := fn()
		return d, nil, err
	})
}

// measureEach is measure for fn that also times each operation.
func (b *bench) measureEach(name string, count int, fn func() (time.Duration, []time.Duration, error)) error {
	d, lat, err := fn()
	if err != nil {
		return fmt.Errorf("bench: %s: %w", name, err)
	}
	x, ok := b.spent[name]
	if !ok {
		x = &benchSpent{}
		b.spent[name] = x
	}
	x.count += count
	x.d += d
	x.lat = append(x.lat, lat...)
	return nil
}

// run measures every figure: bare bbolt, then bare JetStream on a throwaway
// stream of its own embedded server beside our paths on a real server, then
// the projections over the log those paths wrote.
func (b *bench) run(ctx context.Context) error {
	const perTx = 1000
	puts := max(b.n*10, perTx)
	b.step("raw bbolt, %d puts, %d per transaction", puts, perTx)
	if err := b.measure("raw_bbolt_puts", puts, func() (time.Duration, error) {
		return projections.RawPuts(filepath.Join(b.dir, "raw.db"), puts, perTx, benchPayload)
	}); err != nil {
		return err
	}
	rs, err := eventstore.OpenRawStream(ctx, eventstore.Config{DataDir: filepath.Join(b.dir, "raw"), Sync: b.sync})
	if err != nil {
		return err
	}
	defer rs.Close()
	if err := b.appendPaths(ctx, rs); err != nil {
		return err
	}
	if err := b.mix(ctx, rs); err != nil {
		return err
	}
	b.step("raw JetStream ordered consumer, %d messages", 2*b.n)
	if err := b.measure("raw_consume_scratch", 2*b.n, func() (time.Duration, error) {
		return rs.Consume(ctx, 2*b.n)
	}); err != nil {
		return err
	}
	return b.projection(ctx)
}

// mixAlone runs the scenario mix and its raw baselines only (--mix-only),
// then the projection rebuild over the log the mix wrote.
func (b *bench) mixAlone(ctx context.Context) error {
	rs, err := eventstore.OpenRawStream(ctx, eventstore.Config{DataDir: filepath.Join(b.dir, "raw"), Sync: b.sync})
	if err != nil {
		return err
	}
	defer rs.Close()
	if err := b.mix(ctx, rs); err != nil {
		return err
	}
	return b.projectionOf(ctx, "mix")
}

// appendPaths measures our append path on a real server started as serve
// starts it, called in-process and over HTTP, beside raw publishes. Creates
// append two events (the individual and its ext_id claim) in one atomic
// batch and are compared with raw batches of two; updates append one event
// and are compared with single raw publishes. Every update hits its own
// individual, so callers never queue on one aggregate.
func (b *bench) appendPaths(ctx context.Context, rs *eventstore.RawStream) error {
	var tok [24]byte
	_, _ = rand.Read(tok[:])
	m := &Main{Config: Config{DataDir: filepath.Join(b.dir, "server"), Listen: "127.0.0.1:0", Sync: b.sync,
		AdminToken: "pcat_" + base64.RawURLEncoding.EncodeToString(tok[:])}}
	if err := m.Run(ctx); err != nil {
		return err
	}
	defer m.Close()
	hc := newHTTPBenchClient("http://"+m.HTTP.Addr(), m.Config.AdminToken)
	defer hc.close()

	meta := func() commands.Meta {
		return commands.Meta{Tenant: domain.DefaultTenant, Actor: "service_user:bench", CommandID: commands.NewCommandID()}
	}
	clients := []struct {
		prefix, how string
		benchClient
	}{
		{"inproc", "in-process", benchClient{
			create: func(ctx context.Context, i int) (string, error) {
				res, err := m.Commands.CreateIndividual(ctx, meta(), domain.IndividualFields{
					FirstName: "Ada", LastName: "Bench" + strconv.Itoa(i), Department: "Benchmarks"})
				return res.Individual.ID, err
			},
			update: func(ctx context.Context, id string, i int) error {
				first := "Grace" + strconv.Itoa(i)
				_, err := m.Commands.UpdateIndividual(ctx, meta(), id, domain.IndividualPatch{FirstName: &first})
				return err
			},
		}},
		{"http", "HTTP", benchClient{create: hc.create, update: hc.update}},
	}

	ids := map[string][]string{}
	for round, lo := range benchSlices(b.n) {
		hi := lo + benchSlice(b.n, round)
		b.step("round %d/%d: %d creates and raw batches by %d callers, a quarter of them by 1", round+1, benchRounds, hi-lo, benchWide)
		for _, conc := range []int{1, benchWide} {
			// One caller's creates run at the atomic batch's rate, tens per
			// second on a loaded machine: a quarter of n tells that rate as
			// well and saves most of the run's time. Only the individuals
			// created by many callers are updated after.
			count := hi - lo
			if conc == 1 {
				count = max(count/4, 1)
			}
			if err := b.measure(fmt.Sprintf("raw_batch_c%d", conc), count, func() (time.Duration, error) {
				return rs.PublishBatches(ctx, count, 2, conc, benchPayload)
			}); err != nil {
				return err
			}
			for _, c := range clients {
				key := fmt.Sprintf("%s_c%d", c.prefix, conc)
				if ids[key] == nil {
					ids[key] = make([]string, b.n)
				}
				created := ids[key][lo:hi]
				if err := b.measure(fmt.Sprintf("%s_create_c%d", c.prefix, conc), count, func() (time.Duration, error) {
					return drive(count, conc, func(i int) (err error) {
						created[i], err = c.create(ctx, lo+i)
						return err
					})
				}); err != nil {
					return err
				}
			}
		}
	}
	// The updates run twice: on the server as it serves, its projection
	// runner following the log, then once more with the runner stopped, so
	// that the report tells the append path's own cost from what live
	// projections cost it.
	phases := []struct {
		what    string
		clients []string
	}{{"updates", []string{"inproc", "http"}}, {"updates with projections stopped", []string{"bare"}}}
	for p, phase := range phases {
		if phase.clients[0] == "bare" {
			m.stopRunner()
			<-m.runnerDone
		}
		for round, lo := range benchSlices(b.n) {
			hi := lo + benchSlice(b.n, round)
			b.step("round %d/%d: %d %s and raw publishes, 1, %d and %d callers", round+1, benchRounds, hi-lo, phase.what, benchMid, benchWide)
			for k, conc := range []int{1, benchMid, benchWide} {
				if err := b.measure(fmt.Sprintf("raw_publish_c%d", conc), hi-lo, func() (time.Duration, error) {
					return rs.Publish(ctx, hi-lo, conc, benchPayload)
				}); err != nil {
					return err
				}
				for _, name := range phase.clients {
					// The bare phase updates the in-process individuals
					// a second time, to new values, through the same
					// commands. Every concurrency updates the individuals
					// created by 64 callers, to values of its own.
					c, targets := clients[0], ids[fmt.Sprintf("inproc_c%d", benchWide)][lo:hi]
					if name == "http" {
						c, targets = clients[1], ids[fmt.Sprintf("http_c%d", benchWide)][lo:hi]
					}
					value := (p*3 + k) * b.n
					if err := b.measureEach(fmt.Sprintf("%s_update_c%d", name, conc), hi-lo, func() (time.Duration, []time.Duration, error) {
						return driveTimed(hi-lo, conc, func(i int) error { return c.update(ctx, targets[i], value+lo+i) })
					}); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// benchSlices returns where each round's slice of n operations starts.
func benchSlices(n int) []int {
	starts := make([]int, benchRounds)
	for r := 1; r < benchRounds; r++ {
		starts[r] = starts[r-1] + benchSlice(n, r-1)
	}
	return starts
}

// benchSlice is the size of round r's slice of n operations; the last
// round takes the remainder.
func benchSlice(n, r int) int {
	if r == benchRounds-1 {
		return n - (benchRounds-1)*(n/benchRounds)
	}
	return n / benchRounds
}

// benchClient is one way of calling the append path.
type benchClient struct {
	create func(ctx context.Context, i int) (id string, err error)
	update func(ctx context.Context, id string, i int) error
}

// projection replays the log the append scenarios wrote into fresh read
// models, and reads the same stream with a bare ordered consumer, best of
// two (before and after the replay), to compare against.
func (b *bench) projection(ctx context.Context) error { return b.projectionOf(ctx, "server") }

// projectionOf is projection over the log of the server in directory name.
func (b *bench) projectionOf(ctx context.Context, name string) error {
	store, err := eventstore.Open(ctx, eventstore.Config{DataDir: filepath.Join(b.dir, name), Sync: b.sync})
	if err != nil {
		return err
	}
	defer store.Close()
	last, err := store.LastSequence(ctx)
	if err != nil {
		return err
	}
	b.step("raw ordered consumer over the event stream, %d events", last)
	raw1, err := store.RawConsume(ctx, int(last))
	if err != nil {
		return err
	}
	db, err := projections.OpenDB(filepath.Join(b.dir, "rebuild.db"))
	if err != nil {
		return err
	}
	defer db.Close()
	runner, err := projections.NewRunner(db, store)
	if err != nil {
		return err
	}
	b.step("projection rebuild over the event stream, %d events", last)
	start := time.Now()
	if err := runner.Rebuild(ctx, nil); err != nil {
		return err
	}
	applied := time.Since(start)
	raw2, err := store.RawConsume(ctx, int(last))
	if err != nil {
		return err
	}
	b.spent["raw_consume"] = &benchSpent{count: int(last), d: min(raw1, raw2)}
	b.spent["projection_apply"] = &benchSpent{count: int(runner.Position()), d: applied}
	if err := b.replay(ctx, runner); err != nil {
		return err
	}
	b.step("hash chain verification over the event stream, %d events", last)
	rep, err := store.Verify(ctx, nil)
	if err != nil {
		return err
	}
	if rep.Break != nil {
		return fmt.Errorf("bench: the chain the run wrote is broken at %d: %s", rep.Break.Sequence, rep.Break.Detail)
	}
	b.spent["chain_verify"] = &benchSpent{count: int(rep.Checked + rep.NotCovered), d: rep.Elapsed}
	return nil
}

// replay rebuilds the read models once more, recording every bbolt write,
// and writes the same through bare bbolt with the same transactions: the
// ceiling of a rebuild that stores what the read models store, and so how
// much of projection_apply is our code and how much the storage.
func (b *bench) replay(ctx context.Context, runner *projections.Runner) error {
	b.step("projection rebuild recording its bbolt writes")
	wlog, err := runner.RebuildRecording(ctx)
	if err != nil {
		return err
	}
	events := int(runner.Position())
	b.step("bare bbolt replay of the rebuild's writes: %d transactions, %d writes (%.1f per event), %.0f bytes per event",
		wlog.Transactions(), wlog.Ops(), float64(wlog.Ops())/float64(max(events, 1)), float64(wlog.Bytes())/float64(max(events, 1)))
	for _, bw := range wlog.PerBucket()[:min(16, wlog.Buckets())] {
		b.step("  %-34s %7d writes %9d bytes %6d unchanged", bw.Bucket, bw.Ops, bw.Bytes, bw.Unchanged)
	}
	t, err := wlog.Replay(filepath.Join(b.dir, "replay.db"))
	if err != nil {
		return err
	}
	b.step("replay took %.3f s, %.0f%% of it in commits", t.Total.Seconds(), 100*t.Commit.Seconds()/t.Total.Seconds())
	b.spent["raw_bbolt_replay"] = &benchSpent{count: events, d: t.Total}
	return nil
}

// drive calls fn for i in [0, n) from concurrency goroutines and returns how
// long all calls took; it stops handing out work after the first error.
func drive(n, concurrency int, fn func(i int) error) (time.Duration, error) {
	var next atomic.Int64
	var failed atomic.Bool
	var wg sync.WaitGroup
	errs := make([]error, concurrency)
	start := time.Now()
	for w := range concurrency {
		wg.Go(func() {
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					errs[w] = err
					failed.Store(true)
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start), errors.Join(errs...)
}

// driveTimed is drive that also times every call.
func driveTimed(n, concurrency int, fn func(i int) error) (time.Duration, []time.Duration, error) {
	lat := make([]time.Duration, n)
	d, err := drive(n, concurrency, func(i int) error {
		start := time.Now()
		err := fn(i)
		lat[i] = time.Since(start)
		return err
	})
	return d, lat, err
}

// httpBenchClient calls the native face as a client would: a real net/http
// client, keep-alive connections, the admin's token.
type httpBenchClient struct {
	base   string
	token  string
	client *http.Client
}

func newHTTPBenchClient(base, token string) *httpBenchClient {
	tr := &http.Transport{MaxIdleConns: 2 * benchWide, MaxIdleConnsPerHost: 2 * benchWide, IdleConnTimeout: time.Minute}
	return &httpBenchClient{base: base, token: token, client: &http.Client{Transport: tr, Timeout: time.Minute}}
}

func (c *httpBenchClient) close() { c.client.CloseIdleConnections() }

func (c *httpBenchClient) create(ctx context.Context, i int) (string, error) {
	body := `{"first_name":"Ada","last_name":"Bench` + strconv.Itoa(i) + `","department":"Benchmarks"}`
	var out struct {
		Data struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := c.do(ctx, http.MethodPost, "/api/v1/individuals", body, http.StatusCreated, &out); err != nil {
		return "", err
	}
	if out.Data.ID == "" {
		return "", errors.New("create answered without an id")
	}
	return out.Data.ID, nil
}

func (c *httpBenchClient) update(ctx context.Context, id string, i int) error {
	body := `{"first_name":"Grace` + strconv.Itoa(i) + `"}`
	return c.do(ctx, http.MethodPatch, "/api/v1/individuals/"+id, body, http.StatusOK, nil)
}

// do sends one request and reads the whole answer, so the connection goes
// back to the pool.
func (c *httpBenchClient) do(ctx context.Context, method, path, body string, want int, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader([]byte(body)))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Token "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(data))
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}
