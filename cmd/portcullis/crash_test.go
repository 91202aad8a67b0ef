package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// crashRecord is what a writer knows about one individual it wrote to a
// server that was then killed: which versions were acknowledged and which
// one, if any, was still unanswered.
type crashRecord struct {
	name     string // first_name+last_name, unique
	id       string // empty when the create was never acknowledged
	acked    int    // last acknowledged version; -1 when the create was not
	inFlight int    // the version whose request got no answer; -1 for none
}

// crashVersion is the department and email an individual has at version v.
func crashVersion(name string, v int) (department, email string) {
	return fmt.Sprintf("v%d", v), fmt.Sprintf("%s-v%d@crash.test", name, v)
}

// writeUntilKilled runs writers against base that create individuals and
// change each a few times (department and email at once), until their
// requests fail. It kills the server with kill once the writers have had
// enough acknowledged, and returns what they know.
func writeUntilKilled(t *testing.T, base, round string, kill func()) (records []*crashRecord, token string) {
	t.Helper()
	c := newClient(base)
	const writers, versions, killAfter = 4, 4, 60
	var (
		mu       sync.Mutex
		acked    atomic.Int64
		enough   = make(chan struct{})
		once     sync.Once
		failures []string
		wg       sync.WaitGroup
	)
	ack := func(tok string) {
		mu.Lock()
		token = maxToken(token, tok)
		mu.Unlock()
		if acked.Add(1) == killAfter {
			once.Do(func() { close(enough) })
		}
	}
	record := func(r *crashRecord) {
		mu.Lock()
		records = append(records, r)
		mu.Unlock()
	}
	// unanswered reports whether a request got no answer; any answer but
	// the expected status is a failure of the test.
	unanswered := func(r response, err error, want int) bool {
		if err != nil {
			return true
		}
		if r.status != want {
			mu.Lock()
			failures = append(failures, fmt.Sprintf("got %d, want %d: %s", r.status, want, clip(r.body)))
			mu.Unlock()
			return true
		}
		return false
	}
	for w := range writers {
		wg.Go(func() {
			for k := 0; ; k++ {
				name := fmt.Sprintf("%s-w%d-k%d", round, w, k)
				rec := &crashRecord{name: name, acked: -1, inFlight: 0}
				record(rec)
				dept, email := crashVersion(name, 0)
				r, err := c.try("POST", "/api/v1/individuals", map[string]any{"first_name": "Crash", "last_name": name,
					"email": email, "department": dept})
				if unanswered(r, err, http.StatusCreated) {
					return
				}
				var it item[individual]
				_ = json.Unmarshal(r.body, &it)
				mu.Lock()
				rec.id, rec.acked, rec.inFlight = it.Data.ID, 0, -1
				mu.Unlock()
				ack(r.header.Get("X-Consistency-Token"))
				for v := 1; v <= versions; v++ {
					mu.Lock()
					rec.inFlight = v
					mu.Unlock()
					dept, email := crashVersion(name, v)
					r, err := c.try("PATCH", "/api/v1/individuals/"+rec.id, map[string]any{"department": dept, "email": email})
					if unanswered(r, err, http.StatusOK) {
						return
					}
					mu.Lock()
					rec.acked, rec.inFlight = v, -1
					mu.Unlock()
					ack(r.header.Get("X-Consistency-Token"))
				}
			}
		})
	}
	select {
	case <-enough:
	case <-time.After(20 * time.Second):
		t.Errorf("only %d writes acknowledged in 20s", acked.Load())
	}
	// A little later, so that the kill finds requests at every stage.
	time.Sleep(time.Duration(rand.IntN(5000)) * time.Microsecond)
	kill()
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d requests answered wrongly before the kill, first: %s", len(failures), failures[0])
	}
	return records, token
}

// SIGKILL while clients write: after a restart every acknowledged change is
// there, an unanswered one is there whole or not at all, and no email claim
// outlives or predates the change that made it.
func TestKillDuringWritesLosesNothingAcknowledged(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()

	// Round one: a fresh server, killed mid-write.
	p := startProcess(t, dir)
	records, token := writeUntilKilled(t, "http://"+p.addr, "r1", func() { p.kill(t) })

	// Round two: restarted on the same directory after the crash, in
	// another time zone, written to and killed again.
	p = startProcess(t, dir, "TZ=Europe/Zurich")
	c := newClient("http://" + p.addr)
	probe, r := mustCreate(t, c, newIndividual("Zone", "Probe", "zone@crash.test"))
	got, _ := mustGet(t, c, probe.ID, r.header.Get("X-Consistency-Token"))
	requireEqual(t, "GET after create, with TZ set", got, probe)
	more, token2 := writeUntilKilled(t, "http://"+p.addr, "r2", func() { p.kill(t) })
	records, token = append(records, more...), maxToken(token, token2)

	// Checked on a server in this process, so that the log can be read.
	m := mustRun(t, dir)
	t.Logf("%d individuals written, log at %d, last acknowledged position %s", len(records), lastSeq(t, m), token)
	r = m.c.do(t, "GET", "/api/v1/individuals?limit=1", nil, "X-Consistency-Token", token)
	requireStatus(t, r, http.StatusOK)
	total := decode[list[individual]](t, r).Meta.Pagination.TotalItems

	// What each record's versions must look like after the restart; the
	// email claims are probed afterwards, since probing adds individuals.
	type probeEmail struct {
		email string
		taken bool
	}
	var probes []probeEmail
	landed := 1 // the time-zone probe
	var unansweredLanded, unansweredLost int
	for _, rec := range records {
		id := rec.id
		if id == "" {
			// The create got no answer: it is there whole, or not at all.
			r := m.c.do(t, "GET", "/api/v1/individuals?search="+rec.name+"-v0@", nil)
			l := decode[list[individual]](t, r)
			switch len(l.Data) {
			case 0:
				unansweredLost++
				_, email := crashVersion(rec.name, 0)
				probes = append(probes, probeEmail{email, false})
				continue
			case 1:
				unansweredLanded++
				id = l.Data[0].ID
			default:
				t.Fatalf("%s: %d individuals with one email", rec.name, len(l.Data))
			}
		}
		landed++
		ind, _ := mustGet(t, m.c, id, token)
		h := mustHistory(t, m.c, id, token)
		v := len(h.Data) - 1
		if v != rec.acked && v != rec.inFlight {
			t.Fatalf("%s: at version %d after the restart, want the acknowledged %d or the unanswered %d",
				rec.name, v, rec.acked, rec.inFlight)
		}
		if rec.id != "" && rec.inFlight > 0 {
			if v == rec.inFlight {
				unansweredLanded++
			} else {
				unansweredLost++
			}
		}
		requireEqual(t, rec.name+": created versions", countEvents(h, "individual.created"), 1)
		requireEqual(t, rec.name+": updated versions", countEvents(h, "individual.updated"), v)
		requireEqual(t, rec.name+": state vs last version", ind, *h.Data[v].Data)
		dept, email := crashVersion(rec.name, v)
		requireEqual(t, rec.name+": department", ind.Department, optional{true, dept})
		requireEqual(t, rec.name+": email", ind.Email, optional{true, email})
		top := max(rec.acked, rec.inFlight)
		for u := 0; u <= top; u++ {
			_, e := crashVersion(rec.name, u)
			probes = append(probes, probeEmail{e, u == v})
		}
	}
	requireEqual(t, "individuals after the restart", total, landed)
	t.Logf("unanswered requests: %d landed, %d did not", unansweredLanded, unansweredLost)

	// Nothing half-applied: the current email of each individual is
	// claimed, and every other address it ever tried is free.
	for _, p := range probes {
		r := m.c.do(t, "POST", "/api/v1/individuals", newIndividual("Claim", "Probe", p.email))
		if p.taken {
			requireNativeError(t, r, http.StatusConflict, "CONFLICT", "email")
		} else if r.status != http.StatusCreated {
			t.Fatalf("%s should be free after the restart: got %d %s", p.email, r.status, clip(r.body))
		}
	}
	// A kill between two parts of a command leaves them at the log's end;
	// the probes' first append voided them (eventstore/parts.go).
	t.Logf("parts voided after the last kill: %d", m.Store.AppendStats().Voided)
}
