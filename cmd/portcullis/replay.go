package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis/portcullis/domain"
	"github.com/portcullis/portcullis/eventstore"
	"github.com/portcullis/portcullis/projections"
)

// runReplay gives an auditor the system as it stood at a past instant or
// position: it copies the log up to that point into a new data directory
// (the same events at the same positions, chain links and all) and builds
// fresh read models there, with progress on the terminal. The directory is
// then served read-only:
//
//	portcullis replay --data-dir ./data --to 2026-11-17T08:00:00Z --out ./replay
//	portcullis serve --read-only --data-dir ./replay --listen 127.0.0.1:8081
//
// and every read of every face, the audit log, history and as_of answer as
// of that point; a service user's token of that time still works there,
// and the bootstrap admin's token is written to <out>/admin-token on its
// first start. With the embedded log it refuses to run beside a server on
// the same data directory (like rebuild); with --nats-url it reads a live
// log.
func runReplay(ctx context.Context, args []string, stderr io.Writer) error {
	var c Config
	var to, out string
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.bindFlags(fs)
	fs.StringVar(&to, "to", "", "the last instant (RFC 3339) or stream position to include")
	fs.StringVar(&out, "out", "", "a new or empty directory for the replay")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := applyMemoryLimit(c.MemoryLimit); err != nil {
		return err
	}
	until, pos, err := parseReplayTo(to)
	if err != nil {
		return err
	}
	if out == "" {
		return errors.New("replay: --out names the directory to replay into")
	}
	if entries, err := os.ReadDir(out); err == nil && len(entries) > 0 {
		return fmt.Errorf("replay: %s is not empty", out)
	}
	if abs, _ := filepath.Abs(out); abs == mustAbs(c.DataDir) {
		return errors.New("replay: --out must not be the data directory")
	}
	if c.NATSURL == "" {
		// The read-model file's lock says whether a server runs here; the
		// embedded log must not be opened twice.
		lock, err := projections.OpenDB(filepath.Join(c.DataDir, "readmodels.db"))
		if err != nil {
			return err
		}
		defer lock.Close()
	}
	src, err := eventstore.Open(ctx, c.storeConfig())
	if err != nil {
		return err
	}
	defer src.Close()
	if err := os.MkdirAll(out, 0o700); err != nil {
		return err
	}
	dst, err := eventstore.Open(ctx, eventstore.Config{DataDir: out, Sync: eventstore.SyncInterval})
	if err != nil {
		return err
	}
	defer dst.Close()

	start := time.Now()
	var lastAt time.Time
	keep := func(e domain.Event) bool {
		if (pos > 0 && e.Sequence > pos) || (!until.IsZero() && e.OccurredAt.After(until)) {
			return false
		}
		lastAt = e.OccurredAt
		return true
	}
	copied, err := src.CopyPrefix(ctx, dst, keep, progressBar(stderr, "copying the log     "))
	fmt.Fprintln(stderr)
	if err != nil {
		return fmt.Errorf("replay: copy the log: %w", err)
	}
	db, err := projections.OpenDB(filepath.Join(out, "readmodels.db"))
	if err != nil {
		return err
	}
	defer db.Close()
	runner, err := projections.NewRunner(db, dst)
	if err != nil {
		return err
	}
	err = runner.Rebuild(ctx, progressBar(stderr, "building read models"))
	fmt.Fprintln(stderr)
	if err != nil {
		return fmt.Errorf("replay: build read models: %w", err)
	}
	head, _ := src.LastSequence(ctx)
	info := replayInfo{Source: mustAbs(c.DataDir), To: to, Position: copied, SourceHead: head,
		CreatedAt: time.Now().UTC()}
	if copied > 0 {
		info.LastEventAt = lastAt.UTC().Format(time.RFC3339Nano)
	}
	b, _ := json.MarshalIndent(info, "", "  ")
	if err := os.WriteFile(filepath.Join(out, "replay.json"), append(b, '\n'), 0o600); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "replayed %d of %d events into %s in %s\n", copied, head, out, time.Since(start).Round(time.Millisecond))
	fmt.Fprintf(stderr, "query it: portcullis serve --read-only --data-dir %s --listen 127.0.0.1:8081\n", out)
	return nil
}

// replayInfo is written to <out>/replay.json: what the directory holds.
type replayInfo struct {
	Source      string    `json:"source_data_dir"`
	To          string    `json:"to"`
	Position    uint64    `json:"position"`      // the last event replayed
	LastEventAt string    `json:"last_event_at"` // its time
	SourceHead  uint64    `json:"source_head"`   // the source log's newest event then
	CreatedAt   time.Time `json:"created_at"`    // when the replay ran
}

// parseReplayTo reads --to: a stream position (digits) or an RFC 3339
// instant, as in as_of: the log up to the last event stamped at or before
// it, stopping at the first one stamped later.
func parseReplayTo(to string) (time.Time, uint64, error) {
	if to == "" {
		return time.Time{}, 0, errors.New("replay: --to names the last instant (RFC 3339) or stream position to include")
	}
	if strings.Trim(to, "0123456789") == "" {
		pos, err := strconv.ParseUint(to, 10, 64)
		if err != nil || pos == 0 {
			return time.Time{}, 0, fmt.Errorf("replay: --to %q is not a stream position", to)
		}
		return time.Time{}, pos, nil
	}
	t, err := time.Parse(time.RFC3339Nano, to)
	if err != nil {
		return time.Time{}, 0, fmt.Errorf("replay: --to %q is neither a stream position nor an RFC 3339 time", to)
	}
	return t, 0, nil
}

// progressBar draws "label [#####.....] pos/target (pct%)" on one terminal
// line, redrawn in place.
func progressBar(w io.Writer, label string) func(pos, target uint64) {
	const width = 30
	return func(pos, target uint64) {
		frac := 1.0
		if target > 0 {
			frac = min(float64(pos)/float64(target), 1)
		}
		n := int(frac * width)
		fmt.Fprintf(w, "\r%s [%s%s] %d/%d events (%5.1f%%)", label,
			strings.Repeat("#", n), strings.Repeat(".", width-n), pos, target, 100*frac)
	}
}

func mustAbs(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return abs
}
