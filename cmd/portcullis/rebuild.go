package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/portcullis/portcullis/eventstore"
	"github.com/portcullis/portcullis/projections"
)

// runRebuild empties the read models and replays the whole log into them.
// It refuses to run beside a server on the same data directory.
func runRebuild(ctx context.Context, args []string, stderr io.Writer) error {
	var c Config
	fs := flag.NewFlagSet("rebuild", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.bindFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := applyMemoryLimit(c.MemoryLimit); err != nil {
		return err
	}
	budget, err := mappedBudget(c.MappedBudget)
	if err != nil {
		return err
	}
	db, err := projections.OpenDB(filepath.Join(c.DataDir, "readmodels.db"))
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMappedBudget(budget)
	store, err := eventstore.Open(ctx, c.storeConfig())
	if err != nil {
		return err
	}
	defer store.Close()
	runner, err := projections.NewRunner(db, store)
	if err != nil {
		return err
	}
	start := time.Now()
	err = runner.Rebuild(ctx, func(pos, target uint64) {
		pct := 100.0
		if target > 0 {
			pct = 100 * float64(pos) / float64(target)
		}
		fmt.Fprintf(stderr, "\rrebuilding read models: %d/%d events (%5.1f%%)", pos, target, pct)
	})
	fmt.Fprintln(stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "rebuilt %d events in %s\n", runner.Position(), time.Since(start).Round(time.Millisecond))
	return nil
}
