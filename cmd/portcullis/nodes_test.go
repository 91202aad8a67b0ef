package main

import (
	"net/http"
	"testing"

	"github.com/portcullis/portcullis/eventstore/storetest"
)

// Several Portcullis nodes on one external NATS server share one log, each
// with read models of its own.

// mustRunNodes starts an external nats-server with JetStream and n servers
// on it, each with its own data directory.
func mustRunNodes(t *testing.T, n int) []*testMain {
	t.Helper()
	url := storetest.StartServer(t)
	nodes := make([]*testMain, n)
	for i := range nodes {
		nodes[i] = mustRunWith(t, t.TempDir(), func(c *Config) { c.NATSURL = url })
	}
	return nodes
}

// A node decides from the aggregates it has cached. When another node
// changed one of them since, the refusal that the stale copy suggests must
// not reach the client: here a space whose parent was created on the other
// node, in a building this node had cached before.
func TestNodesDecideFromTheLogNotFromAStaleCache(t *testing.T) {
	t.Parallel()
	nodes := mustRunNodes(t, 2)
	a, b := nodes[0].c, nodes[1].c
	loc, _ := mustPost[location](t, a, "/locations", map[string]any{"name": "HQ", "time_zone": "Europe/Zurich"})
	bld, _ := mustPost[building](t, a, "/buildings", map[string]any{"name": "North", "location_id": loc.ID})
	// Node a now holds the building in its cache; node b adds a space to it.
	parent, _ := mustPost[space](t, b, "/spaces", map[string]any{"name": "Floor 1", "building_id": bld.ID})
	child, r := mustPost[space](t, a, "/spaces", map[string]any{"name": "Room 101", "building_id": bld.ID, "parent_id": parent.ID})
	got, _ := mustRead[space](t, b, "/api/v1/spaces/"+child.ID, token(r))
	requireEqual(t, "parent of the space created on the other node", got.ParentID.Value, parent.ID)

	// A refusal that the log confirms is still a refusal.
	requireNativeError(t, a.do(t, "POST", "/api/v1/spaces", map[string]any{"name": "Nowhere", "building_id": bld.ID,
		"parent_id": "00000000-0000-0000-0000-000000000000"}), http.StatusBadRequest, "BAD_REQUEST", "parent_id")
}
