package domain_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/domain"
)

var t0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// givenCredential folds events into a fresh credential.
func givenCredential(data ...domain.EventData) domain.Credential {
	var c domain.Credential
	for i, d := range data {
		c.Apply(domain.Event{Aggregate: domain.Ref{Type: domain.AggregateCredential, ID: "c1"},
			OccurredAt: t0.Add(time.Duration(i) * time.Second), Data: d})
	}
	return c
}

func key42(mod func(*domain.CredentialFields)) *domain.CredentialCreated {
	f := domain.CredentialFields{CredentialID: "K-42", CredentialName: "Main door", Type: domain.CredentialMechanicalKey,
		Status: domain.CredentialActive, Source: domain.CredentialManual}
	if mod != nil {
		mod(&f)
	}
	return &domain.CredentialCreated{CredentialFields: f}
}

var (
	toAda      = domain.Assignment{IndividualID: "ada", DueReason: "project"}
	assigned   = &domain.CredentialAssigned{Assignment: toAda}
	reserved   = &domain.CredentialReserved{Assignment: domain.Assignment{IndividualID: "ada", Confirmation: &domain.Confirmation{Type: "digital"}}}
	returned   = &domain.CredentialReturned{IndividualID: "ada"}
	deletedKey = &domain.CredentialDeleted{}
)

// requireDecision checks a decision's error code and field, and the event
// types it decided.
func requireDecision(t *testing.T, data []domain.EventData, err error, code domain.Code, field string, types ...string) {
	t.Helper()
	if domain.ErrorCode(err) != code || (field != "" && domain.ErrorField(err) != field) {
		t.Fatalf("err = %v, want code %q field %q", err, code, field)
	}
	var got []string
	for _, d := range data {
		got = append(got, d.EventType())
	}
	if strings.Join(got, " ") != strings.Join(types, " ") {
		t.Fatalf("decided %v, want %v", got, types)
	}
}

func TestCreateCredential(t *testing.T) {
	long := strings.Repeat("x", 65)
	for _, c := range []struct {
		name  string
		mod   func(*domain.CredentialFields)
		code  domain.Code
		field string
	}{
		{"complete", nil, "", ""},
		{"defaults", func(f *domain.CredentialFields) { f.Status, f.Source = "", "" }, "", ""},
		{"no number", func(f *domain.CredentialFields) { f.CredentialID = "  " }, domain.CodeInvalid, "credential_id"},
		{"long number", func(f *domain.CredentialFields) { f.CredentialID = long }, domain.CodeInvalid, "credential_id"},
		{"control in number", func(f *domain.CredentialFields) { f.CredentialID = "K\n1" }, domain.CodeInvalid, "credential_id"},
		{"no type", func(f *domain.CredentialFields) { f.Type = "" }, domain.CodeInvalid, "type"},
		{"bad type", func(f *domain.CredentialFields) { f.Type = "badge" }, domain.CodeInvalid, "type"},
		{"bad status", func(f *domain.CredentialFields) { f.Status = "gone" }, domain.CodeInvalid, "status"},
		{"bad source", func(f *domain.CredentialFields) { f.Source = "scanned" }, domain.CodeInvalid, "source"},
		{"negative counter", func(f *domain.CredentialFields) { f.Counter = -1 }, domain.CodeInvalid, "counter"},
		{"window backwards", func(f *domain.CredentialFields) { f.ValidFrom, f.ValidUntil = t0, t0.Add(-time.Hour) }, domain.CodeInvalid, "valid_until"},
		{"empty window", func(f *domain.CredentialFields) { f.ValidFrom, f.ValidUntil = t0, t0 }, domain.CodeInvalid, "valid_until"},
		{"year 1800", func(f *domain.CredentialFields) { f.ValidFrom = time.Date(1800, 1, 1, 0, 0, 0, 0, time.UTC) }, domain.CodeInvalid, "valid_from"},
		{"year 2300", func(f *domain.CredentialFields) { f.ValidUntil = time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC) }, domain.CodeInvalid, "valid_until"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var cr domain.Credential
			data, fields, err := cr.CreateCredential("c1", key42(c.mod).CredentialFields)
			if c.code != "" {
				requireDecision(t, data, err, c.code, c.field)
				return
			}
			requireDecision(t, data, err, "", "", domain.TypeCredentialCreated)
			if fields.Status != domain.CredentialActive || fields.Source != domain.CredentialManual {
				t.Fatalf("fields %+v, want status active and source manual", fields)
			}
		})
	}
	cr := givenCredential(key42(nil))
	_, _, err := cr.CreateCredential("c1", key42(nil).CredentialFields)
	requireDecision(t, nil, err, domain.CodeConflict, "")
}

func TestUpdateCredential(t *testing.T) {
	s := func(v string) *string { return &v }
	zero := time.Time{}
	until := t0.Add(24 * time.Hour)
	for _, c := range []struct {
		name   string
		given  []domain.EventData
		patch  domain.CredentialPatch
		status *string
		code   domain.Code
		field  string
		types  []string
	}{
		{"missing", nil, domain.CredentialPatch{CredentialName: s("x")}, nil, domain.CodeNotFound, "", nil},
		{"deleted", []domain.EventData{key42(nil), deletedKey}, domain.CredentialPatch{CredentialName: s("x")}, nil, domain.CodeNotFound, "", nil},
		{"name", []domain.EventData{key42(nil)}, domain.CredentialPatch{CredentialName: s("Back door")}, nil, "", "", []string{domain.TypeCredentialUpdated}},
		{"status alone", []domain.EventData{key42(nil)}, domain.CredentialPatch{}, s("stolen"), "", "", []string{domain.TypeCredentialStatusChanged}},
		{"fields then status", []domain.EventData{key42(nil)}, domain.CredentialPatch{ValidUntil: &until}, s("disabled"), "", "",
			[]string{domain.TypeCredentialUpdated, domain.TypeCredentialStatusChanged}},
		{"nothing changes", []domain.EventData{key42(nil)}, domain.CredentialPatch{CredentialName: s(" Main door ")}, s("active"), "", "", nil},
		{"clearing what is unset", []domain.EventData{key42(nil)}, domain.CredentialPatch{ValidFrom: &zero}, nil, "", "", nil},
		{"bad status", []domain.EventData{key42(nil)}, domain.CredentialPatch{}, s("misplaced"), domain.CodeInvalid, "status", nil},
		{"bad type", []domain.EventData{key42(nil)}, domain.CredentialPatch{Type: s("")}, nil, domain.CodeInvalid, "type", nil},
		{"window backwards", []domain.EventData{key42(func(f *domain.CredentialFields) { f.ValidFrom = until })},
			domain.CredentialPatch{ValidUntil: &t0}, nil, domain.CodeInvalid, "valid_until", nil},
		{"status of a held key", []domain.EventData{key42(nil), assigned}, domain.CredentialPatch{}, s("lost"), "", "",
			[]string{domain.TypeCredentialStatusChanged}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cr := givenCredential(c.given...)
			data, err := cr.UpdateCredential(c.patch, c.status)
			requireDecision(t, data, err, c.code, c.field, c.types...)
		})
	}
	cr := givenCredential(key42(nil))
	data, _ := cr.UpdateCredential(domain.CredentialPatch{}, s("lost"))
	if sc := data[0].(*domain.CredentialStatusChanged); sc.Previous != "active" || sc.Status != "lost" {
		t.Fatalf("status change %+v, want active → lost", sc)
	}
}

func TestDeleteCredential(t *testing.T) {
	for _, c := range []struct {
		name  string
		given []domain.EventData
		code  domain.Code
		types []string
	}{
		{"missing", nil, domain.CodeNotFound, nil},
		{"deleted", []domain.EventData{key42(nil), deletedKey}, domain.CodeNotFound, nil},
		{"protected", []domain.EventData{key42(func(f *domain.CredentialFields) { f.DeleteProtected = true })}, domain.CodeDeleteProtected, nil},
		{"protected and held", []domain.EventData{key42(func(f *domain.CredentialFields) { f.DeleteProtected = true }), assigned}, domain.CodeDeleteProtected, nil},
		{"assigned", []domain.EventData{key42(nil), assigned}, domain.CodeConflict, nil},
		{"reserved", []domain.EventData{key42(nil), reserved}, domain.CodeConflict, nil},
		{"returned", []domain.EventData{key42(nil), assigned, returned}, "", []string{domain.TypeCredentialDeleted}},
		{"free", []domain.EventData{key42(nil)}, "", []string{domain.TypeCredentialDeleted}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cr := givenCredential(c.given...)
			data, err := cr.DeleteCredential()
			requireDecision(t, data, err, c.code, "", c.types...)
		})
	}
}

func TestAssignCredential(t *testing.T) {
	withStatus := func(s string) []domain.EventData {
		return []domain.EventData{key42(func(f *domain.CredentialFields) { f.Status = s })}
	}
	window := func(from, until time.Time) []domain.EventData {
		return []domain.EventData{key42(func(f *domain.CredentialFields) { f.ValidFrom, f.ValidUntil = from, until })}
	}
	confirm := domain.Assignment{IndividualID: "bob", Confirmation: &domain.Confirmation{Type: "digital", Destination: " bob@example.test "}}
	for _, c := range []struct {
		name  string
		given []domain.EventData
		a     domain.Assignment
		code  domain.Code
		field string
		types []string
	}{
		{"free", []domain.EventData{key42(nil)}, toAda, "", "", []string{domain.TypeCredentialAssigned}},
		{"with confirmation", []domain.EventData{key42(nil)}, confirm, "", "", []string{domain.TypeCredentialReserved}},
		{"returned before", []domain.EventData{key42(nil), assigned, returned}, toAda, "", "", []string{domain.TypeCredentialAssigned}},
		{"missing", nil, toAda, domain.CodeNotFound, "credential_ids", nil},
		{"deleted", []domain.EventData{key42(nil), deletedKey}, toAda, domain.CodeNotFound, "credential_ids", nil},
		{"disabled", withStatus("disabled"), toAda, domain.CodeDisabled, "credential_ids", nil},
		{"lost", withStatus("lost"), toAda, domain.CodeDisabled, "credential_ids", nil},
		{"stolen", withStatus("stolen"), toAda, domain.CodeDisabled, "credential_ids", nil},
		{"damaged", withStatus("damaged"), toAda, domain.CodeDisabled, "credential_ids", nil},
		{"expired", window(time.Time{}, t0.Add(-time.Second)), toAda, domain.CodeExpired, "credential_ids", nil},
		{"last valid instant", window(time.Time{}, t0), toAda, "", "", []string{domain.TypeCredentialAssigned}},
		{"not yet valid", window(t0.Add(time.Second), time.Time{}), toAda, domain.CodeExpired, "credential_ids", nil},
		{"first valid instant", window(t0, t0.Add(time.Hour)), toAda, "", "", []string{domain.TypeCredentialAssigned}},
		{"assigned", []domain.EventData{key42(nil), assigned}, toAda, domain.CodeConflict, "credential_ids", nil},
		{"reserved", []domain.EventData{key42(nil), reserved}, confirm, domain.CodeConflict, "credential_ids", nil},
		{"disabled and held", []domain.EventData{key42(nil), assigned, &domain.CredentialStatusChanged{Status: "disabled"}}, toAda,
			domain.CodeDisabled, "credential_ids", nil},
		{"bad confirmation", []domain.EventData{key42(nil)}, domain.Assignment{IndividualID: "bob",
			Confirmation: &domain.Confirmation{Type: "paper"}}, domain.CodeInvalid, "confirmation.type", nil},
		{"bad input before state", []domain.EventData{key42(nil), assigned}, domain.Assignment{IndividualID: "bob",
			Condition: strings.Repeat("c", 101)}, domain.CodeInvalid, "metadata.condition", nil},
		{"due date out of range", []domain.EventData{key42(nil)}, domain.Assignment{IndividualID: "bob",
			DueDate: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)}, domain.CodeInvalid, "due_date", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			cr := givenCredential(c.given...)
			data, err := cr.Assign(c.a, t0)
			requireDecision(t, data, err, c.code, c.field, c.types...)
		})
	}
	cr := givenCredential(key42(nil))
	data, _ := cr.Assign(confirm, t0)
	if r := data[0].(*domain.CredentialReserved); r.Confirmation.Destination != "bob@example.test" {
		t.Fatalf("destination %q, want it trimmed", r.Confirmation.Destination)
	}
	next := givenCredential(key42(nil), data[0])
	if next.AssignmentStatus() != domain.AssignmentPending || next.Holder.IndividualID != "bob" {
		t.Fatalf("after a reservation: %s held by %+v", next.AssignmentStatus(), next.Holder)
	}
}

func TestConfirmAndReturnCredential(t *testing.T) {
	for _, c := range []struct {
		name  string
		given []domain.EventData
		self  string
		code  domain.Code
		types []string
	}{
		{"reserved", []domain.EventData{key42(nil), reserved}, "", "", []string{domain.TypeCredentialAssignmentConfirmed}},
		{"reserved, by its holder", []domain.EventData{key42(nil), reserved}, "ada", "", []string{domain.TypeCredentialAssignmentConfirmed}},
		{"reserved for someone else", []domain.EventData{key42(nil), reserved}, "bob", domain.CodeNotFound, nil},
		{"free, by someone", []domain.EventData{key42(nil)}, "bob", domain.CodeNotFound, nil},
		{"already assigned", []domain.EventData{key42(nil), assigned}, "", domain.CodeConflict, nil},
		{"free", []domain.EventData{key42(nil)}, "", domain.CodeConflict, nil},
		{"confirmed twice", []domain.EventData{key42(nil), reserved, &domain.CredentialAssignmentConfirmed{IndividualID: "ada"}}, "", domain.CodeConflict, nil},
		{"missing", nil, "", domain.CodeNotFound, nil},
	} {
		t.Run("confirm "+c.name, func(t *testing.T) {
			cr := givenCredential(c.given...)
			data, err := cr.ConfirmAssignment(c.self)
			requireDecision(t, data, err, c.code, "", c.types...)
		})
	}
	for _, c := range []struct {
		name  string
		given []domain.EventData
		notes string
		code  domain.Code
		types []string
	}{
		{"assigned", []domain.EventData{key42(nil), assigned}, "fine", "", []string{domain.TypeCredentialReturned}},
		{"reserved", []domain.EventData{key42(nil), reserved}, "", "", []string{domain.TypeCredentialReturned}},
		{"free", []domain.EventData{key42(nil)}, "", domain.CodeConflict, nil},
		{"returned already", []domain.EventData{key42(nil), assigned, returned}, "", domain.CodeConflict, nil},
		{"missing", nil, "", domain.CodeNotFound, nil},
		{"notes too long", []domain.EventData{key42(nil), assigned}, strings.Repeat("n", 2001), domain.CodeInvalid, nil},
	} {
		t.Run("return "+c.name, func(t *testing.T) {
			cr := givenCredential(c.given...)
			data, err := cr.Return("ok", c.notes)
			requireDecision(t, data, err, c.code, "", c.types...)
			if c.code == "" && data[0].(*domain.CredentialReturned).IndividualID != "ada" {
				t.Fatalf("returned %+v, want it to name ada", data[0])
			}
		})
	}
}

func TestLinkCredentialAccessPoints(t *testing.T) {
	cr := givenCredential(key42(nil), &domain.CredentialAccessPointsLinked{AccessPointIDs: []string{"a1", "a2"}})
	data, err := cr.LinkAccessPoints([]string{"a2", "a3", "a3"})
	requireDecision(t, data, err, "", "", domain.TypeCredentialAccessPointsLinked)
	if got := data[0].(*domain.CredentialAccessPointsLinked).AccessPointIDs; !reflect.DeepEqual(got, []string{"a3"}) {
		t.Fatalf("linked %v, want only the new a3", got)
	}
	data, err = cr.LinkAccessPoints([]string{"a1"})
	requireDecision(t, data, err, "", "")
	data, err = cr.UnlinkAccessPoints([]string{"a1", "a1"})
	requireDecision(t, data, err, "", "", domain.TypeCredentialAccessPointsUnlinked)
	if got := data[0].(*domain.CredentialAccessPointsUnlinked).AccessPointIDs; !reflect.DeepEqual(got, []string{"a1"}) {
		t.Fatalf("unlinked %v, want a1 once", got)
	}
	data, err = cr.UnlinkAccessPoints([]string{"a9", "a1"})
	requireDecision(t, data, err, domain.CodeInvalid, "access_point_ids")
	if !strings.Contains(domain.ErrorMessage(err), "a9") {
		t.Fatalf("message %q does not name a9", domain.ErrorMessage(err))
	}
	gone := givenCredential(key42(nil), deletedKey)
	_, err = gone.LinkAccessPoints([]string{"a1"})
	requireDecision(t, nil, err, domain.CodeNotFound, "")

	// Folding an event into a copy leaves the original's links alone: the
	// command layer keeps states by value in a cache.
	copied := cr
	copied.Apply(domain.Event{Data: &domain.CredentialAccessPointsUnlinked{AccessPointIDs: []string{"a1"}}})
	copied.Apply(domain.Event{Data: &domain.CredentialAccessPointsLinked{AccessPointIDs: []string{"a7"}}})
	if !reflect.DeepEqual(cr.LinkedTo, []string{"a1", "a2"}) || !reflect.DeepEqual(copied.LinkedTo, []string{"a2", "a7"}) {
		t.Fatalf("original %v, copy %v", cr.LinkedTo, copied.LinkedTo)
	}
}

// A person who holds credentials cannot be deleted; one who returned them
// can. Credentials go only to people who exist.
func TestIndividualHoldsCredentials(t *testing.T) {
	ind := given(ada)
	data, err := ind.HoldCredentials([]string{"c1", "c2"}, false)
	requireDecision(t, data, err, "", "", domain.TypeIndividualCredentialsAssigned)
	holding := given(ada, data[0])
	_, err = holding.DeleteIndividual()
	requireDecision(t, nil, err, domain.CodeConflict, "credentials")
	if !strings.Contains(domain.ErrorMessage(err), "c1, c2") {
		t.Fatalf("message %q does not name the credentials", domain.ErrorMessage(err))
	}
	partly := given(ada, data[0], holding.ReturnCredentials([]string{"c1"})[0])
	_, err = partly.DeleteIndividual()
	requireDecision(t, nil, err, domain.CodeConflict, "credentials")
	none := given(ada, data[0], holding.ConfirmCredentials([]string{"c2"})[0], holding.ReturnCredentials([]string{"c2", "c1"})[0])
	data, err = none.DeleteIndividual()
	requireDecision(t, data, err, "", "", domain.TypeIndividualDeleted)

	var nobody domain.Individual
	_, err = nobody.HoldCredentials([]string{"c1"}, true)
	requireDecision(t, nil, err, domain.CodeNotFound, "individual_id")
	gone := given(ada, &domain.IndividualDeleted{})
	_, err = gone.HoldCredentials([]string{"c1"}, false)
	requireDecision(t, nil, err, domain.CodeNotFound, "individual_id")
}
