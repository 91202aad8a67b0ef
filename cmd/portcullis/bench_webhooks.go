package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/portcullis/portcullis/commands"
	"github.com/portcullis/portcullis/domain"
	"github.com/portcullis/portcullis/eventstore"
	phttp "github.com/portcullis/portcullis/http"
)

// The webhook side of the bench: how fast one webhook drains a backlog of
// signed deliveries into a local receiver that does nothing, against a
// plain loop of POSTs to the same receiver with as many requests in flight
// as a webhook may have; and how late deliveries arrive while events come
// at a steady 1,000 per second.

// benchWebhookRecords is how many individuals the webhook scenarios
// update: enough records that deliveries can go side by side.
const benchWebhookRecords = 256

// benchWebhookRound is the fewest events a round of the webhook drain has:
// 2,000, some 100-200 ms of deliveries here, long enough that filling the
// pipeline at the start weighs little against the whole.
const benchWebhookRound = 2000

// benchWebhookLagRate is the steady rate of the lag scenario, events/s.
const benchWebhookLagRate = 1000

// benchWebhookFigures are the figures of this file, in report order.
func benchWebhookFigures() []benchFigureSpec {
	return []benchFigureSpec{
		{"raw_post", "raw HTTP POST loop to a no-op receiver, as many in flight as a webhook", "requests/s"},
		{"webhook_deliver", "one webhook draining a backlog into the same receiver, signed", "deliveries/s"},
		{"webhook_lag_1k", "webhook at a steady 1,000 events/s: rate reached; P = decided → received", "events/s"},
	}
}

// benchReceiver is a local endpoint that answers 204 to everything. In lag
// mode it also reads each body's id and occurred_at and keeps how late the
// first delivery of each event came.
type benchReceiver struct {
	srv   *http.Server
	url   string
	count atomic.Int64
	bytes atomic.Int64
	lag   atomic.Bool
	// first and last are when the first request since a reset and the
	// latest one arrived (Unix nanoseconds).
	first, last atomic.Int64

	mu   sync.Mutex
	seen map[string]bool
	lags []time.Duration
}

func startBenchReceiver() (*benchReceiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	rc := &benchReceiver{url: "http://" + ln.Addr().String() + "/hook", seen: map[string]bool{}}
	rc.srv = &http.Server{Handler: http.HandlerFunc(rc.serve), ReadHeaderTimeout: 10 * time.Second}
	go rc.srv.Serve(ln)
	return rc, nil
}

func (rc *benchReceiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if rc.lag.Load() {
		at := time.Now()
		var ev struct {
			ID         string    `json:"id"`
			OccurredAt time.Time `json:"occurred_at"`
		}
		if json.Unmarshal(body, &ev) == nil && ev.ID != "" {
			rc.mu.Lock()
			if !rc.seen[ev.ID] {
				rc.seen[ev.ID] = true
				rc.lags = append(rc.lags, at.Sub(ev.OccurredAt))
			}
			rc.mu.Unlock()
		}
	}
	now := time.Now().UnixNano()
	rc.first.CompareAndSwap(0, now)
	rc.last.Store(now)
	rc.bytes.Add(int64(len(body)))
	rc.count.Add(1)
	w.WriteHeader(http.StatusNoContent)
}

func (rc *benchReceiver) close() { rc.srv.Close() }

// waitCount waits until the receiver has answered n requests in all.
func (rc *benchReceiver) waitCount(ctx context.Context, n int64, within time.Duration) error {
	deadline := time.Now().Add(within)
	for rc.count.Load() < n {
		if time.Now().After(deadline) {
			return fmt.Errorf("%d requests arrived within %s, want %d", rc.count.Load(), within, n)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}

// webhooks measures the webhook figures on a server of its own.
func (b *bench) webhooks(ctx context.Context) error {
	rc, err := startBenchReceiver()
	if err != nil {
		return err
	}
	defer rc.close()
	var tok [24]byte
	_, _ = rand.Read(tok[:])
	m := &Main{Config: Config{DataDir: filepath.Join(b.dir, "webhooks"), Listen: "127.0.0.1:0", Sync: b.sync,
		AdminToken: "pcat_" + base64.RawURLEncoding.EncodeToString(tok[:]), Webhook: phttp.WebhookConfig{AllowLoopback: true}}}
	if err := m.Run(ctx); err != nil {
		return err
	}
	defer m.Close()
	parallel := m.Webhooks.Parallel()
	hc := newHTTPBenchClient("http://"+m.HTTP.Addr(), m.Config.AdminToken)
	defer hc.close()
	var conn struct {
		Data struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	connect := `{"name":"bench","url":"` + rc.url + `","event_types":["individual.updated"]}`
	if err := hc.do(ctx, http.MethodPost, "/api/v1/integrations/applications/webhook/connect", connect, http.StatusCreated, &conn); err != nil {
		return err
	}
	meta := func() commands.Meta {
		return commands.Meta{Tenant: domain.DefaultTenant, Actor: "service_user:bench", CommandID: commands.NewCommandID()}
	}
	b.step("webhooks: %d individuals", benchWebhookRecords)
	ids := make([]string, benchWebhookRecords)
	if _, err := drive(len(ids), benchWide, func(i int) error {
		res, err := m.Commands.CreateIndividual(ctx, meta(), domain.IndividualFields{FirstName: "Hook", LastName: "Bench" + strconv.Itoa(i)})
		ids[i] = res.Individual.ID
		return err
	}); err != nil {
		return err
	}
	update := func(i int) error {
		first := "Hook" + strconv.Itoa(i)
		_, err := m.Commands.UpdateIndividual(ctx, meta(), ids[i%len(ids)], domain.IndividualPatch{FirstName: &first})
		return err
	}

	// The backlog, in benchRounds rounds so that a neighbour that loads the
	// machine for a while slows the baseline and the webhook alike: in each,
	// the webhook is disabled while a slice of the updates is appended, then
	// enabled and timed from the slice's first delivery until the webhook
	// acknowledged the whole slice (which it does only once each delivery's
	// log row is on disk), with raw POSTs of the same size before and after
	// it, half each. A round is at least benchWebhookRound events, so that
	// the start of a drain (the pipeline filling) weighs little.
	n := max(b.n, benchRounds*benchWebhookRound)
	// The raw POSTs carry a body of the size of a delivery's (the public
	// form of a backlog event, then the deliveries' average) and headers of
	// the names and sizes a delivery has, unsigned: the receiver does the
	// same work for both, and the difference is what the webhook does on
	// its side. Their client lives through every round, as the webhook's
	// does, so both keep their connections.
	tr := &http.Transport{MaxIdleConns: 2 * parallel, MaxIdleConnsPerHost: 2 * parallel, IdleConnTimeout: time.Minute}
	rawClient := &http.Client{Transport: tr, Timeout: time.Minute}
	defer rawClient.CloseIdleConnections()
	var body, sampleID string
	var rawCPU, deliverCPU time.Duration // the process's CPU time in the timed parts
	raw := func(count int) error {
		b.step("webhooks: %d raw POSTs of %d bytes, %d in flight", count, len(body), parallel)
		before := rc.count.Load()
		return b.measure("raw_post", count, func() (time.Duration, error) {
			c0 := processCPU()
			defer func() { rawCPU += processCPU() - c0 }()
			d, err := benchPost(ctx, rawClient, rc.url, body, sampleID, count, parallel)
			if err == nil && rc.count.Load()-before != int64(count) {
				err = errors.New("the receiver did not count every raw POST")
			}
			return d, err
		})
	}
	next := benchWebhookRecords
	for round := range benchRounds {
		k := n / benchRounds
		if round == benchRounds-1 {
			k = n - (benchRounds-1)*(n/benchRounds)
		}
		dis, err := m.Commands.DisableWebhook(ctx, meta(), conn.Data.ID, "bench: build a backlog", time.Now())
		if err != nil {
			return err
		}
		if err := m.Runner.WaitFor(ctx, dis.Position); err != nil {
			return err
		}
		time.Sleep(time.Second) // the dispatcher polls the webhook list and stops the webhook's worker
		b.step("webhooks: round %d, a backlog of %d updates", round+1, k)
		before := rc.count.Load()
		if _, err := drive(k, benchWide, func(i int) error { return update(next + i) }); err != nil {
			return err
		}
		next += k
		if got := rc.count.Load() - before; got != 0 {
			return fmt.Errorf("webhooks: %d deliveries while the webhook was disabled", got)
		}
		// The read models apply the slice before anything is timed, so
		// that their work falls on neither the raw POSTs nor the webhook.
		last, err := m.Store.LastSequence(ctx)
		if err != nil {
			return err
		}
		if err := m.Runner.WaitFor(ctx, last); err != nil {
			return err
		}
		if body == "" {
			evs, _, err := m.Store.Load(ctx, domain.DefaultTenant, domain.Ref{Type: domain.AggregateIndividual, ID: ids[0]})
			if err != nil || len(evs) == 0 {
				return fmt.Errorf("webhooks: load a backlog event: %v", err)
			}
			sample, err := eventstore.PublicJSON(evs[len(evs)-1])
			if err != nil {
				return err
			}
			body, sampleID = strings.Repeat("x", len(sample)), evs[len(evs)-1].ID
		}
		if err := raw(k / 2); err != nil {
			return err
		}
		before = rc.count.Load()
		rc.bytes.Store(0)
		rc.first.Store(0)
		b.step("webhooks: round %d, enable and drain %d deliveries", round+1, k)
		// Timed from the first delivery until the consumer acknowledged the
		// slice's last event: rendering, signing, posting, logging on disk
		// and acknowledging every event of the slice, without the enable
		// command and the worker's start.
		if err := b.measure("webhook_deliver", k, func() (time.Duration, error) {
			if _, err := m.Commands.EnableWebhook(ctx, meta(), conn.Data.ID); err != nil {
				return 0, err
			}
			c0 := processCPU()
			defer func() { deliverCPU += processCPU() - c0 }()
			if err := rc.waitCount(ctx, before+int64(k), 5*time.Minute); err != nil {
				return 0, err
			}
			done, err := waitAcknowledged(ctx, m, durableName(conn.Data.ID), last)
			return time.Duration(done.UnixNano() - rc.first.Load()), err
		}); err != nil {
			return err
		}
		if avg := rc.bytes.Load() / int64(k); avg > 0 {
			body = strings.Repeat("x", int(avg)) // the deliveries' average size, to the byte
		}
		if err := raw(k - k/2); err != nil {
			return err
		}
	}

	b.step("webhooks: process CPU per raw POST %.0f µs, per delivery %.0f µs (from the enable's answer until acknowledged)",
		float64(rawCPU.Microseconds())/float64(n), float64(deliverCPU.Microseconds())/float64(n))

	// The lag: updates at a steady rate for a few seconds, each delivery's
	// lateness taken from the event's own decision time.
	lagEvents := max(b.n, 1000) * 5 / 2
	b.step("webhooks: %d updates at %d/s, delivery lag", lagEvents, benchWebhookLagRate)
	rc.lag.Store(true)
	before := rc.count.Load()
	issued, err := paced(ctx, lagEvents, benchWebhookLagRate, benchWide, func(i int) error {
		return update(next + i)
	})
	if err != nil {
		return err
	}
	if err := rc.waitCount(ctx, before+int64(lagEvents), 2*time.Minute); err != nil {
		return err
	}
	rc.mu.Lock()
	b.spent["webhook_lag_1k"] = &benchSpent{count: lagEvents, d: issued, lat: rc.lags}
	rc.mu.Unlock()
	return nil
}

// processCPU is the CPU time the process has used so far, user and system
// (zero where getrusage is not available).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// durableName is the consumer of a webhook (http/webhook_dispatch.go).
func durableName(connID string) string { return "wh-" + connID }

// waitAcknowledged waits until consumer name has acknowledged every event
// up to position upto, and returns when it saw that (within a millisecond
// and one consumer-info request of the last acknowledgement).
func waitAcknowledged(ctx context.Context, m *Main, name string, upto uint64) (time.Time, error) {
	deadline := time.Now().Add(time.Minute)
	for {
		list, err := m.Store.Durables(ctx, name)
		if err != nil {
			return time.Time{}, err
		}
		for _, d := range list {
			if d.Name == name && d.AckFloor >= upto && d.AckPending == 0 {
				return time.Now(), nil
			}
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("webhooks: consumer %s has not acknowledged up to %d within a minute", name, upto)
		}
		time.Sleep(time.Millisecond)
	}
}

// benchPost sends count POSTs of body to url from concurrency goroutines,
// over client's keep-alive connections, and returns how long they took.
// Each has the headers of a delivery, with id as webhook-id and a
// signature of the length of one secret's, none of them computed.
func benchPost(ctx context.Context, client *http.Client, url, body, id string, count, concurrency int) (time.Duration, error) {
	stamp := strconv.FormatInt(time.Now().Unix(), 10)
	sig := "v1," + base64.StdEncoding.EncodeToString(make([]byte, 32))
	return drive(count, concurrency, func(int) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
		if err != nil {
			return err
		}
		req.Header = http.Header{"Content-Type": {"application/json"}, "User-Agent": {"Portcullis-Webhooks/1"},
			"Webhook-Id": {id}, "Webhook-Timestamp": {stamp}, "Webhook-Signature": {sig}}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("raw POST: %d", resp.StatusCode)
		}
		return nil
	})
}

// paced calls fn for i in [0, n) at rate calls per second, spread over
// workers goroutines, and returns how long issuing them took (n/rate when
// the callee keeps up).
func paced(ctx context.Context, n, rate, workers int, fn func(i int) error) (time.Duration, error) {
	work := make(chan int, n)
	var wg sync.WaitGroup
	var failed atomic.Pointer[error]
	for range workers {
		wg.Go(func() {
			for i := range work {
				if failed.Load() != nil {
					continue
				}
				if err := fn(i); err != nil {
					failed.CompareAndSwap(nil, &err)
				}
			}
		})
	}
	start := time.Now()
	every := time.Second / time.Duration(rate)
	for i := range n {
		if d := time.Until(start.Add(time.Duration(i) * every)); d > 0 {
			time.Sleep(d)
		}
		if ctx.Err() != nil || failed.Load() != nil {
			break
		}
		work <- i
	}
	close(work)
	wg.Wait()
	if p := failed.Load(); p != nil {
		return 0, *p
	}
	return time.Since(start), ctx.Err()
}
