package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/portcullis/portcullis/domain"
	"github.com/portcullis/portcullis/eventstore"
	"github.com/portcullis/portcullis/eventstore/storetest"
)

// Tamper evidence end to end: the verify and checkpoint endpoints on a live
// server, and `portcullis audit verify` on copies of a stopped server's
// data directory whose message blocks were changed (storetest/tamper.go
// says how, and why the block checksums are resealed).

type chainVerify struct {
	Intact       bool    `json:"intact"`
	Checked      uint64  `json:"checked"`
	NotCovered   uint64  `json:"not_covered"`
	FirstChained *uint64 `json:"first_chained"`
	HeadSequence uint64  `json:"head_sequence"`
	HeadHash     *string `json:"head_hash"`
	Checkpoint   *struct {
		Sequence uint64 `json:"sequence"`
		Hash     string `json:"hash"`
		Time     string `json:"time"`
		Held     bool   `json:"held"`
	} `json:"checkpoint"`
	Break *struct {
		Sequence uint64 `json:"sequence"`
		Subject  string `json:"subject"`
		EventID  string `json:"event_id"`
		Kind     string `json:"kind"`
		Detail   string `json:"detail"`
	} `json:"break"`
	ElapsedMS int64 `json:"elapsed_ms"`
}

type signedCheckpoint struct {
	eventstore.Checkpoint
	PublicKeyPEM string `json:"public_key_pem"`
}

func verifyChain(t testing.TB, c *client, cp *eventstore.Checkpoint) chainVerify {
	t.Helper()
	path := "/api/v1/audit-logs/verify"
	if cp != nil {
		b, _ := json.Marshal(cp)
		path += "?checkpoint=" + url.QueryEscape(string(b))
	}
	r := c.do(t, "GET", path, nil)
	requireStatus(t, r, 200)
	return decode[struct {
		Msg  string      `json:"msg"`
		Data chainVerify `json:"data"`
	}](t, r).Data
}

func signCheckpoint(t testing.TB, c *client) signedCheckpoint {
	t.Helper()
	r := c.do(t, "GET", "/api/v1/audit-logs/checkpoint", nil)
	requireStatus(t, r, 200)
	return decode[struct {
		Msg  string           `json:"msg"`
		Data signedCheckpoint `json:"data"`
	}](t, r).Data
}

func TestChainEndpoints(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	for i := range 4 {
		mustCreate(t, m.c, newIndividual("Ada", fmt.Sprintf("Chain%d", i), ""))
	}
	last := lastSeq(t, m)
	v := verifyChain(t, m.c, nil)
	if !v.Intact || v.Break != nil || v.Checked != last || v.HeadSequence != last || v.NotCovered != 0 ||
		v.FirstChained == nil || *v.FirstChained != 1 || v.HeadHash == nil {
		t.Fatalf("verify of a clean log = %+v, want intact with %d events chained from 1", v, last)
	}

	cp := signCheckpoint(t, m.c)
	if cp.Sequence != last || cp.Hash != *v.HeadHash {
		t.Fatalf("checkpoint at %d %s, want the head %d %s", cp.Sequence, cp.Hash, last, *v.HeadHash)
	}
	// The key is published beside the data and in the answer; the
	// signature verifies with it, and the checkpoint is in the file.
	pub, err := readPublicKey(filepath.Join(m.Config.DataDir, "keys", checkpointPubFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := cp.Check(pub); err != nil {
		t.Fatalf("checkpoint does not verify with %s: %v", checkpointPubFile, err)
	}
	if pem, _ := os.ReadFile(filepath.Join(m.Config.DataDir, "keys", checkpointPubFile)); string(pem) != cp.PublicKeyPEM {
		t.Fatalf("public_key_pem differs from %s", checkpointPubFile)
	}
	inFile, err := eventstore.ReadCheckpoints(filepath.Join(m.Config.DataDir, checkpointsFile))
	if err != nil || len(inFile) == 0 || inFile[len(inFile)-1] != cp.Checkpoint {
		t.Fatalf("checkpoint file holds %+v (%v), want the checkpoint last", inFile, err)
	}

	mustCreate(t, m.c, newIndividual("Ada", "After", ""))
	v = verifyChain(t, m.c, &cp.Checkpoint)
	if !v.Intact || v.Checkpoint == nil || !v.Checkpoint.Held || v.Checkpoint.Sequence != last || v.HeadSequence <= last {
		t.Fatalf("verify against the checkpoint = %+v, want it held and the log beyond it", v)
	}
	forged := cp.Checkpoint
	forged.Sequence--
	b, _ := json.Marshal(forged)
	requireNativeError(t, m.c.do(t, "GET", "/api/v1/audit-logs/verify?checkpoint="+url.QueryEscape(string(b)), nil),
		400, "BAD_REQUEST", "checkpoint")
	requireNativeError(t, m.c.do(t, "GET", "/api/v1/audit-logs/verify?checkpoint=%7Bnot", nil), 400, "BAD_REQUEST", "checkpoint")
	requireNativeError(t, m.c.do(t, "GET", "/api/v1/audit-logs/verify?page=2", nil), 400, "BAD_REQUEST", "page")

	// The command line does not start a second server on a directory a
	// running one holds.
	if out, err := auditVerify(t, "--data-dir", m.Config.DataDir); err == nil || !strings.Contains(err.Error(), "stop the server first") {
		t.Fatalf("audit verify beside a running server: %v\n%s", err, out)
	}
}

// auditVerify runs `portcullis audit verify` with args and returns its
// output and error.
func auditVerify(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), append([]string{"audit", "verify"}, args...), &out, &errOut)
	return out.String() + errOut.String(), err
}

func requireBroken(t *testing.T, out string, err error, want string) {
	t.Helper()
	if !errors.Is(err, errChainBroken) {
		t.Fatalf("audit verify: err = %v, want the chain reported broken; output:\n%s", err, out)
	}
	if !strings.Contains(out, want) {
		t.Fatalf("audit verify output does not say %q:\n%s", want, out)
	}
}

func TestAuditVerifyTamperedCopies(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	m := mustRun(t, dir)
	var ids []string
	for i := range 6 {
		ind, _ := mustCreate(t, m.c, newIndividual("Ada", fmt.Sprintf("Tamperme%d", i), ""))
		ids = append(ids, ind.ID)
	}
	// The event to tamper with: the creation of the third individual.
	events, _, err := m.Store.Load(context.Background(), domain.DefaultTenant, domain.Ref{Type: domain.AggregateIndividual, ID: ids[2]})
	if err != nil || len(events) == 0 {
		t.Fatalf("load individual: %v", err)
	}
	target := events[0]
	cp := signCheckpoint(t, m.c)
	last := lastSeq(t, m)
	if cp.Sequence != last {
		t.Fatalf("checkpoint at %d, log at %d", cp.Sequence, last)
	}
	// The auditor keeps the checkpoint outside the data directory.
	kept := filepath.Join(t.TempDir(), "checkpoint.json")
	b, _ := json.Marshal(cp)
	if err := os.WriteFile(kept, b, 0o600); err != nil {
		t.Fatal(err)
	}
	mustClose(t, m)

	out, err := auditVerify(t, "--data-dir", dir)
	if err != nil || !strings.Contains(out, "intact") || !strings.Contains(out, fmt.Sprintf("%d %s signed", last, cp.Hash)) {
		t.Fatalf("audit verify of the untouched log: %v\n%s", err, out)
	}

	t.Run("altered", func(t *testing.T) {
		copied := storetest.CopyDir(t, dir)
		storetest.AlterEvent(t, copied, target.Sequence, func(body []byte) {
			i := bytes.Index(body, []byte("Tamperme2"))
			body[i] = 't'
		})
		out, err := auditVerify(t, "--data-dir", copied)
		requireBroken(t, out, err, fmt.Sprintf("BROKEN at %d (altered): event %s on pc.ev.default.individual.%s",
			target.Sequence, target.ID, ids[2]))
		// The server starts on the altered copy and its endpoint says the
		// same.
		mc := mustRun(t, copied)
		v := verifyChain(t, mc.c, nil)
		if v.Intact || v.Break == nil || v.Break.Sequence != target.Sequence || v.Break.Kind != "altered" || v.Break.EventID != target.ID {
			t.Fatalf("verify endpoint on the altered copy = %+v (break %+v), want altered at %d (%s)", v, v.Break, target.Sequence, target.ID)
		}
	})
	t.Run("removed", func(t *testing.T) {
		copied := storetest.CopyDir(t, dir)
		storetest.RemoveEvent(t, copied, target.Sequence)
		out, err := auditVerify(t, "--data-dir", copied)
		requireBroken(t, out, err, fmt.Sprintf("BROKEN at %d (missing)", target.Sequence))
	})
	t.Run("truncated", func(t *testing.T) {
		copied := storetest.CopyDir(t, dir)
		storetest.TruncateAfter(t, copied, last-3)
		// The checkpoint file in the data directory still names the head.
		out, err := auditVerify(t, "--data-dir", copied)
		requireBroken(t, out, err, fmt.Sprintf("BROKEN at %d (truncated)", last-2))
		// An attacker removes that file too; the checkpoint kept elsewhere
		// still finds it. Without any checkpoint, a prefix of a chain is a
		// chain.
		if err := os.Remove(filepath.Join(copied, checkpointsFile)); err != nil {
			t.Fatal(err)
		}
		out, err = auditVerify(t, "--data-dir", copied, "--checkpoint", kept)
		requireBroken(t, out, err, fmt.Sprintf("BROKEN at %d (truncated)", last-2))
		if out, err := auditVerify(t, "--data-dir", copied); err != nil || !strings.Contains(out, "intact") {
			t.Fatalf("truncated log without a checkpoint: %v\n%s", err, out)
		}
		// The endpoint with the kept checkpoint, on a server started on
		// the truncated copy.
		mc := mustRun(t, copied)
		v := verifyChain(t, mc.c, &cp.Checkpoint)
		if v.Intact || v.Break == nil || v.Break.Kind != "truncated" || v.Break.Sequence != last-2 || v.Checkpoint.Held {
			t.Fatalf("verify endpoint on the truncated copy = %+v (break %+v), want truncated at %d", v, v.Break, last-2)
		}
	})
}

// TestChainUnderConcurrentCommands drives the real server with many clients
// at once, some contending for the same individuals, some creating new
// ones, so that the writer groups, splits and retries; afterwards every
// acknowledged command is in the log exactly once, at a position of its
// own, and the chain verifies whole.
func TestChainUnderConcurrentCommands(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	var shared []string
	for i := range 3 {
		ind, _ := mustCreate(t, m.c, newIndividual("Shared", fmt.Sprintf("S%d", i), ""))
		shared = append(shared, ind.ID)
	}
	const clients, each = 24, 5
	type done struct {
		target string // the shared individual updated, "" for a creation
		token  string
	}
	results := make(chan done, clients*each)
	var wg sync.WaitGroup
	for w := range clients {
		wg.Go(func() {
			for i := range each {
				// try, not do: a goroutine must not end the test.
				var r response
				var err error
				target := ""
				if w%2 == 0 {
					r, err = m.c.try("POST", "/api/v1/individuals",
						newIndividual("New", fmt.Sprintf("N%d-%d", w, i), fmt.Sprintf("n%d-%d@example.com", w, i)))
					if err == nil && r.status != 201 {
						err = fmt.Errorf("create: %d %s", r.status, r.body)
					}
				} else {
					target = shared[(w+i)%len(shared)]
					r, err = m.c.try("PATCH", "/api/v1/individuals/"+target, map[string]any{"department": fmt.Sprintf("D%d-%d", w, i)})
					if err == nil && r.status != 200 {
						err = fmt.Errorf("update: %d %s", r.status, r.body)
					}
				}
				if err != nil {
					t.Error(err)
					return
				}
				results <- done{target, r.header.Get("X-Consistency-Token")}
			}
		})
	}
	wg.Wait()
	close(results)
	if t.Failed() {
		return
	}
	tokens := map[string]bool{}
	updates := map[string]int{}
	var last string
	for d := range results {
		if tokens[d.token] {
			t.Fatalf("two commands were told position %s", d.token)
		}
		tokens[d.token] = true
		if d.target != "" {
			updates[d.target]++
		}
		last = maxToken(last, d.token)
	}
	for _, id := range shared {
		if got := countEvents(mustHistory(t, m.c, id, last), "individual.updated"); got != updates[id] {
			t.Fatalf("individual %s has %d updates in its history, %d were acknowledged", id, got, updates[id])
		}
	}
	r := m.c.do(t, "GET", "/api/v1/individuals?limit=1&search=New", nil, "X-Consistency-Token", last)
	requireStatus(t, r, 200)
	if got := decode[list[individual]](t, r).Meta.Pagination.TotalItems; got != clients/2*each {
		t.Fatalf("%d created individuals listed, %d creations were acknowledged", got, clients/2*each)
	}
	v := verifyChain(t, m.c, nil)
	if n := lastSeq(t, m); !v.Intact || v.Checked != n || v.HeadSequence != n {
		t.Fatalf("verify after concurrent commands = %+v (break %+v), want %d events intact", v, v.Break, n)
	}
}
