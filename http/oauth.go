package http

import (
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/portcullis/portcullis/commands"
	"github.com/portcullis/portcullis/domain"
)

// The OAuth2 client-credentials grant (RFC 6749 §4.4): a client trades its
// id and secret for a short-lived JWT bearer token, signed with the server's
// Ed25519 key. The token names the tenant, the client and the granted
// scopes; what it may do is the client's role intersected with those scopes.

const (
	tokenIssuer   = "portcullis"
	tokenAudience = "portcullis"
)

// accessClaims are the claims of an access token.
type accessClaims struct {
	Tenant string `json:"tenant"`
	Scope  string `json:"scope"`
	jwt.RegisteredClaims
}

// oauthError is the RFC 6749 §5.2 error body.
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

func writeOAuthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="portcullis"`)
	}
	writeJSON(w, status, oauthError{Error: code, Description: desc})
}

// keyID names the signing key in each token's header, so that a key can be
// rotated while tokens signed with the old one are still in flight.
func keyID(pub ed25519.PublicKey) string {
	h := sha256.Sum256(pub)
	return hex.EncodeToString(h[:8])
}

// handleToken is the token endpoint: POST /oAuth/rest/v2/Token.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	if ok, wait := s.tokenLimits.allow(clientAddr(r)); !ok {
		setRetryAfter(w, wait)
		writeOAuthError(w, http.StatusTooManyRequests, "too_many_requests", "too many token requests from this address; retry after Retry-After seconds")
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "the body must be application/x-www-form-urlencoded")
		return
	}
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "the form body could not be read")
		return
	}
	form := r.PostForm
	for k, v := range form {
		if len(v) > 1 {
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", "parameter "+k+" is given more than once")
			return
		}
	}
	if gt := form.Get("grant_type"); gt != "client_credentials" {
		if gt == "" {
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", "grant_type is required")
		} else {
			writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", "only client_credentials is supported")
		}
		return
	}
	id, secret, basic := r.BasicAuth()
	if basic {
		// RFC 6749 §2.3.1: Basic credentials are form-encoded first.
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
		if form.Get("client_id") != "" || form.Get("client_secret") != "" {
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", "send client credentials once: in the Authorization header or in the body")
			return
		}
	} else {
		id, secret = form.Get("client_id"), form.Get("client_secret")
	}
	if id == "" || secret == "" {
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "client_id and client_secret are required")
		return
	}
	client, tenant, found, err := s.db.OAuthClientByID(id)
	if err == nil && !found && s.catchUp(r.Context()) {
		client, tenant, found, err = s.db.OAuthClientByID(id)
	}
	if err != nil {
		s.logger.Error("token endpoint: client lookup failed")
		writeOAuthError(w, http.StatusInternalServerError, "server_error", "try again")
		return
	}
	given := commands.HashToken(secret)
	if !found {
		s.authFailed(r, "", "client_credentials", "unknown_client", "")
	} else if subtle.ConstantTimeCompare(given, client.SecretHash) != 1 {
		s.authFailed(r, tenant, "client_credentials", "wrong_secret", "oauth_client:"+client.ID)
	}
	if !found || subtle.ConstantTimeCompare(given, client.SecretHash) != 1 {
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "unknown client or wrong secret")
		return
	}
	state := domain.OAuthClient{Scopes: client.Scopes}
	granted, ok := state.GrantScopes(strings.Fields(form.Get("scope")))
	if !ok {
		writeOAuthError(w, http.StatusBadRequest, "invalid_scope", "a requested scope is not allowed for this client")
		return
	}
	now := time.Now()
	claims := accessClaims{Tenant: tenant, Scope: strings.Join(granted, " "), RegisteredClaims: jwt.RegisteredClaims{
		Issuer: tokenIssuer, Subject: client.ID, Audience: jwt.ClaimStrings{tokenAudience},
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(s.tokenTTL)), ID: uuid.NewString(),
	}}
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	tok.Header["kid"] = keyID(s.signingKey.Public().(ed25519.PublicKey))
	signed, err := tok.SignedString(s.signingKey)
	if err != nil {
		writeOAuthError(w, http.StatusInternalServerError, "server_error", "try again")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": signed, "token_type": "Bearer",
		"expires_in": int(s.tokenTTL.Seconds()), "scope": claims.Scope,
	})
}

// authenticateBearer resolves an access token into a principal.
func (s *Server) authenticateBearer(r *http.Request, raw string) (principal, error) {
	pub := s.signingKey.Public()
	var claims accessClaims
	_, err := jwt.ParseWithClaims(raw, &claims, func(t *jwt.Token) (any, error) { return pub, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}), jwt.WithIssuer(tokenIssuer),
		jwt.WithAudience(tokenAudience), jwt.WithExpirationRequired(), jwt.WithLeeway(5*time.Second))
	if errors.Is(err, jwt.ErrTokenExpired) {
		s.authFailed(r, "", "bearer", "expired", "")
		return principal{}, domain.Errorf(domain.CodeExpired, "the access token expired; request a new one")
	}
	if err != nil {
		s.authFailed(r, "", "bearer", "invalid_token", "")
		return principal{}, domain.Errorf(domain.CodeUnauthorized, "the access token is not valid")
	}
	client, tenant, found, err := s.db.OAuthClientByID(claims.Subject)
	if err != nil {
		return principal{}, err
	}
	if !found || tenant != claims.Tenant {
		s.authFailed(r, claims.Tenant, "bearer", "client_deleted", "oauth_client:"+claims.Subject)
		return principal{}, domain.Errorf(domain.CodeUnauthorized, "the access token's client no longer exists")
	}
	rolePerms, err := s.rolePermissions(tenant, client.Role)
	if err != nil {
		return principal{}, err
	}
	scopes := strings.Fields(claims.Scope)
	slices.Sort(scopes)
	return principal{Tenant: tenant, Actor: "oauth_client:" + client.ID, Role: client.Role,
		Permissions: domain.Intersect(rolePerms, scopes)}, nil
}
