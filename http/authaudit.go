package http

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/portcullis/portcullis/commands"
	"github.com/portcullis/portcullis/domain"
)

// Failed authentications are events, so they reach the audit log like every
// other fact. They are appended off the request path, through a bounded
// queue and a per-address budget: a flood of bad tokens must not become a
// flood of fsyncs, nor slow the refusals down. What the budget drops is
// counted in the logs, not lost silently.

type authFailure struct {
	tenant string
	reqID  string
	face   string
	f      domain.AuthFailed
}

// authFailureQueue bounds the failures waiting to be appended.
const authFailureQueue = 1024

// authFailed queues the record of a refused authentication. tenant is empty
// when unknown; the record then goes to domain.SystemTenant.
func (s *Server) authFailed(r *http.Request, tenant, scheme, reason, subject string) {
	if s.readOnly {
		return // a read-only server appends nothing, not even this
	}
	addr := clientAddr(r)
	if ok, _ := s.failureLimits.allow(addr); !ok {
		s.failuresDropped.Add(1)
		return
	}
	if tenant == "" {
		tenant = domain.SystemTenant
	}
	f := authFailure{tenant: tenant, reqID: requestID(r.Context()), face: faceOf(r), f: domain.AuthFailed{
		Scheme: scheme, Reason: reason, Subject: subject, RemoteAddr: addr, Path: r.URL.Path}}
	select {
	case s.failures <- f:
	default:
		s.failuresDropped.Add(1)
	}
}

// reportDropped logs how many failures went unrecorded since the last
// report: one line a minute at most, however many there were.
func (s *Server) reportDropped() {
	if n := s.failuresDropped.Swap(0); n > 0 {
		s.logger.Warn("auth failures not recorded: over the per-address budget or the queue", slog.Int64("count", n))
	}
}

// recordAuthFailures appends queued failures until ctx ends, then those
// still queued, within a short grace period.
func (s *Server) recordAuthFailures(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	appendOne := func(ctx context.Context, f authFailure) {
		meta := commands.Meta{Tenant: f.tenant, Actor: "anonymous", RequestID: f.reqID, CommandID: commands.NewCommandID(), Face: f.face}
		if _, err := s.cmd.RecordAuthFailure(ctx, meta, f.f); err != nil {
			s.logger.Warn("auth failure not recorded", slog.Any("err", err))
		}
	}
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		select {
		case f := <-s.failures:
			appendOne(ctx, f)
		case <-tick.C:
			s.reportDropped()
		case <-ctx.Done():
			s.reportDropped()
			grace, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			for {
				select {
				case f := <-s.failures:
					appendOne(grace, f)
				default:
					return
				}
			}
		}
	}
}
