package http

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/portcullis/portcullis/commands"
	"github.com/portcullis/portcullis/domain"
	"github.com/portcullis/portcullis/projections"
)

// webhookTarget is a connection as a worker needs it: where to send, what,
// and the opened signing secrets. It is replaced whole when the connection
// changes, so a worker never sees half of a rotation.
type webhookTarget struct {
	tenant, id, url string
	filters         []string
	createdSeq      uint64
	current         *standardwebhooks.Webhook
	previous        *standardwebhooks.Webhook // signs too until previousUntil
	previousUntil   time.Time
}

// target opens a connection's secrets into a webhookTarget.
func (d *Dispatcher) target(c projections.TenantConnection) (*webhookTarget, error) {
	t := &webhookTarget{tenant: c.Tenant, id: c.ID, createdSeq: c.CreatedSeq}
	if st, ok := domain.Setting(c.Settings, "url"); ok {
		t.url = st.Value
	}
	if st, ok := domain.Setting(c.Settings, "event_types"); ok {
		t.filters = st.Values
	}
	open := func(s *domain.SealedSecret) (*standardwebhooks.Webhook, error) {
		if s == nil {
			return nil, errors.New("no signing secret")
		}
		secret, err := d.cfg.Secrets.Open(c.Tenant, c.ID, *s)
		if err != nil {
			return nil, err
		}
		return standardwebhooks.NewWebhook(secret)
	}
	var err error
	if t.current, err = open(c.Secret(domain.WebhookSecretField)); err != nil {
		return nil, err
	}
	if c.Previous != nil && c.PreviousValidUntil.After(time.Now()) {
		if t.previous, err = open(c.Previous); err != nil {
			return nil, err
		}
		t.previousUntil = c.PreviousValidUntil
	}
	return t, nil
}

// sign returns the webhook-signature header: the current secret's
// signature, and during a rotation's overlap the previous secret's after
// it, space-separated as Standard Webhooks allows.
func (t *webhookTarget) sign(id string, at time.Time, body []byte) (string, error) {
	sig, err := t.current.Sign(id, at, body)
	if err != nil || t.previous == nil || !at.Before(t.previousUntil) {
		return sig, err
	}
	old, err := t.previous.Sign(id, at, body)
	return sig + " " + old, err
}

// newWebhookClient is the client of every delivery: no proxy (it would
// hide the real destination), no redirects (a 3xx is a failure, not a way
// around the address check), and a dialer that checks each address it
// connects to, since a name may resolve elsewhere than it did at connect.
func newWebhookClient(cfg WebhookConfig) *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second,
		Control: func(network, address string, _ syscall.RawConn) error {
			return checkDialAddr(address, cfg.AllowLoopback)
		}}
	return &http.Client{
		Transport: &http.Transport{
			Proxy: nil, DialContext: dialer.DialContext, MaxIdleConns: 256, MaxIdleConnsPerHost: cfg.Parallel,
			IdleConnTimeout: 90 * time.Second, TLSHandshakeTimeout: 10 * time.Second, ResponseHeaderTimeout: cfg.Timeout,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// errRefusedAddr marks a dial refused by the address check.
var errRefusedAddr = errors.New("refused address")

// checkDialAddr is the dial-time half of the SSRF check: it runs on the
// resolved address just before the connection is made.
func checkDialAddr(address string, allowLoopback bool) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return err
	}
	if err := domain.CheckEndpointAddr(ip, allowLoopback); err != nil {
		return fmt.Errorf("%w: %v", errRefusedAddr, err)
	}
	return nil
}

// attemptResult is what one delivery attempt found out.
type attemptResult struct {
	at      time.Time
	status  int
	latency time.Duration
	snippet string
	err     string
}

func (r attemptResult) ok() bool { return r.status >= 200 && r.status < 300 }

func (r attemptResult) summary() string {
	if r.status != 0 {
		return strconv.Itoa(r.status) + " " + http.StatusText(r.status)
	}
	return r.err
}

// snippetSize bounds the answer body kept in the delivery log.
const snippetSize = 256

// Header names of a delivery, in the canonical form net/http would give
// them, so that setting them needs no rewriting per request
// (standardwebhooks.HeaderWebhook* name the last three in lower case).
const (
	headerWebhookID        = "Webhook-Id"
	headerWebhookTimestamp = "Webhook-Timestamp"
	headerWebhookSignature = "Webhook-Signature"
)

// attempt POSTs one event, signed, and reports the answer. body is the
// event's public form (or renderErr why it could not be rendered).
func (d *Dispatcher) attempt(ctx context.Context, t *webhookTarget, e domain.Event, body []byte, renderErr error) attemptResult {
	res := attemptResult{at: time.Now()}
	if renderErr != nil {
		res.err = "render event: " + renderErr.Error()
		return res
	}
	sig, err := t.sign(e.ID, res.at, body)
	if err != nil {
		res.err = "sign: " + err.Error()
		return res
	}
	ctx, cancel := context.WithTimeout(ctx, d.cfg.Webhook.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(body))
	if err != nil {
		res.err = "request: " + err.Error()
		return res
	}
	req.Header = http.Header{
		"Content-Type":         {"application/json"},
		"User-Agent":           {"Portcullis-Webhooks/1"},
		headerWebhookID:        {e.ID},
		headerWebhookTimestamp: {strconv.FormatInt(res.at.Unix(), 10)},
		headerWebhookSignature: {sig},
	}
	resp, err := d.client.Do(req)
	if err != nil {
		res.latency = time.Since(res.at)
		switch {
		case errors.Is(err, errRefusedAddr):
			res.err = "refused: the URL resolves to an address webhooks may not reach"
		case errors.Is(err, context.DeadlineExceeded):
			res.err = "no answer within " + d.cfg.Webhook.Timeout.String()
		default:
			res.err = "request failed: " + clipError(err)
		}
		return res
	}
	if resp.ContentLength != 0 { // a 204, or an empty 200, has nothing to keep
		head := make([]byte, snippetSize)
		n, _ := io.ReadFull(resp.Body, head)
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		res.snippet = strings.ToValidUTF8(string(head[:n]), "")
	}
	resp.Body.Close()
	res.latency = time.Since(res.at)
	res.status = resp.StatusCode
	return res
}

// clipError keeps the part of a transport error that helps, without the
// URL (which the connection already shows).
func clipError(err error) string {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) && ue.Unwrap() != nil {
		err = ue.Unwrap()
	}
	s := err.Error()
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// replayRun is one replay a worker delivers: the consumer named name, from
// position from up to to.
type replayRun struct {
	id, name string
	from, to uint64
	target   *webhookTarget
}

// pendingReplays lists the replays of a connection still to deliver.
func pendingReplays(c projections.TenantConnection) []*replayRun {
	var out []*replayRun
	for _, r := range c.Replays {
		out = append(out, &replayRun{id: r.ID, name: replayPrefix + r.ID, from: r.From, to: r.To})
	}
	return out
}

// finishReplay records that a replay reached its end; its worker then stops
// and its consumer goes once the read model drops it.
func (d *Dispatcher) finishReplay(w *worker) {
	t := w.target.Load()
	meta := commands.Meta{Tenant: t.tenant, Actor: "system:webhooks", CommandID: "webhook-replay-done-" + w.replay.id}
	if err := d.cfg.Commands.CompleteReplay(d.ctx, meta, t.id, w.replay.id); err != nil && d.ctx.Err() == nil {
		d.log.Error("webhooks: complete replay", slog.String("replay", w.replay.id), slog.Any("err", err))
	}
}
