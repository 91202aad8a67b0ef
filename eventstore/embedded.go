package eventstore

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// startEmbedded runs a nats-server with JetStream inside this process. It
// does not listen on the network unless told to: clients of the process
// connect in-process, which skips the TCP stack entirely. With writerSyncs
// the server does not fsync messages itself under SyncAlways: the store's
// writer does, once per group (blocksync.go).
func startEmbedded(cfg Config, writerSyncs bool) (*server.Server, error) {
	opts := &server.Options{
		ServerName:         "portcullis",
		JetStream:          true,
		StoreDir:           filepath.Join(cfg.DataDir, "jetstream"),
		DontListen:         cfg.ListenAddr == "",
		NoSigs:             true,
		NoLog:              true,
		JetStreamMaxMemory: 256 << 20,
	}
	if cfg.ListenAddr != "" {
		host, port, err := splitHostPort(cfg.ListenAddr)
		if err != nil {
			return nil, err
		}
		if opts.Users, err = listenUsers(cfg); err != nil {
			return nil, err
		}
		opts.Host, opts.Port = host, port
	}
	switch cfg.Sync {
	case SyncAlways, "":
		// Every message is fsynced before its ack: a 2xx means on disk.
		opts.SyncAlways = true
		if writerSyncs {
			// The writer fsyncs before it answers; the server's own
			// flush only covers what is not an event (consumer state).
			opts.SyncAlways, opts.SyncInterval = false, 2*time.Minute
		}
	case SyncInterval:
		// Flushed every two minutes: a power loss can lose acknowledged events.
		opts.SyncInterval = 2 * time.Minute
	default:
		return nil, fmt.Errorf("unknown sync mode %q (want %q or %q)", cfg.Sync, SyncAlways, SyncInterval)
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded nats-server: %w", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(30 * time.Second) {
		ns.Shutdown()
		return nil, fmt.Errorf("embedded nats-server did not become ready")
	}
	return ns, nil
}
