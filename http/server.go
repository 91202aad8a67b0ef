// Package http serves Portcullis over HTTP: the native face today, the
// nevisIDM and eSystems faces beside it, all over the same commands and read
// models. Handlers return errors; error.go is the one place that turns a
// domain code into a status and an envelope.
package http

import (
	"context"
	"crypto/ed25519"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/portcullis/portcullis/commands"
	"github.com/portcullis/portcullis/domain"
	"github.com/portcullis/portcullis/eventstore"
	"github.com/portcullis/portcullis/projections"
)

// Config holds what the server is built from.
type Config struct {
	Commands *commands.Commands
	DB       *projections.DB
	Runner   *projections.Runner
	Outcomes *projections.Outcomes
	Logger   *slog.Logger
	// AdminToken is the bootstrap admin's PAT; only its hash is kept.
	AdminToken string
	// MaxBody bounds a request body (default 1 MiB).
	MaxBody int64
	// ConsistencyWait bounds how long a read waits for its consistency token
	// (default 10 s).
	ConsistencyWait time.Duration
	// SigningKey signs OAuth2 access tokens; TokenTTL is their lifetime
	// (default 1 h).
	SigningKey ed25519.PrivateKey
	TokenTTL   time.Duration
	// CallerLimit bounds each authenticated caller; TokenLimit bounds each
	// client address on the token endpoint (stricter: it is where secrets
	// are guessed). A Rate of zero or less turns a limit off; the serve
	// command's flags carry the defaults.
	CallerLimit RateLimit
	TokenLimit  RateLimit
	// OTPs keeps one-time codes; SMTP mails them.
	OTPs *projections.OTPs
	SMTP SMTP
	// Secrets seals the secrets of integration connections; Webhook says
	// how webhooks are checked and delivered.
	Secrets    *commands.SecretBox
	Webhook    WebhookConfig
	Deliveries *projections.Deliveries
	// ReadOnly refuses every change (see readonly.go).
	ReadOnly bool
	// Checkpoints verifies the log's hash chain and signs its head.
	Checkpoints *eventstore.Checkpointer
	// Store feeds the live event feed; EventsHeartbeat is how often an idle
	// feed sends a comment line (default 15 s).
	Store           *eventstore.Store
	EventsHeartbeat time.Duration
	// NoopRoute adds GET /api/v1/bench/noop, a handler that does nothing
	// behind the native face's router and middleware (authentication
	// included), so that the bench can tell what a read costs from what the
	// HTTP path around it costs. Only the bench sets it; serve never does.
	NoopRoute bool
	// Observe, when set, is told how long each request took inside the
	// server, as "http_" and the method: the bench's per-stage figures.
	// A server leaves it nil.
	Observe func(stage string, d time.Duration)
}

// Server is the HTTP server of every face.
type Server struct {
	observe  func(stage string, d time.Duration)
	cmd      *commands.Commands
	db       *projections.DB
	runner   *projections.Runner
	outcomes *projections.Outcomes
	logger   *slog.Logger
	admin    [32]byte
	maxBody  int64
	wait     time.Duration
	// signingKey and tokenTTL issue and verify OAuth2 access tokens.
	signingKey ed25519.PrivateKey
	tokenTTL   time.Duration
	// callerLimits and tokenLimits are the token buckets of the rate limits.
	callerLimits *limiters
	tokenLimits  *limiters
	// otps, smtp and otpSendLimits serve self-service sign-in.
	otps          *projections.OTPs
	smtp          SMTP
	otpSendLimits *limiters
	// otpVerifyLimits bounds code checks per person.
	otpVerifyLimits *limiters
	// failures queues refused authentications for the audit trail;
	// failureLimits budgets them per address.
	failures        chan authFailure
	failureLimits   *limiters
	failuresDropped atomic.Int64
	stopAudit       context.CancelFunc
	auditDone       chan struct{}
	metrics         *metrics
	ready           atomic.Bool
	idem            *idempotencyLocks
	secrets         *commands.SecretBox
	webhook         WebhookConfig
	deliveries      *projections.Deliveries
	readOnly        bool
	checkpoints     *eventstore.Checkpointer
	store           *eventstore.Store
	heartbeat       time.Duration
	closing         chan struct{} // closed when shutdown begins: live feeds end
	closeOnce       sync.Once

	// builtin holds the permissions of each built-in role, worked out once:
	// every authenticated request needs its caller's, and building and
	// sorting the list was a tenth of the server's CPU time under load.
	// Shared by every request, so never modified.
	builtin map[string][]string

	router *mux.Router
	http   *http.Server
	ln     net.Listener
}

// NewServer builds the router and middleware.
func NewServer(cfg Config) *Server {
	s := &Server{
		cmd: cfg.Commands, db: cfg.DB, runner: cfg.Runner, outcomes: cfg.Outcomes, logger: cfg.Logger,
		admin: hashToken(cfg.AdminToken), maxBody: cfg.MaxBody, wait: cfg.ConsistencyWait,
		metrics: newMetrics(cfg.Runner), idem: newIdempotencyLocks(),
		signingKey: cfg.SigningKey, tokenTTL: cfg.TokenTTL, observe: cfg.Observe,
	}
	if s.tokenTTL == 0 {
		s.tokenTTL = time.Hour
	}
	s.builtin = map[string][]string{}
	for _, name := range []string{domain.RoleAdmin, domain.RoleOperator, domain.RoleAuditor, domain.RoleViewer} {
		if perms, ok := domain.BuiltinRole(name); ok {
			s.builtin[name] = slices.Clip(perms)
		}
	}
	s.otps, s.smtp = cfg.OTPs, cfg.SMTP
	s.secrets, s.webhook, s.deliveries = cfg.Secrets, cfg.Webhook, cfg.Deliveries
	s.readOnly = cfg.ReadOnly
	s.checkpoints = cfg.Checkpoints
	s.store, s.heartbeat, s.closing = cfg.Store, cfg.EventsHeartbeat, make(chan struct{})
	if s.heartbeat <= 0 {
		s.heartbeat = 15 * time.Second
	}
	s.webhook.defaults()
	// A person gets at most three codes at once and one per 30 s after.
	s.otpSendLimits = newLimiters(RateLimit{Rate: 1.0 / 30, Burst: 3})
	// Guesses at a person's code: a handful at once, one per 2 s after, far
	// below the caller limit; the code itself locks after five wrong tries.
	s.otpVerifyLimits = newLimiters(RateLimit{Rate: 0.5, Burst: 10})
	s.failures = make(chan authFailure, authFailureQueue)
	s.failureLimits = newLimiters(RateLimit{Rate: 1, Burst: 20})
	s.callerLimits = newLimiters(cfg.CallerLimit)
	s.tokenLimits = newLimiters(cfg.TokenLimit)
	if s.maxBody == 0 {
		s.maxBody = 1 << 20
	}
	if s.wait == 0 {
		s.wait = 10 * time.Second
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	s.router = mux.NewRouter()
	// Unmatched requests skip the router's middleware, so these handlers
	// wrap themselves: every response carries X-Request-Id and is logged.
	s.router.NotFoundHandler = s.withRequestID(s.withRecovery(s.withAccessLog(http.HandlerFunc(s.handleUnmatched))))
	s.router.MethodNotAllowedHandler = s.withRequestID(s.withRecovery(s.withAccessLog(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) { s.writeNativeError(w, r, errMethodNotAllowed(r)) }))))
	s.router.Use(s.withRequestID, s.withRecovery, s.withAccessLog, s.withReadOnly)
	s.router.HandleFunc("/healthz", s.handleHealthz).Methods("GET")
	s.router.HandleFunc("/readyz", s.handleReadyz).Methods("GET")
	s.router.Handle("/metrics", s.metrics.handler()).Methods("GET")
	s.registerErrorDocRoutes(s.router)

	s.router.Handle("/oAuth/rest/v2/Token", s.withBodyLimit(http.HandlerFunc(s.handleToken))).Methods("POST")

	api := s.router.PathPrefix("/api/v1").Subrouter()
	api.Use(s.withBodyLimit, s.withNativeAuth, s.withCallerLimit, s.withConsistency, s.withIdempotency)
	// The native routes are matched in groups, one per register function,
	// each group tried only for the path segments its routes begin with:
	// gorilla/mux tries routes one by one, each a regular expression, and
	// a request to a route registered late paid for a hundred failed
	// matches before (a sixth of the server's CPU time under load).
	// Groups keep the registration order, so where two share a segment
	// (the chain's routes and the audit log's) the earlier still wins.
	group := func(register func(*mux.Router)) { registerSegmentGroup(api, "/api/v1", register) }
	group(s.registerTenantRoutes)
	group(s.registerIndividualRoutes)
	group(s.registerDecisionRoutes)
	group(s.registerReportRoutes)
	group(s.registerLocationRoutes)
	group(s.registerBuildingRoutes)
	group(s.registerSpaceRoutes)
	group(s.registerLockingSystemRoutes)
	group(s.registerAccessPointRoutes)
	group(s.registerServiceUserRoutes)
	group(s.registerOAuthClientRoutes)
	group(s.registerRoleRoutes)
	group(s.registerHistoryRoutes)
	group(s.registerSelfServiceRoutes)
	group(s.registerIntegrationRoutes)
	group(s.registerChainRoutes) // before the audit log's, whose paths share the prefix
	group(s.registerEventRoutes)
	group(s.registerAuditRoutes)
	group(s.registerCredentialRoutes)
	group(s.registerCredentialLinkRoutes)
	group(s.registerControlSystemRoutes)
	group(s.registerSpaceViewRoutes)
	group(s.registerStatsRoutes)
	group(s.registerSettingsRoutes)
	if cfg.NoopRoute {
		group(func(r *mux.Router) { r.HandleFunc("/bench/noop", s.native("", handleNoop)).Methods("GET") })
	}
	s.registerNevisRoutes(s.router)
	s.registerESystemsRoutes(s.router)
	return s
}

// registerSegmentGroup registers routes on a subrouter of parent that is
// tried only when the request path's first segment after prefix is one the
// routes' templates begin with (any, if a template begins with a variable).
func registerSegmentGroup(parent *mux.Router, prefix string, register func(*mux.Router)) {
	segments, any := map[string]bool{}, false
	sub := parent.NewRoute().MatcherFunc(func(r *http.Request, _ *mux.RouteMatch) bool {
		return any || segments[firstSegment(r.URL.Path, prefix)]
	}).Subrouter()
	register(sub)
	_ = sub.Walk(func(rt *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		if tpl, err := rt.GetPathTemplate(); err == nil {
			seg := firstSegment(tpl, prefix)
			if strings.HasPrefix(seg, "{") {
				any = true
			}
			segments[seg] = true
		}
		return nil
	})
}

// firstSegment is the path segment right after prefix ("" when the path
// does not start with it).
func firstSegment(path, prefix string) string {
	rest, ok := strings.CutPrefix(path, prefix+"/")
	if !ok {
		return ""
	}
	seg, _, _ := strings.Cut(rest, "/")
	return seg
}

// Route is one method and path template the server answers.
type Route struct{ Method, Path string }

// Routes lists every route of every face, for tests that must cover all of
// them (the authentication matrix) and for documentation checks.
func (s *Server) Routes() []Route {
	var out []Route
	_ = s.router.Walk(func(r *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		path, err := r.GetPathTemplate()
		if err != nil {
			return nil
		}
		methods, err := r.GetMethods()
		if err != nil {
			return nil
		}
		for _, m := range methods {
			out = append(out, Route{Method: m, Path: path})
		}
		return nil
	})
	return out
}

// Handler is the server's root handler, for tests and embedding.
func (s *Server) Handler() http.Handler { return s.router }

// Registry is the server's Prometheus registry.
func (s *Server) Registry() *prometheus.Registry { return s.metrics.reg }

// SetReady marks the server ready once the read models have caught up.
func (s *Server) SetReady(ready bool) { s.ready.Store(ready) }

// Open starts listening on addr (":0" picks a free port).
func (s *Server) Open(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	var ctx context.Context
	ctx, s.stopAudit = context.WithCancel(context.Background())
	s.auditDone = make(chan struct{})
	go s.recordAuthFailures(ctx, s.auditDone)
	s.ln = ln
	s.http = &http.Server{
		Handler:           s.router,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	go func() {
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.logger.Error("http server stopped", slog.Any("err", err))
		}
	}()
	return nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Close stops accepting connections and waits for in-flight requests to
// finish, up to ctx.
func (s *Server) Close(ctx context.Context) error {
	if s.http == nil {
		return nil
	}
	s.closeOnce.Do(func() { close(s.closing) })
	err := s.http.Shutdown(ctx)
	s.stopAudit()
	<-s.auditDone
	return err
}

// handleUnmatched answers a request no route matched. gorilla/mux loses a
// method mismatch inside a subrouter once a later route of it matches part
// of the request, and reports "not found"; so a path that another method
// would match is answered as a method not allowed here.
func (s *Server) handleUnmatched(w http.ResponseWriter, r *http.Request) {
	var allowed []string
	for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if method == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = method
		var m mux.RouteMatch
		if s.router.Match(probe, &m) && m.MatchErr == nil {
			allowed = append(allowed, method)
		}
	}
	if len(allowed) > 0 {
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		s.writeNativeError(w, r, errMethodNotAllowed(r))
		return
	}
	s.writeNativeError(w, r, errRouteNotFound(r))
}

// noopBody is the answer of the bench's no-op route: the smallest native
// envelope.
const noopBody = `{"msg":"ok","data":null}` + "\n"

// handleNoop answers the bench's no-op route (Config.NoopRoute) without
// reading anything.
func handleNoop(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, err := io.WriteString(w, noopBody)
	return err
}

func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	if err := s.runner.Err(); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "projection stopped", "position": s.runner.Position()})
		return
	}
	if !s.ready.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "catching up", "position": s.runner.Position()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "position": s.runner.Position()})
}
