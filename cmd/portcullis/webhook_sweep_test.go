package main

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/portcullis/portcullis/commands"
	"github.com/portcullis/portcullis/domain"
	"github.com/portcullis/portcullis/eventstore"
	phttp "github.com/portcullis/portcullis/http"
	"github.com/portcullis/portcullis/projections"
)

// A webhook disconnected while no node ran (here: by a bare process on the
// stopped data directory, whose read models are then rebuilt) leaves its
// consumer behind; the next start deletes it, and keeps the consumer of a
// webhook that is still connected.
func TestWebhookOrphanedConsumerDeletedAtStart(t *testing.T) {
	t.Parallel()
	rc := startReceiver(t)
	dir := t.TempDir()
	m := mustRunWebhooks(t, dir, phttp.WebhookConfig{})
	gone, _ := connectWebhook(t, m.c, rc.srv.URL+"/gone", "individual.created")
	kept, _ := connectWebhook(t, m.c, rc.srv.URL+"/kept", "individual.created")
	mustCreate(t, m.c, newIndividual("Or", "Phan", "orphan@example.com"))
	consumers := func(s *eventstore.Store) map[string]bool {
		t.Helper()
		list, err := s.Durables(t.Context(), "wh-")
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, d := range list {
			out[d.Name] = true
		}
		return out
	}
	deadline := time.Now().Add(20 * time.Second)
	for len(consumers(m.Store)) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("consumers %v, want both webhooks'", consumers(m.Store))
		}
		time.Sleep(20 * time.Millisecond)
	}
	mustClose(t, m)

	store, err := eventstore.Open(t.Context(), eventstore.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	meta := commands.Meta{Tenant: domain.DefaultTenant, Actor: "system", CommandID: commands.NewCommandID(), Face: domain.FaceSystem}
	if _, err := commands.New(store).Disconnect(t.Context(), meta, gone.ID); err != nil {
		t.Fatal(err)
	}
	if !consumers(store)["wh-"+gone.ID] {
		t.Fatal("the disconnected webhook's consumer is already gone; the test proves nothing")
	}
	// The read models learn of it too (as after a rebuild), so no worker
	// starts for it and none stops to delete its consumer.
	db, err := projections.OpenDB(filepath.Join(dir, "readmodels.db"))
	if err != nil {
		t.Fatal(err)
	}
	runner, err := projections.NewRunner(db, store)
	if err != nil {
		t.Fatal(err)
	}
	if err := runner.Rebuild(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	db.Close()
	store.Close()

	m = mustRunWebhooks(t, dir, phttp.WebhookConfig{})
	deadline = time.Now().Add(20 * time.Second)
	for consumers(m.Store)["wh-"+gone.ID] {
		if time.Now().After(deadline) {
			t.Fatal("the orphaned consumer is still there")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !consumers(m.Store)["wh-"+kept.ID] {
		t.Fatal("the connected webhook's consumer was deleted")
	}
}
