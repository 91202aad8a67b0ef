package domain

import "strings"

// SecretField reports whether a field of an event payload or a read model,
// by its (snake_case) name, holds a secret or something derived from one: a
// token's hash, a client secret's hash, a password, a one-time code. Every
// place that shows stored records field by field (the audit log, generic
// history) drops such fields, so that a secret added to a payload under a
// telling name cannot leak through them. It errs on the side of hiding.
func SecretField(name string) bool {
	n := strings.ToLower(name)
	switch n {
	case "token", "secret", "password", "code", "otp", "pin", "hash", "salt", "signature", "api_key", "apikey", "passphrase":
		return true
	}
	for _, part := range []string{"hash", "secret", "password", "passwd", "fingerprint", "private_key", "otp_code"} {
		if strings.Contains(n, part) {
			return true
		}
	}
	return strings.HasSuffix(n, "_token") || strings.HasPrefix(n, "token_") && !strings.HasSuffix(n, "_id")
}
