package storetest

import (
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// StartServer runs a nats-server with JetStream on a random local port and
// a temporary directory, as an external deployment would, and returns the
// URL to reach it by. It stops when the test ends.
func StartServer(t testing.TB) string {
	t.Helper()
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
	return ns.ClientURL()
}
