package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// The embedded NATS server listens for downstream clients only with their
// credentials; with them, the server itself (whose own connection
// authenticates too) serves as usual. What a downstream client may do is
// tested in eventstore.
func TestNATSListenNeedsCredentials(t *testing.T) {
	t.Parallel()
	m := &Main{Config: Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", NATSListen: "127.0.0.1:-1", AdminToken: testAdminToken}}
	err := m.Run(context.Background())
	if err == nil {
		m.Close()
		t.Fatal("served with a listening NATS server and no downstream credentials")
	}
	if !strings.Contains(err.Error(), "--nats-user") {
		t.Fatalf("refusal %q does not name --nats-user", err)
	}
	s := mustRunWith(t, t.TempDir(), func(c *Config) {
		c.NATSListen, c.NATSUser, c.NATSPassword = "127.0.0.1:-1", "erp", "downstream-pass"
	})
	if !strings.HasPrefix(s.Store.ListenURL(), "nats://127.0.0.1:") {
		t.Fatalf("listen URL %q", s.Store.ListenURL())
	}
	ind, r := mustCreate(t, s.c, newIndividual("Ada", "Listen", "ada@listen.example"))
	got, _ := mustGet(t, s.c, ind.ID, r.header.Get("X-Consistency-Token"))
	requireEqual(t, "read back", got.LastName, "Listen")
	requireStatus(t, s.c.do(t, "GET", "/readyz", nil), http.StatusOK)
}
