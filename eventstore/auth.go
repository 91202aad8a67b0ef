package eventstore

import (
	"crypto/rand"
	"encoding/base64"
	"errors"

	"github.com/nats-io/nats-server/v2/server"
)

// internalUser is the account this process's own connection uses on an
// embedded server that listens. Its password is new on every start and
// never leaves the process.
const internalUser = "portcullis"

// newInternalPassword returns the password of this process's own
// connection: none when the embedded server does not listen (only this
// process can reach it then).
func newInternalPassword(cfg Config) (string, error) {
	if cfg.ListenAddr == "" {
		return "", nil
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// downstreamAPI is what a downstream client may ask JetStream: read the
// stream (info, direct and stored gets) and run consumers of its own on it
// (create, look up, pull, acknowledge, delete). Creating, changing or
// deleting streams is not among it, and neither is publishing an event.
var downstreamAPI = []string{
	"$JS.API.INFO",
	"$JS.API.STREAM.NAMES",
	"$JS.API.STREAM.LIST",
	"$JS.API.STREAM.INFO." + StreamName,
	"$JS.API.STREAM.MSG.GET." + StreamName,
	"$JS.API.DIRECT.GET." + StreamName,
	"$JS.API.DIRECT.GET." + StreamName + ".>",
	"$JS.API.CONSUMER.CREATE." + StreamName + ".>",
	"$JS.API.CONSUMER.DURABLE.CREATE." + StreamName + ".>",
	"$JS.API.CONSUMER.INFO." + StreamName + ".>",
	"$JS.API.CONSUMER.NAMES." + StreamName,
	"$JS.API.CONSUMER.LIST." + StreamName,
	"$JS.API.CONSUMER.DELETE." + StreamName + ".>",
	"$JS.API.CONSUMER.MSG.NEXT." + StreamName + ".>",
	"$JS.ACK." + StreamName + ".>",
	"$JS.FC.>", // flow control of push consumers
}

// listenUsers is who may connect to an embedded server that listens: this
// process, with every right, and the one downstream user, read-only.
// Listening without downstream credentials is refused: the stream holds
// every tenant's events.
func listenUsers(cfg Config) ([]*server.User, error) {
	if cfg.ListenUser == "" || cfg.ListenPassword == "" {
		return nil, errors.New("the embedded NATS server listens only with credentials for downstream clients (--nats-user and PORTCULLIS_NATS_PASSWORD)")
	}
	if cfg.ListenUser == internalUser {
		return nil, errors.New("the downstream NATS user may not be called " + internalUser)
	}
	return []*server.User{
		{Username: internalUser, Password: cfg.internalPassword},
		{Username: cfg.ListenUser, Password: cfg.ListenPassword, Permissions: &server.Permissions{
			Publish: &server.SubjectPermission{Allow: downstreamAPI, Deny: []string{SubjectPrefix + ".>"}},
			// Replies to its own requests and push consumers' deliveries
			// arrive on inboxes; the events themselves may be watched.
			Subscribe: &server.SubjectPermission{Allow: []string{"_INBOX.>", SubjectPrefix + ".>"}},
		}},
	}, nil
}

// ListenURL is where downstream clients reach the embedded server, empty
// when it does not listen.
func (s *Store) ListenURL() string {
	if s.ns == nil || s.ns.Addr() == nil {
		return ""
	}
	return s.ns.ClientURL()
}
