package http

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/portcullis/portcullis/commands"
	"github.com/portcullis/portcullis/domain"
)

// BootstrapAdminID is the service user the first start creates for the
// bootstrap admin in the default tenant.
const BootstrapAdminID = "admin"

// principal is who is calling: the tenant they act in, how they appear as an
// actor in events, and what their role lets them do.
type principal struct {
	Tenant      string
	Actor       string
	Role        string
	Permissions []string // sorted, for domain.Can
	SystemAdmin bool
	// Self is set for an individual acting through self-service (X-Token):
	// the id of the only person whose records they may touch.
	Self string
}

func caller(ctx context.Context) principal {
	if ri, ok := ctx.Value(keyRequest).(*requestInfo); ok && ri.authed {
		return ri.principal
	}
	p, _ := ctx.Value(keyPrincipal).(principal)
	return p
}

// withPrincipal records who is calling for the handlers after the
// authentication middleware. It writes into the request's requestInfo
// (set by withRequestID, which every routed request passes) rather than
// deriving a new context and a copy of the request for each request; a
// request without one gets the context value instead.
func withPrincipal(r *http.Request, p principal) *http.Request {
	if ri, ok := r.Context().Value(keyRequest).(*requestInfo); ok {
		ri.actor, ri.principal, ri.authed = p.Actor, p, true
		return r
	}
	return r.WithContext(context.WithValue(r.Context(), keyPrincipal, p))
}

func hashToken(t string) [32]byte { return sha256.Sum256([]byte(t)) }

// grantWait bounds how long authentication waits for the read models when a
// token is not known yet: a client may use a token the moment it is issued.
const grantWait = 2 * time.Second

// authenticate resolves the Authorization header into a principal: a
// service user's PAT (Token) or an OAuth2 client's access token (Bearer). Every failure is UNAUTHORIZED (or EXPIRED) with a message that
// says what to send, never which part of a secret was wrong.
func (s *Server) authenticate(r *http.Request) (principal, error) {
	if r.Header.Get("Authorization") == "" && r.Header.Get("X-Token") != "" {
		p, err := s.authenticateSelf(r.Header.Get("X-Token"))
		if errors.Is(err, errInvalidSelfToken) {
			s.authFailed(r, "", "x-token", "invalid_token", "")
			return principal{}, domain.Errorf(domain.CodeUnauthorized, "the X-Token is not valid")
		}
		return p, err
	}
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if ok && strings.EqualFold(scheme, "Bearer") && token != "" {
		return s.authenticateBearer(r, token)
	}
	if !ok || !strings.EqualFold(scheme, "Token") || token == "" {
		return principal{}, domain.Errorf(domain.CodeUnauthorized,
			"send Authorization: Token <personal access token> or Bearer <access token>")
	}
	h := hashToken(token)
	if subtle.ConstantTimeCompare(h[:], s.admin[:]) == 1 {
		return principal{Tenant: domain.DefaultTenant, Actor: "service_user:" + BootstrapAdminID,
			Role: domain.RoleAdmin, Permissions: s.builtin[domain.RoleAdmin], SystemAdmin: true}, nil
	}
	// The lookup is by hash: a bbolt key, compared in full by the index, so
	// the time it takes does not depend on how much of a guess was right.
	grant, found, err := s.db.TokenGrant(commands.HashToken(token))
	if err != nil {
		return principal{}, err
	}
	if !found && s.catchUp(r.Context()) {
		if grant, found, err = s.db.TokenGrant(commands.HashToken(token)); err != nil {
			return principal{}, err
		}
	}
	if !found {
		s.authFailed(r, "", "token", "unknown", "")
		return principal{}, domain.Errorf(domain.CodeUnauthorized, "the token is not valid")
	}
	subject := "service_user:" + grant.ServiceUserID
	if grant.Revoked {
		s.authFailed(r, grant.Tenant, "token", "revoked", subject)
		return principal{}, domain.Errorf(domain.CodeUnauthorized, "the token is not valid")
	}
	if !time.Now().Before(grant.ExpiresAt) {
		s.authFailed(r, grant.Tenant, "token", "expired", subject)
		return principal{}, domain.Errorf(domain.CodeExpired, "the token expired at %s", grant.ExpiresAt.UTC().Format(time.RFC3339))
	}
	user, ok, err := s.db.ServiceUser(grant.Tenant, grant.ServiceUserID)
	if err != nil {
		return principal{}, err
	}
	if !ok {
		s.authFailed(r, grant.Tenant, "token", "user_deleted", subject)
		return principal{}, domain.Errorf(domain.CodeUnauthorized, "the token is not valid")
	}
	perms, err := s.rolePermissions(grant.Tenant, user.Role)
	if err != nil {
		return principal{}, err
	}
	return principal{Tenant: grant.Tenant, Actor: "service_user:" + user.ID, Role: user.Role, Permissions: perms}, nil
}

// catchUp waits (≤ grantWait) until the read models reach the log's head, so
// that a credential created a moment ago is found. It reports whether they
// did, so that a second look can be taken.
func (s *Server) catchUp(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, grantWait)
	defer cancel()
	head, err := s.cmd.Head(ctx)
	if err != nil {
		return false
	}
	// Even when the runner is already there, look again: it may have got
	// there after the first look.
	return s.runner.WaitFor(ctx, head) == nil
}

// withNativeAuth authenticates every native request.
func (s *Server) withNativeAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.authenticate(r)
		if err != nil {
			s.writeNativeError(w, r, err)
			return
		}
		next.ServeHTTP(w, withPrincipal(r, p))
	})
}

// require checks that the caller holds one of the permissions.
func require(r *http.Request, perms ...string) error {
	if domain.Can(caller(r.Context()).Permissions, perms...) {
		return nil
	}
	return domain.Errorf(domain.CodeInsufficientPermissions,
		"your role %q lacks the permission %s", caller(r.Context()).Role, strings.Join(perms, " or "))
}
