package domain_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/domain"
)

func validCredential() domain.FidoUafCredentialFields {
	return credentialCreated("", sampleKeyID).FidoUafCredentialFields
}

func TestCreateFidoUafCredentialValidates(t *testing.T) {
	with := func(f func(*domain.FidoUafCredentialFields)) domain.FidoUafCredentialFields {
		in := validCredential()
		f(&in)
		return in
	}
	const (
		aaid    = "errors.credentialFidoUaf.invalidAaidFormat"
		keyID   = "errors.credentialFidoUaf.invalidKeyIdFormat"
		version = "errors.credentialFidoUaf.invalidAuthVersionFormat"
		alg     = "errors.credentialFidoUaf.invalidPublicKeyAlgorithm"
		invalid = "errors.invalidParameter"
		missing = "errors.mandatoryParameterMissing"
	)
	for _, c := range []struct {
		name   string
		in     domain.FidoUafCredentialFields
		detail string
		field  string
	}{
		{"valid", validCredential(), "", ""},
		{"lower-case aaid", with(func(f *domain.FidoUafCredentialFields) { f.AAID = "f1d0#00ab" }), "", ""},
		{"padded keyId", with(func(f *domain.FidoUafCredentialFields) { f.KeyID = sampleKeyID + "=" }), "", ""},
		{"aaid without #", with(func(f *domain.FidoUafCredentialFields) { f.AAID = "F1D00001" }), aaid, "aaid"},
		{"aaid not hex", with(func(f *domain.FidoUafCredentialFields) { f.AAID = "G1D0#0001" }), aaid, "aaid"},
		{"aaid too long", with(func(f *domain.FidoUafCredentialFields) { f.AAID = "F1D0#00012" }), aaid, "aaid"},
		{"missing aaid", with(func(f *domain.FidoUafCredentialFields) { f.AAID = "" }), aaid, "aaid"},
		{"keyId standard base64", with(func(f *domain.FidoUafCredentialFields) { f.KeyID = "ab+/cd" }), keyID, "keyId"},
		{"keyId with line break", with(func(f *domain.FidoUafCredentialFields) { f.KeyID = "a2V5\nLTE" }), keyID, "keyId"},
		{"keyId bad padding", with(func(f *domain.FidoUafCredentialFields) { f.KeyID = "a2V5LTE==" }), keyID, "keyId"},
		{"keyId too long", with(func(f *domain.FidoUafCredentialFields) { f.KeyID = strings.Repeat("A", 2732) }), keyID, "keyId"},
		{"missing keyId", with(func(f *domain.FidoUafCredentialFields) { f.KeyID = "" }), keyID, "keyId"},
		{"authVersion without minor", with(func(f *domain.FidoUafCredentialFields) { f.AuthVersion = "1" }), version, "authVersion"},
		{"authVersion out of range", with(func(f *domain.FidoUafCredentialFields) { f.AuthVersion = "1.65536" }), version, "authVersion"},
		{"unknown algorithm", with(func(f *domain.FidoUafCredentialFields) { f.PublicKeyAlgorithm = "RSA" }), alg, "publicKeyAlgorithm"},
		{"missing public key", with(func(f *domain.FidoUafCredentialFields) { f.PublicKey = "" }), missing, "publicKey"},
		{"public key not base64url", with(func(f *domain.FidoUafCredentialFields) { f.PublicKey = "not base64!" }), invalid, "publicKey"},
		{"bad extId", with(func(f *domain.FidoUafCredentialFields) { f.ExtID = "a b" }), invalid, "extId"},
		{"blank dispatch target", with(func(f *domain.FidoUafCredentialFields) { f.DispatchTargetExtIDs = []string{" "} }), invalid, "dispatchTargetExtIds"},
	} {
		t.Run(c.name, func(t *testing.T) {
			u := givenUser()
			data, fields, err := u.CreateFidoUafCredential("c-default", c.in)
			if c.detail != "" {
				wantNevisErr(t, err, domain.CodeInvalid, c.detail, c.field)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fields.ExtID != "c-default" {
				t.Fatalf("extId %q, want the default", fields.ExtID)
			}
			if want := []domain.EventData{&domain.FidoUafCredentialCreated{FidoUafCredentialFields: fields}}; !reflect.DeepEqual(data, want) {
				t.Fatalf("decided %+v", data)
			}
		})
	}
}

func TestFidoUafCredentialMustBeUnique(t *testing.T) {
	u := givenUser(credentialCreated("c1", sampleKeyID))
	for name, in := range map[string]domain.FidoUafCredentialFields{
		"same pair":              validCredential(),
		"aaid in other case":     func() domain.FidoUafCredentialFields { f := validCredential(); f.AAID = "f1d0#0001"; return f }(),
		"keyId with its padding": func() domain.FidoUafCredentialFields { f := validCredential(); f.KeyID += "="; return f }(),
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := u.CreateFidoUafCredential("c2", in)
			wantNevisErr(t, err, domain.CodeConflict, "errors.credentialFidoUaf.notUnique", "keyId")
		})
	}
	other := validCredential()
	other.AAID = "F1D0#0002"
	if _, _, err := u.CreateFidoUafCredential("c2", other); err != nil {
		t.Fatalf("same KeyID under another AAID: %v", err)
	}
	dup := validCredential()
	dup.ExtID, dup.KeyID = "c1", "a2V5LTI"
	_, _, err := u.CreateFidoUafCredential("unused", dup)
	wantNevisErr(t, err, domain.CodeConflict, "errors.duplicateValue", "extId")
}

func TestFidoUafKeyClaimAcrossPeople(t *testing.T) {
	f := validCredential()
	if domain.FidoUafKey("f1d0#0001", f.KeyID+"=") != domain.FidoUafKey(f.AAID, f.KeyID) {
		t.Fatal("the same registration gave two unique keys")
	}
	var claim domain.UniqueValue
	data, err := domain.ClaimFidoUafKey(&claim, "i1/c1")
	if err != nil || len(data) != 1 {
		t.Fatalf("first claim decided %v, %v", data, err)
	}
	claim.Apply(domain.Event{Data: data[0]})
	_, err = domain.ClaimFidoUafKey(&claim, "i2/c9")
	wantNevisErr(t, err, domain.CodeConflict, "errors.credentialFidoUaf.notUnique", "keyId")
}

func TestFidoUafCredentialReferencesOwnTargets(t *testing.T) {
	u := givenUser(targetCreated("dt-1", nil), targetCreated("dt-2", nil))
	in := validCredential()
	in.DispatchTargetExtIDs = []string{"dt-2", "dt-1", "dt-2"}
	data, fields, err := u.CreateFidoUafCredential("c1", in)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"dt-2", "dt-1"}; !reflect.DeepEqual(fields.DispatchTargetExtIDs, want) || len(data) != 1 {
		t.Fatalf("targets %v, want %v (repeats dropped, order kept)", fields.DispatchTargetExtIDs, want)
	}

	in.DispatchTargetExtIDs = []string{"dt-1", "dt-9"}
	_, _, err = u.CreateFidoUafCredential("c1", in)
	wantNevisErr(t, err, domain.CodeNotFound, "errors.noRecord", "dispatchTargetExtIds")
	if !strings.Contains(domain.ErrorMessage(err), "'dt-9'") {
		t.Fatalf("message %q does not name the missing target", domain.ErrorMessage(err))
	}
}

func TestDeleteFidoUafCredential(t *testing.T) {
	u := givenUser(targetCreated("dt-1", nil), credentialCreated("c1", sampleKeyID, "dt-1"))
	data, err := u.DeleteFidoUafCredential("c1")
	if want := []domain.EventData{&domain.FidoUafCredentialDeleted{ExtID: "c1"}}; err != nil || !reflect.DeepEqual(data, want) {
		t.Fatalf("decided %v, %v", data, err)
	}
	u = applyDecided(u, data)
	if _, ok := u.FidoUafCredentialByExtID("c1"); ok {
		t.Fatal("c1 still exists")
	}
	if _, ok := u.DispatchTargetByExtID("dt-1"); !ok {
		t.Fatal("deleting a credential deleted its dispatch target")
	}
	_, err = u.DeleteFidoUafCredential("c1")
	wantNevisErr(t, err, domain.CodeNotFound, "errors.noRecord", "")
	// A freed pair may be registered again.
	if _, _, err := u.CreateFidoUafCredential("c2", validCredential()); err != nil {
		t.Fatalf("re-registering after delete: %v", err)
	}
}
