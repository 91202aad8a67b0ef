package main

import (
	"net/http"
	"slices"
	"testing"
)

// accessPointsFor makes a building with one space and locking system and
// n access points in it.
func accessPointsFor(t testing.TB, c *client, n int) []accessPoint {
	t.Helper()
	b := mustBuilding(t, c, "Linked")
	sp, _ := mustPost[space](t, c, "/spaces", map[string]any{"name": "Hall", "building_id": b.ID})
	ls, _ := mustPost[lockingSystem](t, c, "/locking-systems", map[string]any{"name": "Keys"})
	var out []accessPoint
	for i := range n {
		ap, _ := mustPost[accessPoint](t, c, "/access-points", map[string]any{"point_name": "Door " + string(rune('A'+i)),
			"space_id": sp.ID, "locking_system_id": ls.ID})
		out = append(out, ap)
	}
	return out
}

// Links from either side land on both sides in one append, so the
// credential's linked_to and the access point's credential_ids agree after
// every step; the list filter by access point follows; deleting a linked
// credential unlinks it everywhere; an access point that keys still open
// cannot be deleted.
func TestCredentialLinksFromBothSides(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	c := m.c
	aps := accessPointsFor(t, c, 3)
	k := mustCredentials(t, c, nil, "L-1", "L-2", "L-3")
	agree := func(tok string, want map[string][]string) { // credential number → access point ids
		t.Helper()
		onAP := map[string][]string{}
		for _, ap := range aps {
			got, _ := mustRead[accessPoint](t, c, "/api/v1/access-points/"+ap.ID, tok)
			requireEqual(t, ap.PointName+" credential_count", got.CredentialCount, len(got.CredentialIDs))
			for _, id := range got.CredentialIDs {
				onAP[id] = append(onAP[id], ap.ID)
			}
		}
		for n, cr := range k {
			got, _ := mustReadCredential(t, c, cr.ID, tok)
			linked := slices.Sorted(slices.Values(got.LinkedTo))
			requireDeepEqual(t, n+" linked_to", linked, slices.Sorted(slices.Values(want[n])))
			requireDeepEqual(t, n+" on the access points", slices.Sorted(slices.Values(onAP[cr.ID])), linked)
			r := c.do(t, "GET", "/api/v1/access-credentials?access_point_id="+aps[0].ID+"&limit=100", nil, "X-Consistency-Token", tok)
			requireStatus(t, r, http.StatusOK)
			listed := slices.ContainsFunc(decode[list[accessCredential]](t, r).Data, func(x accessCredential) bool { return x.ID == cr.ID })
			requireEqual(t, n+" listed under door A", listed, slices.Contains(want[n], aps[0].ID))
		}
	}

	// From the credential's side: two doors in one append (three events).
	before := lastSeq(t, m)
	r := c.do(t, "POST", "/api/v1/access-credentials/"+k["L-1"].ID+"/access-points", map[string]any{"access_point_ids": []string{aps[0].ID, aps[1].ID}})
	requireStatus(t, r, http.StatusOK)
	requireEqual(t, "events of one link request", lastSeq(t, m)-before, uint64(3))
	requireDeepEqual(t, "answer", decode[item[accessCredential]](t, r).Data.LinkedTo, []string{aps[0].ID, aps[1].ID})
	agree(token(r), map[string][]string{"L-1": {aps[0].ID, aps[1].ID}})

	// From the access point's side: two keys, one of them already linked.
	r = c.do(t, "POST", "/api/v1/access-points/"+aps[0].ID+"/access-credentials", map[string]any{"credential_ids": []string{k["L-1"].ID, k["L-2"].ID}})
	requireStatus(t, r, http.StatusOK)
	requireEqual(t, "access point answer", decode[item[accessPoint]](t, r).Data.CredentialCount, 2)
	agree(token(r), map[string][]string{"L-1": {aps[0].ID, aps[1].ID}, "L-2": {aps[0].ID}})

	// Linking what is linked appends nothing.
	before = lastSeq(t, m)
	r = c.do(t, "POST", "/api/v1/access-points/"+aps[1].ID+"/access-credentials", map[string]any{"credential_ids": []string{k["L-1"].ID}})
	requireStatus(t, r, http.StatusOK)
	requireEqual(t, "events of a link that exists", lastSeq(t, m), before)

	// Refusals name the list and append nothing.
	for _, c2 := range []struct {
		method, path string
		body         map[string]any
		status       int
		code, field  string
	}{
		{"POST", "/api/v1/access-points/" + aps[0].ID + "/access-credentials", map[string]any{"credential_ids": []string{"ghost"}}, 404, "NOT_FOUND", "credential_ids"},
		{"DELETE", "/api/v1/access-points/" + aps[2].ID + "/access-credentials", map[string]any{"credential_ids": []string{k["L-1"].ID}}, 400, "BAD_REQUEST", "credential_ids"},
		{"DELETE", "/api/v1/access-credentials/" + k["L-3"].ID + "/access-points", map[string]any{"access_point_ids": []string{aps[0].ID}}, 400, "BAD_REQUEST", "access_point_ids"},
		{"POST", "/api/v1/access-credentials/" + k["L-3"].ID + "/access-points", map[string]any{"access_point_ids": []string{aps[0].ID, "ghost"}}, 404, "NOT_FOUND", "access_point_ids"},
		{"POST", "/api/v1/access-points/ghost/access-credentials", map[string]any{"credential_ids": []string{k["L-3"].ID}}, 404, "NOT_FOUND", "ghost"},
		{"POST", "/api/v1/access-credentials/ghost/access-points", map[string]any{"access_point_ids": []string{aps[0].ID}}, 404, "NOT_FOUND", "ghost"},
		{"POST", "/api/v1/access-points/" + aps[0].ID + "/access-credentials", map[string]any{"credential_ids": []string{k["L-3"].ID}}, 412, "PRECONDITION_FAILED", "If-Match"},
	} {
		var headers []string
		if c2.status == 412 {
			headers = []string{"If-Match", `"1"`}
		}
		r := c.do(t, c2.method, c2.path, c2.body, headers...)
		if err := checkNativeError(r, c2.status, c2.code, c2.field); err != nil {
			t.Fatalf("%s %s: %v", c2.method, c2.path, err)
		}
	}
	requireEqual(t, "events after refused links", lastSeq(t, m), before)

	// Unlink from either side.
	r = c.do(t, "DELETE", "/api/v1/access-credentials/"+k["L-1"].ID+"/access-points", map[string]any{"access_point_ids": []string{aps[0].ID}})
	requireStatus(t, r, http.StatusOK)
	r = c.do(t, "DELETE", "/api/v1/access-points/"+aps[0].ID+"/access-credentials", map[string]any{"credential_ids": []string{k["L-2"].ID}})
	requireStatus(t, r, http.StatusOK)
	agree(token(r), map[string][]string{"L-1": {aps[1].ID}})

	// A door keys still open cannot go; a key that is deleted leaves every
	// door in the same append.
	r = c.do(t, "DELETE", "/api/v1/access-points/"+aps[1].ID, nil)
	requireNativeError(t, r, http.StatusConflict, "CONFLICT", "L-1")
	before = lastSeq(t, m)
	r = c.do(t, "DELETE", "/api/v1/access-credentials/"+k["L-1"].ID, nil)
	requireStatus(t, r, http.StatusOK)
	requireEqual(t, "events of deleting a linked key", lastSeq(t, m)-before, uint64(3)) // deleted, number released, unlinked
	delete(k, "L-1")
	agree(token(r), map[string][]string{})
	r = c.do(t, "DELETE", "/api/v1/access-points/"+aps[1].ID, nil)
	requireStatus(t, r, http.StatusOK)
	h := credentialHistory(t, c, k["L-2"].ID, token(r))
	requireEqual(t, "L-2 history", eventTypes(h), "access_credential.created access_credential.access_points_linked access_credential.access_points_unlinked")
}
