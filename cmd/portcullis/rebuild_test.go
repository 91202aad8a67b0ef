package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/projections"
)

// capture is what a set of reads answered, byte for byte, by path.
type capture map[string]string

// captureReads reads every list page and history a scenario produced, and
// the extra paths other scenarios name.
func captureReads(t testing.TB, c *client, ids []string, extra ...string) capture {
	t.Helper()
	paths := []string{
		"/api/v1/tenants",
		"/api/v1/individuals",
		"/api/v1/individuals?limit=4&page=1",
		"/api/v1/individuals?limit=4&page=2",
		"/api/v1/individuals?limit=4&page=3",
		"/api/v1/individuals?limit=4&page=9",
		"/api/v1/individuals?limit=100&order=first_name.desc",
		"/api/v1/individuals?limit=3&page=2&order=created_at.desc",
		"/api/v1/individuals?limit=100&order=updated_at.desc,last_name.asc",
		"/api/v1/individuals?limit=100&order=email.asc",
		"/api/v1/individuals?status=inactive",
		"/api/v1/individuals?search=rebuild&status=active&limit=100",
	}
	paths = append(paths, extra...)
	for _, id := range ids {
		paths = append(paths, "/api/v1/individuals/"+id, "/api/v1/individuals/"+id+"/history?limit=100",
			"/api/v1/individuals/"+id+"/history?limit=2&page=2")
	}
	out := capture{}
	for _, p := range paths {
		r := c.do(t, "GET", p, nil)
		if r.status != http.StatusOK && r.status != http.StatusNotFound {
			t.Fatalf("GET %s: got %d: %s", p, r.status, clip(r.body))
		}
		// The request id differs per request; everything else must not.
		body := bytes.ReplaceAll(r.body, []byte(r.header.Get("X-Request-Id")), []byte("<req_id>"))
		out[p] = fmt.Sprintf("%d ETag=%s\n%s", r.status, r.header.Get("ETag"), body)
	}
	return out
}

// requireSameReads fails unless two captures are identical.
func requireSameReads(t testing.TB, what string, got, want capture) {
	t.Helper()
	requireEqual(t, what+": number of reads", len(got), len(want))
	for p, w := range want {
		if g := got[p]; g != w {
			t.Fatalf("%s: GET %s differs\n got %s\nwant %s", what, p, g, w)
		}
	}
}

// Read models are derived from the log alone: dropping them, or rebuilding
// them with the rebuild command, answers every read exactly as before.
func TestRebuildAnswersTheSameReads(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	m := mustRun(t, dir)

	// A scenario of creates, updates and deletes.
	var ids []string
	for i := range 12 {
		body := map[string]any{"first_name": fmt.Sprintf("Rebuild%02d", (i*7)%12), "last_name": fmt.Sprintf("Case%d", i%4),
			"email": fmt.Sprintf("rebuild-%d@example.test", i), "department": fmt.Sprintf("dept-%d", i%3)}
		if i%4 == 0 {
			body["ext_id"] = fmt.Sprintf("EXT-%d", i)
		}
		if i%5 == 0 {
			body["mobile_phone"] = "+41 44 000 00 0" + fmt.Sprint(i%10)
		}
		ind, _ := mustCreate(t, m.c, body)
		ids = append(ids, ind.ID)
	}
	patches := []struct {
		i     int
		patch map[string]any
	}{
		{1, map[string]any{"status": "inactive"}},
		{2, map[string]any{"email": "moved-2@example.test", "department": nil}},
		{3, map[string]any{"first_name": "Zed", "last_name": "Last"}},
		{1, map[string]any{"status": "suspended", "mobile_phone": "+1 555 0100"}},
		{5, map[string]any{"status": "inactive", "email": nil}},
		{6, map[string]any{"email": "rebuild-2@example.test"}}, // the address 2 gave up
		{7, map[string]any{"department": "dept-0"}},
	}
	for _, p := range patches {
		requireStatus(t, m.c.do(t, "PATCH", "/api/v1/individuals/"+ids[p.i], p.patch), http.StatusOK)
	}
	for _, i := range []int{0, 4, 9} {
		requireStatus(t, m.c.do(t, "DELETE", "/api/v1/individuals/"+ids[i], nil), http.StatusOK)
	}
	// An individual with a freed ext_id and email of a deleted one.
	mustCreate(t, m.c, map[string]any{"first_name": "Again", "last_name": "Case0", "ext_id": "EXT-0",
		"email": "rebuild-0@example.test"})
	placePaths := placesScenario(t, m.c)
	placePaths = append(placePaths, viewsScenario(t, m.c)...)
	r := m.c.do(t, "PATCH", "/api/v1/individuals/"+ids[8], map[string]any{"status": "inactive"})
	requireStatus(t, r, http.StatusOK)
	waitFor := r.header.Get("X-Consistency-Token")
	requireStatus(t, m.c.do(t, "GET", "/api/v1/individuals?consistency_token="+waitFor, nil), http.StatusOK)
	want := captureReads(t, m.c, ids, placePaths...)
	if !strings.Contains(want["/api/v1/individuals/"+ids[0]], "404") {
		t.Fatalf("a deleted individual should read as 404: %s", want["/api/v1/individuals/"+ids[0]])
	}

	// While the server holds the data directory, rebuild refuses and
	// changes nothing.
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"rebuild", "--data-dir", dir}, &bytes.Buffer{}, &stderr)
	if !errors.Is(err, projections.ErrLocked) {
		t.Fatalf("rebuild beside a running server: got %v, want %v (stderr %s)", err, projections.ErrLocked, stderr.String())
	}
	requireSameReads(t, "after a refused rebuild", captureReads(t, m.c, ids, placePaths...), want)
	mustClose(t, m)

	// Without the read-model file, a start replays the log.
	if err := os.Remove(filepath.Join(dir, "readmodels.db")); err != nil {
		t.Fatal(err)
	}
	m = mustRun(t, dir)
	requireSameReads(t, "after a start without read models", captureReads(t, m.c, ids, placePaths...), want)
	mustClose(t, m)

	// The rebuild command on a stopped server's directory.
	stderr.Reset()
	if err := run(context.Background(), []string{"rebuild", "--data-dir", dir}, &bytes.Buffer{}, &stderr); err != nil {
		t.Fatalf("rebuild: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "rebuilt") {
		t.Fatalf("rebuild output: got %q, want a summary", stderr.String())
	}
	m = mustRun(t, dir)
	requireSameReads(t, "after the rebuild command", captureReads(t, m.c, ids, placePaths...), want)
}
