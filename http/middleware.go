package http

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/mux"

	"github.com/portcullis/portcullis/commands"
	"github.com/portcullis/portcullis/domain"
	"github.com/portcullis/portcullis/projections"
)

type ctxKey int

const (
	keyRequest ctxKey = iota
	keyPrincipal
	keyCommandID
)

// requestInfo is filled in as a request passes the middleware, so that the
// outermost layer (the access log) sees what inner layers learned.
type requestInfo struct {
	id    string
	actor string
	// principal is the authenticated caller once authed (withPrincipal).
	principal principal
	authed    bool
}

func info(ctx context.Context) *requestInfo {
	ri, _ := ctx.Value(keyRequest).(*requestInfo)
	if ri == nil {
		return &requestInfo{}
	}
	return ri
}

func requestID(ctx context.Context) string { return info(ctx).id }

// meta builds the command metadata of a request.
func meta(r *http.Request) (commands.Meta, error) {
	p := caller(r.Context())
	ifMatch, err := parseIfMatch(r)
	if err != nil {
		return commands.Meta{}, err
	}
	cmdID, _ := r.Context().Value(keyCommandID).(string)
	if cmdID == "" {
		cmdID = commands.NewCommandID()
	}
	return commands.Meta{Tenant: p.Tenant, Actor: p.Actor, RequestID: requestID(r.Context()), CommandID: cmdID,
		IfMatch: ifMatch, Face: faceOf(r)}, nil
}

// faceOf names the face a request came through, for the audit log. The
// OAuth2 token endpoint and anything outside the other faces' prefixes count
// as native.
func faceOf(r *http.Request) string {
	switch {
	case isNevisRequest(r):
		return domain.FaceNevisIDM
	case isESystemsRequest(r):
		return domain.FaceESystems
	default:
		return domain.FaceNative
	}
}

var requestIDRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// withRequestID gives every request an id: the client's X-Request-Id when it
// is sane, otherwise a fresh one. It is echoed on every response.
func (s *Server) withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !requestIDRE.MatchString(id) {
			var b [12]byte
			_, _ = rand.Read(b[:])
			id = "req_" + hex.EncodeToString(b[:])
		}
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), keyRequest, &requestInfo{id: id})))
	})
}

// withRecovery turns a panic into a 500 in the face's envelope and a log line
// with the stack, so one bad request cannot take the process down.
func (s *Server) withRecovery(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.writeNativeError(w, r, fmt.Errorf("panic: %v\n%s", v, debug.Stack()))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// statusWriter remembers the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// withAccessLog writes one structured line per request and feeds the
// request metrics. It logs the route template, never headers or bodies, so
// no token can reach the log.
func (s *Server) withAccessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		route := "unmatched"
		if m := mux.CurrentRoute(r); m != nil {
			if t, err := m.GetPathTemplate(); err == nil {
				route = t
			}
		}
		d := time.Since(start)
		if s.observe != nil {
			s.observe("http_"+r.Method, d)
		}
		s.metrics.observe(r.Method, route, sw.status, d)
		s.logger.LogAttrs(r.Context(), slog.LevelInfo, "http",
			slog.String("req_id", requestID(r.Context())),
			slog.String("method", r.Method), slog.String("route", route), slog.String("path", r.URL.Path),
			slog.Int("status", sw.status), slog.Int("bytes", sw.bytes), slog.Duration("duration", d),
			slog.String("actor", info(r.Context()).actor))
	})
}

// withBodyLimit bounds request bodies.
func (s *Server) withBodyLimit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
		next.ServeHTTP(w, r)
	})
}

// withConsistency makes a read that carries a consistency token wait until
// the read models have reached it.
func (s *Server) withConsistency(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			next.ServeHTTP(w, r)
			return
		}
		name, v := "X-Consistency-Token", r.Header.Get("X-Consistency-Token")
		// Parsing the query allocates, and most reads carry no token in
		// it; a query with any escape is parsed, since its key might be
		// spelled with escapes.
		if q := r.URL.RawQuery; v == "" && (strings.Contains(q, "consistency_token") || strings.Contains(q, "%")) {
			name, v = "consistency_token", r.URL.Query().Get("consistency_token")
		}
		if v != "" {
			pos, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				s.writeNativeError(w, r, domain.Invalid(name, "must be a consistency token from a mutation response"))
				return
			}
			// A token beyond the log's head came from no mutation: waiting
			// for it would only end in a timeout that no retry can cure. If
			// the head cannot be read, the wait below decides.
			if pos > s.runner.Position() {
				if head, err := s.cmd.Head(r.Context()); err == nil && pos > head {
					s.writeNativeError(w, r, domain.Invalid(name,
						"is beyond the newest event; use a consistency token from a mutation response"))
					return
				}
			}
			ctx, cancel := context.WithTimeout(r.Context(), s.wait)
			err = s.runner.WaitFor(ctx, pos)
			cancel()
			if err != nil {
				s.writeNativeError(w, r, domain.Errorf(domain.CodeUnavailable,
					"the read models have not reached position %d yet; retry", pos))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// idempotencyLocks serializes concurrent requests with the same key, so the
// second waits for the first's outcome instead of racing it.
type idempotencyLocks struct {
	mu    sync.Mutex
	inUse map[string]*refMutex
}

type refMutex struct {
	sync.Mutex
	refs int
}

func newIdempotencyLocks() *idempotencyLocks {
	return &idempotencyLocks{inUse: map[string]*refMutex{}}
}

func (l *idempotencyLocks) lock(k string) func() {
	l.mu.Lock()
	m, ok := l.inUse[k]
	if !ok {
		m = &refMutex{}
		l.inUse[k] = m
	}
	m.refs++
	l.mu.Unlock()
	m.Lock()
	return func() {
		m.Unlock()
		l.mu.Lock()
		if m.refs--; m.refs == 0 {
			delete(l.inUse, k)
		}
		l.mu.Unlock()
	}
}

// captureWriter buffers a response so that it can be stored and replayed.
type captureWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (c *captureWriter) Header() http.Header { return c.header }
func (c *captureWriter) WriteHeader(code int) {
	if c.status == 0 {
		c.status = code
	}
}
func (c *captureWriter) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	return c.body.Write(b)
}

// replayedHeaders are the response headers an idempotent replay repeats.
var replayedHeaders = []string{"Content-Type", "Location", "ETag", "X-Consistency-Token"}

// withIdempotency gives a mutation with an Idempotency-Key the first outcome
// of that key on every retry. The key also fixes the command id, so even a
// retry whose first outcome was never stored (a crash after the append)
// recognizes its own events and appends nothing.
func (s *Server) withIdempotency(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Idempotency-Key")
		if key == "" || r.Method == http.MethodGet || r.Method == http.MethodHead {
			next.ServeHTTP(w, r)
			return
		}
		if len(key) > 255 {
			s.writeNativeError(w, r, domain.Invalid("Idempotency-Key", "must be at most 255 characters"))
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			s.writeNativeError(w, r, domain.Invalid("body", "request body exceeds %d bytes", s.maxBody))
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		p := caller(r.Context())
		scopeSum := sha256.Sum256([]byte(p.Tenant + "\x00" + p.Actor + "\x00" + key))
		scope := hex.EncodeToString(scopeSum[:])
		fp := sha256.Sum256([]byte(r.Method + "\x00" + r.URL.Path + "\x00" + string(body)))

		unlock := s.idem.lock(scope)
		defer unlock()
		if prev, ok, err := s.outcomes.Get(scope); err != nil {
			s.writeNativeError(w, r, err)
			return
		} else if ok {
			if !bytes.Equal(prev.Fingerprint, fp[:]) {
				s.writeNativeError(w, r, &domain.Error{Code: domain.CodeConflict, Field: "Idempotency-Key",
					Message: "was already used for a different request"})
				return
			}
			for k, v := range prev.Header {
				w.Header().Set(k, v)
			}
			w.Header().Set("Idempotent-Replayed", "true")
			w.WriteHeader(prev.Status)
			_, _ = w.Write(prev.Body)
			return
		}
		capture := &captureWriter{header: w.Header()}
		ctx := context.WithValue(r.Context(), keyCommandID, "idem-"+scope[:32])
		next.ServeHTTP(capture, r.WithContext(ctx))
		// A response that carries a secret (Cache-Control: no-store) is
		// never kept: its command recognises a retry by itself.
		if keepOutcome(capture.status) && w.Header().Get("Cache-Control") != "no-store" {
			out := projections.Outcome{Fingerprint: fp[:], Status: capture.status, Body: capture.body.Bytes(),
				Header: map[string]string{}, StoredAt: time.Now().UTC()}
			for _, h := range replayedHeaders {
				if v := w.Header().Get(h); v != "" {
					out.Header[h] = v
				}
			}
			if err := s.outcomes.Put(scope, out); err != nil {
				s.logger.Error("store idempotent outcome", slog.Any("err", err))
			}
		}
		w.WriteHeader(capture.status)
		_, _ = w.Write(capture.body.Bytes())
	})
}

// keepOutcome says which outcomes a key pins. Successes and decided refusals
// (not found, conflict, gone, precondition failed) are the command's answer
// and are replayed; bad input, auth failures, throttling and server errors
// did not run the command, so a corrected retry with the same key may.
func keepOutcome(status int) bool {
	switch status {
	case http.StatusNotFound, http.StatusConflict, http.StatusGone, http.StatusPreconditionFailed:
		return true
	}
	return status >= 200 && status < 300
}

func errRouteNotFound(r *http.Request) error {
	return domain.Errorf(domain.CodeNotFound, "no route %s %s", r.Method, r.URL.Path)
}

func errMethodNotAllowed(r *http.Request) error {
	return domain.Errorf(domain.CodeInvalid, "method %s is not allowed on %s", r.Method, r.URL.Path)
}
