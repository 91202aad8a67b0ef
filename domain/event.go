package domain

import (
	"fmt"
	"regexp"
	"time"
)

// Event is the envelope every fact in the log travels in. The envelope is
// the same for every face and every resource; Data holds the payload whose
// shape is fixed by (Type, Version).
type Event struct {
	ID         string    // unique per event
	Type       string    // dotted, past tense, never reused: "individual.created"
	Version    int       // payload version of Type, starting at 1
	Tenant     string    // the tenant every record belongs to
	Aggregate  Ref       // the aggregate the event changes
	Actor      string    // who caused it: "service_user:<id>", "system", …
	RequestID  string    // the HTTP request that caused it, if any
	CommandID  string    // the command that produced it; retries share it
	OccurredAt time.Time // when the command was decided
	Data       EventData

	// Face is the face the mutation came through (FaceNative, …); empty on
	// events written before faces were recorded.
	Face string

	// Sequence is the stream position, set only on events read back from the
	// log. It is the consistency token a client sees.
	Sequence uint64
}

// EventData is a payload. Its type name and version are explicit constants,
// never derived from Go type names, so renaming Go code cannot change history.
type EventData interface {
	EventType() string
	EventVersion() int
}

// Ref names one aggregate: its type and its id within a tenant.
type Ref struct {
	Type string
	ID   string
}

func (r Ref) String() string { return r.Type + "/" + r.ID }

// tokenRE is what a tenant, aggregate type or aggregate id may look like: it
// becomes one token of a NATS subject, so dots, spaces and wildcards are out.
var tokenRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ValidToken reports whether s can stand as one token of an event subject.
func ValidToken(s string) bool { return tokenRE.MatchString(s) }

// NewEventData returns an empty payload for (typ, version), ready to be
// decoded into. It is the registry of every event the log may contain; a
// switch rather than a mutable map so that nothing registers at run time.
func NewEventData(typ string, version int) (EventData, error) {
	var d EventData
	switch typ {
	case TypeTenantCreated:
		d = &TenantCreated{}
	case TypeIndividualCreated:
		d = &IndividualCreated{}
	case TypeIndividualUpdated:
		d = &IndividualUpdated{}
	case TypeIndividualDeleted:
		d = &IndividualDeleted{}
	case TypeUniqueValueClaimed:
		d = &UniqueValueClaimed{}
	case TypeUniqueValueReleased:
		d = &UniqueValueReleased{}
	case TypeDispatchTargetCreated:
		d = &DispatchTargetCreated{}
	case TypeDispatchTargetUpdated:
		d = &DispatchTargetUpdated{}
	case TypeDispatchTargetAppAttestationAttached:
		d = &DispatchTargetAppAttestationAttached{}
	case TypeDispatchTargetAppAttestationDeleted:
		d = &DispatchTargetAppAttestationDeleted{}
	case TypeDispatchTargetDeleted:
		d = &DispatchTargetDeleted{}
	case TypeFidoUafCredentialCreated:
		d = &FidoUafCredentialCreated{}
	case TypeFidoUafCredentialDispatchTargetRemoved:
		d = &FidoUafCredentialDispatchTargetRemoved{}
	case TypeFidoUafCredentialDeleted:
		d = &FidoUafCredentialDeleted{}
	case TypeServiceUserCreated:
		d = &ServiceUserCreated{}
	case TypeServiceUserRoleChanged:
		d = &ServiceUserRoleChanged{}
	case TypeServiceUserTokenIssued:
		d = &ServiceUserTokenIssued{}
	case TypeServiceUserTokenRevoked:
		d = &ServiceUserTokenRevoked{}
	case TypeServiceUserDeleted:
		d = &ServiceUserDeleted{}
	case TypeOAuthClientCreated:
		d = &OAuthClientCreated{}
	case TypeOAuthClientDeleted:
		d = &OAuthClientDeleted{}
	case TypeOTPSent:
		d = &OTPSent{}
	case TypeOTPVerified:
		d = &OTPVerified{}
	case TypeOTPLocked:
		d = &OTPLocked{}
	case TypeRoleCreated:
		d = &RoleCreated{}
	case TypeRoleUpdated:
		d = &RoleUpdated{}
	case TypeRoleDeleted:
		d = &RoleDeleted{}
	case TypeAuthFailed:
		d = &AuthFailed{}
	case TypeAccessGroupCreated:
		d = &AccessGroupCreated{}
	case TypeAccessGroupUpdated:
		d = &AccessGroupUpdated{}
	case TypeAccessGroupDeleted:
		d = &AccessGroupDeleted{}
	case TypeAccessGroupPermissionAdded:
		d = &AccessGroupPermissionAdded{}
	case TypeAccessGroupPermissionChanged:
		d = &AccessGroupPermissionChanged{}
	case TypeAccessGroupPermissionRemoved:
		d = &AccessGroupPermissionRemoved{}
	case TypeAccessRoleCreated:
		d = &AccessRoleCreated{}
	case TypeAccessPermissionCreated:
		d = &AccessPermissionCreated{}
	case TypeIDsAllocated:
		d = &IDsAllocated{}
	case TypeAccessPointCreated:
		d = &AccessPointCreated{}
	case TypeAccessPointUpdated:
		d = &AccessPointUpdated{}
	case TypeAccessPointDeleted:
		d = &AccessPointDeleted{}
	case TypeAccessPointCredentialsLinked:
		d = &AccessPointCredentialsLinked{}
	case TypeAccessPointCredentialsUnlinked:
		d = &AccessPointCredentialsUnlinked{}
	case TypeIntegrationConnected:
		d = &IntegrationConnected{}
	case TypeIntegrationDisconnected:
		d = &IntegrationDisconnected{}
	case TypeIntegrationWebhookSecretRotated:
		d = &IntegrationWebhookSecretRotated{}
	case TypeIntegrationWebhookDisabled:
		d = &IntegrationWebhookDisabled{}
	case TypeIntegrationWebhookEnabled:
		d = &IntegrationWebhookEnabled{}
	case TypeLocationCreated:
		d = &LocationCreated{}
	case TypeLocationUpdated:
		d = &LocationUpdated{}
	case TypeLocationDeleted:
		d = &LocationDeleted{}
	case TypeLocationBuildingAttached:
		d = &LocationBuildingAttached{}
	case TypeLocationBuildingDetached:
		d = &LocationBuildingDetached{}
	case TypeBuildingCreated:
		d = &BuildingCreated{}
	case TypeBuildingUpdated:
		d = &BuildingUpdated{}
	case TypeBuildingDeleted:
		d = &BuildingDeleted{}
	case TypeBuildingSpaceAttached:
		d = &BuildingSpaceAttached{}
	case TypeBuildingSpaceMoved:
		d = &BuildingSpaceMoved{}
	case TypeBuildingSpaceDetached:
		d = &BuildingSpaceDetached{}
	case TypeSpaceCreated:
		d = &SpaceCreated{}
	case TypeSpaceUpdated:
		d = &SpaceUpdated{}
	case TypeSpaceDeleted:
		d = &SpaceDeleted{}
	case TypeSpaceAccessPointsAttached:
		d = &SpaceAccessPointsAttached{}
	case TypeSpaceAccessPointsDetached:
		d = &SpaceAccessPointsDetached{}
	case TypeSpaceAccessRulesReplaced:
		d = &SpaceAccessRulesReplaced{}
	case TypeLockingSystemCreated:
		d = &LockingSystemCreated{}
	case TypeLockingSystemUpdated:
		d = &LockingSystemUpdated{}
	case TypeLockingSystemDeleted:
		d = &LockingSystemDeleted{}
	case TypeLockingSystemAccessPointsAttached:
		d = &LockingSystemAccessPointsAttached{}
	case TypeLockingSystemAccessPointsDetached:
		d = &LockingSystemAccessPointsDetached{}
	case TypeIndividualCredentialsAssigned:
		d = &IndividualCredentialsAssigned{}
	case TypeIndividualCredentialsConfirmed:
		d = &IndividualCredentialsConfirmed{}
	case TypeIndividualCredentialsReturned:
		d = &IndividualCredentialsReturned{}
	case TypeCredentialCreated:
		d = &CredentialCreated{}
	case TypeCredentialUpdated:
		d = &CredentialUpdated{}
	case TypeCredentialStatusChanged:
		d = &CredentialStatusChanged{}
	case TypeCredentialDeleted:
		d = &CredentialDeleted{}
	case TypeCredentialAssigned:
		d = &CredentialAssigned{}
	case TypeCredentialReserved:
		d = &CredentialReserved{}
	case TypeCredentialAssignmentConfirmed:
		d = &CredentialAssignmentConfirmed{}
	case TypeCredentialReturned:
		d = &CredentialReturned{}
	case TypeCredentialAccessPointsLinked:
		d = &CredentialAccessPointsLinked{}
	case TypeCredentialAccessPointsUnlinked:
		d = &CredentialAccessPointsUnlinked{}
	case TypeIntegrationWebhookReplayRequested:
		d = &IntegrationWebhookReplayRequested{}
	case TypeIntegrationWebhookReplayCompleted:
		d = &IntegrationWebhookReplayCompleted{}
	default:
		return nil, fmt.Errorf("unknown event type %q", typ)
	}
	if d.EventVersion() != version {
		return nil, fmt.Errorf("event %s has no version %d", typ, version)
	}
	return d, nil
}

// EventTypes lists every registered (type, version), for documentation and
// for the golden-payload test that keeps old events decodable forever.
func EventTypes() []EventData {
	return []EventData{
		&TenantCreated{},
		&IndividualCreated{}, &IndividualUpdated{}, &IndividualDeleted{},
		&UniqueValueClaimed{}, &UniqueValueReleased{},
		&DispatchTargetCreated{}, &DispatchTargetUpdated{},
		&DispatchTargetAppAttestationAttached{}, &DispatchTargetAppAttestationDeleted{},
		&DispatchTargetDeleted{},
		&FidoUafCredentialCreated{}, &FidoUafCredentialDispatchTargetRemoved{}, &FidoUafCredentialDeleted{},
		&ServiceUserCreated{}, &ServiceUserRoleChanged{}, &ServiceUserTokenIssued{},
		&ServiceUserTokenRevoked{}, &ServiceUserDeleted{},
		&OAuthClientCreated{}, &OAuthClientDeleted{},
		&OTPSent{}, &OTPVerified{}, &OTPLocked{},
		&AccessGroupCreated{}, &AccessGroupUpdated{}, &AccessGroupDeleted{},
		&AccessGroupPermissionAdded{}, &AccessGroupPermissionChanged{}, &AccessGroupPermissionRemoved{},
		&AccessRoleCreated{}, &AccessPermissionCreated{}, &IDsAllocated{},
		&RoleCreated{}, &RoleUpdated{}, &RoleDeleted{},
		&AuthFailed{},
		&AccessPointCreated{}, &AccessPointUpdated{}, &AccessPointDeleted{},
		&AccessPointCredentialsLinked{}, &AccessPointCredentialsUnlinked{},
		&IntegrationConnected{}, &IntegrationDisconnected{}, &IntegrationWebhookSecretRotated{},
		&IntegrationWebhookDisabled{}, &IntegrationWebhookEnabled{},
		&LocationCreated{}, &LocationUpdated{}, &LocationDeleted{}, &LocationBuildingAttached{}, &LocationBuildingDetached{},
		&BuildingCreated{}, &BuildingUpdated{}, &BuildingDeleted{}, &BuildingSpaceAttached{}, &BuildingSpaceMoved{}, &BuildingSpaceDetached{},
		&SpaceCreated{}, &SpaceUpdated{}, &SpaceDeleted{}, &SpaceAccessPointsAttached{}, &SpaceAccessPointsDetached{}, &SpaceAccessRulesReplaced{},
		&LockingSystemCreated{}, &LockingSystemUpdated{}, &LockingSystemDeleted{}, &LockingSystemAccessPointsAttached{}, &LockingSystemAccessPointsDetached{},
		&IndividualCredentialsAssigned{}, &IndividualCredentialsConfirmed{}, &IndividualCredentialsReturned{},
		&CredentialCreated{}, &CredentialUpdated{}, &CredentialStatusChanged{}, &CredentialDeleted{},
		&CredentialAssigned{}, &CredentialReserved{}, &CredentialAssignmentConfirmed{}, &CredentialReturned{},
		&CredentialAccessPointsLinked{}, &CredentialAccessPointsUnlinked{},
		&IntegrationWebhookReplayRequested{}, &IntegrationWebhookReplayCompleted{},
	}
}
