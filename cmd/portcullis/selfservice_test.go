package main

import (
	"io"
	"net"
	"net/http"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// mailbox is a real SMTP server on loopback that keeps what it receives.
type mailbox struct {
	mu   sync.Mutex
	msgs []string
	got  chan struct{}
}

func (mb *mailbox) NewSession(*smtp.Conn) (smtp.Session, error) { return &mailSession{mb: mb}, nil }

type mailSession struct{ mb *mailbox }

func (s *mailSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *mailSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *mailSession) Reset()                               {}
func (s *mailSession) Logout() error                        { return nil }
func (s *mailSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.mb.mu.Lock()
	s.mb.msgs = append(s.mb.msgs, string(b))
	s.mb.mu.Unlock()
	s.mb.got <- struct{}{}
	return nil
}

func startMailbox(t testing.TB) (*mailbox, string) {
	t.Helper()
	mb := &mailbox{got: make(chan struct{}, 16)}
	srv := smtp.NewServer(mb)
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return mb, ln.Addr().String()
}

var codeRE = regexp.MustCompile(`code is (\d{6})`)

// nextCode waits for the next mail and returns the code in it.
func (mb *mailbox) nextCode(t testing.TB) string {
	t.Helper()
	select {
	case <-mb.got:
	case <-time.After(10 * time.Second):
		t.Fatal("no mail arrived")
	}
	mb.mu.Lock()
	defer mb.mu.Unlock()
	m := codeRE.FindStringSubmatch(mb.msgs[len(mb.msgs)-1])
	if m == nil {
		t.Fatalf("no code in mail %q", mb.msgs[len(mb.msgs)-1])
	}
	return m[1]
}

func TestSelfServiceOTP(t *testing.T) {
	t.Parallel()
	mb, addr := startMailbox(t)
	m := &testMain{Main: &Main{Config: Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", Sync: "always",
		AdminToken: testAdminToken}}}
	m.Config.SMTP.Addr, m.Config.SMTP.From = addr, "portcullis@example.test"
	if err := m.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	m.c = newClient("http://" + m.HTTP.Addr())
	waitReady(t, m.c)

	ada, _ := mustCreate(t, m.c, newIndividual("Ada", "Lovelace", "ada@example.test"))
	bob, _ := mustCreate(t, m.c, newIndividual("Bob", "Other", "bob@example.test"))
	otp := "/api/v1/individuals/" + ada.ID + "/otp"

	// The happy path: a mailed code buys an X-Token for one's own record only.
	requireStatus(t, m.c.do(t, "POST", otp, nil), http.StatusAccepted)
	code := mb.nextCode(t)
	r := m.c.do(t, "POST", otp+"/verify", map[string]any{"code": code})
	requireStatus(t, r, http.StatusOK)
	requireEqual(t, "Cache-Control", r.header.Get("Cache-Control"), "no-store")
	xtoken := decode[item[struct {
		Token     string `json:"token"`
		TokenType string `json:"token_type"`
		ExpiresIn int    `json:"expires_in"`
	}]](t, r).Data.Token
	self := as(m.c, "")
	selfGet := func(path string) response {
		req, _ := http.NewRequest("GET", self.base+path, nil)
		req.Header.Set("X-Token", xtoken)
		resp, err := self.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return response{status: resp.StatusCode, header: resp.Header, body: b}
	}
	requireStatus(t, selfGet("/api/v1/individuals/"+ada.ID), http.StatusOK)
	requireNativeError(t, selfGet("/api/v1/individuals/"+bob.ID), http.StatusForbidden, "INSUFFICIENT_PERMISSIONS", "")
	requireNativeError(t, selfGet("/api/v1/individuals"), http.StatusForbidden, "INSUFFICIENT_PERMISSIONS", "")

	// Single use.
	requireNativeError(t, m.c.do(t, "POST", otp+"/verify", map[string]any{"code": code}), http.StatusUnauthorized, "UNAUTHORIZED", "")

	// Brute force: five wrong codes lock the code; the sixth try fails even
	// with the right one.
	requireStatus(t, m.c.do(t, "POST", otp, nil), http.StatusAccepted)
	code = mb.nextCode(t)
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	for i := range 5 {
		requireNativeError(t, m.c.do(t, "POST", otp+"/verify", map[string]any{"code": wrong}), http.StatusUnauthorized, "UNAUTHORIZED", "")
		_ = i
	}
	requireNativeError(t, m.c.do(t, "POST", otp+"/verify", map[string]any{"code": code}), http.StatusForbidden, "FORBIDDEN", "")
	requireNativeError(t, m.c.do(t, "POST", otp+"/verify", map[string]any{"code": "12ab56"}), http.StatusBadRequest, "BAD_REQUEST", "code")

	// The audit trail has the sends, the verification and the lock, and no
	// code or token appears anywhere in the data directory.
	mustClose(t, m)
	requireSecretsAbsent(t, m.Config.DataDir, code, xtoken)
}

// Code checks for one person are limited far below the caller limit: ten at
// once, then one per two seconds, answered 429 with Retry-After.
func TestOTPVerifyRateLimit(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	ada, _ := mustCreate(t, m.c, newIndividual("Ada", "Guessed", "ada-guessed@example.test"))
	verify := "/api/v1/individuals/" + ada.ID + "/otp/verify"
	for i := range 10 {
		requireNativeError(t, m.c.do(t, "POST", verify, map[string]any{"code": "123456"}), http.StatusUnauthorized, "UNAUTHORIZED", "")
		_ = i
	}
	r := m.c.do(t, "POST", verify, map[string]any{"code": "123456"})
	requireNativeError(t, r, http.StatusTooManyRequests, "TOO_MANY_REQUESTS", "")
	if r.header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	// Another person's checks are not held up.
	bob, _ := mustCreate(t, m.c, newIndividual("Bob", "Other", "bob-other@example.test"))
	requireNativeError(t, m.c.do(t, "POST", "/api/v1/individuals/"+bob.ID+"/otp/verify", map[string]any{"code": "123456"}),
		http.StatusUnauthorized, "UNAUTHORIZED", "")
}
