// Command portcullis is the access-control backend: one process that serves
// every face over HTTP, with the event log in JetStream and the read models
// in bbolt. This file is the composition root; each subcommand has its own.
package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	// The IANA time zone database is built in, so a location's time_zone
	// is checked and read the same on a host without /usr/share/zoneinfo.
	_ "time/tzdata"

	"github.com/portcullis/portcullis/commands"
	"github.com/portcullis/portcullis/domain"
	"github.com/portcullis/portcullis/eventstore"
	phttp "github.com/portcullis/portcullis/http"
	"github.com/portcullis/portcullis/projections"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "portcullis:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return runServe(ctx, args, stderr)
	case "rebuild":
		return runRebuild(ctx, args, stderr)
	case "replay":
		return runReplay(ctx, args, stderr)
	case "audit":
		return runAudit(ctx, args, stdout, stderr)
	case "bench":
		return runBench(ctx, args, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "portcullis", version)
		return nil
	default:
		return fmt.Errorf("unknown subcommand %q (serve, rebuild, replay, audit, bench, version)", cmd)
	}
}

// Config is everything a server is started with. Every flag has an
// environment twin; the flag wins.
type Config struct {
	DataDir    string
	Listen     string
	NATSURL    string
	Sync       string
	NATSListen string
	// NATSUser and NATSPassword are the downstream client's credentials on
	// NATSListen (read-only on the stream); the password comes from the
	// environment only.
	NATSUser, NATSPassword string
	AdminToken             string // from PORTCULLIS_ADMIN_TOKEN only: a flag would show in ps
	// MemoryLimit is the Go heap's soft limit (memlimit.go), applied by
	// the subcommands that run the server or a rebuild, never by Main,
	// which tests share in one process.
	MemoryLimit string
	// MappedBudget is how much of the read-model file stays mapped in
	// before it is dropped (memlimit.go); empty for the default.
	MappedBudget string
	// RateLimit and RateBurst bound each authenticated caller (requests/s,
	// 0 = the default, negative = off); TokenRateLimit bounds each client
	// address on the OAuth2 token endpoint.
	RateLimit      float64
	RateBurst      int
	TokenRateLimit float64
	// SMTP mails self-service codes; the password comes from the
	// environment only.
	SMTP phttp.SMTP
	// Webhook says how webhooks are checked and delivered; its retry
	// schedule comes from WebhookRetrySchedule when that is set.
	Webhook              phttp.WebhookConfig
	WebhookRetrySchedule string
	// ReadOnly serves without ever appending: every change is refused and
	// the first start appends no bootstrap. For replays (see replay.go).
	ReadOnly bool
	// CheckpointInterval is how often the chain head is signed while the
	// log moves (audit.go).
	CheckpointInterval time.Duration
	// EventsHeartbeat is how often an idle live feed sends a comment line.
	EventsHeartbeat time.Duration
	// NoopRoute serves the bench's no-op route (phttp.Config.NoopRoute);
	// no flag sets it, only the bench.
	NoopRoute bool
	// Observe is told how long each stage of a command and of the
	// projection runner took (eventstore.Config.Observe, Runner.Observe,
	// phttp.Config.Observe); no flag sets it, only the bench.
	Observe func(stage string, d time.Duration)
}

// bindFlags registers the common flags on fs with defaults from the
// environment.
func (c *Config) bindFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.DataDir, "data-dir", env("PORTCULLIS_DATA_DIR", "./data"), "JetStream store, bbolt files and keys (env PORTCULLIS_DATA_DIR)")
	fs.StringVar(&c.Listen, "listen", env("PORTCULLIS_LISTEN", ":8080"), "HTTP listen address (env PORTCULLIS_LISTEN)")
	fs.StringVar(&c.NATSURL, "nats-url", env("PORTCULLIS_NATS_URL", ""), "external NATS server or cluster; empty runs one embedded (env PORTCULLIS_NATS_URL)")
	fs.StringVar(&c.Sync, "sync", env("PORTCULLIS_SYNC", eventstore.SyncAlways), "always: fsync before every ack; interval: every 2 min, unsafe on power loss (env PORTCULLIS_SYNC)")
	fs.StringVar(&c.NATSListen, "nats-listen", env("PORTCULLIS_NATS_LISTEN", ""), "let the embedded NATS server also listen here, e.g. 127.0.0.1:4222, for downstream clients with --nats-user (env PORTCULLIS_NATS_LISTEN)")
	fs.StringVar(&c.NATSUser, "nats-user", env("PORTCULLIS_NATS_USER", ""), "the downstream client's user on --nats-listen, read-only on the stream; its password is PORTCULLIS_NATS_PASSWORD (env PORTCULLIS_NATS_USER)")
	c.NATSPassword = os.Getenv("PORTCULLIS_NATS_PASSWORD")
	fs.Float64Var(&c.RateLimit, "rate-limit", envFloat("PORTCULLIS_RATE_LIMIT", 1000), "requests per second per caller; negative turns it off (env PORTCULLIS_RATE_LIMIT)")
	fs.IntVar(&c.RateBurst, "rate-burst", int(envFloat("PORTCULLIS_RATE_BURST", 2000)), "requests a caller may send at once (env PORTCULLIS_RATE_BURST)")
	fs.Float64Var(&c.TokenRateLimit, "token-rate-limit", envFloat("PORTCULLIS_TOKEN_RATE_LIMIT", 1), "OAuth2 token requests per second per client address, burst 10 (env PORTCULLIS_TOKEN_RATE_LIMIT)")
	fs.StringVar(&c.SMTP.Addr, "smtp-addr", env("PORTCULLIS_SMTP_ADDR", ""), "SMTP server (host:port) that mails one-time codes (env PORTCULLIS_SMTP_ADDR)")
	fs.StringVar(&c.SMTP.From, "smtp-from", env("PORTCULLIS_SMTP_FROM", "portcullis@localhost"), "sender of one-time codes (env PORTCULLIS_SMTP_FROM)")
	fs.StringVar(&c.SMTP.Username, "smtp-username", env("PORTCULLIS_SMTP_USERNAME", ""), "SMTP PLAIN auth user; the password is PORTCULLIS_SMTP_PASSWORD (env PORTCULLIS_SMTP_USERNAME)")
	c.SMTP.Password = os.Getenv("PORTCULLIS_SMTP_PASSWORD")
	c.bindWebhookFlags(fs)
	c.bindAuditFlags(fs)
	c.AdminToken = os.Getenv("PORTCULLIS_ADMIN_TOKEN")
	fs.StringVar(&c.MemoryLimit, "memory-limit", env("PORTCULLIS_MEMORY_LIMIT", ""), memoryLimitUsage)
	fs.StringVar(&c.MappedBudget, "mapped-budget", env("PORTCULLIS_MAPPED_BUDGET", ""), mappedBudgetUsage)
}

func envFloat(name string, def float64) float64 {
	if v, ok := os.LookupEnv(name); ok {
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return f
		}
	}
	return def
}

func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

func (c Config) storeConfig() eventstore.Config {
	return eventstore.Config{DataDir: c.DataDir, URL: c.NATSURL, Sync: c.Sync, ListenAddr: c.NATSListen,
		ListenUser: c.NATSUser, ListenPassword: c.NATSPassword, Observe: c.Observe}
}

// Main is a running server: every part, opened in order by Run and closed in
// reverse by Close. End-to-end tests run it exactly as the binary does.
type Main struct {
	Config Config
	Logger *slog.Logger

	Store    *eventstore.Store
	DB       *projections.DB
	Outcomes *projections.Outcomes
	OTPs     *projections.OTPs
	Runner   *projections.Runner
	Commands *commands.Commands
	HTTP     *phttp.Server
	// Deliveries is the webhook delivery log; Webhooks delivers.
	Deliveries *projections.Deliveries
	Webhooks   *phttp.Dispatcher

	stopRunner context.CancelFunc
	runnerDone chan struct{}
	// Checkpoints signs the chain head; checkpointsDone closes once its
	// loop has stopped.
	Checkpoints     *eventstore.Checkpointer
	checkpointsDone chan struct{}
}

// Run opens the data directory, starts the log, the projections and the
// HTTP server, and returns once it serves.
func (m *Main) Run(ctx context.Context) (err error) {
	if m.Logger == nil {
		m.Logger = slog.New(slog.DiscardHandler)
	}
	defer func() {
		if err != nil {
			m.Close()
		}
	}()
	if err := os.MkdirAll(m.Config.DataDir, 0o700); err != nil {
		return err
	}
	token, err := adminToken(m.Config, m.Logger)
	if err != nil {
		return err
	}
	budget, err := mappedBudget(m.Config.MappedBudget)
	if err != nil {
		return err
	}
	if m.DB, err = projections.OpenDB(filepath.Join(m.Config.DataDir, "readmodels.db")); err != nil {
		return err
	}
	m.DB.SetMappedBudget(budget)
	if m.Outcomes, err = projections.OpenOutcomes(filepath.Join(m.Config.DataDir, "idempotency.db"), 24*time.Hour); err != nil {
		return err
	}
	if m.OTPs, err = projections.OpenOTPs(filepath.Join(m.Config.DataDir, "otp.db")); err != nil {
		return err
	}
	if m.Deliveries, err = projections.OpenDeliveries(filepath.Join(m.Config.DataDir, "deliveries.db"), 10000); err != nil {
		return err
	}
	if m.Store, err = eventstore.Open(ctx, m.Config.storeConfig()); err != nil {
		return err
	}
	m.Commands = commands.New(m.Store)
	if err := m.bootstrap(ctx); err != nil {
		return err
	}
	if m.Runner, err = projections.NewRunner(m.DB, m.Store); err != nil {
		return err
	}
	if m.Config.Observe != nil {
		m.Runner.Observe(m.Config.Observe)
	}
	key, err := signingKey(m.Config.DataDir, m.Logger)
	if err != nil {
		return err
	}
	box, err := secretBox(m.Config.DataDir, m.Logger)
	if err != nil {
		return err
	}
	if err := m.Config.parseWebhook(); err != nil {
		return err
	}
	if m.Checkpoints, err = openCheckpoints(m.Config.DataDir, m.Store, m.Logger); err != nil {
		return err
	}
	m.HTTP = phttp.NewServer(phttp.Config{
		Commands: m.Commands, DB: m.DB, Runner: m.Runner, Outcomes: m.Outcomes,
		Logger: m.Logger, AdminToken: token, SigningKey: key,
		CallerLimit: phttp.RateLimit{Rate: m.Config.RateLimit, Burst: max(m.Config.RateBurst, 1)},
		TokenLimit:  phttp.RateLimit{Rate: m.Config.TokenRateLimit, Burst: 10},
		OTPs:        m.OTPs, SMTP: m.Config.SMTP,
		Secrets: box, Webhook: m.Config.Webhook, Deliveries: m.Deliveries, ReadOnly: m.Config.ReadOnly,
		Checkpoints: m.Checkpoints,
		Store:       m.Store, EventsHeartbeat: m.Config.EventsHeartbeat,
		NoopRoute: m.Config.NoopRoute, Observe: m.Config.Observe,
	})
	m.Webhooks = phttp.NewDispatcher(phttp.DispatcherConfig{Store: m.Store, DB: m.DB, Runner: m.Runner, Commands: m.Commands,
		Deliveries: m.Deliveries, Secrets: box, Webhook: m.Config.Webhook, Logger: m.Logger})

	head, err := m.Store.LastSequence(ctx)
	if err != nil {
		return err
	}
	if pos := m.Runner.Position(); pos > head {
		// The read models describe events the log does not have (its store
		// was replaced or restored from an older copy): they cannot be
		// trusted, so they are rebuilt from the log that is.
		m.Logger.Warn("read models are ahead of the log; rebuilding",
			slog.Uint64("read_models", pos), slog.Uint64("log", head))
		if err := m.Runner.Rebuild(ctx, nil); err != nil {
			return fmt.Errorf("rebuild read models: %w", err)
		}
	}
	runCtx, stop := context.WithCancel(context.Background())
	m.stopRunner, m.runnerDone = stop, make(chan struct{})
	go func() {
		defer close(m.runnerDone)
		if err := m.Runner.Run(runCtx); err != nil && !errors.Is(err, context.Canceled) {
			m.Logger.Error("projections stopped", slog.Any("err", err))
		}
	}()
	go func() {
		if m.Runner.WaitFor(runCtx, head) == nil {
			m.HTTP.SetReady(true)
			m.Logger.Info("read models caught up", slog.Uint64("position", head))
		}
	}()
	go m.expireOutcomes(runCtx)
	if !m.Config.ReadOnly {
		// A replay served read-only must not send its past again.
		m.Webhooks.Run()
	}
	m.checkpointsDone = make(chan struct{})
	if m.Config.ReadOnly {
		// A replay is checked against checkpoints, never signed anew.
		close(m.checkpointsDone)
	} else {
		go m.signCheckpoints(runCtx)
	}
	if err := m.HTTP.Open(m.Config.Listen); err != nil {
		return err
	}
	m.Logger.Info("serving", slog.String("addr", m.HTTP.Addr()), slog.String("data_dir", m.Config.DataDir))
	return nil
}

// bootstrap creates the default tenant and its admin on a first start; a
// read-only server appends nothing, so it skips this.
func (m *Main) bootstrap(ctx context.Context) error {
	if m.Config.ReadOnly {
		return nil
	}
	if err := m.Commands.EnsureTenant(ctx, commands.Meta{Tenant: domain.DefaultTenant, Actor: "system",
		CommandID: "bootstrap-tenant-default", Face: domain.FaceSystem}, domain.DefaultTenant, "Default"); err != nil {
		return fmt.Errorf("create default tenant: %w", err)
	}
	if err := m.Commands.EnsureServiceUser(ctx, commands.Meta{Tenant: domain.DefaultTenant, Actor: "system",
		CommandID: "bootstrap-admin", Face: domain.FaceSystem}, phttp.BootstrapAdminID, "Bootstrap admin", domain.RoleAdmin); err != nil {
		return fmt.Errorf("create bootstrap admin: %w", err)
	}
	return nil
}

// Close stops accepting requests, lets in-flight ones finish, flushes the
// projections and closes the log. It is safe on a partly opened Main.
func (m *Main) Close() error {
	var errs []error
	if m.HTTP != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		errs = append(errs, m.HTTP.Close(ctx))
		cancel()
	}
	if m.Webhooks != nil {
		m.Webhooks.Close()
	}
	if m.stopRunner != nil {
		m.stopRunner()
		<-m.runnerDone
	}
	if m.Deliveries != nil {
		errs = append(errs, m.Deliveries.Close())
	}
	if m.checkpointsDone != nil {
		<-m.checkpointsDone
	}
	if m.Outcomes != nil {
		errs = append(errs, m.Outcomes.Close())
	}
	if m.OTPs != nil {
		errs = append(errs, m.OTPs.Close())
	}
	if m.DB != nil {
		errs = append(errs, m.DB.Close())
	}
	if m.Store != nil {
		errs = append(errs, m.Store.Close())
	}
	return errors.Join(errs...)
}

// expireOutcomes drops idempotent outcomes past their retention, hourly.
func (m *Main) expireOutcomes(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if _, err := m.Outcomes.Expire(now); err != nil {
				m.Logger.Warn("expire idempotent outcomes", slog.Any("err", err))
			}
		}
	}
}

// signingKey returns the Ed25519 key that signs OAuth2 access tokens, from
// <data-dir>/keys/jwt-ed25519.pem, generating it (mode 0600) on first start.
func signingKey(dataDir string, log *slog.Logger) (ed25519.PrivateKey, error) {
	return ed25519Key(filepath.Join(dataDir, "keys", "jwt-ed25519.pem"), "token signing key", log)
}

// ed25519Key reads a PKCS#8 PEM Ed25519 key from path, generating it (mode
// 0600) if the file does not exist; what names it in the log.
func ed25519Key(path, what string, log *slog.Logger) (ed25519.PrivateKey, error) {
	if b, err := os.ReadFile(path); err == nil {
		block, _ := pem.Decode(b)
		if block == nil {
			return nil, fmt.Errorf("%s: no PEM block", path)
		}
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		key, ok := k.(ed25519.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("%s: not an Ed25519 key", path)
		}
		return key, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return nil, err
	}
	log.Info("generated the "+what, slog.String("file", path))
	return key, nil
}

// adminToken returns the bootstrap admin's PAT: PORTCULLIS_ADMIN_TOKEN if
// set, else the one in <data-dir>/admin-token, else a new one written there
// with mode 0600. The token itself is never logged.
func adminToken(c Config, log *slog.Logger) (string, error) {
	if c.AdminToken != "" {
		return c.AdminToken, nil
	}
	path := filepath.Join(c.DataDir, "admin-token")
	b, err := os.ReadFile(path)
	if err == nil {
		if t := strings.TrimSpace(string(b)); t != "" {
			return t, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	t := "pcat_" + base64.RawURLEncoding.EncodeToString(raw[:])
	if err := os.WriteFile(path, []byte(t+"\n"), 0o600); err != nil {
		return "", err
	}
	log.Info("generated the bootstrap admin token", slog.String("file", path))
	return t, nil
}
