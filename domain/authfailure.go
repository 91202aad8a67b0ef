package domain

// AggregateAuthFailures is the aggregate type of a tenant's record of failed
// authentications; its one id is AuthFailuresID. Failures whose tenant is
// unknown (a token nobody issued) are recorded under SystemTenant.
const (
	AggregateAuthFailures = "auth_failures"
	AuthFailuresID        = "log"
	SystemTenant          = "_system"
)

// TypeAuthFailed is the event of a refused authentication.
const TypeAuthFailed = "auth.failed"

// AuthFailed records a refused authentication: how the caller tried, why it
// failed, and from where. It never carries what was presented: a wrong
// secret is often a right one mistyped, or one meant for another system.
type AuthFailed struct {
	Scheme     string `msgpack:"scheme"`  // token, bearer, x-token, client_credentials
	Reason     string `msgpack:"reason"`  // unknown, revoked, expired, wrong_secret, malformed, …
	Subject    string `msgpack:"subject"` // the service user or client, when known
	RemoteAddr string `msgpack:"remote_addr"`
	Path       string `msgpack:"path"`
}

func (*AuthFailed) EventType() string { return TypeAuthFailed }
func (*AuthFailed) EventVersion() int { return 1 }

// AuthFailures is the state of the record: only a count, since nothing is
// ever decided on it.
type AuthFailures struct{ Count int }

// Exists is true: an empty record is a record.
func (a *AuthFailures) Exists() bool { return true }

// Apply counts one failure.
func (a *AuthFailures) Apply(e Event) {
	if _, ok := e.Data.(*AuthFailed); ok {
		a.Count++
	}
}
