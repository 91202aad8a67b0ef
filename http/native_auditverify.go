package http

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/portcullis/portcullis/domain"
	"github.com/portcullis/portcullis/eventstore"
)

// Tamper evidence on the native face: GET /audit-logs/verify walks the
// log's hash chain (optionally against a checkpoint the auditor kept) and
// GET /audit-logs/checkpoint signs its head. docs/audit.md says what they
// prove.

// errNoChain answers where the server was built without a checkpointer.
var errNoChain = domain.Errorf(domain.CodeUnavailable, "this server does not verify the event log")

func (s *Server) registerChainRoutes(r *mux.Router) {
	r.HandleFunc("/audit-logs/verify", s.native("audit-logs:read", s.handleChainVerify)).Methods("GET")
	r.HandleFunc("/audit-logs/checkpoint", s.nativeNow("audit-logs:read",
		"a checkpoint signs the chain's head now; verify as of an instant with GET /audit-logs/verify?as_of=",
		s.handleChainCheckpoint)).Methods("GET")
}

// chainVerifyJSON is the outcome of a verification.
type chainVerifyJSON struct {
	Intact       bool                        `json:"intact"`
	Checked      uint64                      `json:"checked"`
	NotCovered   uint64                      `json:"not_covered"`
	FirstChained *uint64                     `json:"first_chained"`
	HeadSequence uint64                      `json:"head_sequence"`
	HeadHash     *string                     `json:"head_hash"`
	Checkpoint   *eventstore.CheckpointCheck `json:"checkpoint"`
	Break        *eventstore.ChainBreak      `json:"break"`
	ElapsedMS    int64                       `json:"elapsed_ms"`
}

// checkpointJSON is a signed checkpoint with the key it verifies with.
type checkpointJSON struct {
	eventstore.Checkpoint
	PublicKeyPEM string `json:"public_key_pem"`
}

func (s *Server) handleChainVerify(w http.ResponseWriter, r *http.Request) error {
	if s.checkpoints == nil {
		return errNoChain
	}
	q := r.URL.Query()
	for k, v := range q {
		if !slices.Contains([]string{"checkpoint", "consistency_token"}, k) {
			return domain.Invalid(k, "unknown query parameter (allowed: checkpoint, consistency_token)")
		}
		if len(v) > 1 {
			return domain.Invalid(k, "given more than once")
		}
	}
	var cp *eventstore.Checkpoint
	if v := q.Get("checkpoint"); v != "" {
		var c eventstore.Checkpoint
		dec := json.NewDecoder(strings.NewReader(v))
		if err := dec.Decode(&c); err != nil {
			return domain.Invalid("checkpoint", "must be a checkpoint as GET /audit-logs/checkpoint answers it (JSON): %v", err)
		}
		if err := c.Check(s.checkpoints.PublicKey()); err != nil {
			return domain.Invalid("checkpoint", "is not signed by this server's checkpoint key %s, or was changed after signing",
				eventstore.KeyID(s.checkpoints.PublicKey()))
		}
		cp = &c
	}
	var rep eventstore.ChainReport
	var err error
	if pos, past, _ := s.asOf(w, r); past {
		// As of an instant: the chain up to the position it maps to; a
		// checkpoint signed later than that is refused, not ignored.
		if cp != nil && cp.Sequence > pos {
			return domain.Invalid("checkpoint", "covers position %d, after as_of (position %d)", cp.Sequence, pos)
		}
		rep, err = s.checkpoints.VerifyTo(r.Context(), cp, max(pos, 1))
	} else {
		rep, err = s.checkpoints.Verify(r.Context(), cp)
	}
	if err != nil {
		return err
	}
	out := chainVerifyJSON{Intact: rep.Break == nil, Checked: rep.Checked, NotCovered: rep.NotCovered,
		HeadSequence: rep.HeadSequence, Checkpoint: rep.Checkpoint, Break: rep.Break, ElapsedMS: rep.Elapsed.Milliseconds()}
	if rep.FirstChained > 0 {
		out.FirstChained = &rep.FirstChained
	}
	if rep.HeadHash != "" {
		out.HeadHash = &rep.HeadHash
	}
	msg := "the event log's hash chain is intact"
	if b := rep.Break; b != nil {
		// The chain spans every tenant; a break in another tenant's record
		// is reported by position only, never by its subject or id.
		if p := caller(r.Context()); !p.SystemAdmin && !strings.HasPrefix(b.Subject, eventstore.SubjectPrefix+"."+p.Tenant+".") {
			redacted := *b
			redacted.Subject, redacted.EventID = "", ""
			out.Break = &redacted
		}
		msg = fmt.Sprintf("the event log's hash chain is broken at position %d (%s)", b.Sequence, b.Kind)
	}
	writeJSON(w, http.StatusOK, nativeItem{Msg: msg, Data: out})
	return nil
}

func (s *Server) handleChainCheckpoint(w http.ResponseWriter, r *http.Request) error {
	if s.checkpoints == nil {
		return errNoChain
	}
	for k := range r.URL.Query() {
		if k != "consistency_token" {
			return domain.Invalid(k, "unknown query parameter (allowed: consistency_token)")
		}
	}
	cp, err := s.checkpoints.Sign(r.Context(), time.Now())
	if errors.Is(err, eventstore.ErrChainBroken) {
		return domain.Errorf(domain.CodeConflict, "no checkpoint is signed over a broken log (GET /audit-logs/verify names the break): %v", err)
	}
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKIXPublicKey(s.checkpoints.PublicKey())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, nativeItem{Msg: "the event log's head, signed", Data: checkpointJSON{
		Checkpoint: cp, PublicKeyPEM: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))}})
	return nil
}
