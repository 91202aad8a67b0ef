package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

// captureCredentialReads reads every credential list, stat, suggestion,
// view and history a scenario produced, byte for byte.
func captureCredentialReads(t testing.TB, c *client, credentials, people, doors []string) capture {
	t.Helper()
	paths := []string{
		"/api/v1/access-credentials?limit=100",
		"/api/v1/access-credentials?limit=4&page=2",
		"/api/v1/access-credentials?limit=4&page=9",
		"/api/v1/access-credentials?order=created_at.desc&limit=3&page=2",
		"/api/v1/access-credentials?order=credential_id.desc,updated_at.asc&limit=100",
		"/api/v1/access-credentials?order=due_date.asc&limit=100",
		"/api/v1/access-credentials?status=lost",
		"/api/v1/access-credentials?type=card&status=active",
		"/api/v1/access-credentials?status_assignment=assigned",
		"/api/v1/access-credentials?assigned_to=" + people[0],
		"/api/v1/access-credentials?search=rb-00",
		"/api/v1/access-credentials/reserved",
		"/api/v1/access-credentials/assignments?limit=100",
		"/api/v1/access-credentials/assignments?overdue=true",
		"/api/v1/access-credentials/assignments?individual_id=" + people[1],
		"/api/v1/access-credentials/stats",
		"/api/v1/stats/credentials",
		"/api/v1/access-credentials/suggest-id",
		"/api/v1/access-credentials?access_point_id=" + doors[0],
		"/api/v1/access-credentials?access_point_id=" + doors[1] + "&status=active&order=credential_id.asc",
	}
	for _, id := range doors {
		paths = append(paths, "/api/v1/access-points/"+id, "/api/v1/access-points/"+id+"/history?limit=100")
	}
	for _, id := range credentials {
		paths = append(paths, "/api/v1/access-credentials/"+id, "/api/v1/access-credentials/"+id+"/history?limit=100")
	}
	for _, id := range people {
		paths = append(paths, "/api/v1/individuals/"+id, "/api/v1/individuals/"+id+"/history?limit=100")
	}
	out := capture{}
	for _, p := range paths {
		r := c.do(t, "GET", p, nil)
		if r.status != http.StatusOK && r.status != http.StatusNotFound {
			t.Fatalf("GET %s: got %d: %s", p, r.status, clip(r.body))
		}
		body := bytes.ReplaceAll(r.body, []byte(r.header.Get("X-Request-Id")), []byte("<req_id>"))
		out[p] = fmt.Sprintf("%d ETag=%s\n%s", r.status, r.header.Get("ETag"), body)
	}
	return out
}

// The credential read models (records, every index, the counters behind
// the stats and the suggestion, histories) are derived from the log alone:
// a start without them and the rebuild command answer every read as before.
func TestRebuildAnswersTheSameCredentialReads(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	m := mustRun(t, dir)
	ada, _ := mustCreate(t, m.c, newIndividual("Ada", "Rebuild", "ada@rebuild.test"))
	bob, _ := mustCreate(t, m.c, newIndividual("Bob", "Rebuild", "bob@rebuild.test"))
	types := []string{"mechanical_key", "card", "fob", "mobile", "pin"}
	var ids []string
	for i := range 14 {
		b := map[string]any{"credential_id": fmt.Sprintf("RB-%03d", i*2), "type": types[i%5], "credential_name": fmt.Sprintf("Rebuild %d", (i*5)%14)}
		if i%5 == 3 {
			b["valid_until"] = "2020-02-02T00:00:00Z"
		}
		if i%5 == 2 {
			b["valid_from"], b["counter"], b["delete_protected"] = "2024-01-01T08:00:00+02:00", i, true
		}
		cr, _ := mustAccessCredential(t, m.c, b)
		ids = append(ids, cr.ID)
	}
	patch := func(i int, body map[string]any) {
		requireStatus(t, m.c.do(t, "PATCH", "/api/v1/access-credentials/"+ids[i], body), http.StatusOK)
	}
	call := func(path string, body map[string]any) { credentialCall(t, m.c, path, body) }
	patch(2, map[string]any{"status": "lost"})
	patch(4, map[string]any{"credential_name": "Renamed", "status": "disabled", "type": "card"})
	patch(6, map[string]any{"credential_id": "RB-099"})
	call("assign", map[string]any{"credential_ids": []string{ids[0], ids[5]}, "individual_id": ada.ID,
		"due_date": "2099-01-01T00:00:00Z", "due_reason": "rebuild", "metadata": map[string]any{"condition": "new"}})
	call("assign", map[string]any{"credential_ids": []string{ids[7]}, "individual_id": ada.ID, "due_date": "2021-01-01T00:00:00Z"})
	call("assign", map[string]any{"credential_ids": []string{ids[9], ids[10]}, "individual_id": bob.ID,
		"confirmation": map[string]any{"type": "digital", "destination": "bob@rebuild.test"}})
	call("confirm", map[string]any{"credential_ids": []string{ids[10]}})
	call("assign", map[string]any{"credential_ids": []string{ids[11]}, "individual_id": bob.ID})
	call("return", map[string]any{"credential_ids": []string{ids[11], ids[5]}, "metadata": map[string]any{"notes": "back"}})
	requireStatus(t, m.c.do(t, "DELETE", "/api/v1/access-credentials/"+ids[13], nil), http.StatusOK)
	aps := accessPointsFor(t, m.c, 2)
	doors := []string{aps[0].ID, aps[1].ID}
	requireStatus(t, m.c.do(t, "POST", "/api/v1/access-credentials/"+ids[0]+"/access-points",
		map[string]any{"access_point_ids": doors}), http.StatusOK)
	requireStatus(t, m.c.do(t, "POST", "/api/v1/access-points/"+doors[1]+"/access-credentials",
		map[string]any{"credential_ids": []string{ids[3], ids[4], ids[1]}}), http.StatusOK)
	requireStatus(t, m.c.do(t, "DELETE", "/api/v1/access-points/"+doors[1]+"/access-credentials",
		map[string]any{"credential_ids": []string{ids[3]}}), http.StatusOK)
	r := m.c.do(t, "DELETE", "/api/v1/access-credentials/"+ids[1], nil)
	requireStatus(t, r, http.StatusOK)
	requireStatus(t, m.c.do(t, "GET", "/api/v1/access-credentials?consistency_token="+r.header.Get("X-Consistency-Token"), nil), http.StatusOK)
	people := []string{ada.ID, bob.ID}
	want := captureCredentialReads(t, m.c, ids, people, doors)
	mustClose(t, m)

	if err := os.Remove(filepath.Join(dir, "readmodels.db")); err != nil {
		t.Fatal(err)
	}
	m = mustRun(t, dir)
	requireSameReads(t, "after a start without read models", captureCredentialReads(t, m.c, ids, people, doors), want)
	mustClose(t, m)

	var stderr bytes.Buffer
	if err := run(context.Background(), []string{"rebuild", "--data-dir", dir}, &bytes.Buffer{}, &stderr); err != nil {
		t.Fatalf("rebuild: %v\n%s", err, stderr.String())
	}
	m = mustRun(t, dir)
	requireSameReads(t, "after the rebuild command", captureCredentialReads(t, m.c, ids, people, doors), want)
}
