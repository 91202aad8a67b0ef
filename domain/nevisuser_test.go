package domain_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/portcullis/portcullis/domain"
)

// givenUser folds events into a fresh nevis_user aggregate, one second
// apart.
func givenUser(data ...domain.EventData) domain.NevisUser {
	var u domain.NevisUser
	for i, d := range data {
		u.Apply(userEvent(i, d))
	}
	return u
}

func userEvent(i int, d domain.EventData) domain.Event {
	return domain.Event{Aggregate: domain.Ref{Type: domain.AggregateNevisUser, ID: "i1"},
		OccurredAt: time.Unix(int64(1700000000+i), 0), Data: d}
}

// applyDecided folds decided events into u, as the command layer does after the
// append.
func applyDecided(u domain.NevisUser, data []domain.EventData) domain.NevisUser {
	for i, d := range data {
		u.Apply(userEvent(1000+i, d))
	}
	return u
}

const (
	sampleKeyID     = "yMnKy8zNzs_Q0dLT1NXW19jZ2tvc3d7f4OHi4-Tl5uc"
	samplePublicKey = "cHViLWtleS1ieXRlcy1vZi1zb21lLWF1dGhlbnRpY2F0b3IteDk2Mi1yYXctNjVi"
)

func targetCreated(extID string, att *domain.AppAttestation) *domain.DispatchTargetCreated {
	return &domain.DispatchTargetCreated{DispatchTargetFields: domain.DispatchTargetFields{
		ExtID: extID, Type: "fido-uaf", DeviceID: "device-" + extID, Target: "fcm-token-" + extID,
		Dispatcher: "firebase-cloud-messaging", Name: "Phone " + extID, State: "active",
		EncryptionKey: `{"kty":"EC","crv":"P-256","x":"enc","y":"enc"}`,
		SigningKey:    `{"kty":"EC","crv":"P-256","x":"sig","y":"sig"}`,
	}, AppAttestation: att}
}

func credentialCreated(extID, keyID string, targets ...string) *domain.FidoUafCredentialCreated {
	return &domain.FidoUafCredentialCreated{FidoUafCredentialFields: domain.FidoUafCredentialFields{
		ExtID: extID, AAID: "F1D0#0001", KeyID: keyID, AuthVersion: "1.1",
		PublicKeyAlgorithm: "ALG_SIGN_SECP256R1_ECDSA_SHA256_RAW", PublicKey: samplePublicKey,
		DispatchTargetExtIDs: targets,
	}}
}

var sampleAttestation = &domain.AppAttestation{Name: "apple-app-attest", Counter: 3, Receipt: "cmVjZWlwdA"}

func TestDeleteDispatchTargetCascades(t *testing.T) {
	u := givenUser(
		targetCreated("dt-1", sampleAttestation),
		targetCreated("dt-2", nil),
		credentialCreated("c1", "a2V5LTE", "dt-1", "dt-2"),
		credentialCreated("c2", "a2V5LTI", "dt-2"),
		credentialCreated("c3", "a2V5LTM", "dt-1"),
	)
	data, err := u.DeleteDispatchTarget("dt-1")
	if err != nil {
		t.Fatal(err)
	}
	want := []domain.EventData{
		&domain.FidoUafCredentialDispatchTargetRemoved{ExtID: "c1", DispatchTargetExtID: "dt-1"},
		&domain.FidoUafCredentialDispatchTargetRemoved{ExtID: "c3", DispatchTargetExtID: "dt-1"},
		&domain.DispatchTargetAppAttestationDeleted{ExtID: "dt-1"},
		&domain.DispatchTargetDeleted{ExtID: "dt-1"},
	}
	if !reflect.DeepEqual(data, want) {
		t.Fatalf("decided %s, want %s", describeEvents(data), describeEvents(want))
	}

	after := applyDecided(u, data)
	if _, ok := after.DispatchTargetByExtID("dt-1"); ok {
		t.Fatal("dt-1 still exists after its deletion")
	}
	if _, ok := after.DispatchTargetByExtID("dt-2"); !ok {
		t.Fatal("dt-2 was deleted with dt-1")
	}
	for _, c := range []struct {
		ext     string
		targets []string
		version int64
	}{{"c1", []string{"dt-2"}, 1}, {"c2", []string{"dt-2"}, 0}, {"c3", nil, 1}} {
		got, ok := after.FidoUafCredentialByExtID(c.ext)
		if !ok {
			t.Fatalf("credential %s vanished; only the target should go", c.ext)
		}
		if !reflect.DeepEqual(got.DispatchTargetExtIDs, c.targets) || got.Version != c.version {
			t.Fatalf("%s: targets %v version %d, want %v version %d",
				c.ext, got.DispatchTargetExtIDs, got.Version, c.targets, c.version)
		}
	}
}

func TestDeleteBareDispatchTargetDecidesOneEvent(t *testing.T) {
	u := givenUser(targetCreated("dt-1", nil), credentialCreated("c1", sampleKeyID))
	data, err := u.DeleteDispatchTarget("dt-1")
	if err != nil {
		t.Fatal(err)
	}
	if want := []domain.EventData{&domain.DispatchTargetDeleted{ExtID: "dt-1"}}; !reflect.DeepEqual(data, want) {
		t.Fatalf("decided %s, want only the deletion", describeEvents(data))
	}
}

func TestDeleteMissingDispatchTargetIsNotFound(t *testing.T) {
	for name, u := range map[string]domain.NevisUser{
		"never created": givenUser(),
		"other target":  givenUser(targetCreated("dt-2", nil)),
		"deleted":       givenUser(targetCreated("dt-1", nil), &domain.DispatchTargetDeleted{ExtID: "dt-1"}),
	} {
		t.Run(name, func(t *testing.T) {
			data, err := u.DeleteDispatchTarget("dt-1")
			if domain.ErrorCode(err) != domain.CodeNotFound || domain.ErrorDetail(err) != "errors.noRecord" || data != nil {
				t.Fatalf("decided %v, err = %v; want NOT_FOUND errors.noRecord", data, err)
			}
			if got, want := domain.ErrorMessage(err), "No DispatchTarget found with extId 'dt-1'"; got != want {
				t.Fatalf("message %q, want %q", got, want)
			}
		})
	}
}

func TestApplyDerivesVersionAndTimes(t *testing.T) {
	u := givenUser(
		targetCreated("dt-1", nil),
		&domain.DispatchTargetUpdated{ExtID: "dt-1", DispatchTargetPatch: domain.DispatchTargetPatch{Name: ptr("Work phone")}},
		&domain.DispatchTargetAppAttestationAttached{ExtID: "dt-1", AppAttestation: *sampleAttestation},
	)
	got, _ := u.DispatchTargetByExtID("dt-1")
	if got.Version != 2 || got.Name != "Work phone" || got.AppAttestation == nil || *got.AppAttestation != *sampleAttestation {
		t.Fatalf("state = %+v, want version 2, new name, the sampleAttestation", got)
	}
	if !got.Created.Equal(time.Unix(1700000000, 0)) || !got.LastModified.Equal(time.Unix(1700000002, 0)) {
		t.Fatalf("created %v, lastModified %v; want the first and the last event's times", got.Created, got.LastModified)
	}
	if u.ID != "i1" {
		t.Fatalf("aggregate id %q, want the individual's id", u.ID)
	}
}

// The command layer caches states by value and folds new events into a
// shallow copy; folding must leave the cached original as it was.
func TestApplyLeavesEarlierCopiesAlone(t *testing.T) {
	orig := givenUser(targetCreated("dt-1", sampleAttestation), targetCreated("dt-2", nil),
		credentialCreated("c1", sampleKeyID, "dt-1", "dt-2"))
	data, err := orig.DeleteDispatchTarget("dt-1")
	if err != nil {
		t.Fatal(err)
	}
	more := []domain.EventData{
		&domain.DispatchTargetUpdated{ExtID: "dt-2", DispatchTargetPatch: domain.DispatchTargetPatch{Name: ptr("renamed")}},
		targetCreated("dt-3", nil),
		&domain.FidoUafCredentialDeleted{ExtID: "c1"},
	}
	applyDecided(orig, append(data, more...))

	want := givenUser(targetCreated("dt-1", sampleAttestation), targetCreated("dt-2", nil),
		credentialCreated("c1", sampleKeyID, "dt-1", "dt-2"))
	if !reflect.DeepEqual(orig, want) {
		t.Fatalf("the original changed under a copy:\n%+v\nwant\n%+v", orig, want)
	}
}

func describeEvents(data []domain.EventData) string {
	s := "["
	for i, d := range data {
		if i > 0 {
			s += ", "
		}
		s += d.EventType()
		switch d := d.(type) {
		case *domain.FidoUafCredentialDispatchTargetRemoved:
			s += "(" + d.ExtID + "," + d.DispatchTargetExtID + ")"
		case *domain.DispatchTargetDeleted:
			s += "(" + d.ExtID + ")"
		case *domain.DispatchTargetAppAttestationDeleted:
			s += "(" + d.ExtID + ")"
		}
	}
	return s + "]"
}

func TestDeleteAllEndsEveryRecord(t *testing.T) {
	u := givenUser(
		targetCreated("dt-1", sampleAttestation),
		targetCreated("dt-2", nil),
		credentialCreated("c1", "a2V5LTE", "dt-1", "dt-2"),
	)
	want := []domain.EventData{
		&domain.FidoUafCredentialDeleted{ExtID: "c1"},
		&domain.DispatchTargetAppAttestationDeleted{ExtID: "dt-1"},
		&domain.DispatchTargetDeleted{ExtID: "dt-1"},
		&domain.DispatchTargetDeleted{ExtID: "dt-2"},
	}
	data := u.DeleteAll()
	if !reflect.DeepEqual(data, want) {
		t.Fatalf("decided %s, want %s", describeEvents(data), describeEvents(want))
	}
	after := applyDecided(u, data)
	if len(after.DispatchTargets) != 0 || len(after.FidoUafCredentials) != 0 {
		t.Fatalf("records left after DeleteAll: %+v", after)
	}
	var none domain.NevisUser
	if got := none.DeleteAll(); len(got) != 0 {
		t.Fatalf("a person without records decided %s", describeEvents(got))
	}
}
