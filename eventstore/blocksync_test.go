package eventstore

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/nats-io/nats.go"
)

// TestServerWritesBeforeAck guards what the writer's own fsync relies on
// (blocksync.go): when the embedded server acknowledges a message, its bytes
// are already in the stream's newest block file, so an fsync of that file
// after the acknowledgement makes it durable. A nats-server that deferred
// the write would fail here, not lose data silently.
func TestServerWritesBeforeAck(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(context.Background(), Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.w.syncer == nil {
		t.Fatal("an embedded store with nothing else on its server does not sync itself")
	}
	for i := range 200 {
		body := []byte(fmt.Sprintf("written-before-ack-%04d", i))
		if _, err := s.js.PublishMsg(context.Background(), &nats.Msg{Subject: SubjectPrefix + ".t.x.y", Data: body}); err != nil {
			t.Fatal(err)
		}
		blk := filepath.Join(streamDir(dir), "msgs", "1.blk")
		data, err := os.ReadFile(blk)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(data, body) {
			t.Fatalf("message %d was acknowledged before the server wrote it to %s", i, blk)
		}
	}
}

// TestWriterSyncsOnlyWhenAlone: the writer takes over the fsync only when
// it is the one client its durable embedded server can have.
func TestWriterSyncsOnlyWhenAlone(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want bool
	}{
		{Config{DataDir: "d"}, true},
		{Config{DataDir: "d", Sync: SyncAlways}, true},
		{Config{DataDir: "d", Sync: SyncInterval}, false},
		{Config{DataDir: "d", ListenAddr: "127.0.0.1:4222"}, false},
		{Config{URL: "nats://example:4222"}, false},
	} {
		if got := writerSyncs(c.cfg); got != c.want {
			t.Errorf("writerSyncs(%+v) = %v, want %v", c.cfg, got, c.want)
		}
	}
}
