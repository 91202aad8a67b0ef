package domain_test

import (
	"testing"
	"time"

	"github.com/portcullis/portcullis/domain"
)

func givenServiceUser(data ...domain.EventData) domain.ServiceUser {
	var u domain.ServiceUser
	for _, d := range data {
		u.Apply(domain.Event{Aggregate: domain.Ref{Type: domain.AggregateServiceUser, ID: "su1"},
			OccurredAt: time.Unix(1700000000, 0), Data: d})
	}
	return u
}

func TestServiceUserLifecycle(t *testing.T) {
	now := time.Unix(1700000000, 0)
	var u domain.ServiceUser
	if _, err := u.CreateServiceUser("ci", "superuser", nil); domain.ErrorField(err) != "role" {
		t.Fatalf("unknown role: err = %v, want invalid role", err)
	}
	custom := func(name string) bool { return name == "door-admins" }
	if _, err := u.CreateServiceUser("ci", "door-admins", custom); err != nil {
		t.Fatalf("custom role: %v", err)
	}
	u = givenServiceUser(&domain.ServiceUserCreated{Name: "ci", Role: "operator"})
	if _, err := u.IssueToken("t1", []byte{1}, now.Add(-time.Second), now); domain.ErrorField(err) != "expires_at" {
		t.Fatalf("past expiry: err = %v, want invalid expires_at", err)
	}
	if _, err := u.IssueToken("t1", []byte{1}, now.Add(3*365*24*time.Hour), now); domain.ErrorField(err) != "expires_at" {
		t.Fatalf("far expiry: err = %v, want invalid expires_at", err)
	}
	data, err := u.IssueToken("t1", []byte{1}, now.Add(time.Hour), now)
	if err != nil || len(data) != 1 {
		t.Fatalf("issue: %v, %v", data, err)
	}
	u = givenServiceUser(&domain.ServiceUserCreated{Name: "ci", Role: "operator"}, data[0])
	before := u
	data, err = u.RevokeToken("t1")
	if err != nil || len(data) != 1 {
		t.Fatalf("revoke: %v, %v", data, err)
	}
	u.Apply(domain.Event{Data: data[0]})
	if !u.Tokens[0].Revoked || before.Tokens[0].Revoked {
		t.Fatal("revocation must show in the new state and not leak into a copy taken before")
	}
	if data, err := u.RevokeToken("t1"); err != nil || data != nil {
		t.Fatalf("second revoke decided %v, %v; want nothing", data, err)
	}
	if _, err := u.RevokeToken("t9"); domain.ErrorCode(err) != domain.CodeNotFound {
		t.Fatalf("unknown token: err = %v, want NOT_FOUND", err)
	}
	if data, err := u.ChangeRole("operator", nil); err != nil || data != nil {
		t.Fatalf("same role decided %v, %v", data, err)
	}
}
