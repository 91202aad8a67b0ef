package http

import (
	"net/http"

	"github.com/portcullis/portcullis/domain"
)

// withReadOnly refuses every request that could append, on every face,
// when the server runs read-only (a replay's directory, served for an
// auditor): only reads pass, and the OAuth2 token endpoint, which issues
// tokens without appending. The refusal is 403 FORBIDDEN in the face's
// envelope.
func (s *Server) withReadOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.readOnly || r.Method == http.MethodGet || r.Method == http.MethodHead ||
			r.URL.Path == "/oAuth/rest/v2/Token" {
			next.ServeHTTP(w, r)
			return
		}
		s.writeNativeError(w, r, domain.Errorf(domain.CodeForbidden,
			"this server is read-only (a replay of the log for auditing): it refuses every change"))
	})
}
