package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// sseMessage is one message of the live feed; a comment is a message with
// only comment set.
type sseMessage struct {
	id, event, data, comment string
}

// openFeed opens the live feed as c, optionally resuming after lastID, and
// streams its messages until the feed ends (then the channel closes).
func openFeed(t testing.TB, c *client, lastID string) (*http.Response, <-chan sseMessage) {
	t.Helper()
	req, err := http.NewRequest("GET", c.base+"/api/v1/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Token "+c.token)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	res, err := (&http.Client{}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	out := make(chan sseMessage, 256)
	go func() {
		defer close(out)
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var m sseMessage
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				out <- m
				m = sseMessage{}
			case strings.HasPrefix(line, ":"):
				m.comment = strings.TrimSpace(line[1:])
			case strings.HasPrefix(line, "id: "):
				m.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				m.event = line[7:]
			case strings.HasPrefix(line, "data: "):
				m.data = line[6:]
			}
		}
	}()
	return res, out
}

// nextEvent waits for the next event message, skipping comments; ok is
// false when the feed ended.
func nextEvent(t testing.TB, feed <-chan sseMessage, within time.Duration) (sseMessage, bool) {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case m, ok := <-feed:
			if !ok {
				return m, false
			}
			if m.event != "" {
				return m, true
			}
		case <-deadline:
			t.Fatalf("no event on the feed within %s", within)
		}
	}
}

// The live feed streams the tenant's events that the caller's role may
// read, with heartbeats, resumes after Last-Event-ID, and ends when the
// server shuts down.
func TestLiveFeed(t *testing.T) {
	t.Parallel()
	m := mustRunWith(t, t.TempDir(), func(c *Config) { c.EventsHeartbeat = 50 * time.Millisecond })
	_, vt := mustServiceUser(t, m.c, "watcher", "viewer", time.Hour)
	viewer := as(m.c, vt.Token)
	res, feed := openFeed(t, viewer, "")
	requireEqual(t, "status", res.StatusCode, http.StatusOK)
	requireEqual(t, "content type", res.Header.Get("Content-Type"), "text/event-stream")

	// A viewer may not read service users: their events are not sent.
	mustServiceUser(t, m.c, "hidden", "operator", time.Hour)
	ind, _ := mustCreate(t, m.c, newIndividual("Feed", "Reader", "feed@example.com"))
	ev, _ := nextEvent(t, feed, 10*time.Second)
	requireEqual(t, "event", ev.event, "individual.created")
	var body webhookEvent
	if err := json.Unmarshal([]byte(ev.data), &body); err != nil {
		t.Fatalf("data %q: %v", ev.data, err)
	}
	requireEqual(t, "aggregate", body.Aggregate.ID, ind.ID)
	requireEqual(t, "id is the consistency token", ev.id, body.ConsistencyToken)
	beats := 0
	for deadline := time.Now().Add(5 * time.Second); beats < 2 && time.Now().Before(deadline); {
		select {
		case m := <-feed:
			if m.event != "" {
				t.Fatalf("unexpected event %s (%s)", m.event, m.data)
			}
			if m.comment == "heartbeat" {
				beats++
			}
		case <-time.After(time.Second):
		}
	}
	if beats < 2 {
		t.Fatalf("%d heartbeats, want a steady beat", beats)
	}
	res.Body.Close()

	second, _ := mustCreate(t, m.c, newIndividual("Second", "Reader", "second@example.com"))
	_, resumed := openFeed(t, viewer, ev.id)
	ev2, _ := nextEvent(t, resumed, 10*time.Second)
	if ev2.event != "individual.created" || !strings.Contains(ev2.data, second.ID) {
		t.Fatalf("resumed feed began with %s %s, want the second individual", ev2.event, ev2.data)
	}
	requireNativeError(t, viewer.do(t, "GET", "/api/v1/events", nil, "Last-Event-ID", "x"), http.StatusBadRequest, "BAD_REQUEST", "Last-Event-ID")
	requireNativeError(t, viewer.do(t, "GET", "/api/v1/events?from=1", nil), http.StatusBadRequest, "BAD_REQUEST", "from")

	// Shutdown ends the stream instead of waiting for it.
	start := time.Now()
	mustClose(t, m)
	for range resumed {
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("shutdown took %s with a feed open", d)
	}
}
