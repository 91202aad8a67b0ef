package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// slowRequest is a create sent over a raw connection with Expect:
// 100-continue: once the server answers 100 the handler is running and
// reading the body, so the request is in flight for certain, and it stays
// in flight until the test sends the body.
type slowRequest struct {
	conn net.Conn
	br   *bufio.Reader
	body []byte
}

// startSlowCreate sends the headers of a create and waits for 100 Continue.
func startSlowCreate(t testing.TB, addr string, body any) *slowRequest {
	t.Helper()
	data, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(conn, "POST /api/v1/individuals HTTP/1.1\r\nHost: %s\r\nAuthorization: Token %s\r\n"+
		"Content-Type: application/json\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", addr, testAdminToken, len(data))
	s := &slowRequest{conn: conn, br: bufio.NewReader(conn), body: data}
	res, err := http.ReadResponse(s.br, nil)
	if err != nil {
		t.Fatalf("waiting for 100 Continue: %v", err)
	}
	requireEqual(t, "interim status", res.StatusCode, http.StatusContinue)
	return s
}

// finish sends the body and reads the final response.
func (s *slowRequest) finish(t testing.TB) (response, error) {
	t.Helper()
	if _, err := s.conn.Write(s.body); err != nil {
		return response{}, err
	}
	res, err := http.ReadResponse(s.br, nil)
	if err != nil {
		return response{}, err
	}
	defer res.Body.Close()
	r := response{status: res.StatusCode, header: res.Header}
	r.body, err = io.ReadAll(res.Body)
	return r, err
}

// Close lets requests in flight finish with their 2xx, and every request
// that got a 2xx is there after a restart; none is applied without its
// answer reaching the client.
func TestGracefulShutdownFinishesRequestsInFlight(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	m := mustRun(t, dir)
	addr := m.HTTP.Addr()

	// Writers that create and update until the server goes away.
	type acked struct {
		id, department string
	}
	const writers = 4
	var (
		mu       sync.Mutex
		ackedAll []acked
		bad      []string
		closing  atomic.Bool
		wg       sync.WaitGroup
	)
	for w := range writers {
		wg.Go(func() {
			for i := 0; ; i++ {
				email := fmt.Sprintf("w%d-%d@example.test", w, i)
				r, err := m.c.try("POST", "/api/v1/individuals", newIndividual("Writer", fmt.Sprint(w), email))
				if err != nil {
					if !closing.Load() {
						mu.Lock()
						bad = append(bad, fmt.Sprintf("create before Close: %v", err))
						mu.Unlock()
					}
					return
				}
				if r.status != http.StatusCreated {
					mu.Lock()
					bad = append(bad, fmt.Sprintf("create: %d %s", r.status, clip(r.body)))
					mu.Unlock()
					return
				}
				var it item[individual]
				_ = json.Unmarshal(r.body, &it)
				a := acked{id: it.Data.ID}
				for j := range 3 {
					dept := fmt.Sprintf("d-%d", j)
					r, err := m.c.try("PATCH", "/api/v1/individuals/"+a.id, map[string]any{"department": dept})
					if err != nil || r.status != http.StatusOK {
						if err == nil || !closing.Load() {
							mu.Lock()
							bad = append(bad, fmt.Sprintf("update: %v %d %s", err, r.status, clip(r.body)))
							mu.Unlock()
						}
						break
					}
					a.department = dept
				}
				mu.Lock()
				ackedAll = append(ackedAll, a)
				mu.Unlock()
				if closing.Load() {
					return
				}
			}
		})
	}

	// Requests certainly in flight: their handlers are reading the body.
	var slow []*slowRequest
	for i := range 3 {
		slow = append(slow, startSlowCreate(t, addr, newIndividual("Slow", fmt.Sprint(i), fmt.Sprintf("slow-%d@example.test", i))))
	}
	time.Sleep(100 * time.Millisecond) // let the writers get going

	closing.Store(true)
	closed := make(chan error, 1)
	go func() { closed <- m.Close() }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned while requests were in flight: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	var slowIDs []string
	for i, s := range slow {
		r, err := s.finish(t)
		if err != nil {
			t.Fatalf("slow request %d: %v", i, err)
		}
		requireStatus(t, r, http.StatusCreated)
		slowIDs = append(slowIDs, decode[item[individual]](t, r).Data.ID)
	}
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Close did not return after the requests in flight finished")
	}
	wg.Wait()
	if len(bad) > 0 {
		t.Fatalf("%d requests failed other than by the server going away, first: %s", len(bad), bad[0])
	}
	t.Logf("%d writer records acknowledged before Close", len(ackedAll))
	if len(ackedAll) == 0 {
		t.Fatal("no writer got a request through before Close")
	}

	// After a restart, every acknowledged change is there, and nothing else.
	m = mustRun(t, dir)
	for _, id := range slowIDs {
		mustGet(t, m.c, id, "")
	}
	for _, a := range ackedAll {
		got, _ := mustGet(t, m.c, a.id, "")
		want := optional{Set: a.department != "", Value: a.department}
		requireEqual(t, "department of "+a.id, got.Department, want)
		h := mustHistory(t, m.c, a.id, "")
		wantUpdates := 0
		if a.department != "" {
			fmt.Sscanf(strings.TrimPrefix(a.department, "d-"), "%d", &wantUpdates)
			wantUpdates++
		}
		requireEqual(t, "updates of "+a.id, countEvents(h, "individual.updated"), wantUpdates)
	}
	r := m.c.do(t, "GET", "/api/v1/individuals", nil)
	requireEqual(t, "individuals after restart", decode[list[individual]](t, r).Meta.Pagination.TotalItems,
		len(ackedAll)+len(slow))
}
