package http

import (
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/portcullis/portcullis/domain"
)

// RateLimit is a token bucket: Rate requests per second on average, Burst
// at once. A Rate of zero or less turns limiting off.
type RateLimit struct {
	Rate  float64
	Burst int
}

// limiters holds one token bucket per key (a caller, a client address).
// Buckets idle long enough to be full again are forgotten, so the map stays
// as small as the set of recently active keys.
type limiters struct {
	limit RateLimit
	mu    sync.Mutex
	m     map[string]*limiterEntry
	swept time.Time
}

type limiterEntry struct {
	l    *rate.Limiter
	seen time.Time
}

func newLimiters(l RateLimit) *limiters {
	l.Burst = max(l.Burst, 1)
	return &limiters{limit: l, m: map[string]*limiterEntry{}, swept: time.Now()}
}

// allow takes one token for key; when none is left it says how long until
// one is.
func (ls *limiters) allow(key string) (bool, time.Duration) {
	if ls.limit.Rate <= 0 {
		return true, 0
	}
	now := time.Now()
	ls.mu.Lock()
	e, ok := ls.m[key]
	if !ok {
		e = &limiterEntry{l: rate.NewLimiter(rate.Limit(ls.limit.Rate), ls.limit.Burst)}
		ls.m[key] = e
	}
	e.seen = now
	ls.sweep(now)
	ls.mu.Unlock()
	r := e.l.ReserveN(now, 1)
	if !r.OK() {
		return false, time.Second
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// sweep forgets buckets idle for longer than it takes to refill them.
func (ls *limiters) sweep(now time.Time) {
	refill := time.Duration(float64(ls.limit.Burst)/ls.limit.Rate*float64(time.Second)) + time.Minute
	if now.Sub(ls.swept) < refill {
		return
	}
	for k, e := range ls.m {
		if now.Sub(e.seen) > refill {
			delete(ls.m, k)
		}
	}
	ls.swept = now
}

// errTooManyRequests is the refusal; Retry-After carries the wait.
func errTooManyRequests(wait time.Duration) error {
	return domain.Errorf(domain.CodeTooManyRequests, "too many requests; retry in %s", wait.Round(time.Millisecond))
}

func setRetryAfter(w http.ResponseWriter, wait time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
}

// withCallerLimit limits each authenticated caller on the native face.
func (s *Server) withCallerLimit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ok, wait := s.callerLimits.allow(caller(r.Context()).Actor); !ok {
			setRetryAfter(w, wait)
			s.writeNativeError(w, r, errTooManyRequests(wait))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// clientAddr is the key of unauthenticated limits: the peer's IP address.
// X-Forwarded-For is not trusted: behind a proxy, configure the proxy to
// limit instead.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
