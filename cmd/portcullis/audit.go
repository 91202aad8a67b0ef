package main

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/portcullis/portcullis/eventstore"
	"github.com/portcullis/portcullis/projections"
)

// The tamper evidence of the log, as the server keeps it and as an auditor
// checks it: the checkpoint key and file in the data directory, the loop
// that signs the chain head, and `portcullis audit verify`.

// Where the data directory keeps the checkpoint key, its public half and
// the checkpoints signed with it.
const (
	checkpointKeyFile = "checkpoint-ed25519.pem"
	checkpointPubFile = "checkpoint-ed25519.pub"
	checkpointsFile   = "checkpoints.jsonl"
)

// bindAuditFlags registers the flags of the tamper evidence.
func (c *Config) bindAuditFlags(fs *flag.FlagSet) {
	def, err := time.ParseDuration(env("PORTCULLIS_CHECKPOINT_INTERVAL", "1m"))
	if err != nil {
		def = time.Minute
	}
	fs.DurationVar(&c.CheckpointInterval, "checkpoint-interval", def, "how often the chain head is signed while the log moves (env PORTCULLIS_CHECKPOINT_INTERVAL)")
}

// openCheckpoints loads (or generates) the checkpoint key, publishes its
// public half beside it for auditors and resumes from the checkpoint file.
func openCheckpoints(dataDir string, store *eventstore.Store, log *slog.Logger) (*eventstore.Checkpointer, error) {
	key, err := ed25519Key(filepath.Join(dataDir, "keys", checkpointKeyFile), "checkpoint signing key", log)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return nil, err
	}
	pub := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	if err := os.WriteFile(filepath.Join(dataDir, "keys", checkpointPubFile), pub, 0o644); err != nil {
		return nil, err
	}
	return eventstore.OpenCheckpointer(store, key, filepath.Join(dataDir, checkpointsFile))
}

// signCheckpoints signs the chain head once at start and then every
// CheckpointInterval while the log moves, until ctx ends.
func (m *Main) signCheckpoints(ctx context.Context) {
	defer close(m.checkpointsDone)
	logErr := func(err error) { m.Logger.Error("checkpoint not signed", slog.Any("err", err)) }
	if _, err := m.Checkpoints.Sign(ctx, time.Now()); err != nil && ctx.Err() == nil {
		logErr(err)
	}
	interval := m.Config.CheckpointInterval
	if interval <= 0 {
		interval = time.Minute
	}
	m.Checkpoints.Run(ctx, interval, logErr)
}

// errChainBroken is what `audit verify` ends with when it found a break, so
// that the exit status says so.
var errChainBroken = errors.New("the event log's hash chain is broken")

// runAudit dispatches the audit subcommands.
func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		return errors.New("usage: portcullis audit verify [--data-dir dir | --nats-url url] [--checkpoint file] [--public-key file] [--json]")
	}
	return runAuditVerify(ctx, args[1:], stdout, stderr)
}

// runAuditVerify walks the whole chain and reports the first break, if
// any, and whether the log still holds a signed checkpoint's head. It works
// on a stopped server's data directory (it starts the embedded server on
// it) or on a live log with --nats-url. It exits non-zero on a break.
func runAuditVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c Config
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.bindFlags(fs)
	cpFile := fs.String("checkpoint", "", "file with signed checkpoints (one JSON object per line, or the data of GET /api/v1/audit-logs/checkpoint); the newest is checked (default: <data-dir>/"+checkpointsFile+" if present)")
	pubFile := fs.String("public-key", "", "PEM public key the checkpoint must be signed with (default: <data-dir>/keys/"+checkpointPubFile+")")
	asJSON := fs.Bool("json", false, "print the report as one JSON object")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cp, err := auditCheckpoint(c.DataDir, *cpFile, *pubFile)
	if err != nil {
		return err
	}
	if c.NATSURL == "" {
		// A server running on this directory holds the read-model file;
		// starting a second embedded server beside it must not happen.
		if _, err := os.Stat(filepath.Join(c.DataDir, "readmodels.db")); err == nil {
			db, err := projections.OpenDB(filepath.Join(c.DataDir, "readmodels.db"))
			if err != nil {
				return fmt.Errorf("%w: stop the server first, or verify the live log with --nats-url", err)
			}
			defer db.Close()
		}
		if _, err := os.Stat(filepath.Join(c.DataDir, "jetstream")); err != nil {
			return fmt.Errorf("no event log in %s: %w", c.DataDir, err)
		}
	}
	store, err := eventstore.Open(ctx, c.storeConfig())
	if err != nil {
		return err
	}
	defer store.Close()
	rep, err := store.Verify(ctx, cp)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		writeChainReport(stdout, rep)
	}
	if rep.Break != nil {
		return errChainBroken
	}
	return nil
}

// auditCheckpoint reads the newest checkpoint of file (or of the data
// directory's own file when none is named) and checks its signature with
// the pinned public key.
func auditCheckpoint(dataDir, file, pubFile string) (*eventstore.Checkpoint, error) {
	named := file != ""
	if !named {
		file = filepath.Join(dataDir, checkpointsFile)
	}
	cps, err := eventstore.ReadCheckpoints(file)
	if err != nil {
		return nil, err
	}
	if len(cps) == 0 {
		if named {
			return nil, fmt.Errorf("%s holds no checkpoint", file)
		}
		return nil, nil
	}
	if pubFile == "" {
		pubFile = filepath.Join(dataDir, "keys", checkpointPubFile)
	}
	pub, err := readPublicKey(pubFile)
	if err != nil {
		return nil, fmt.Errorf("the key to check checkpoints with: %w", err)
	}
	newest := cps[0]
	for _, cp := range cps[1:] {
		if cp.Sequence >= newest.Sequence {
			newest = cp
		}
	}
	if err := newest.Check(pub); err != nil {
		return nil, fmt.Errorf("checkpoint at %d in %s: %w", newest.Sequence, file, err)
	}
	return &newest, nil
}

// readPublicKey reads a PEM (PKIX) Ed25519 public key.
func readPublicKey(path string) (ed25519.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("%s: no PEM block", path)
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an Ed25519 public key", path)
	}
	return pub, nil
}

// writeChainReport prints a report for a person.
func writeChainReport(w io.Writer, rep eventstore.ChainReport) {
	rate := 0.0
	if s := rep.Elapsed.Seconds(); s > 0 {
		rate = float64(rep.Checked+rep.NotCovered) / s
	}
	fmt.Fprintf(w, "walked:      %d events in %s (%.0f events/s)\n", rep.Checked+rep.NotCovered, rep.Elapsed.Round(time.Millisecond), rate)
	fmt.Fprintf(w, "chained:     %d", rep.Checked)
	if rep.FirstChained > 0 {
		fmt.Fprintf(w, " (positions %d to %d)", rep.FirstChained, rep.FirstChained+rep.Checked-1)
	}
	fmt.Fprintln(w)
	if rep.NotCovered > 0 {
		fmt.Fprintf(w, "not covered: %d events written before the chain existed\n", rep.NotCovered)
	}
	fmt.Fprintf(w, "head:        %d %s\n", rep.HeadSequence, rep.HeadHash)
	if c := rep.Checkpoint; c != nil {
		held := "held"
		if !c.Held {
			held = "NOT held"
		}
		fmt.Fprintf(w, "checkpoint:  %d %s signed %s: %s\n", c.Sequence, c.Hash, c.Time.Format(time.RFC3339), held)
	}
	if b := rep.Break; b != nil {
		fmt.Fprintf(w, "BROKEN at %d (%s)", b.Sequence, b.Kind)
		if b.EventID != "" {
			fmt.Fprintf(w, ": event %s", b.EventID)
		}
		if b.Subject != "" {
			fmt.Fprintf(w, " on %s", b.Subject)
		}
		fmt.Fprintf(w, "\n  %s\n", b.Detail)
		return
	}
	fmt.Fprintln(w, "intact")
}
