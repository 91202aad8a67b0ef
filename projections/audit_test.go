package projections

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/commands"
	"github.com/portcullis/portcullis/domain"
	"github.com/portcullis/portcullis/eventstore"
)

// auditScenario writes a little of everything to tenant t1 (and one event
// to t2) through the real commands, and returns the secrets' hashes it
// made and the last position.
func auditScenario(t *testing.T, store *eventstore.Store) (hashes [][]byte, last uint64) {
	t.Helper()
	ctx := context.Background()
	cmd := commands.New(store)
	meta := func(tenant, actor, face string) commands.Meta {
		return commands.Meta{Tenant: tenant, Actor: actor, Face: face, CommandID: commands.NewCommandID()}
	}
	ind, err := cmd.CreateIndividual(ctx, meta("t1", "service_user:a", domain.FaceNative), domain.IndividualFields{
		FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com", Status: "active"})
	if err != nil {
		t.Fatal(err)
	}
	dept := "Research"
	if _, err := cmd.UpdateIndividual(ctx, meta("t1", "oauth_client:c", domain.FaceNevisIDM), ind.Individual.ID,
		domain.IndividualPatch{Department: &dept}); err != nil {
		t.Fatal(err)
	}
	su, err := cmd.CreateServiceUser(ctx, meta("t1", "service_user:a", domain.FaceNative), "ci", "viewer")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := cmd.IssueToken(ctx, meta("t1", "service_user:a", domain.FaceNative), su.ServiceUser.ID, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	hashes = append(hashes, commands.HashToken(tok.Token))
	cl, err := cmd.CreateOAuthClient(ctx, meta("t1", "service_user:a", domain.FaceNative), "sync", "viewer", []string{"individuals:read"})
	if err != nil {
		t.Fatal(err)
	}
	hashes = append(hashes, commands.HashToken(cl.Secret))
	if _, err := cmd.CreateIndividual(ctx, meta("t2", "service_user:b", domain.FaceNative), domain.IndividualFields{
		FirstName: "Other", LastName: "Tenant", Status: "active"}); err != nil {
		t.Fatal(err)
	}
	res, err := cmd.DeleteIndividual(ctx, meta("t1", "service_user:a", domain.FaceESystems), ind.Individual.ID)
	if err != nil {
		t.Fatal(err)
	}
	return hashes, res.Position
}

func change(a AuditEntry, field string) string {
	for _, c := range a.Changes {
		if c.Field == field {
			return string(c.Before) + "→" + string(c.After)
		}
	}
	return "none"
}

func TestAuditLogEntries(t *testing.T) {
	store := mustOpenStore(t)
	hashes, last := auditScenario(t, store)
	db := mustOpenDB(t, filepath.Join(t.TempDir(), "rm.db"))
	r, _ := NewRunner(db, store)
	if err := r.CatchUp(context.Background(), last, nil); err != nil {
		t.Fatal(err)
	}
	all, more, err := db.AuditEntries("t1", AuditQuery{}, 0, 100)
	if err != nil || more {
		t.Fatalf("entries: more %v, err %v", more, err)
	}
	var prev uint64
	for _, a := range all {
		if a.Sequence <= prev || a.Tenant != "t1" {
			t.Fatalf("entry %d after %d of tenant %q: not in order or not t1's", a.Sequence, prev, a.Tenant)
		}
		prev = a.Sequence
	}
	byAction := map[string]AuditEntry{}
	for _, a := range all {
		if a.EntityType == domain.AggregateIndividual || a.EntityType == domain.AggregateServiceUser ||
			a.EntityType == domain.AggregateOAuthClient {
			byAction[a.Action] = a
		}
	}
	created := byAction[domain.TypeIndividualCreated]
	if created.Face != domain.FaceNative || created.Actor != "service_user:a" ||
		change(created, "first_name") != `→"Ada"` || change(created, "email") != `→"ada@example.com"` ||
		change(created, "department") != "none" || change(created, "version") != "none" {
		t.Fatalf("creation entry: %+v", created)
	}
	updated := byAction[domain.TypeIndividualUpdated]
	if updated.Face != domain.FaceNevisIDM || updated.Actor != "oauth_client:c" || len(updated.Changes) != 1 ||
		change(updated, "department") != `→"Research"` {
		t.Fatalf("update entry: face %q actor %q changes %s", updated.Face, updated.Actor, changesString(updated))
	}
	deleted := byAction[domain.TypeIndividualDeleted]
	if deleted.Face != domain.FaceESystems || change(deleted, "department") != `"Research"→` ||
		change(deleted, "first_name") != `"Ada"→` {
		t.Fatalf("deletion entry: %s", changesString(deleted))
	}
	issued := byAction[domain.TypeServiceUserTokenIssued]
	if c := change(issued, "tokens"); !strings.Contains(c, "tok_") {
		t.Fatalf("token issue shows tokens %s", c)
	}
	client := byAction[domain.TypeOAuthClientCreated]
	if change(client, "name") != `→"sync"` || change(client, "secret_hash") != "none" {
		t.Fatalf("client entry: %s", changesString(client))
	}
	// No secret's hash anywhere in the audit buckets, raw or hex or base64.
	raw := dumpBuckets(t, db, bucketAudit)
	for _, h := range hashes {
		for _, form := range [][]byte{h, []byte(hex.EncodeToString(h)), []byte(fmt.Sprintf("%q", h))} {
			if bytes.Contains(raw, form) {
				t.Fatalf("a secret's hash is in the audit log")
			}
		}
	}
	// The other tenant sees only its own entry.
	other, _, _ := db.AuditEntries("t2", AuditQuery{}, 0, 100)
	if len(other) == 0 {
		t.Fatal("t2 sees no entries")
	}
	for _, a := range other {
		if a.Tenant != "t2" || a.Actor != "service_user:b" {
			t.Fatalf("t2 sees an entry of %s by %s", a.Tenant, a.Actor)
		}
	}
}

func changesString(a AuditEntry) string {
	var b strings.Builder
	for _, c := range a.Changes {
		fmt.Fprintf(&b, "%s: %s→%s; ", c.Field, c.Before, c.After)
	}
	return b.String()
}

// dumpBuckets returns the raw keys and values of some buckets.
func dumpBuckets(t *testing.T, db *DB, names ...[]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	err := db.view(func(tx *vtx) error {
		for _, n := range names {
			if err := tx.Bucket(n).ForEach(func(k, v []byte) error {
				buf.Write(k)
				buf.Write(v)
				return nil
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Filters seek their indexes and intersect them; the result is what a
// plain scan with the same predicates finds, in both orders and across
// pages resumed with After.
func TestAuditFiltersMatchAScan(t *testing.T) {
	store := mustOpenStore(t)
	ctx := context.Background()
	cmd := commands.New(store)
	actors := []string{"service_user:a", "service_user:b", "oauth_client:c"}
	var last uint64
	var ids []string
	for i := range 60 {
		m := commands.Meta{Tenant: "t1", Actor: actors[i%3], Face: domain.FaceNative, CommandID: commands.NewCommandID()}
		if i%4 == 0 || len(ids) == 0 {
			res, err := cmd.CreateIndividual(ctx, m, domain.IndividualFields{FirstName: fmt.Sprint("P", i), LastName: "L", Status: "active"})
			if err != nil {
				t.Fatal(err)
			}
			ids, last = append(ids, res.Individual.ID), res.Position
			continue
		}
		dept := fmt.Sprint("D", i)
		res, err := cmd.UpdateIndividual(ctx, m, ids[i%len(ids)], domain.IndividualPatch{Department: &dept})
		if err != nil {
			t.Fatal(err)
		}
		last = res.Position
	}
	db := mustOpenDB(t, filepath.Join(t.TempDir(), "rm.db"))
	r, _ := NewRunner(db, store)
	if err := r.CatchUp(ctx, last, nil); err != nil {
		t.Fatal(err)
	}
	all, _, _ := db.AuditEntries("t1", AuditQuery{}, 0, 1000)
	mid := all[len(all)/2].OccurredAt
	for _, q := range []AuditQuery{
		{},
		{Equal: map[string]string{AuditByActor: "service_user:b"}},
		{Equal: map[string]string{AuditByActor: "oauth_client:c", AuditByAction: domain.TypeIndividualUpdated}},
		{Equal: map[string]string{AuditByEntityID: ids[1], AuditByActor: "service_user:a"}},
		{Equal: map[string]string{AuditByEntityType: domain.AggregateIndividual, AuditByAction: domain.TypeIndividualCreated}},
		{Equal: map[string]string{AuditByActor: "nobody"}},
		{From: mid},
		{To: mid, Equal: map[string]string{AuditByActor: "service_user:a"}},
	} {
		for _, desc := range []bool{false, true} {
			q.Desc = desc
			var want []uint64
			for _, a := range all {
				if matches(a, q) {
					want = append(want, a.Sequence)
				}
			}
			if desc {
				slicesReverse(want)
			}
			// Page through 7 at a time, resuming after the last position.
			var got []uint64
			for page := 0; ; page++ {
				entries, more, err := db.AuditEntries("t1", q, 0, 7)
				if err != nil {
					t.Fatal(err)
				}
				for _, a := range entries {
					got = append(got, a.Sequence)
				}
				if !more {
					break
				}
				q.After = entries[len(entries)-1].Sequence
			}
			q.After = 0
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("query %+v: got %v, want %v", q, got, want)
			}
			if n, ok, _ := db.AuditCount("t1", q); ok && n != len(want) {
				t.Fatalf("count of %+v: %d, want %d", q, n, len(want))
			}
		}
	}
}

func matches(a AuditEntry, q AuditQuery) bool {
	for f, v := range q.Equal {
		if a.indexValue(f) != v {
			return false
		}
	}
	return (q.From.IsZero() || !a.OccurredAt.Before(q.From)) && (q.To.IsZero() || !a.OccurredAt.After(q.To))
}

func slicesReverse(s []uint64) {
	for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
		s[i], s[j] = s[j], s[i]
	}
}
