package main

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis/portcullis/commands"
	"github.com/portcullis/portcullis/domain"
)

// secretBox returns the box that seals integration secrets (webhook signing
// secrets, client secrets) before they enter the log. Its AES-256 key is
// <data-dir>/keys/secrets-aes256.key (base64, mode 0600), generated on
// first start. Every node that delivers webhooks of a shared log needs a
// copy of this file; losing it makes the sealed secrets unrecoverable (rotate
// every webhook's secret then).
func secretBox(dataDir string, log *slog.Logger) (*commands.SecretBox, error) {
	path := filepath.Join(dataDir, "keys", "secrets-aes256.key")
	if b, err := os.ReadFile(path); err == nil {
		key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
		if err != nil {
			return nil, fmt.Errorf("%s: not base64: %w", path, err)
		}
		return commands.NewSecretBox(key)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(key)+"\n"), 0o600); err != nil {
		return nil, err
	}
	log.Info("generated the integration secrets key", slog.String("file", path))
	return commands.NewSecretBox(key)
}

// bindWebhookFlags registers the webhook flags, with their environment twins.
func (c *Config) bindWebhookFlags(fs *flag.FlagSet) {
	fs.BoolVar(&c.Webhook.AllowLoopback, "webhook-allow-loopback", envBool("PORTCULLIS_WEBHOOK_ALLOW_LOOPBACK"),
		"let webhook URLs resolve to loopback addresses, for local receivers (env PORTCULLIS_WEBHOOK_ALLOW_LOOPBACK=true)")
	fs.DurationVar(&c.Webhook.Timeout, "webhook-timeout", envDuration("PORTCULLIS_WEBHOOK_TIMEOUT", 15*time.Second),
		"a webhook attempt that has no 2xx answer within this time failed (env PORTCULLIS_WEBHOOK_TIMEOUT)")
	fs.StringVar(&c.WebhookRetrySchedule, "webhook-retry-schedule", env("PORTCULLIS_WEBHOOK_RETRY_SCHEDULE", "5s,5m,30m,2h,5h,10h"),
		"waits before each retry of a failed delivery, ±20% jitter; the last repeats (env PORTCULLIS_WEBHOOK_RETRY_SCHEDULE)")
	fs.DurationVar(&c.Webhook.DisableAfter, "webhook-disable-after", envDuration("PORTCULLIS_WEBHOOK_DISABLE_AFTER", 5*24*time.Hour),
		"disable a webhook whose endpoint has failed for this long (env PORTCULLIS_WEBHOOK_DISABLE_AFTER)")
	fs.DurationVar(&c.Webhook.RotationOverlap, "webhook-rotation-overlap", envDuration("PORTCULLIS_WEBHOOK_ROTATION_OVERLAP", 24*time.Hour),
		"how long a rotated-out signing secret keeps signing by default (env PORTCULLIS_WEBHOOK_ROTATION_OVERLAP)")
	fs.IntVar(&c.Webhook.Parallel, "webhook-parallel", int(envFloat("PORTCULLIS_WEBHOOK_PARALLEL", 32)),
		"attempts one webhook has in flight at once, each for a different record (env PORTCULLIS_WEBHOOK_PARALLEL)")
}

// parseWebhook turns the webhook flags' text into the delivery config.
func (c *Config) parseWebhook() error {
	if c.WebhookRetrySchedule == "" {
		return nil
	}
	schedule, err := domain.ParseRetrySchedule(c.WebhookRetrySchedule)
	if err != nil {
		return err
	}
	c.Webhook.RetrySchedule = schedule
	return nil
}

func envBool(name string) bool {
	v, _ := strconv.ParseBool(os.Getenv(name))
	return v
}

func envDuration(name string, def time.Duration) time.Duration {
	if v, ok := os.LookupEnv(name); ok {
		if d, err := time.ParseDuration(v); err == nil {
			return d
		}
	}
	return def
}
