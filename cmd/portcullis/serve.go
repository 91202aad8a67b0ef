package main

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// runServe starts the server and runs until SIGINT or SIGTERM, then shuts
// down gracefully.
func runServe(ctx context.Context, args []string, stderr io.Writer) error {
	var m Main
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	m.Config.bindFlags(fs)
	fs.BoolVar(&m.Config.ReadOnly, "read-only", os.Getenv("PORTCULLIS_READ_ONLY") == "true",
		"refuse every change and append nothing, e.g. to serve a replay for an auditor (env PORTCULLIS_READ_ONLY=true)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := applyMemoryLimit(m.Config.MemoryLimit); err != nil {
		return err
	}
	m.Logger = slog.New(slog.NewJSONHandler(stderr, nil))
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := m.Run(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	m.Logger.Info("shutting down")
	return m.Close()
}
