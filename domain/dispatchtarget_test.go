package domain_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/domain"
)

// wantErr checks the code, nevisIDM detail and field of err.
func wantNevisErr(t *testing.T, err error, code domain.Code, detail, field string) {
	t.Helper()
	if domain.ErrorCode(err) != code || domain.ErrorDetail(err) != detail || domain.ErrorField(err) != field {
		t.Fatalf("err = %v; want code %q detail %q field %q", err, code, detail, field)
	}
}

func validTarget() domain.DispatchTargetFields {
	return domain.DispatchTargetFields{DeviceID: "d-1", Name: "Ada's phone", Target: "fcm-token",
		Dispatcher: "firebase-cloud-messaging", EncryptionKey: "enc-jwk", SigningKey: "sig-jwk"}
}

func TestCreateDispatchTargetValidates(t *testing.T) {
	with := func(f func(*domain.DispatchTargetFields)) domain.DispatchTargetFields {
		in := validTarget()
		f(&in)
		return in
	}
	const (
		missing = "errors.mandatoryParameterMissing"
		invalid = "errors.invalidParameter"
		tooLong = "errors.property.stringmaxlen"
	)
	for _, c := range []struct {
		name   string
		in     domain.DispatchTargetFields
		att    *domain.AppAttestation
		detail string
		field  string
	}{
		{"valid", validTarget(), nil, "", ""},
		{"valid without push target", with(func(f *domain.DispatchTargetFields) { f.Target, f.Dispatcher = "", "" }), nil, "", ""},
		{"valid with sampleAttestation", validTarget(), sampleAttestation, "", ""},
		{"missing deviceId", with(func(f *domain.DispatchTargetFields) { f.DeviceID = " " }), nil, missing, "deviceId"},
		{"missing name", with(func(f *domain.DispatchTargetFields) { f.Name = "" }), nil, missing, "name"},
		{"target without dispatcher", with(func(f *domain.DispatchTargetFields) { f.Dispatcher = "" }), nil, missing, "dispatcher"},
		{"name too long", with(func(f *domain.DispatchTargetFields) { f.Name = strings.Repeat("n", 256) }), nil, tooLong, "name"},
		{"key too long", with(func(f *domain.DispatchTargetFields) { f.SigningKey = strings.Repeat("k", 8193) }), nil, tooLong, "signingKey"},
		{"other type", with(func(f *domain.DispatchTargetFields) { f.Type = "sms" }), nil, invalid, "type"},
		{"unknown state", with(func(f *domain.DispatchTargetFields) { f.State = "gone" }), nil, invalid, "state"},
		{"bad extId", with(func(f *domain.DispatchTargetFields) { f.ExtID = "a/b" }), nil, invalid, "extId"},
		{"sampleAttestation without name", validTarget(), &domain.AppAttestation{Counter: 1}, missing, "appAttestation.name"},
		{"negative counter", validTarget(), &domain.AppAttestation{Name: "x", Counter: -1}, invalid, "appAttestation.counter"},
	} {
		t.Run(c.name, func(t *testing.T) {
			u := givenUser()
			data, fields, err := u.CreateDispatchTarget("dt-default", c.in, c.att)
			if c.detail != "" {
				wantNevisErr(t, err, domain.CodeInvalid, c.detail, c.field)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fields.ExtID != "dt-default" || fields.Type != "fido-uaf" || fields.State != "active" {
				t.Fatalf("fields %+v; want extId, type and state defaulted", fields)
			}
			want := []domain.EventData{&domain.DispatchTargetCreated{DispatchTargetFields: fields, AppAttestation: c.att}}
			if !reflect.DeepEqual(data, want) {
				t.Fatalf("decided %+v, want %+v", data[0], want[0])
			}
		})
	}
}

func TestCreateDispatchTargetTwiceConflicts(t *testing.T) {
	u := givenUser(targetCreated("dt-1", nil))
	in := validTarget()
	in.ExtID = "dt-1"
	_, _, err := u.CreateDispatchTarget("unused", in, nil)
	wantNevisErr(t, err, domain.CodeConflict, "errors.duplicateValue", "extId")

	// Once deleted, the extId is free again, as in nevisIDM.
	u = givenUser(targetCreated("dt-1", nil), &domain.DispatchTargetDeleted{ExtID: "dt-1"})
	if _, _, err := u.CreateDispatchTarget("unused", in, nil); err != nil {
		t.Fatalf("re-creating a deleted extId: %v", err)
	}
}

func TestUpdateDispatchTargetCarriesOnlyChanges(t *testing.T) {
	u := givenUser(targetCreated("dt-1", nil))
	cur, _ := u.DispatchTargetByExtID("dt-1")
	data, err := u.UpdateDispatchTarget("dt-1", domain.DispatchTargetPatch{Name: ptr(cur.Name), Target: ptr(" new-token ")})
	if err != nil {
		t.Fatal(err)
	}
	want := []domain.EventData{&domain.DispatchTargetUpdated{ExtID: "dt-1",
		DispatchTargetPatch: domain.DispatchTargetPatch{Target: ptr("new-token")}}}
	if !reflect.DeepEqual(data, want) {
		t.Fatalf("decided %+v, want only the trimmed target", data[0])
	}
	if data, err := u.UpdateDispatchTarget("dt-1", domain.DispatchTargetPatch{Name: ptr(cur.Name)}); data != nil || err != nil {
		t.Fatalf("a no-op patch decided %v, %v; want nothing", data, err)
	}
	_, err = u.UpdateDispatchTarget("dt-1", domain.DispatchTargetPatch{State: ptr("zombie")})
	wantNevisErr(t, err, domain.CodeInvalid, "errors.invalidParameter", "state")
	_, err = u.UpdateDispatchTarget("dt-9", domain.DispatchTargetPatch{Name: ptr("x")})
	wantNevisErr(t, err, domain.CodeNotFound, "errors.noRecord", "")
}

func TestAppAttestationAttachReplaceDelete(t *testing.T) {
	u := givenUser(targetCreated("dt-1", nil))
	data, err := u.AttachAppAttestation("dt-1", *sampleAttestation)
	if err != nil {
		t.Fatal(err)
	}
	if want := []domain.EventData{&domain.DispatchTargetAppAttestationAttached{ExtID: "dt-1", AppAttestation: *sampleAttestation}}; !reflect.DeepEqual(data, want) {
		t.Fatalf("attach decided %+v", data)
	}
	u = applyDecided(u, data)
	if data, err := u.AttachAppAttestation("dt-1", *sampleAttestation); data != nil || err != nil {
		t.Fatalf("attaching the same sampleAttestation again decided %v, %v; want nothing", data, err)
	}

	next := domain.AppAttestation{Name: "apple-app-attest", Counter: 4, Receipt: "bmV3"}
	data, err = u.AttachAppAttestation("dt-1", next)
	if err != nil || len(data) != 1 {
		t.Fatalf("replace decided %v, %v", data, err)
	}
	u = applyDecided(u, data)
	if got, _ := u.DispatchTargetByExtID("dt-1"); *got.AppAttestation != next {
		t.Fatalf("sampleAttestation %+v after replace, want %+v", *got.AppAttestation, next)
	}

	data, err = u.DeleteAppAttestation("dt-1")
	if want := []domain.EventData{&domain.DispatchTargetAppAttestationDeleted{ExtID: "dt-1"}}; err != nil || !reflect.DeepEqual(data, want) {
		t.Fatalf("delete sampleAttestation decided %v, %v", data, err)
	}
	u = applyDecided(u, data)
	if data, err := u.DeleteAppAttestation("dt-1"); data != nil || err != nil {
		t.Fatalf("deleting a missing sampleAttestation decided %v, %v; want nothing", data, err)
	}
	_, err = u.AttachAppAttestation("dt-1", domain.AppAttestation{Counter: 1})
	wantNevisErr(t, err, domain.CodeInvalid, "errors.mandatoryParameterMissing", "appAttestation.name")
	_, err = u.AttachAppAttestation("dt-9", *sampleAttestation)
	wantNevisErr(t, err, domain.CodeNotFound, "errors.noRecord", "")
}
