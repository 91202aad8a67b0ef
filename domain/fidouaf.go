package domain

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Event types of FIDO UAF credentials. A credential lives inside the
// NevisUser aggregate of its person (see AggregateNevisUser), so every
// payload names the credential by its extId.
const (
	TypeFidoUafCredentialCreated               = "fido_uaf_credential.created"
	TypeFidoUafCredentialDispatchTargetRemoved = "fido_uaf_credential.dispatch_target_removed"
	TypeFidoUafCredentialDeleted               = "fido_uaf_credential.deleted"
)

// UniqueFidoUafKey is the kind of unique value that makes an (AAID, KeyID)
// pair unique within a tenant: the FIDO UAF server finds a registration by
// that pair alone, so two people must never share it. The command that
// creates a credential claims UniqueRef(UniqueFidoUafKey, FidoUafKey(…))
// with ClaimFidoUafKey in the same append; the decision below only sees the
// one person's credentials.
const UniqueFidoUafKey = "fido_uaf_credential.key"

// FidoUafPublicKeyAlgorithms are the accepted values of publicKeyAlgorithm:
// the names the FIDO UAF registry of predefined values gives to signature
// algorithms (ALG_SIGN_*) and to public key encodings (ALG_KEY_*).
var FidoUafPublicKeyAlgorithms = []string{
	"ALG_SIGN_SECP256R1_ECDSA_SHA256_RAW", "ALG_SIGN_SECP256R1_ECDSA_SHA256_DER",
	"ALG_SIGN_RSASSA_PSS_SHA256_RAW", "ALG_SIGN_RSASSA_PSS_SHA256_DER",
	"ALG_SIGN_SECP256K1_ECDSA_SHA256_RAW", "ALG_SIGN_SECP256K1_ECDSA_SHA256_DER",
	"ALG_SIGN_SM2_SM3_RAW",
	"ALG_SIGN_RSA_EMSA_PKCS1_SHA256_RAW", "ALG_SIGN_RSA_EMSA_PKCS1_SHA256_DER",
	"ALG_KEY_ECC_X962_RAW", "ALG_KEY_ECC_X962_DER",
	"ALG_KEY_RSA_2048_RAW", "ALG_KEY_RSA_2048_DER", "ALG_KEY_COSE",
}

// Limits from the FIDO UAF protocol: a KeyID is 32 to 2048 bytes in the
// spec; shorter ones are accepted because test authenticators use them, but
// never empty or longer. A public key gets a generous bound.
const (
	maxFidoUafKeyIDBytes   = 2048
	maxFidoUafPublicKeyLen = 16384
)

// aaidRE is the AAID format of the FIDO UAF protocol: the vendor's 4 hex
// digits, '#', the authenticator's 4 hex digits, case-insensitive.
var aaidRE = regexp.MustCompile(`^[0-9A-Fa-f]{4}#[0-9A-Fa-f]{4}$`)

// authVersionRE is a UAF version "major.minor", e.g. "1.0" or "1.1".
var authVersionRE = regexp.MustCompile(`^([0-9]{1,5})\.([0-9]{1,5})$`)

// FidoUafCredentialFields are the client-set fields of a FIDO UAF
// credential.
//
// PublicKey is the authenticator's PUBLIC key (the private key never leaves
// the device); it verifies signatures and is no secret, so it may sit in
// events and read models. Nothing secret belongs in this struct.
type FidoUafCredentialFields struct {
	ExtID              string `msgpack:"ext_id"`
	AAID               string `msgpack:"aaid"`
	KeyID              string `msgpack:"key_id"`
	AuthVersion        string `msgpack:"auth_version"`
	PublicKeyAlgorithm string `msgpack:"public_key_algorithm"`
	PublicKey          string `msgpack:"public_key"`
	// DispatchTargetExtIDs are dispatch targets of the same person through
	// which the credential's device is reached; nil when none.
	DispatchTargetExtIDs []string `msgpack:"dispatch_target_ext_ids,omitempty"`
}

// FidoUafCredentialCreated starts a FIDO UAF credential.
type FidoUafCredentialCreated struct {
	FidoUafCredentialFields `msgpack:",inline"`
}

func (*FidoUafCredentialCreated) EventType() string { return TypeFidoUafCredentialCreated }
func (*FidoUafCredentialCreated) EventVersion() int { return 1 }

// FidoUafCredentialDispatchTargetRemoved takes one dispatch target out of a
// credential's dispatchTargetExtIds; it is how the deletion of a target
// reaches every credential that referred to it.
type FidoUafCredentialDispatchTargetRemoved struct {
	ExtID               string `msgpack:"ext_id"`
	DispatchTargetExtID string `msgpack:"dispatch_target_ext_id"`
}

func (*FidoUafCredentialDispatchTargetRemoved) EventType() string {
	return TypeFidoUafCredentialDispatchTargetRemoved
}
func (*FidoUafCredentialDispatchTargetRemoved) EventVersion() int { return 1 }

// FidoUafCredentialDeleted ends a FIDO UAF credential. Its history stays in
// the log.
type FidoUafCredentialDeleted struct {
	ExtID string `msgpack:"ext_id"`
}

func (*FidoUafCredentialDeleted) EventType() string { return TypeFidoUafCredentialDeleted }
func (*FidoUafCredentialDeleted) EventVersion() int { return 1 }

// FidoUafCredential is the state of one FIDO UAF credential inside a
// NevisUser. Version counts the changes after creation (0 when new).
type FidoUafCredential struct {
	FidoUafCredentialFields
	Version      int64
	Created      time.Time
	LastModified time.Time
}

// FidoUafKey is the form in which an (AAID, KeyID) pair is compared: the
// AAID's hex digits are case-insensitive and a KeyID may come with or
// without base64 padding, yet each names the same registration. Both inputs
// must already be valid.
func FidoUafKey(aaid, keyID string) string {
	return strings.ToUpper(aaid) + "\x00" + strings.TrimRight(keyID, "=")
}

// ClaimFidoUafKey decides that the credential owner (by convention
// "<individual id>/<credential extId>") takes the tenant-wide claim on its
// (AAID, KeyID) pair, answering a taken pair with nevisIDM's notUnique.
func ClaimFidoUafKey(u *UniqueValue, owner string) ([]EventData, error) {
	data, err := u.Claim(UniqueFidoUafKey, owner, "keyId")
	if err != nil {
		return nil, fidoUafNotUnique()
	}
	return data, nil
}

// CreateFidoUafCredential decides the registration of a FIDO UAF
// credential. extID is the extId to use when the client gave none (the
// command derives it, so a retry names the same credential). Every
// dispatch target it names must be one of this person's. The returned
// fields are the normalized ones the event carries.
func (u *NevisUser) CreateFidoUafCredential(extID string, in FidoUafCredentialFields) ([]EventData, FidoUafCredentialFields, error) {
	for _, s := range []*string{&in.ExtID, &in.AAID, &in.KeyID, &in.AuthVersion, &in.PublicKeyAlgorithm, &in.PublicKey} {
		*s = strings.TrimSpace(*s)
	}
	if in.ExtID == "" {
		in.ExtID = extID
	}
	in.DispatchTargetExtIDs = dedupe(in.DispatchTargetExtIDs)
	if err := validateFidoUafCredential(in); err != nil {
		return nil, in, err
	}
	if _, ok := u.FidoUafCredentialByExtID(in.ExtID); ok {
		return nil, in, &Error{Code: CodeConflict, Field: "extId", Detail: NevisErrDuplicateValue,
			Message: fmt.Sprintf("A FIDO UAF credential with extId '%s' already exists for this user", in.ExtID)}
	}
	key := FidoUafKey(in.AAID, in.KeyID)
	for _, c := range u.FidoUafCredentials {
		if FidoUafKey(c.AAID, c.KeyID) == key {
			return nil, in, fidoUafNotUnique()
		}
	}
	for _, dt := range in.DispatchTargetExtIDs {
		if _, ok := u.DispatchTargetByExtID(dt); !ok {
			err := DispatchTargetNotFound(dt)
			err.Field = "dispatchTargetExtIds"
			return nil, in, err
		}
	}
	return []EventData{&FidoUafCredentialCreated{FidoUafCredentialFields: in}}, in, nil
}

// DeleteFidoUafCredential decides the deletion of a FIDO UAF credential.
// The command releases its UniqueFidoUafKey claim in the same append.
func (u *NevisUser) DeleteFidoUafCredential(extID string) ([]EventData, error) {
	if _, ok := u.FidoUafCredentialByExtID(extID); !ok {
		return nil, FidoUafCredentialNotFound(extID)
	}
	return []EventData{&FidoUafCredentialDeleted{ExtID: extID}}, nil
}

// FidoUafCredentialNotFound is the domain half of the nevisIDM answer for a
// missing credential; the face adds the user and the client.
func FidoUafCredentialNotFound(extID string) *Error {
	return &Error{Code: CodeNotFound, Detail: NevisErrNoRecord,
		Message: fmt.Sprintf("No FIDO UAF credential found with extId '%s'", extID)}
}

func fidoUafNotUnique() *Error {
	return &Error{Code: CodeConflict, Field: "keyId", Detail: NevisErrFidoUafNotUnique,
		Message: "A FIDO UAF credential with this AAID and KeyID already exists"}
}

func validateFidoUafCredential(f FidoUafCredentialFields) error {
	if !ValidToken(f.ExtID) {
		return nevisInvalid("extId", NevisErrInvalidParameter,
			"Invalid value for 'extId': use 1 to 64 letters, digits, '-' or '_'")
	}
	if !aaidRE.MatchString(f.AAID) {
		return nevisInvalid("aaid", NevisErrFidoUafInvalidAaidFormat,
			"Invalid AAID format: expected 'XXXX#YYYY' with hexadecimal digits")
	}
	if !validKeyID(f.KeyID) {
		return nevisInvalid("keyId", NevisErrFidoUafInvalidKeyIdFormat,
			"Invalid KeyID format: expected base64url of 1 to %d bytes", maxFidoUafKeyIDBytes)
	}
	if !validAuthVersion(f.AuthVersion) {
		return nevisInvalid("authVersion", NevisErrFidoUafInvalidAuthVersionFormat,
			"Invalid authVersion format: expected '<major>.<minor>', e.g. '1.0'")
	}
	if !oneOf(f.PublicKeyAlgorithm, FidoUafPublicKeyAlgorithms) {
		return nevisInvalid("publicKeyAlgorithm", NevisErrFidoUafInvalidPublicKeyAlgorithm,
			"Invalid publicKeyAlgorithm: expected a FIDO UAF algorithm name such as 'ALG_SIGN_SECP256R1_ECDSA_SHA256_RAW'")
	}
	if err := checkText("publicKey", f.PublicKey, true, maxFidoUafPublicKeyLen); err != nil {
		return err
	}
	if _, err := decodeBase64URL(f.PublicKey); err != nil {
		return nevisInvalid("publicKey", NevisErrInvalidParameter,
			"Invalid value for 'publicKey': expected base64url")
	}
	for _, dt := range f.DispatchTargetExtIDs {
		if !ValidToken(dt) {
			return nevisInvalid("dispatchTargetExtIds", NevisErrInvalidParameter,
				"Invalid value in 'dispatchTargetExtIds': use 1 to 64 letters, digits, '-' or '_'")
		}
	}
	return nil
}

// validKeyID reports whether s is base64url (padded or not) of 1 to
// maxFidoUafKeyIDBytes bytes.
func validKeyID(s string) bool {
	b, err := decodeBase64URL(s)
	return err == nil && len(b) > 0 && len(b) <= maxFidoUafKeyIDBytes
}

// decodeBase64URL accepts base64url with or without padding, nothing else:
// no '+', '/', whitespace or line breaks.
func decodeBase64URL(s string) ([]byte, error) {
	if strings.ContainsAny(s, "\r\n") {
		// The decoder skips line breaks even when strict.
		return nil, base64.CorruptInputError(strings.IndexAny(s, "\r\n"))
	}
	if strings.HasSuffix(s, "=") {
		return base64.URLEncoding.Strict().DecodeString(s)
	}
	return base64.RawURLEncoding.Strict().DecodeString(s)
}

func validAuthVersion(s string) bool {
	m := authVersionRE.FindStringSubmatch(s)
	if m == nil {
		return false
	}
	for _, part := range m[1:] {
		if n, err := strconv.Atoi(part); err != nil || n > 65535 {
			return false
		}
	}
	return true
}

// dedupe drops repeats and keeps the first-seen order; empty becomes nil.
func dedupe(in []string) []string {
	var out []string
	for _, s := range in {
		s = strings.TrimSpace(s)
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}
