package domain_test

import (
	"testing"
	"time"

	"github.com/portcullis/portcullis/domain"
)

func ptr(s string) *string { return &s }

// given folds events into a fresh individual.
func given(data ...domain.EventData) domain.Individual {
	var ind domain.Individual
	for i, d := range data {
		ind.Apply(domain.Event{Aggregate: domain.Ref{Type: domain.AggregateIndividual, ID: "i1"},
			OccurredAt: time.Unix(int64(1700000000+i), 0), Data: d})
	}
	return ind
}

var ada = &domain.IndividualCreated{IndividualFields: domain.IndividualFields{
	ExtID: "ada", FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com", Status: "active"}}

func TestCreateIndividual(t *testing.T) {
	for _, c := range []struct {
		name string
		in   domain.IndividualFields
		code domain.Code
		fld  string
	}{
		{"minimal", domain.IndividualFields{FirstName: "Ada", LastName: "L"}, "", ""},
		{"email normalized", domain.IndividualFields{FirstName: "Ada", LastName: "L", Email: " Ada@Example.COM "}, "", ""},
		{"missing first name", domain.IndividualFields{LastName: "L"}, domain.CodeInvalid, "first_name"},
		{"blank last name", domain.IndividualFields{FirstName: "A", LastName: "  "}, domain.CodeInvalid, "last_name"},
		{"bad email", domain.IndividualFields{FirstName: "A", LastName: "L", Email: "not-an-email"}, domain.CodeInvalid, "email"},
		{"bad status", domain.IndividualFields{FirstName: "A", LastName: "L", Status: "gone"}, domain.CodeInvalid, "status"},
		{"bad ext_id", domain.IndividualFields{FirstName: "A", LastName: "L", ExtID: "a.b"}, domain.CodeInvalid, "ext_id"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var ind domain.Individual
			data, fields, err := ind.CreateIndividual("i1", c.in)
			if got := domain.ErrorCode(err); got != c.code || domain.ErrorField(err) != c.fld {
				t.Fatalf("err = %v, want code %q field %q", err, c.code, c.fld)
			}
			if c.code != "" {
				return
			}
			if len(data) != 1 || fields.Status != "active" || fields.ExtID != "i1" {
				t.Fatalf("decided %v with fields %+v, want one event, status active, ext_id defaulted to the id", data, fields)
			}
			if c.in.Email != "" && fields.Email != "ada@example.com" {
				t.Fatalf("email = %q, want it trimmed and lower-cased", fields.Email)
			}
		})
	}
}

func TestCreateExistingIndividualConflicts(t *testing.T) {
	ind := given(ada)
	if _, _, err := ind.CreateIndividual("i1", ada.IndividualFields); domain.ErrorCode(err) != domain.CodeConflict {
		t.Fatalf("err = %v, want CONFLICT", err)
	}
}

func TestUpdateIndividualCarriesOnlyChanges(t *testing.T) {
	ind := given(ada)
	data, err := ind.UpdateIndividual(domain.IndividualPatch{FirstName: ptr("Ada"), Department: ptr("R&D")})
	if err != nil {
		t.Fatal(err)
	}
	upd := data[0].(*domain.IndividualUpdated)
	if upd.FirstName != nil || upd.Department == nil || *upd.Department != "R&D" {
		t.Fatalf("event carries %+v, want only department", upd.IndividualPatch)
	}
	if data, err := ind.UpdateIndividual(domain.IndividualPatch{FirstName: ptr("Ada")}); err != nil || data != nil {
		t.Fatalf("a no-op patch decided %v, %v; want nothing", data, err)
	}
}

func TestUpdateIndividualValidatesResult(t *testing.T) {
	ind := given(ada)
	if _, err := ind.UpdateIndividual(domain.IndividualPatch{FirstName: ptr("")}); domain.ErrorField(err) != "first_name" {
		t.Fatalf("err = %v, want invalid first_name", err)
	}
	if _, err := ind.UpdateIndividual(domain.IndividualPatch{Status: ptr("zombie")}); domain.ErrorField(err) != "status" {
		t.Fatalf("err = %v, want invalid status", err)
	}
}

func TestDeletedIndividualIsGone(t *testing.T) {
	ind := given(ada, &domain.IndividualDeleted{})
	if ind.Exists() {
		t.Fatal("deleted individual still exists")
	}
	if _, err := ind.UpdateIndividual(domain.IndividualPatch{Department: ptr("x")}); domain.ErrorCode(err) != domain.CodeNotFound {
		t.Fatalf("update after delete: err = %v, want NOT_FOUND", err)
	}
	if _, err := ind.DeleteIndividual(); domain.ErrorCode(err) != domain.CodeNotFound {
		t.Fatalf("second delete: err = %v, want NOT_FOUND", err)
	}
}

func TestApplyFoldsHistory(t *testing.T) {
	ind := given(ada, &domain.IndividualUpdated{IndividualPatch: domain.IndividualPatch{Email: ptr("ada@lovelace.org")}})
	if ind.Email != "ada@lovelace.org" || ind.FirstName != "Ada" || !ind.UpdatedAt.After(ind.CreatedAt) {
		t.Fatalf("state after history = %+v", ind)
	}
}

func TestUniqueValueClaims(t *testing.T) {
	var u domain.UniqueValue
	data, err := u.Claim(domain.UniqueIndividualEmail, "a", "email")
	if err != nil || len(data) != 1 {
		t.Fatalf("first claim: %v, %v", data, err)
	}
	u.Apply(domain.Event{Data: data[0]})
	if data, err := u.Claim(domain.UniqueIndividualEmail, "a", "email"); err != nil || data != nil {
		t.Fatalf("re-claim by the holder decided %v, %v; want nothing", data, err)
	}
	if _, err := u.Claim(domain.UniqueIndividualEmail, "b", "email"); domain.ErrorCode(err) != domain.CodeConflict || domain.ErrorField(err) != "email" {
		t.Fatalf("claim by another: err = %v, want CONFLICT on email", err)
	}
	if data := u.Release(domain.UniqueIndividualEmail, "b"); data != nil {
		t.Fatalf("release by a non-holder decided %v", data)
	}
	u.Apply(domain.Event{Data: u.Release(domain.UniqueIndividualEmail, "a")[0]})
	if _, err := u.Claim(domain.UniqueIndividualEmail, "b", "email"); err != nil {
		t.Fatalf("claim after release: %v", err)
	}
}

func TestNewEventDataKnowsEveryType(t *testing.T) {
	for _, d := range domain.EventTypes() {
		got, err := domain.NewEventData(d.EventType(), d.EventVersion())
		if err != nil || got.EventType() != d.EventType() {
			t.Fatalf("NewEventData(%s, %d) = %v, %v", d.EventType(), d.EventVersion(), got, err)
		}
	}
	if _, err := domain.NewEventData("individual.created", 99); err == nil {
		t.Fatal("an unknown version was accepted")
	}
}

func TestLoginIDIsOptionalTrimmedAndChangeable(t *testing.T) {
	var i domain.Individual
	data, f, err := i.CreateIndividual("i1", domain.IndividualFields{FirstName: "Ada", LastName: "L", LoginID: "  Ada.L "})
	if err != nil {
		t.Fatal(err)
	}
	if f.LoginID != "Ada.L" || domain.NormalizeLoginID(f.LoginID) != "ada.l" {
		t.Fatalf("loginId stored as %q", f.LoginID)
	}
	i.Apply(domain.Event{Aggregate: domain.Ref{Type: domain.AggregateIndividual, ID: "i1"}, OccurredAt: time.Unix(1, 0), Data: data[0]})
	cleared := ""
	data, err = i.UpdateIndividual(domain.IndividualPatch{LoginID: &cleared})
	if err != nil || len(data) != 1 || *data[0].(*domain.IndividualUpdated).LoginID != "" {
		t.Fatalf("clearing the loginId decided %v, %v", data, err)
	}
	bad := "a\nb"
	if _, err := i.UpdateIndividual(domain.IndividualPatch{LoginID: &bad}); domain.ErrorField(err) != "login_id" {
		t.Fatalf("a loginId with a line break: %v", err)
	}
}
