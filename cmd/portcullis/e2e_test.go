package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The end-to-end tests drive the real server: Main on 127.0.0.1:0, an
// embedded nats-server and bbolt files in t.TempDir(), and a plain HTTP
// client. Nothing is mocked.

const testAdminToken = "pcat_e2e-admin-token"

// testLogFile is where mustRun captures a server's whole log, inside its
// data directory.
const testLogFile = "test-server.log"

// testMain is a running Main whose Close runs once, whether a test closes it
// itself or the cleanup does.
type testMain struct {
	*Main
	c    *client
	once sync.Once
	err  error
}

// Close stops the server; later calls return the first result.
func (m *testMain) Close() error {
	m.once.Do(func() { m.err = m.Main.Close() })
	return m.err
}

// mustRun starts a server on dir and waits until /readyz answers 200. The
// server is closed when the test ends.
func mustRun(t testing.TB, dir string) *testMain {
	t.Helper()
	return mustRunWith(t, dir, nil)
}

// mustRunWith is mustRun with a chance to change the configuration first.
func mustRunWith(t testing.TB, dir string, configure func(*Config)) *testMain {
	t.Helper()
	// Every log line, access logs included, is also captured into the data
	// directory, so that requireSecretsAbsent searches the logs too.
	logs, err := os.OpenFile(filepath.Join(dir, testLogFile), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logs.Close() })
	m := &testMain{Main: &Main{Config: Config{
		DataDir: dir, Listen: "127.0.0.1:0", Sync: "always", AdminToken: testAdminToken,
	}, Logger: slog.New(slog.NewMultiHandler(
		slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}),
		slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))}}
	if configure != nil {
		configure(&m.Config)
	}
	if err := m.Run(context.Background()); err != nil {
		t.Fatalf("run server on %s: %v", dir, err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("close server: %v", err)
		}
	})
	m.c = newClient("http://" + m.HTTP.Addr())
	t.Cleanup(m.c.hc.CloseIdleConnections)
	waitReady(t, m.c)
	return m
}

// mustRunFresh starts a server on a new empty data directory.
func mustRunFresh(t testing.TB) *testMain {
	t.Helper()
	return mustRun(t, t.TempDir())
}

// mustClose stops a server, failing the test on error.
func mustClose(t testing.TB, m *testMain) {
	t.Helper()
	if err := m.Close(); err != nil {
		t.Fatalf("close server: %v", err)
	}
}

// lastSeq is the newest stream position, to prove that nothing was appended.
func lastSeq(t testing.TB, m *testMain) uint64 {
	t.Helper()
	seq, err := m.Store.LastSequence(context.Background())
	if err != nil {
		t.Fatalf("last sequence: %v", err)
	}
	return seq
}

// waitReady polls the real /readyz until it answers 200.
func waitReady(t testing.TB, c *client) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		r, err := c.try("GET", "/readyz", nil)
		if err == nil && r.status == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("server at %s not ready after 20s: %v %v", c.base, r.status, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// client is a tiny client of the native face that authenticates as the
// bootstrap admin.
type client struct {
	base   string
	token  string
	bearer string // an OAuth2 access token, sent instead of token when set
	hc     *http.Client
}

func newClient(base string) *client {
	tr := &http.Transport{MaxIdleConnsPerHost: 128, MaxConnsPerHost: 0, DisableCompression: true}
	return &client{base: base, token: testAdminToken, hc: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

// response is an answer; tests decode its body into the type they expect.
type response struct {
	status int
	header http.Header
	body   []byte
}

// try sends one request. body is nil (none), a string or []byte (sent as is)
// or anything else (sent as JSON). headers are name, value pairs.
func (c *client) try(method, path string, body any, headers ...string) (response, error) {
	var rd io.Reader
	var raw []byte // the body sent, for the check against the native document
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return response{}, err
		}
		raw = data
	}
	if body != nil {
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return response{}, err
	}
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	} else {
		req.Header.Set("Authorization", "Token "+c.token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return response{}, err
	}
	defer res.Body.Close()
	r := response{status: res.StatusCode, header: res.Header}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		// A stream (the live feed) does not end: keep its first message.
		r.body, err = bufio.NewReader(res.Body).ReadBytes('\n')
		if err != nil {
			return r, fmt.Errorf("%s %s: read stream: %w", method, path, err)
		}
		return r, checkNativeResponse(req, raw, r)
	}
	if r.body, err = io.ReadAll(res.Body); err != nil {
		return r, fmt.Errorf("%s %s: read body: %w", method, path, err)
	}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") && !json.Valid(r.body) {
		return r, fmt.Errorf("%s %s: invalid JSON body %s", method, path, clip(r.body))
	}
	// Every answer of the native face must be what its OpenAPI document
	// says, so every test proves the document for free.
	if err := checkNativeResponse(req, raw, r); err != nil {
		return r, err
	}
	return r, nil
}

// do is try for the test goroutine: a transport failure ends the test.
func (c *client) do(t testing.TB, method, path string, body any, headers ...string) response {
	t.Helper()
	r, err := c.try(method, path, body, headers...)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

// individual is an individual as the native face shows it.
type individual struct {
	ID          string   `json:"id"`
	ExtID       string   `json:"ext_id"`
	FirstName   string   `json:"first_name"`
	LastName    string   `json:"last_name"`
	Email       optional `json:"email"`
	MobilePhone optional `json:"mobile_phone"`
	Department  optional `json:"department"`
	Status      string   `json:"status"`
	CreatedAt   string   `json:"created_at"`
	UpdatedAt   string   `json:"updated_at"`
}

// historyVersion is one entry of a history list.
type historyVersion struct {
	Version          uint64      `json:"version"`
	EventType        string      `json:"event_type"`
	Actor            string      `json:"actor"`
	RequestID        string      `json:"request_id"`
	OccurredAt       string      `json:"occurred_at"`
	ConsistencyToken string      `json:"consistency_token"`
	Data             *individual `json:"data"`
}

type pagination struct {
	CurrentCount int `json:"current_count"`
	CurrentPage  int `json:"current_page"`
	PerPage      int `json:"per_page"`
	TotalPages   int `json:"total_pages"`
	TotalItems   int `json:"total_items"`
}

// list is the native list envelope.
type list[T any] struct {
	Msg  string `json:"msg"`
	Data []T    `json:"data"`
	Meta struct {
		Pagination pagination `json:"pagination"`
	} `json:"meta"`
}

// item is the native item envelope.
type item[T any] struct {
	Msg  string `json:"msg"`
	Data T      `json:"data"`
}

// decode decodes a response body strictly into T.
func decode[T any](t testing.TB, r response) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %T from %d %s: %v", v, r.status, clip(r.body), err)
	}
	return v
}

// requireStatus fails unless r has status want.
func requireStatus(t testing.TB, r response, want int) {
	t.Helper()
	if r.status != want {
		t.Fatalf("status: got %d, want %d; body %s", r.status, want, clip(r.body))
	}
}

// requireEqual fails unless got == want.
func requireEqual[T comparable](t testing.TB, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
}

// nativeError is the native error envelope, decoded strictly.
type nativeError struct {
	Msg   string `json:"msg"`
	Error struct {
		Code  string `json:"code"`
		Field string `json:"field"`
		Docs  string `json:"docs"`
		ReqID string `json:"req_id"`
	} `json:"error"`
}

// checkNativeError reports how r differs from the native error envelope
// with status and code whose msg names field ("" when any msg will do).
func checkNativeError(r response, status int, code, field string) error {
	if r.status != status {
		return fmt.Errorf("status: got %d, want %d; body %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return fmt.Errorf("content type: got %q, want JSON", ct)
	}
	var e nativeError
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return fmt.Errorf("not the native error envelope: %v: %s", err, r.body)
	}
	switch {
	case e.Msg == "":
		return fmt.Errorf("empty msg: %s", r.body)
	case e.Error.Code != code:
		return fmt.Errorf("code: got %q, want %q: %s", e.Error.Code, code, r.body)
	case e.Error.Docs != "/docs/errors/"+code:
		return fmt.Errorf("docs: got %q, want %q", e.Error.Docs, "/docs/errors/"+code)
	case e.Error.ReqID == "" || e.Error.ReqID != r.header.Get("X-Request-Id"):
		return fmt.Errorf("req_id: got %q, want the X-Request-Id %q", e.Error.ReqID, r.header.Get("X-Request-Id"))
	case field != "" && !strings.Contains(e.Msg, field):
		return fmt.Errorf("msg %q does not name %q", e.Msg, field)
	}
	return nil
}

// requireNativeError fails unless r is the native error envelope with
// status and code, and a msg that names field.
func requireNativeError(t testing.TB, r response, status int, code, field string) {
	t.Helper()
	if err := checkNativeError(r, status, code, field); err != nil {
		t.Fatal(err)
	}
}

// newIndividual is a create body with a unique email.
func newIndividual(first, last, email string) map[string]any {
	return map[string]any{"first_name": first, "last_name": last, "email": email}
}

// mustCreate creates an individual and returns it with the response.
func mustCreate(t testing.TB, c *client, body any, headers ...string) (individual, response) {
	t.Helper()
	r := c.do(t, "POST", "/api/v1/individuals", body, headers...)
	requireStatus(t, r, http.StatusCreated)
	return decode[item[individual]](t, r).Data, r
}

// mustGet reads one individual, waiting for token when it is not empty.
func mustGet(t testing.TB, c *client, id, token string) (individual, response) {
	t.Helper()
	r := c.do(t, "GET", "/api/v1/individuals/"+id, nil, "X-Consistency-Token", token)
	requireStatus(t, r, http.StatusOK)
	return decode[item[individual]](t, r).Data, r
}

// mustHistory reads up to 100 versions of an individual.
func mustHistory(t testing.TB, c *client, id, token string) list[historyVersion] {
	t.Helper()
	r := c.do(t, "GET", "/api/v1/individuals/"+id+"/history?limit=100", nil, "X-Consistency-Token", token)
	requireStatus(t, r, http.StatusOK)
	return decode[list[historyVersion]](t, r)
}

// countEvents counts the versions of one event type.
func countEvents(h list[historyVersion], typ string) int {
	n := 0
	for _, v := range h.Data {
		if v.EventType == typ {
			n++
		}
	}
	return n
}

// maxToken returns the larger of two consistency tokens.
func maxToken(a, b string) string {
	x, _ := strconv.ParseUint(a, 10, 64)
	y, _ := strconv.ParseUint(b, 10, 64)
	if y > x {
		return b
	}
	return a
}

// clip shortens a body for a failure message.
func clip(b []byte) string {
	if len(b) > 600 {
		return string(b[:600]) + "…"
	}
	return string(b)
}

// optional is a nullable string field, comparable with ==.
type optional struct {
	Set   bool
	Value string
}

func (o *optional) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*o = optional{}
		return nil
	}
	o.Set = true
	return json.Unmarshal(b, &o.Value)
}

func (o optional) String() string {
	if !o.Set {
		return "<null>"
	}
	return o.Value
}

// The helper process: a test binary started with PORTCULLIS_TEST_MAIN=1 runs
// the portcullis command with the arguments after "--" instead of tests, so
// that a test can SIGKILL a real server process.
func TestHelperProcess(t *testing.T) {
	if os.Getenv("PORTCULLIS_TEST_MAIN") != "1" {
		t.Skip("only runs as the server process of the crash tests")
	}
	if err := run(context.Background(), flag.Args(), os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "portcullis:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// process is a server running as a child process.
type process struct {
	cmd    *exec.Cmd
	addr   string
	exited chan struct{} // closed once the process is gone
	err    error         // how it ended, valid once exited is closed
}

// startProcess runs `portcullis serve` on dir in a child process and waits
// until it serves and is ready. The child is killed when the test ends.
func startProcess(t testing.TB, dir string, env ...string) *process {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "--",
		"serve", "--data-dir", dir, "--listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), append([]string{"PORTCULLIS_TEST_MAIN=1",
		"PORTCULLIS_ADMIN_TOKEN=" + testAdminToken}, env...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start server process: %v", err)
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	t.Cleanup(func() { p.kill(t) })
	addr := make(chan string, 1)
	var logTail bytes.Buffer
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var line struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "serving" {
				addr <- line.Addr
			} else if logTail.Len() < 4096 && !bytes.Contains(sc.Bytes(), []byte(`"msg":"http"`)) {
				logTail.Write(sc.Bytes())
				logTail.WriteByte('\n')
			}
		}
		p.err = cmd.Wait()
		close(p.exited)
	}()
	select {
	case p.addr = <-addr:
	case <-p.exited:
		t.Fatalf("server process exited before serving: %v\n%s", p.err, logTail.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("server process did not serve within 30s")
	}
	waitReady(t, newClient("http://"+p.addr))
	return p
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *process) kill(t testing.TB) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("kill server process: %v", err)
	}
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		t.Errorf("server process still running 10s after SIGKILL")
	}
}
