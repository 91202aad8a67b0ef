package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/projections"
)

// mustRunReadOnly serves a directory read-only, as an auditor would a
// replay.
func mustRunReadOnly(t testing.TB, dir string) *testMain {
	t.Helper()
	m := &testMain{Main: &Main{Config: Config{DataDir: dir, Listen: "127.0.0.1:0", Sync: "always",
		AdminToken: testAdminToken, ReadOnly: true}}}
	if err := m.Run(t.Context()); err != nil {
		t.Fatalf("run read-only on %s: %v", dir, err)
	}
	t.Cleanup(func() { m.Close() })
	m.c = newClient("http://" + m.HTTP.Addr())
	t.Cleanup(m.c.hc.CloseIdleConnections)
	waitReady(t, m.c)
	return m
}

// A replay to an instant copies the log up to it and builds read models
// there; served read-only, it answers every read as the live server did at
// that instant, its chain verifies, its tokens of the time work, and it
// refuses every change.
func TestReplayToAnInstant(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	m := mustRun(t, dir)
	var ids []string
	for i := range 8 {
		ind, _ := mustCreate(t, m.c, map[string]any{"first_name": fmt.Sprint("R", i), "last_name": "Replay",
			"email": fmt.Sprintf("r%d@example.test", i)})
		ids = append(ids, ind.ID)
	}
	_, auditorTok := mustServiceUser(t, m.c, "auditor", "auditor", time.Hour)
	r := m.c.do(t, "PATCH", "/api/v1/individuals/"+ids[2], map[string]any{"status": "inactive"})
	requireStatus(t, r, http.StatusOK)
	token := r.header.Get("X-Consistency-Token")
	paths := []string{"/api/v1/individuals?limit=100", "/api/v1/individuals?status=inactive",
		"/api/v1/individuals/" + ids[2], "/api/v1/individuals/" + ids[5] + "/history"}
	then := readAll(t, m.c, paths, "X-Consistency-Token", token)
	thenAudit := export(t, m.c, "ndjson", "", "X-Consistency-Token", token).body
	at := time.Now()
	// After the instant: changes the replay must not show.
	for _, id := range ids[4:] {
		requireStatus(t, m.c.do(t, "DELETE", "/api/v1/individuals/"+id, nil), http.StatusOK)
	}
	requireStatus(t, m.c.do(t, "PATCH", "/api/v1/individuals/"+ids[2], map[string]any{"status": "active"}), http.StatusOK)
	head := lastSeq(t, m)

	out := filepath.Join(t.TempDir(), "replay")
	var stderr bytes.Buffer
	err := run(t.Context(), []string{"replay", "--data-dir", dir, "--to", at.Format(time.RFC3339Nano), "--out", out}, &bytes.Buffer{}, &stderr)
	if !errors.Is(err, projections.ErrLocked) {
		t.Fatalf("replay beside a running server: %v, want %v", err, projections.ErrLocked)
	}
	mustClose(t, m)
	stderr.Reset()
	if err := run(t.Context(), []string{"replay", "--data-dir", dir, "--to", at.Format(time.RFC3339Nano), "--out", out},
		&bytes.Buffer{}, &stderr); err != nil {
		t.Fatalf("replay: %v\n%s", err, stderr.String())
	}
	for _, want := range []string{"copying the log", "building read models", "[##############################]", "replayed ", "serve --read-only"} {
		if !strings.Contains(stderr.String(), want) {
			t.Fatalf("replay output lacks %q:\n%s", want, stderr.String())
		}
	}
	var info replayInfo
	b, err := os.ReadFile(filepath.Join(out, "replay.json"))
	if err != nil || json.Unmarshal(b, &info) != nil {
		t.Fatalf("replay.json: %s, %v", b, err)
	}
	requireEqual(t, "replayed position", fmt.Sprint(info.Position), token)
	requireEqual(t, "source head", info.SourceHead, head)

	rm := mustRunReadOnly(t, out)
	requireEqual(t, "events in the replay", fmt.Sprint(lastSeq(t, rm)), token)
	rep, err := rm.Store.Verify(t.Context(), nil)
	if err != nil || rep.Break != nil {
		t.Fatalf("verify the replay: %+v, %v", rep, err)
	}
	requireSameReads(t, "the replay", readAll(t, rm.c, paths), then)
	requireEqual(t, "the replay's audit log", string(export(t, rm.c, "ndjson", "").body), string(thenAudit))
	// A token of that time works there.
	requireStatus(t, as(rm.c, auditorTok.Token).do(t, "GET", "/api/v1/audit-logs", nil), http.StatusOK)
	// Nothing can change it, on any face; nothing is appended.
	requireNativeError(t, rm.c.do(t, "POST", "/api/v1/individuals", newIndividual("No", "Way", "no@example.test")),
		http.StatusForbidden, "FORBIDDEN", "read-only")
	requireNativeError(t, rm.c.do(t, "DELETE", "/api/v1/individuals/"+ids[0], nil), http.StatusForbidden, "FORBIDDEN", "")
	r = rm.c.do(t, "POST", nevisPath+"/default/users", userBody("x", "X", "Y", "x@example.test"))
	requireEqual(t, "nevisIDM create on a replay", r.status, http.StatusForbidden)
	requireNativeError(t, as(rm.c, "pcat_unknown").do(t, "GET", "/api/v1/individuals", nil), http.StatusUnauthorized, "UNAUTHORIZED", "")
	mustClose(t, rm)
	rm = mustRunReadOnly(t, out)
	requireEqual(t, "events after refused changes and a restart", fmt.Sprint(lastSeq(t, rm)), token)
	mustClose(t, rm)

	// By position; and what a replay refuses.
	out2 := filepath.Join(t.TempDir(), "by-position")
	stderr.Reset()
	if err := run(t.Context(), []string{"replay", "--data-dir", dir, "--to", "5", "--out", out2}, &bytes.Buffer{}, &stderr); err != nil {
		t.Fatalf("replay to position 5: %v\n%s", err, stderr.String())
	}
	rm = mustRunReadOnly(t, out2)
	requireEqual(t, "events in a replay to 5", lastSeq(t, rm), uint64(5))
	mustClose(t, rm)
	for _, args := range [][]string{
		{"--to", "yesterday", "--out", t.TempDir()},
		{"--to", "0", "--out", t.TempDir()},
		{"--out", t.TempDir()},
		{"--to", "5"},
		{"--to", "5", "--out", out2}, // not empty
	} {
		if err := run(t.Context(), append([]string{"replay", "--data-dir", dir}, args...), &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
			t.Fatalf("replay %v succeeded", args)
		}
	}
}
