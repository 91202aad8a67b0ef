package eventstore_test

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/portcullis/portcullis/domain"
	"github.com/portcullis/portcullis/eventstore"
)

var update = flag.Bool("update", false, "write golden event payloads that do not exist yet")

func ptr(s string) *string { return &s }

// samples holds one payload per registered (type, version). A new event type
// or version must add a sample here, and its golden file is then kept
// forever: old events must stay decodable.
var samples = map[string]domain.EventData{
	"tenant.created.v1": &domain.TenantCreated{ExtID: "acme", DisplayName: "Acme Ltd"},
	"individual.created.v1": &domain.IndividualCreated{IndividualFields: domain.IndividualFields{
		ExtID: "ada", FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com",
		MobilePhone: "+41 79 000 00 00", Department: "Engineering", Status: "active"}},
	"individual.updated.v1":    &domain.IndividualUpdated{IndividualPatch: domain.IndividualPatch{Department: ptr("Research"), Status: ptr("inactive")}},
	"individual.deleted.v1":    &domain.IndividualDeleted{},
	"unique_value.claimed.v1":  &domain.UniqueValueClaimed{Kind: domain.UniqueIndividualEmail, Owner: "0b7c7d3e-5c1f-4f7a-9d55-6a8f2b1e4c90"},
	"unique_value.released.v1": &domain.UniqueValueReleased{Kind: domain.UniqueIndividualEmail, Owner: "0b7c7d3e-5c1f-4f7a-9d55-6a8f2b1e4c90"},

	// nevisIDM authenticator records of one person (aggregate nevis_user).
	"dispatch_target.created.v1": &domain.DispatchTargetCreated{DispatchTargetFields: domain.DispatchTargetFields{
		ExtID: "dt-123", Type: "fido-uaf", DeviceID: "device-7f3a", Target: "fcm-registration-token",
		Dispatcher: "firebase-cloud-messaging", Name: "Ada's phone", State: "active",
		EncryptionKey: `{"kty":"EC","crv":"P-256","x":"ZW5jLXg","y":"ZW5jLXk"}`,
		SigningKey:    `{"kty":"EC","crv":"P-256","x":"c2lnLXg","y":"c2lnLXk"}`},
		AppAttestation: &domain.AppAttestation{Name: "apple-app-attest", Counter: 1, Receipt: "cmVjZWlwdC0x"}},
	"dispatch_target.updated.v1": &domain.DispatchTargetUpdated{ExtID: "dt-123",
		DispatchTargetPatch: domain.DispatchTargetPatch{Target: ptr("fcm-registration-token-2"), State: ptr("disabled")}},
	"dispatch_target.app_attestation_attached.v1": &domain.DispatchTargetAppAttestationAttached{ExtID: "dt-123",
		AppAttestation: domain.AppAttestation{Name: "apple-app-attest", Counter: 2, Receipt: "cmVjZWlwdC0y"}},
	"dispatch_target.app_attestation_deleted.v1": &domain.DispatchTargetAppAttestationDeleted{ExtID: "dt-123"},
	"dispatch_target.deleted.v1":                 &domain.DispatchTargetDeleted{ExtID: "dt-123"},
	"fido_uaf_credential.created.v1": &domain.FidoUafCredentialCreated{FidoUafCredentialFields: domain.FidoUafCredentialFields{
		ExtID: "cred-1", AAID: "F1D0#0001", KeyID: "yMnKy8zNzs_Q0dLT1NXW19jZ2tvc3d7f4OHi4-Tl5uc", AuthVersion: "1.1",
		PublicKeyAlgorithm:   "ALG_SIGN_SECP256R1_ECDSA_SHA256_RAW",
		PublicKey:            "cHViLWtleS1ieXRlcy1vZi1zb21lLWF1dGhlbnRpY2F0b3IteDk2Mi1yYXctNjVi",
		DispatchTargetExtIDs: []string{"dt-123", "dt-456"}}},
	"fido_uaf_credential.dispatch_target_removed.v1": &domain.FidoUafCredentialDispatchTargetRemoved{ExtID: "cred-1", DispatchTargetExtID: "dt-123"},
	"fido_uaf_credential.deleted.v1":                 &domain.FidoUafCredentialDeleted{ExtID: "cred-1"},

	"service_user.created.v1":      &domain.ServiceUserCreated{Name: "ci-pipeline", Role: "operator"},
	"service_user.role_changed.v1": &domain.ServiceUserRoleChanged{Role: "viewer"},
	"service_user.token_issued.v1": &domain.ServiceUserTokenIssued{TokenID: "tok_1",
		Hash: []byte{0x9f, 0x86, 0xd0, 0x81, 0x88, 0x4c, 0x7d, 0x65}, ExpiresAt: time.Date(2027, 11, 22, 0, 0, 0, 0, time.UTC)},
	"service_user.token_revoked.v1": &domain.ServiceUserTokenRevoked{TokenID: "tok_1"},
	"service_user.deleted.v1":       &domain.ServiceUserDeleted{},

	"oauth_client.created.v1": &domain.OAuthClientCreated{Name: "door-sync", Role: "operator",
		Scopes: []string{"AccessManager:Read", "individuals:read"}, SecretHash: []byte{0x2c, 0xf2, 0x4d, 0xba, 0x5f, 0xb0, 0xa3, 0x0e}},
	"oauth_client.deleted.v1": &domain.OAuthClientDeleted{},

	"self_service.otp_sent.v1":     &domain.OTPSent{ExpiresAt: time.Date(2026, 11, 22, 8, 10, 0, 0, time.UTC)},
	"self_service.otp_verified.v1": &domain.OTPVerified{ExpiresAt: time.Date(2026, 11, 22, 8, 25, 0, 0, time.UTC)},
	"self_service.otp_locked.v1":   &domain.OTPLocked{Attempts: 5},

	// eSystems access groups, their permission records and what they point at.
	"access_group.created.v1": &domain.AccessGroupCreated{RecordFields: domain.RecordFields{
		Name: "Main entrance", ExternalID: "grp-main", Description: "Doors of the main building"}},
	"access_group.updated.v1": &domain.AccessGroupUpdated{RecordPatch: domain.RecordPatch{
		Name: ptr("Main entrance (north)"), Description: ptr("")}},
	"access_group.deleted.v1": &domain.AccessGroupDeleted{},
	"access_group.permission_added.v1": &domain.AccessGroupPermissionAdded{ID: 17,
		AccessRoleID: "3ad64ab3-bd04-46c5-b1d7-c0b34be9e5b5", PermissionID: "9b1f0c2e-6a47-4f0e-8d5b-2c3e4f5a6b7c", IsActive: true},
	"access_group.permission_changed.v1": &domain.AccessGroupPermissionChanged{ID: 17, IsActive: func() *bool { f := false; return &f }()},
	"access_group.permission_removed.v1": &domain.AccessGroupPermissionRemoved{ID: 17},
	"access_role.created.v1": &domain.AccessRoleCreated{RecordFields: domain.RecordFields{
		Name: "Bob Normal", ExternalID: "role-normal", Description: "Everyday access"}},
	"access_permission.created.v1": &domain.AccessPermissionCreated{RecordFields: domain.RecordFields{
		Name: "Door 12", ExternalID: "perm-door-12"}},
	"id_sequence.allocated.v1": &domain.IDsAllocated{First: 17, Count: 3},

	"role.created.v1": &domain.RoleCreated{Name: "door-admins", Description: "Manage doors",
		Permissions: []string{"access-points:read", "access-points:write"}},
	"role.updated.v1": &domain.RoleUpdated{Description: "Read doors", Permissions: []string{"access-points:read"}},
	"role.deleted.v1": &domain.RoleDeleted{},

	// Places: access points and the credentials linked to them.
	"access_point.created.v1": &domain.AccessPointCreated{AccessPointFields: domain.AccessPointFields{
		PointName: "Main entrance", Label: "D-001", SpaceID: "5e0c1f8a-2b7d-4c3e-9f6a-1d2e3f4a5b6c",
		LockingSystemID: "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d", OutsideA: "Street", InsideB: "Lobby",
		Area: "Ground floor", Department: "Facilities", Status: "active", DeleteProtected: true}},
	"access_point.updated.v1": &domain.AccessPointUpdated{AccessPointPatch: domain.AccessPointPatch{
		Label: ptr("D-001a"), SpaceID: ptr("6f1d2a9b-3c8e-4d4f-8a7b-2e3f4a5b6c7d"), DeleteProtected: func() *bool { f := false; return &f }()}},
	"access_point.deleted.v1": &domain.AccessPointDeleted{},
	"access_point.credentials_linked.v1": &domain.AccessPointCredentialsLinked{
		CredentialIDs: []string{"2c9d8e7f-6a5b-4c3d-9e8f-7a6b5c4d3e2f", "3d0e9f8a-7b6c-4d5e-8f9a-8b7c6d5e4f3a"}},
	"access_point.credentials_unlinked.v1": &domain.AccessPointCredentialsUnlinked{
		CredentialIDs: []string{"2c9d8e7f-6a5b-4c3d-9e8f-7a6b5c4d3e2f"}},
	// Integration connections; secrets only sealed (these bytes are no real key's).
	"integration.connected.v1": &domain.IntegrationConnected{ApplicationID: "webhook", Name: "ERP sync",
		Settings: []domain.IntegrationSetting{{Name: "url", Value: "https://erp.example.com/hooks/portcullis"},
			{Name: "event_types", Values: []string{"access_credential.*", "individual.created"}}},
		Secrets: []domain.SealedSecret{{Name: "signing_secret", KeyID: "5f2b9c0d1e3a4b6c",
			Nonce: []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, Ciphertext: []byte{0xde, 0xad, 0xbe, 0xef, 0x01, 0x02}}}},
	"integration.disconnected.v1": &domain.IntegrationDisconnected{},
	"integration.webhook_secret_rotated.v1": &domain.IntegrationWebhookSecretRotated{
		Secret: domain.SealedSecret{Name: "signing_secret", KeyID: "5f2b9c0d1e3a4b6c",
			Nonce: []byte{12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, Ciphertext: []byte{0xca, 0xfe, 0xba, 0xbe}},
		PreviousValidUntil: time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)},
	"integration.webhook_disabled.v1": &domain.IntegrationWebhookDisabled{
		Reason: "the endpoint failed every attempt for 120h0m0s; last: 503 Service Unavailable", FailingSince: time.Date(2026, 11, 17, 8, 0, 0, 0, time.UTC)},
	"integration.webhook_enabled.v1": &domain.IntegrationWebhookEnabled{},
	"integration.webhook_replay_requested.v1": &domain.IntegrationWebhookReplayRequested{
		ReplayID: "2f0e4c1a-8d3b-5e7f-9a1c-3b5d7f9e1a2c", From: 1200, To: 1875},
	"integration.webhook_replay_completed.v1": &domain.IntegrationWebhookReplayCompleted{ReplayID: "2f0e4c1a-8d3b-5e7f-9a1c-3b5d7f9e1a2c"},

	// Places: locations, buildings and the tree of their spaces, locking systems.
	"location.created.v1": &domain.LocationCreated{LocationFields: domain.LocationFields{
		Name: "Headquarters", Address: "Bahnhofstrasse 1, 8001 Zürich", TimeZone: "Europe/Zurich"}},
	"location.updated.v1":           &domain.LocationUpdated{LocationPatch: domain.LocationPatch{Address: ptr("Bahnhofstrasse 3, 8001 Zürich")}},
	"location.deleted.v1":           &domain.LocationDeleted{},
	"location.building_attached.v1": &domain.LocationBuildingAttached{BuildingID: "8b9c0d1e-2f3a-4b4c-9d5e-6f7a8b9c0d1e"},
	"location.building_detached.v1": &domain.LocationBuildingDetached{BuildingID: "8b9c0d1e-2f3a-4b4c-9d5e-6f7a8b9c0d1e"},
	"building.created.v1": &domain.BuildingCreated{BuildingFields: domain.BuildingFields{
		Name: "Main building", LocationID: "9c0d1e2f-3a4b-4c5d-8e6f-7a8b9c0d1e2f"}},
	"building.updated.v1":        &domain.BuildingUpdated{BuildingPatch: domain.BuildingPatch{Name: ptr("North wing")}},
	"building.deleted.v1":        &domain.BuildingDeleted{},
	"building.space_attached.v1": &domain.BuildingSpaceAttached{SpaceID: "5e0c1f8a-2b7d-4c3e-9f6a-1d2e3f4a5b6c", ParentID: "0d1e2f3a-4b5c-4d6e-9f7a-8b9c0d1e2f3a"},
	"building.space_moved.v1":    &domain.BuildingSpaceMoved{SpaceID: "5e0c1f8a-2b7d-4c3e-9f6a-1d2e3f4a5b6c", ParentID: ""},
	"building.space_detached.v1": &domain.BuildingSpaceDetached{SpaceID: "5e0c1f8a-2b7d-4c3e-9f6a-1d2e3f4a5b6c"},
	"space.created.v1": &domain.SpaceCreated{SpaceFields: domain.SpaceFields{Name: "Server room",
		BuildingID: "8b9c0d1e-2f3a-4b4c-9d5e-6f7a8b9c0d1e", ParentID: "0d1e2f3a-4b5c-4d6e-9f7a-8b9c0d1e2f3a", DeleteProtected: true}},
	"space.updated.v1": &domain.SpaceUpdated{SpacePatch: domain.SpacePatch{Name: ptr("Server room 2"), ParentID: ptr("")}},
	"space.deleted.v1": &domain.SpaceDeleted{},
	"space.access_points_attached.v1": &domain.SpaceAccessPointsAttached{
		AccessPointIDs: []string{"1e2f3a4b-5c6d-4e7f-8a9b-0c1d2e3f4a5b", "2f3a4b5c-6d7e-4f8a-9b0c-1d2e3f4a5b6c"}},
	"space.access_points_detached.v1": &domain.SpaceAccessPointsDetached{AccessPointIDs: []string{"1e2f3a4b-5c6d-4e7f-8a9b-0c1d2e3f4a5b"}},
	"space.access_rules_replaced.v1": &domain.SpaceAccessRulesReplaced{Rules: []domain.AccessRule{{
		ID: "office-hours", IndividualIDs: []string{"0b7c7d3e-5c1f-4f7a-9d55-6a8f2b1e4c90"}, Departments: []string{"Engineering"},
		Schedule:  []domain.TimeWindow{{Days: []string{"mon", "tue", "wed", "thu", "fri"}, From: "08:00", To: "18:00"}, {Days: []string{"fri"}, From: "22:00", To: "06:00"}},
		ValidFrom: "2026-01-01", ValidUntil: "2026-12-31"}}},
	"locking_system.created.v1": &domain.LockingSystemCreated{LockingSystemFields: domain.LockingSystemFields{
		Name: "Master key system A", Brand: "KABA", SystemType: "mechatronic", SystemTechnology: "RFID MIFARE DESFire", RevisionNumber: "R-2026-03"}},
	"locking_system.updated.v1": &domain.LockingSystemUpdated{LockingSystemPatch: domain.LockingSystemPatch{RevisionNumber: ptr("R-2026-04")}},
	"locking_system.deleted.v1": &domain.LockingSystemDeleted{},
	"locking_system.access_points_attached.v1": &domain.LockingSystemAccessPointsAttached{
		AccessPointIDs: []string{"1e2f3a4b-5c6d-4e7f-8a9b-0c1d2e3f4a5b"}},
	"locking_system.access_points_detached.v1": &domain.LockingSystemAccessPointsDetached{
		AccessPointIDs: []string{"1e2f3a4b-5c6d-4e7f-8a9b-0c1d2e3f4a5b"}},

	// Access credentials, their assignment to people and their links.
	"individual.credentials_assigned.v1": &domain.IndividualCredentialsAssigned{
		CredentialIDs: []string{"5f0c9a8e-1d2b-4c3d-8e9f-0a1b2c3d4e5f", "6a1d0b9f-2e3c-4d4e-9f0a-1b2c3d4e5f60"}, Pending: true},
	"individual.credentials_confirmed.v1": &domain.IndividualCredentialsConfirmed{CredentialIDs: []string{"5f0c9a8e-1d2b-4c3d-8e9f-0a1b2c3d4e5f"}},
	"individual.credentials_returned.v1":  &domain.IndividualCredentialsReturned{CredentialIDs: []string{"5f0c9a8e-1d2b-4c3d-8e9f-0a1b2c3d4e5f"}},
	"access_credential.created.v1": &domain.CredentialCreated{CredentialFields: domain.CredentialFields{
		CredentialID: "K-0042", CredentialName: "Main entrance key", Type: "mechanical_key", Status: "active",
		ValidUntil: time.Date(2027, 12, 31, 23, 0, 0, 0, time.UTC), Source: "imported", Counter: 2, DeleteProtected: true}},
	"access_credential.updated.v1": &domain.CredentialUpdated{CredentialPatch: domain.CredentialPatch{
		CredentialName: ptr("Main entrance key (copy)"), ValidFrom: &time.Time{},
		ValidUntil: func() *time.Time { t := time.Date(2028, 6, 30, 22, 0, 0, 0, time.UTC); return &t }(),
		Counter:    func() *int { n := 3; return &n }(), DeleteProtected: func() *bool { f := false; return &f }()}},
	"access_credential.status_changed.v1": &domain.CredentialStatusChanged{Status: "lost", Previous: "active"},
	"access_credential.deleted.v1":        &domain.CredentialDeleted{},
	"access_credential.assigned.v1": &domain.CredentialAssigned{Assignment: domain.Assignment{
		IndividualID: "0b7c7d3e-5c1f-4f7a-9d55-6a8f2b1e4c90", DueDate: time.Date(2027, 3, 31, 16, 0, 0, 0, time.UTC),
		DueReason: "Contractor, project Lighthouse", Condition: "new", Notes: "Handed over at reception"}},
	"access_credential.reserved.v1": &domain.CredentialReserved{Assignment: domain.Assignment{
		IndividualID: "0b7c7d3e-5c1f-4f7a-9d55-6a8f2b1e4c90", Condition: "good",
		Confirmation: &domain.Confirmation{Type: "digital", Destination: "ada@example.com"}}},
	"access_credential.assignment_confirmed.v1": &domain.CredentialAssignmentConfirmed{IndividualID: "0b7c7d3e-5c1f-4f7a-9d55-6a8f2b1e4c90"},
	"access_credential.returned.v1": &domain.CredentialReturned{IndividualID: "0b7c7d3e-5c1f-4f7a-9d55-6a8f2b1e4c90",
		Condition: "worn", Notes: "Bit slightly bent"},
	"access_credential.access_points_linked.v1": &domain.CredentialAccessPointsLinked{
		AccessPointIDs: []string{"8c2e1f0a-3b4c-4d5e-8f9a-0b1c2d3e4f50", "9d3f2a1b-4c5d-4e6f-9a0b-1c2d3e4f5061"}},
	"access_credential.access_points_unlinked.v1": &domain.CredentialAccessPointsUnlinked{
		AccessPointIDs: []string{"8c2e1f0a-3b4c-4d5e-8f9a-0b1c2d3e4f50"}},

	"auth.failed.v1": &domain.AuthFailed{Scheme: "token", Reason: "revoked", Subject: "service_user:7d1c",
		RemoteAddr: "192.0.2.7", Path: "/api/v1/individuals"},
}

func goldenName(d domain.EventData) string {
	return d.EventType() + ".v" + string(rune('0'+d.EventVersion()))
}

// TestGoldenEvents decodes the stored payload of every event type and
// version and compares it with its sample.
func TestGoldenEvents(t *testing.T) {
	for _, d := range domain.EventTypes() {
		name := goldenName(d)
		t.Run(name, func(t *testing.T) {
			sample, ok := samples[name]
			if !ok {
				t.Fatalf("no sample for %s: add one to samples", name)
			}
			path := filepath.Join("..", "testdata", "events", name+".msgpack")
			want := domain.Event{
				ID: "evt-" + name, Type: sample.EventType(), Version: sample.EventVersion(), Tenant: "acme",
				Aggregate: domain.Ref{Type: "individual", ID: "0b7c7d3e-5c1f-4f7a-9d55-6a8f2b1e4c90"},
				Actor:     "service_user:admin", RequestID: "req_golden", CommandID: "cmd-golden",
				OccurredAt: time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC), Data: sample, Sequence: 42,
			}
			data, err := os.ReadFile(path)
			if os.IsNotExist(err) && *update {
				if data, err = eventstore.Encode(want); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, data, 0o644); err != nil {
					t.Fatal(err)
				}
			} else if err != nil {
				t.Fatalf("golden payload missing (run go test ./eventstore -run Golden -update once): %v", err)
			}
			got, err := eventstore.Decode(data, 42)
			if err != nil {
				t.Fatalf("decode golden %s: %v", name, err)
			}
			// Compare as bytes: the decoded event must encode back to the
			// golden payload, and so must the sample (a renamed field tag
			// or a changed type would break either). Comparing bytes also
			// sidesteps the time zone msgpack decodes times into.
			again, err := eventstore.Encode(got)
			if err != nil {
				t.Fatal(err)
			}
			fromSample, err := eventstore.Encode(want)
			if err != nil {
				t.Fatal(err)
			}
			if string(again) != string(data) || string(fromSample) != string(data) {
				t.Fatalf("golden %s does not round-trip: decoded %+v, sample %+v", name, got.Data, want.Data)
			}
			if got.Sequence != 42 || got.Type != want.Type || got.Version != want.Version || !got.OccurredAt.Equal(want.OccurredAt) {
				t.Fatalf("golden %s envelope decoded to %+v", name, got)
			}
		})
	}
}

func TestDecodeRejectsUnknownType(t *testing.T) {
	data, err := eventstore.Encode(domain.Event{ID: "x", Tenant: "t", Data: &domain.IndividualDeleted{},
		Aggregate: domain.Ref{Type: "individual", ID: "i"}})
	if err != nil {
		t.Fatal(err)
	}
	// Flip the type name inside the envelope to one nobody registered.
	bad := []byte(string(data))
	i := indexOf(bad, []byte("individual.deleted"))
	copy(bad[i:], "individual.deletex")
	if _, err := eventstore.Decode(bad, 1); err == nil {
		t.Fatal("decoding an unregistered event type succeeded, want an error")
	}
}

func indexOf(b, sub []byte) int {
	for i := 0; i+len(sub) <= len(b); i++ {
		if string(b[i:i+len(sub)]) == string(sub) {
			return i
		}
	}
	return -1
}

// The face is an additive envelope field: an event that has one keeps it
// through the codec, and the golden events, written before faces were
// recorded, decode with none (TestGoldenEvents keeps their bytes).
func TestFaceRoundTrips(t *testing.T) {
	e := domain.Event{ID: "x", Tenant: "t", Aggregate: domain.Ref{Type: "individual", ID: "i"},
		Actor: "oauth_client:c1", Face: domain.FaceESystems, Data: &domain.IndividualDeleted{},
		OccurredAt: time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)}
	data, err := eventstore.Encode(e)
	if err != nil {
		t.Fatal(err)
	}
	got, err := eventstore.Decode(data, 7)
	if err != nil {
		t.Fatal(err)
	}
	if got.Face != domain.FaceESystems {
		t.Fatalf("face: got %q, want %q", got.Face, domain.FaceESystems)
	}
	old, err := os.ReadFile(filepath.Join("..", "testdata", "events", "individual.deleted.v1.msgpack"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err = eventstore.Decode(old, 1); err != nil || got.Face != "" {
		t.Fatalf("old event: face %q, err %v; want none", got.Face, err)
	}
}
