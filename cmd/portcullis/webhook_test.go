package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
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

// webhookEvent is the documented body of a webhook (docs/events.md),
// decoded strictly.
type webhookEvent struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	Version   int    `json:"version"`
	Timestamp string `json:"timestamp"`
	Tenant    string `json:"tenant"`
	Aggregate struct {
		Type string `json:"type"`
		ID   string `json:"id"`
	} `json:"aggregate"`
	Actor            string         `json:"actor"`
	RequestID        string         `json:"request_id"`
	OccurredAt       string         `json:"occurred_at"`
	ConsistencyToken string         `json:"consistency_token"`
	Data             map[string]any `json:"data"`
}

// receiver is a real HTTP endpoint that verifies every request with the
// Standard Webhooks library under each secret it was given (all must
// verify), and can be told to fail.
type receiver struct {
	srv      *httptest.Server
	mu       sync.Mutex
	secrets  []*standardwebhooks.Webhook
	got      []webhookEvent // verified deliveries, in arrival order, repeats included
	sigs     []int          // signatures per verified delivery
	bad      []string       // what failed verification
	fail     atomic.Bool    // answer 503 while set
	requests atomic.Int64
	onEvent  func(webhookEvent) // called for each verified delivery, if set
}

func startReceiver(t testing.TB) *receiver {
	t.Helper()
	rc := &receiver{}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

// trust makes the receiver verify with these secrets from now on.
func (rc *receiver) trust(t testing.TB, secrets ...string) {
	t.Helper()
	var whs []*standardwebhooks.Webhook
	for _, s := range secrets {
		wh, err := standardwebhooks.NewWebhook(s)
		if err != nil {
			t.Fatalf("secret %q is not a Standard Webhooks secret: %v", s[:6], err)
		}
		whs = append(whs, wh)
	}
	rc.mu.Lock()
	rc.secrets = whs
	rc.mu.Unlock()
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	rc.requests.Add(1)
	body, _ := io.ReadAll(r.Body)
	if rc.fail.Load() {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, wh := range rc.secrets {
		if err := wh.Verify(body, r.Header); err != nil {
			rc.bad = append(rc.bad, err.Error())
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
	}
	var ev webhookEvent
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil || ev.ID != r.Header.Get("webhook-id") {
		rc.bad = append(rc.bad, "body: "+string(body))
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	rc.got = append(rc.got, ev)
	rc.sigs = append(rc.sigs, len(strings.Fields(r.Header.Get("webhook-signature"))))
	if rc.onEvent != nil {
		rc.onEvent(ev)
	}
	w.WriteHeader(http.StatusNoContent)
}

// events returns the verified deliveries so far.
func (rc *receiver) events() []webhookEvent {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]webhookEvent(nil), rc.got...)
}

// waitEvents waits until n distinct webhook-ids arrived.
func (rc *receiver) waitEvents(t testing.TB, n int, within time.Duration) []webhookEvent {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		got := rc.events()
		seen := map[string]bool{}
		for _, e := range got {
			seen[e.ID] = true
		}
		rc.mu.Lock()
		bad := append([]string(nil), rc.bad...)
		rc.mu.Unlock()
		if len(bad) > 0 {
			t.Fatalf("the receiver refused deliveries: %v", bad[:min(len(bad), 3)])
		}
		if len(seen) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d distinct events arrived within %s, want %d", len(seen), within, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// connectWebhook connects a webhook to url and returns it with its secret
// and the connect's consistency token.
func connectWebhook(t testing.TB, c *client, url string, types ...string) (connectionView, string) {
	t.Helper()
	r := c.do(t, "POST", "/api/v1/integrations/applications/webhook/connect",
		map[string]any{"name": "receiver", "url": url, "event_types": types})
	requireStatus(t, r, http.StatusCreated)
	requireEqual(t, "Cache-Control", r.header.Get("Cache-Control"), "no-store")
	cn := decode[item[connectionView]](t, r).Data
	if !strings.HasPrefix(cn.Secret, "whsec_") {
		t.Fatalf("connect answered secret %q, want whsec_…", cn.Secret)
	}
	return cn, r.header.Get("X-Consistency-Token")
}

type deliveryView struct {
	EventID          string     `json:"event_id"`
	EventType        string     `json:"event_type"`
	ConsistencyToken string     `json:"consistency_token"`
	Attempt          uint64     `json:"attempt"`
	Status           string     `json:"status"`
	HTTPStatus       *int       `json:"http_status"`
	LatencyMS        float64    `json:"latency_ms"`
	Response         string     `json:"response"`
	Error            *string    `json:"error"`
	AttemptedAt      time.Time  `json:"attempted_at"`
	NextAttemptAt    *time.Time `json:"next_attempt_at"`
	ReplayID         *string    `json:"replay_id"`
}

// A webhook gets its tenant's events, signed, in order, without internal
// ones; the secret is shown once and found in no file and no log line; the
// delivery log shows each attempt.
func TestWebhookDelivers(t *testing.T) {
	t.Parallel()
	rc := startReceiver(t)
	m := mustRunWebhooks(t, t.TempDir(), phttp.WebhookConfig{})
	cn, tok := connectWebhook(t, m.c, rc.srv.URL+"/hooks", "*")
	rc.trust(t, cn.Secret)
	got := decode[item[connectionView]](t, m.c.do(t, "GET", "/api/v1/integrations/connections/"+cn.ID, nil, "X-Consistency-Token", tok))
	if got.Data.Secret != "" || strings.Contains(string(m.c.do(t, "GET", "/api/v1/integrations/connections", nil).body), cn.Secret) {
		t.Fatal("a read shows the signing secret")
	}
	requireEqual(t, "secret fields", strings.Join(got.Data.SecretFields, ","), "signing_secret")

	ind, r := mustCreate(t, m.c, newIndividual("Ada", "Lovelace", "ada@example.com"))
	r = m.c.do(t, "PATCH", "/api/v1/individuals/"+ind.ID, map[string]any{"department": "Analytics"})
	requireStatus(t, r, http.StatusOK)
	r = m.c.do(t, "DELETE", "/api/v1/individuals/"+ind.ID, nil)
	requireStatus(t, r, http.StatusOK)
	evs := rc.waitEvents(t, 3, 20*time.Second)
	var types []string
	for _, e := range evs {
		types = append(types, e.Type)
		if strings.HasPrefix(e.Type, "unique_value.") {
			t.Fatalf("an internal event was delivered: %+v", e)
		}
	}
	requireEqual(t, "types", strings.Join(types, ","), "individual.created,individual.updated,individual.deleted")
	first := evs[0]
	requireEqual(t, "aggregate", first.Aggregate.ID, ind.ID)
	requireEqual(t, "tenant", first.Tenant, "default")
	requireEqual(t, "actor", first.Actor, "service_user:admin")
	requireEqual(t, "version", first.Version, 1)
	requireEqual(t, "data.first_name", first.Data["first_name"], any("Ada"))
	for i := 1; i < len(evs); i++ {
		if maxToken(evs[i-1].ConsistencyToken, evs[i].ConsistencyToken) != evs[i].ConsistencyToken || evs[i-1].ConsistencyToken == evs[i].ConsistencyToken {
			t.Fatalf("consistency tokens out of order: %s then %s", evs[i-1].ConsistencyToken, evs[i].ConsistencyToken)
		}
	}
	if maxToken(evs[2].ConsistencyToken, r.header.Get("X-Consistency-Token")) != r.header.Get("X-Consistency-Token") {
		t.Fatalf("the delete's event %s is beyond the delete's answer %s", evs[2].ConsistencyToken, r.header.Get("X-Consistency-Token"))
	}

	var dl list[deliveryView]
	deadline := time.Now().Add(10 * time.Second)
	for {
		dl = decode[list[deliveryView]](t, m.c.do(t, "GET", "/api/v1/integrations/connections/"+cn.ID+"/deliveries?order=attempted_at.desc&limit=2", nil))
		if dl.Meta.Pagination.TotalItems >= 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	requireEqual(t, "logged attempts", dl.Meta.Pagination.TotalItems, 3)
	newest := dl.Data[0]
	if newest.EventType != "individual.deleted" || newest.Status != "delivered" || newest.HTTPStatus == nil || *newest.HTTPStatus != 204 || newest.Attempt != 1 {
		t.Fatalf("newest attempt: %+v", newest)
	}
	requireNativeError(t, m.c.do(t, "GET", "/api/v1/integrations/connections/"+cn.ID+"/deliveries?status=maybe", nil), http.StatusBadRequest, "BAD_REQUEST", "status")
	requireNativeError(t, m.c.do(t, "GET", "/api/v1/integrations/connections/nope/deliveries", nil), http.StatusNotFound, "NOT_FOUND", "")

	mustClose(t, m)
	requireSecretsAbsent(t, m.Config.DataDir, cn.Secret, strings.TrimPrefix(cn.Secret, "whsec_"))
}

// connectionEvents returns the types of a connection's events, from the log.
func connectionEvents(t testing.TB, m *testMain, id string) []string {
	t.Helper()
	evs, _, err := m.Store.Load(t.Context(), "default", domain.Ref{Type: domain.AggregateIntegrationConnection, ID: id})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}

// waitConnection polls a connection until ok says so.
func waitConnection(t testing.TB, m *testMain, id string, ok func(connectionView) bool) connectionView {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	// Read no older than the log is now, so the connection is there.
	seen := strconv.FormatUint(lastSeq(t, m), 10)
	for {
		cn := decode[item[connectionView]](t, m.c.do(t, "GET", "/api/v1/integrations/connections/"+id, nil, "X-Consistency-Token", seen)).Data
		if ok(cn) {
			return cn
		}
		if time.Now().After(deadline) {
			t.Fatalf("connection %s never reached the expected state: %+v", id, cn)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// An endpoint that keeps failing is retried on the schedule and, past the
// failing period, disabled with an event saying so; enabling it delivers
// the held event, once.
func TestWebhookRetriesThenDisables(t *testing.T) {
	t.Parallel()
	rc := startReceiver(t)
	m := mustRunWebhooks(t, t.TempDir(), phttp.WebhookConfig{RetrySchedule: []time.Duration{20 * time.Millisecond},
		DisableAfter: 1500 * time.Millisecond, Timeout: 2 * time.Second})
	cn, _ := connectWebhook(t, m.c, rc.srv.URL, "individual.created")
	rc.trust(t, cn.Secret)
	rc.fail.Store(true)
	ind, _ := mustCreate(t, m.c, newIndividual("Grace", "Hopper", "grace@example.com"))
	start := time.Now()
	dis := waitConnection(t, m, cn.ID, func(c connectionView) bool { return c.Status == "disabled" })
	if time.Since(start) < 1500*time.Millisecond {
		t.Fatalf("disabled after %s, before the failing period", time.Since(start))
	}
	if dis.DisabledReason == nil || !strings.Contains(*dis.DisabledReason, "503") || dis.DisabledAt == nil {
		t.Fatalf("disabled connection: %+v", dis)
	}
	if got := connectionEvents(t, m, cn.ID); !slices.Contains(got, "integration.webhook_disabled") {
		t.Fatalf("connection events %v lack integration.webhook_disabled", got)
	}
	tries := rc.requests.Load()
	if tries < 5 {
		t.Fatalf("%d attempts in the failing period, want retries every ~20ms", tries)
	}
	fails := decode[list[deliveryView]](t, m.c.do(t, "GET", "/api/v1/integrations/connections/"+cn.ID+"/deliveries?status=failed&limit=1", nil))
	if f := fails.Data[0]; f.HTTPStatus == nil || *f.HTTPStatus != 503 || !strings.Contains(f.Response, "maintenance") {
		t.Fatalf("failed attempt: %+v", f)
	}
	// Disabled: nothing more is tried.
	time.Sleep(300 * time.Millisecond)
	held := rc.requests.Load()
	time.Sleep(300 * time.Millisecond)
	requireEqual(t, "attempts while disabled", rc.requests.Load(), held)

	rc.fail.Store(false)
	r := m.c.do(t, "POST", "/api/v1/integrations/connections/"+cn.ID+"/enable", nil)
	requireStatus(t, r, http.StatusOK)
	requireEqual(t, "status after enable", decode[item[connectionView]](t, r).Data.Status, "active")
	evs := rc.waitEvents(t, 1, 20*time.Second)
	requireEqual(t, "held event", evs[0].Aggregate.ID, ind.ID)
	time.Sleep(200 * time.Millisecond)
	requireEqual(t, "deliveries after enable", len(rc.events()), 1)
}

// After a rotation every delivery carries a signature under each secret
// until the overlap ends; a rotation without overlap signs with the new
// secret alone.
func TestWebhookSecretRotation(t *testing.T) {
	t.Parallel()
	rc := startReceiver(t)
	m := mustRunWebhooks(t, t.TempDir(), phttp.WebhookConfig{})
	cn, _ := connectWebhook(t, m.c, rc.srv.URL, "individual.*")
	r := m.c.do(t, "POST", "/api/v1/integrations/connections/"+cn.ID+"/rotate-secret", map[string]any{"overlap_seconds": 3600})
	requireStatus(t, r, http.StatusOK)
	requireEqual(t, "Cache-Control", r.header.Get("Cache-Control"), "no-store")
	rot := decode[item[connectionView]](t, r).Data
	if !strings.HasPrefix(rot.Secret, "whsec_") || rot.Secret == cn.Secret || rot.PreviousSecretValidUntil == nil {
		t.Fatalf("rotation answer: %+v", rot)
	}
	rc.trust(t, rot.Secret, cn.Secret) // both must verify
	mustCreate(t, m.c, newIndividual("Old", "AndNew", "both@example.com"))
	rc.waitEvents(t, 1, 20*time.Second)
	requireEqual(t, "signatures during the overlap", rc.sigs[0], 2)

	r = m.c.do(t, "POST", "/api/v1/integrations/connections/"+cn.ID+"/rotate-secret", map[string]any{"overlap_seconds": 0})
	requireStatus(t, r, http.StatusOK)
	third := decode[item[connectionView]](t, r).Data.Secret
	rc.trust(t, third)
	mustCreate(t, m.c, newIndividual("Only", "New", "new@example.com"))
	rc.waitEvents(t, 2, 20*time.Second)
	requireEqual(t, "signatures without overlap", rc.sigs[1], 1)

	requireNativeError(t, m.c.do(t, "POST", "/api/v1/integrations/connections/"+cn.ID+"/rotate-secret", map[string]any{"overlap_seconds": -1}),
		http.StatusBadRequest, "BAD_REQUEST", "overlap_seconds")
	requireNativeError(t, m.c.do(t, "POST", "/api/v1/integrations/connections/"+cn.ID+"/rotate-secret", map[string]any{"overlap": 5}),
		http.StatusBadRequest, "BAD_REQUEST", "overlap")
	mustClose(t, m)
	requireSecretsAbsent(t, m.Config.DataDir, cn.Secret, rot.Secret, third)
}

// A replay delivers the events from a consistency token again, under their
// original webhook-ids, and ends with an event saying so.
func TestWebhookReplay(t *testing.T) {
	t.Parallel()
	rc := startReceiver(t)
	m := mustRunWebhooks(t, t.TempDir(), phttp.WebhookConfig{})
	cn, _ := connectWebhook(t, m.c, rc.srv.URL, "individual.created")
	rc.trust(t, cn.Secret)
	var tokens, ids []string
	for i := range 3 {
		ind, r := mustCreate(t, m.c, newIndividual("Re", "Play", "replay"+strconv.Itoa(i)+"@example.com"))
		tokens, ids = append(tokens, r.header.Get("X-Consistency-Token")), append(ids, ind.ID)
	}
	// Three records: they may arrive in any order.
	rc.waitEvents(t, 3, 20*time.Second)
	// From the second create's token: its own event is before the token
	// (the token is its last event), so the third is replayed.
	r := m.c.do(t, "POST", "/api/v1/integrations/connections/"+cn.ID+"/replay", map[string]any{"from_consistency_token": tokens[1]})
	requireStatus(t, r, http.StatusAccepted)
	deadline := time.Now().Add(20 * time.Second)
	for len(rc.events()) < 4 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	all := rc.events()
	if len(all) != 4 || all[3].Aggregate.ID != ids[2] || !slices.ContainsFunc(all[:3], func(e webhookEvent) bool { return e.ID == all[3].ID }) {
		t.Fatalf("after the replay: %d deliveries, last %+v; want the third create's event again", len(all), all[len(all)-1])
	}
	for time.Now().Before(deadline) && !slices.Contains(connectionEvents(t, m, cn.ID), "integration.webhook_replay_completed") {
		time.Sleep(20 * time.Millisecond)
	}
	requireEqual(t, "connection events", strings.Join(connectionEvents(t, m, cn.ID), ","),
		"integration.connected,integration.webhook_replay_requested,integration.webhook_replay_completed")
	requireNativeError(t, m.c.do(t, "POST", "/api/v1/integrations/connections/"+cn.ID+"/replay", map[string]any{"from_consistency_token": "abc"}),
		http.StatusBadRequest, "BAD_REQUEST", "from_consistency_token")
	requireNativeError(t, m.c.do(t, "POST", "/api/v1/integrations/connections/"+cn.ID+"/replay", map[string]any{"from_consistency_token": "99999999"}),
		http.StatusBadRequest, "BAD_REQUEST", "from_consistency_token")
	requireNativeError(t, m.c.do(t, "POST", "/api/v1/integrations/connections/"+cn.ID+"/replay", map[string]any{}),
		http.StatusBadRequest, "BAD_REQUEST", "from_consistency_token")
}
