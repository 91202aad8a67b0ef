package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/portcullis/portcullis/domain"
	phttp "github.com/portcullis/portcullis/http"
)

// flakyReceiver is a webhook endpoint that verifies every request with the
// Standard Webhooks library and misbehaves on purpose: some requests get a
// 500, some are taken but answered only after the sender's timeout (so the
// sender tries again although the receiver has the event), and during an
// outage every request gets a 503. Requests are served in parallel.
type flakyReceiver struct {
	srv     *httptest.Server
	wh      atomic.Pointer[standardwebhooks.Webhook]
	slow    time.Duration // how long a "timeout" request is held
	down    atomic.Bool
	n       atomic.Int64
	failed  atomic.Int64 // requests answered 5xx
	timeout atomic.Int64 // requests held past the sender's timeout

	mu       sync.Mutex
	arrivals []webhookEvent // taken events in the order taken, repeats included
	bad      []string
}

func startFlakyReceiver(t testing.TB, slow time.Duration) *flakyReceiver {
	t.Helper()
	rc := &flakyReceiver{slow: slow}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *flakyReceiver) serve(w http.ResponseWriter, r *http.Request) {
	n := rc.n.Add(1)
	body, _ := io.ReadAll(r.Body)
	if rc.down.Load() || n%11 == 3 {
		rc.failed.Add(1)
		http.Error(w, "try later", http.StatusServiceUnavailable)
		return
	}
	wh := rc.wh.Load()
	if wh == nil {
		http.Error(w, "no secret yet", http.StatusInternalServerError)
		return
	}
	var ev webhookEvent
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err := wh.Verify(body, r.Header)
	if err == nil {
		err = dec.Decode(&ev)
	}
	if err == nil && ev.ID != r.Header.Get("webhook-id") {
		err = fmt.Errorf("webhook-id %q, body id %q", r.Header.Get("webhook-id"), ev.ID)
	}
	rc.mu.Lock()
	if err != nil {
		rc.bad = append(rc.bad, err.Error())
		rc.mu.Unlock()
		http.Error(w, "refused", http.StatusBadRequest)
		return
	}
	rc.arrivals = append(rc.arrivals, ev)
	rc.mu.Unlock()
	if n%13 == 5 {
		rc.timeout.Add(1)
		time.Sleep(rc.slow)
	}
	w.WriteHeader(http.StatusNoContent)
}

// distinct returns the events taken, each once, in the order first taken,
// and how many arrivals were repeats.
func (rc *flakyReceiver) distinct() (first []webhookEvent, repeats int, bad []string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	seen := map[string]bool{}
	for _, e := range rc.arrivals {
		if seen[e.ID] {
			repeats++
			continue
		}
		seen[e.ID] = true
		first = append(first, e)
	}
	return first, repeats, append([]string(nil), rc.bad...)
}

// The delivery guarantee, end to end: 1,000 mutations of 40 records of two
// kinds reach a receiver that verifies each signature with the Standard
// Webhooks library, although it answers 5xx now and then, holds some
// requests past the timeout, goes down twice, and the server is closed
// and started again on the same data directory in the middle. After
// deduplication by webhook-id every event arrived exactly once, and each
// record's events arrived in the order of the log.
func TestWebhookDeliveryProof(t *testing.T) {
	t.Parallel()
	const (
		records   = 40 // 20 individuals, 20 locations
		mutations = 1000
		clients   = 8
	)
	cfg := phttp.WebhookConfig{Timeout: 250 * time.Millisecond, DisableAfter: time.Hour, Lease: 3 * time.Second,
		RetrySchedule: []time.Duration{10 * time.Millisecond, 50 * time.Millisecond, 150 * time.Millisecond}}
	rc := startFlakyReceiver(t, 400*time.Millisecond)
	dir := t.TempDir()
	m := mustRunWebhooks(t, dir, cfg)
	cn, _ := connectWebhook(t, m.c, rc.srv.URL+"/hook", "individual.*", "location.*")
	wh, err := standardwebhooks.NewWebhook(cn.Secret)
	if err != nil {
		t.Fatal(err)
	}
	rc.wh.Store(wh)

	// Each record is one aggregate; its creation is its first mutation.
	type record struct{ kind, id string }
	recs := make([]record, records)
	for i := range recs {
		if i%2 == 0 {
			ind, _ := mustCreate(t, m.c, newIndividual("Proof", strconv.Itoa(i), fmt.Sprintf("proof%d@example.com", i)))
			recs[i] = record{"individuals", ind.ID}
		} else {
			loc, _ := mustPost[location](t, m.c, "/locations", map[string]any{"name": "Site " + strconv.Itoa(i)})
			recs[i] = record{"locations", loc.ID}
		}
	}
	// The updates, from several clients at once, each record's in turn.
	update := func(c *client, i int) error {
		rec := recs[i%records]
		body := map[string]any{"department": "D" + strconv.Itoa(i)}
		if rec.kind == "locations" {
			body = map[string]any{"address": "Street " + strconv.Itoa(i)}
		}
		r, err := c.try("PATCH", "/api/v1/"+rec.kind+"/"+rec.id, body)
		if err == nil && r.status != http.StatusOK {
			err = fmt.Errorf("PATCH %s/%s: %d %s", rec.kind, rec.id, r.status, clip(r.body))
		}
		return err
	}
	sendUpdates := func(c *client, from, to int) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make(chan error, clients)
		for w := range clients {
			wg.Go(func() {
				for i := from + w; i < to; i += clients {
					if err := update(c, i); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
	half := records + (mutations-records)/2
	sendUpdates(m.c, records, records+200)
	rc.down.Store(true) // an outage while events keep coming
	sendUpdates(m.c, records+200, half)
	time.Sleep(300 * time.Millisecond)
	rc.down.Store(false)
	// Closed in the middle of delivering, and started again on the same
	// data directory.
	time.Sleep(200 * time.Millisecond)
	mustClose(t, m)
	m = mustRunWebhooks(t, dir, cfg)
	sendUpdates(m.c, half, half+200)
	rc.down.Store(true)
	time.Sleep(300 * time.Millisecond)
	rc.down.Store(false)
	sendUpdates(m.c, half+200, mutations)

	// What must arrive: every event of the records in the log, in the
	// log's order per record.
	want := map[string][]string{} // aggregate id → event ids in log order
	total := 0
	for _, rec := range recs {
		typ := domain.AggregateIndividual
		if rec.kind == "locations" {
			typ = "location"
		}
		evs, _, err := m.Store.Load(t.Context(), "default", domain.Ref{Type: typ, ID: rec.id})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			want[rec.id] = append(want[rec.id], e.ID)
		}
		total += len(evs)
	}
	requireEqual(t, "events in the log", total, mutations)

	deadline := time.Now().Add(45 * time.Second)
	var got []webhookEvent
	var repeats int
	for {
		var bad []string
		got, repeats, bad = rc.distinct()
		if len(bad) > 0 {
			t.Fatalf("the receiver refused deliveries: %v", bad[:min(len(bad), 3)])
		}
		if len(got) >= mutations || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(got) != mutations {
		seen := map[string]bool{}
		for _, e := range got {
			seen[e.ID] = true
		}
		for _, rec := range recs {
			typ := domain.AggregateIndividual
			if rec.kind == "locations" {
				typ = "location"
			}
			evs, _, _ := m.Store.Load(t.Context(), "default", domain.Ref{Type: typ, ID: rec.id})
			for _, e := range evs {
				if !seen[e.ID] {
					t.Logf("not delivered: %s %s at %d (command %s)", e.ID, e.Type, e.Sequence, e.CommandID)
				}
			}
		}
	}
	requireEqual(t, "distinct events delivered", len(got), mutations)
	byRecord := map[string][]string{}
	for _, e := range got {
		byRecord[e.Aggregate.ID] = append(byRecord[e.Aggregate.ID], e.ID)
	}
	for id, ids := range want {
		if strings.Join(byRecord[id], ",") != strings.Join(ids, ",") {
			t.Fatalf("record %s: events arrived as\n%v\nwant the log's order\n%v", id, byRecord[id], ids)
		}
	}
	// The test made the receiver fail in each way it meant to.
	if rc.failed.Load() == 0 || rc.timeout.Load() == 0 {
		t.Fatalf("the receiver answered %d 5xx and held %d past the timeout; want both", rc.failed.Load(), rc.timeout.Load())
	}
	t.Logf("%d requests: %d answered 5xx, %d held past the timeout, %d repeats of taken events",
		rc.n.Load(), rc.failed.Load(), rc.timeout.Load(), repeats)
	// Nothing more comes: the repeats above were all there was.
	time.Sleep(300 * time.Millisecond)
	if again, _, _ := rc.distinct(); len(again) != mutations {
		t.Fatalf("%d distinct events after the end, want %d", len(again), mutations)
	}
}
