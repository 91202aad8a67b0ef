package domain

import "testing"

func TestSecretField(t *testing.T) {
	for _, name := range []string{
		"hash", "secret_hash", "token_hash", "SecretHash", "client_secret", "secret", "password",
		"code", "otp", "otp_code", "key_fingerprint", "secret_fingerprint", "access_token", "refresh_token",
		"token", "private_key", "webhook_secret", "salt", "token_hashes", "api_key", "passphrase", "secrets",
	} {
		if !SecretField(name) {
			t.Errorf("SecretField(%q) = false, want true", name)
		}
	}
	// Public values and ids of secrets stay visible: an auditor needs to
	// know which token was issued or revoked, and public keys are public.
	for _, name := range []string{
		"token_id", "id", "name", "email", "expires_at", "encryption_key", "signing_key", "public_key",
		"key_id", "scopes", "role", "target", "status", "tokens", "subject", "reason",
	} {
		if SecretField(name) {
			t.Errorf("SecretField(%q) = true, want false", name)
		}
	}
}
