package main

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/portcullis/portcullis/commands"
	"github.com/portcullis/portcullis/domain"
	"github.com/portcullis/portcullis/eventstore"
	"github.com/portcullis/portcullis/projections"
)

// The memory goal of issue 9 (--million): 1M events appended through the
// store's append path (the writer, its chain and its fsyncs) in batches of
// maxMillionBatch, then every read model rebuilt from them, and the
// process's resident memory read from /proc/self/status.

// benchMillionEvents is how many events --million appends.
const benchMillionEvents = 1_000_000

// benchMillionBatch is how many events one append carries: the writer's
// largest group, one atomic batch.
const benchMillionBatch = 500

// benchMillionLimitMiB is the bound on the resident memory.
const benchMillionLimitMiB = 500

// benchMemory is the resident memory after --million.
type benchMemory struct {
	Events int `json:"events"`
	// HWMMiB is VmHWM, the most the process ever had resident, mapped
	// file pages included; RSSMiB is VmRSS at the end (the goal is judged
	// by it and by PeakAnonMiB).
	HWMMiB float64 `json:"vm_hwm_mib"`
	RSSMiB float64 `json:"vm_rss_mib"`
	// AnonMiB and FileMiB split VmRSS (RssAnon, RssFile): memory the
	// process owns, and pages of mapped files (bbolt maps the read models
	// whole, so the pages a rebuild touched count, though the kernel may
	// drop them at will). GoHeapMiB is the Go heap in use, ReadModelsMiB
	// the size of the read models' file.
	AnonMiB       float64 `json:"rss_anon_mib"`
	FileMiB       float64 `json:"rss_file_mib"`
	GoHeapMiB     float64 `json:"go_heap_inuse_mib"`
	ReadModelsMiB float64 `json:"read_models_file_mib"`
	// PeakAnonMiB and PeakFileMiB are the most of each seen by sampling
	// every 100 ms through the run (VmHWM is their sum's peak, exactly).
	PeakAnonMiB float64 `json:"peak_rss_anon_mib"`
	PeakFileMiB float64 `json:"peak_rss_file_mib"`
	// MemoryLimitMiB is the Go heap's soft limit (--memory-limit), 0 for
	// none; GCs is how many collections the run took.
	MemoryLimitMiB float64 `json:"memory_limit_mib"`
	GCs            uint32  `json:"gcs"`
	// MappedBudgetMiB is --mapped-budget, 0 when the read models' pages
	// are never dropped.
	MappedBudgetMiB float64 `json:"mapped_budget_mib"`
}

// benchMillionFigures are the figures of this file, in report order.
func benchMillionFigures() []benchFigureSpec {
	return []benchFigureSpec{
		{"million_append", "1M events appended through Store.Append, 500 per append, 4 appenders", "events/s"},
		{"million_rebuild", "full rebuild of every read model over those 1M events", "events/s"},
	}
}

// millionEvents appends 1M events of one tenant's individuals (30%
// creations, 60% updates, 10% deletions) on a store of its own, rebuilds
// fresh read models from them, and reads the resident memory.
func (b *bench) millionEvents(ctx context.Context) (*benchMemory, error) {
	dir := filepath.Join(b.dir, "million")
	store, err := eventstore.Open(ctx, eventstore.Config{DataDir: dir, Sync: b.sync})
	if err != nil {
		return nil, err
	}
	defer store.Close()
	peaks := sampleRSS(ctx)
	defer peaks()
	total := b.millionN
	if total <= 0 {
		total = benchMillionEvents
	}
	every := max(total/10, benchMillionBatch) // progress lines
	b.step("million: appending %d events, %d per append", total, benchMillionBatch)
	batches := max(total/benchMillionBatch, 1)
	gen := newMillionGen()
	// Batches are made by one goroutine (the generator keeps who is alive)
	// and appended by four, so the writer always has the next one waiting.
	work := make(chan []domain.Event, 8)
	go func() {
		defer close(work)
		for range batches {
			select {
			case work <- gen.batch(benchMillionBatch):
			case <-ctx.Done():
				return
			}
		}
	}()
	var appended atomic.Int64
	d, err := drive(4, 4, func(int) error {
		for events := range work {
			if _, err := store.Append(ctx, events, nil); err != nil {
				return err
			}
			if n := appended.Add(int64(len(events))); n%int64(every) == 0 {
				b.step("million: %d appended%s", n, rssNow())
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("bench: million append: %w", err)
	}
	b.spent["million_append"] = &benchSpent{count: int(appended.Load()), d: d}
	if b.memProfile != "" {
		// What the append phase holds, before the rebuild.
		runtime.GC()
		if err := writeHeapProfile(b.memProfile + ".append"); err != nil {
			return nil, err
		}
	}

	db, err := projections.OpenDB(filepath.Join(dir, "readmodels.db"))
	if err != nil {
		return nil, err
	}
	defer db.Close()
	db.SetMappedBudget(b.mappedBudget)
	runner, err := projections.NewRunner(db, store)
	if err != nil {
		return nil, err
	}
	b.step("million: rebuilding the read models")
	t := time.Now()
	if err := runner.Rebuild(ctx, func(pos, target uint64) {
		if pos%uint64(every) < 2000 {
			b.step("million: rebuild at %d of %d%s", pos, target, rssNow())
		}
	}); err != nil {
		return nil, err
	}
	b.spent["million_rebuild"] = &benchSpent{count: int(runner.Position()), d: time.Since(t)}
	status, err := procStatusMiB("VmHWM", "VmRSS", "RssAnon", "RssFile")
	if err != nil {
		return nil, err
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if b.memProfile != "" {
		// What is in use right after the rebuild, beside the whole run's.
		if err := writeHeapProfile(b.memProfile + ".million"); err != nil {
			return nil, err
		}
	}
	peakAnon, peakFile := peaks()
	mem := &benchMemory{Events: int(appended.Load()), HWMMiB: status["VmHWM"], RSSMiB: status["VmRSS"],
		AnonMiB: status["RssAnon"], FileMiB: status["RssFile"], GoHeapMiB: float64(ms.HeapInuse) / (1 << 20),
		PeakAnonMiB: peakAnon, PeakFileMiB: peakFile, GCs: ms.NumGC, MappedBudgetMiB: float64(b.mappedBudget) / (1 << 20)}
	if limit := debug.SetMemoryLimit(-1); limit < math.MaxInt64 {
		mem.MemoryLimitMiB = float64(limit) / (1 << 20)
	}
	if fi, err := os.Stat(filepath.Join(dir, "readmodels.db")); err == nil {
		mem.ReadModelsMiB = float64(fi.Size()) / (1 << 20)
	}
	b.step("million: VmHWM %.0f MiB (sampled peaks: anon %.0f, file %.0f), VmRSS %.0f MiB (anon %.0f, file %.0f), Go heap %.0f MiB, read models %.0f MiB, memory limit %.0f MiB, %d GCs, mapped budget %.0f MiB",
		mem.HWMMiB, mem.PeakAnonMiB, mem.PeakFileMiB, mem.RSSMiB, mem.AnonMiB, mem.FileMiB, mem.GoHeapMiB, mem.ReadModelsMiB, mem.MemoryLimitMiB, mem.GCs, mem.MappedBudgetMiB)
	return mem, nil
}

// millionGen makes the million events: who is alive decides what comes next.
type millionGen struct {
	rng   *rand.Rand
	alive []string
	i     int
	base  time.Time
}

func newMillionGen() *millionGen {
	return &millionGen{rng: rand.New(rand.NewPCG(1, 9)), base: time.Now().UTC()}
}

func (g *millionGen) batch(n int) []domain.Event {
	statuses := []string{"active", "inactive", "suspended"}
	cmd := commands.NewCommandID()
	out := make([]domain.Event, 0, n)
	for range n {
		g.i++
		e := domain.Event{ID: cmd + "-" + strconv.Itoa(len(out)), Tenant: domain.DefaultTenant,
			Actor: "service_user:bench", Face: domain.FaceNative, CommandID: cmd, OccurredAt: g.base}
		switch k := g.rng.IntN(10); {
		case k < 3 || len(g.alive) < 10:
			id := fmt.Sprintf("ind-%08d", g.i)
			e.Aggregate = domain.Ref{Type: domain.AggregateIndividual, ID: id}
			e.Data = &domain.IndividualCreated{IndividualFields: domain.IndividualFields{ExtID: id, FirstName: "Ada",
				LastName: "Bench" + strconv.Itoa(g.i), Email: id + "@example.test", Status: "active"}}
			g.alive = append(g.alive, id)
		case k < 9:
			st := statuses[g.rng.IntN(3)]
			e.Aggregate = domain.Ref{Type: domain.AggregateIndividual, ID: g.alive[g.rng.IntN(len(g.alive))]}
			e.Data = &domain.IndividualUpdated{IndividualPatch: domain.IndividualPatch{Status: &st}}
		default:
			j := g.rng.IntN(len(g.alive))
			e.Aggregate = domain.Ref{Type: domain.AggregateIndividual, ID: g.alive[j]}
			e.Data = &domain.IndividualDeleted{}
			g.alive[j] = g.alive[len(g.alive)-1]
			g.alive = g.alive[:len(g.alive)-1]
		}
		e.Type, e.Version = e.Data.EventType(), e.Data.EventVersion()
		out = append(out, e)
	}
	return out
}

// sampleRSS reads RssAnon and RssFile every 100 ms until ctx ends or the
// returned function is called, which returns the most of each it saw.
func sampleRSS(ctx context.Context) func() (anon, file float64) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	var peakAnon, peakFile float64
	go func() {
		defer close(done)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			if s, err := procStatusMiB("RssAnon", "RssFile"); err == nil {
				peakAnon, peakFile = max(peakAnon, s["RssAnon"]), max(peakFile, s["RssFile"])
			}
			select {
			case <-t.C:
			case <-ctx.Done():
				return
			}
		}
	}()
	return func() (float64, float64) {
		cancel()
		<-done
		return peakAnon, peakFile
	}
}

// rssNow is the resident set now, for the progress lines.
func rssNow() string {
	s, err := procStatusMiB("RssAnon", "RssFile")
	if err != nil {
		return ""
	}
	return fmt.Sprintf(" (RssAnon %.0f MiB, RssFile %.0f MiB)", s["RssAnon"], s["RssFile"])
}

// procStatusMiB reads the named fields (kB) of /proc/self/status, in MiB.
func procStatusMiB(names ...string) (map[string]float64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || !slices.Contains(names, name) {
			continue
		}
		kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
		if err != nil {
			return nil, fmt.Errorf("/proc/self/status %s: %w", name, err)
		}
		out[name] = kb / 1024
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for _, n := range names {
		if _, ok := out[n]; !ok {
			return nil, fmt.Errorf("/proc/self/status has no %s", n)
		}
	}
	return out, nil
}

// writeHeapProfile writes the allocation profile (--memprofile).
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return pprof.Lookup("allocs").WriteTo(f, 0)
}

// mixRatios are the goals of issue 9, each a ratio in one run.
func mixRatios(r *benchReport, mem *benchMemory) {
	// Commands on disk when answered, 64 HTTP clients, against one
	// publisher waiting for each fsynced publish.
	r.namedRatio("durable_commands_vs_serial_fsync", "mix_commands_c64", "raw_publish_serial", 5)
	r.namedRatio("read_vs_noop", "mix_reads_c64", "noop_c64", 0.4)
	r.namedRatio("projection_apply_vs_raw_consume", "projection_apply", "raw_consume", 0)
	for _, c := range benchMixLevels() {
		r.ratio(fmt.Sprintf("mix_commands_c%d", c), "raw_publish_serial", 0)
		r.ratio(fmt.Sprintf("mix_reads_c%d", c), fmt.Sprintf("noop_c%d", c), 0)
	}
	if bound := r.figureP99("raw_publish_serial") + r.figureP99("raw_fsync"); bound > 0 && r.figureP99("mix_paced") > 0 {
		r.ceiling("command_p99_half_peak_vs_publish_fsync", r.figureP99("mix_paced")/bound, 1.5)
	}
	if bound := r.figureP99("raw_delivery_paced") + r.figureP99("raw_bbolt_commit"); bound > 0 && r.figureP99("projection_lag") > 0 {
		r.ceiling("projection_lag_p99_vs_consume_commit", r.figureP99("projection_lag")/bound, 2)
	}
	if mem != nil {
		// The verdicts: the words (the resident set after the
		// rebuild), and the most memory the process owned at any moment
		// (RssAnon's peak: what it cannot give back).
		r.ceiling("million_vm_rss_after_vs_500mib", mem.RSSMiB/benchMillionLimitMiB, 1)
		r.ceiling("million_peak_rss_anon_vs_500mib", mem.PeakAnonMiB/benchMillionLimitMiB, 1)
		// Reported: the peak with the read models' clean mapped pages,
		// which the kernel may drop at will (docs/performance.md, Memory).
		r.ratios = append(r.ratios,
			benchRatio{name: "million_vm_hwm_vs_500mib", Value: mem.HWMMiB / benchMillionLimitMiB},
			benchRatio{name: "million_rss_anon_vs_500mib", Value: mem.AnonMiB / benchMillionLimitMiB})
	}
}
