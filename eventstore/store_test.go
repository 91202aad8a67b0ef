package eventstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/portcullis/portcullis/eventstore"
	"github.com/portcullis/portcullis/eventstore/storetest"
)

var _ storetest.Store = (*eventstore.Store)(nil)

// mustOpen opens a store and closes it when the test ends.
func mustOpen(t testing.TB, cfg eventstore.Config) *eventstore.Store {
	t.Helper()
	s, err := eventstore.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestEmbedded(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store {
		return mustOpen(t, eventstore.Config{DataDir: t.TempDir()})
	})
}

// TestExternal runs the suite against a separate nats-server reached by URL,
// as a deployment on an external cluster would.
func TestExternal(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store {
		ns, err := server.NewServer(&server.Options{
			Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true,
		})
		if err != nil {
			t.Fatal(err)
		}
		go ns.Start()
		if !ns.ReadyForConnections(10 * time.Second) {
			t.Fatal("nats-server not ready")
		}
		t.Cleanup(ns.Shutdown)
		return mustOpen(t, eventstore.Config{URL: ns.ClientURL()})
	})
}

// TestReopenKeepsEvents checks that the embedded server's files survive a
// restart: the log is the system of record.
func TestReopenKeepsEvents(t *testing.T) {
	dir := t.TempDir()
	s, err := eventstore.Open(context.Background(), eventstore.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	before, _ := s.LastSequence(ctx)
	s.Close()
	s = mustOpen(t, eventstore.Config{DataDir: dir})
	after, err := s.LastSequence(ctx)
	if err != nil || after != before {
		t.Fatalf("after reopen last sequence = %d (err %v), want %d", after, err, before)
	}
}

func TestUnknownSyncModeRefused(t *testing.T) {
	_, err := eventstore.Open(context.Background(), eventstore.Config{DataDir: t.TempDir(), Sync: "sometimes"})
	if err == nil {
		t.Fatal("open with sync mode \"sometimes\" succeeded, want an error")
	}
}
