package commands

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/portcullis/portcullis/domain"
)

// SecretBox seals secrets that Portcullis must use again later (a webhook's
// signing secret, an integration's client secret) so that they can enter
// the log: AES-256-GCM under a key that lives in the data directory, never
// in the log. Every node that holds the key, and every rebuild, can open
// them; the log, its backups and the read models alone reveal nothing.
// Secrets that only need checking (tokens) are hashed instead.
type SecretBox struct {
	aead  cipher.AEAD
	keyID string
}

// NewSecretBox returns a box over a 32-byte key. The key id (the first 8
// bytes of the key's SHA-256, in hex) is written beside each sealed secret,
// so a key rotation can tell which key opens which secret.
func NewSecretBox(key []byte) (*SecretBox, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("secret box: key must be 32 bytes, not %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(key)
	return &SecretBox{aead: aead, keyID: hex.EncodeToString(sum[:8])}, nil
}

// KeyID names the box's key.
func (b *SecretBox) KeyID() string { return b.keyID }

// sealBinding is the additional data a sealed secret is bound to: a
// ciphertext copied onto another connection or field does not open.
func sealBinding(tenant, owner, name string) []byte {
	return []byte(tenant + "\x00" + owner + "\x00" + name)
}

// Seal encrypts plaintext for the secret name of owner in tenant.
func (b *SecretBox) Seal(tenant, owner, name, plaintext string) (domain.SealedSecret, error) {
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return domain.SealedSecret{}, err
	}
	ct := b.aead.Seal(nil, nonce, []byte(plaintext), sealBinding(tenant, owner, name))
	return domain.SealedSecret{Name: name, KeyID: b.keyID, Nonce: nonce, Ciphertext: ct}, nil
}

// ErrSecretKey means a sealed secret was sealed under another key than the
// box's: the node's data/keys/ is not the one the secret was made with.
var ErrSecretKey = errors.New("secret box: sealed under another key")

// Open decrypts a secret sealed for owner in tenant.
func (b *SecretBox) Open(tenant, owner string, s domain.SealedSecret) (string, error) {
	if s.KeyID != b.keyID {
		return "", fmt.Errorf("%w (%s, this node has %s)", ErrSecretKey, s.KeyID, b.keyID)
	}
	pt, err := b.aead.Open(nil, s.Nonce, s.Ciphertext, sealBinding(tenant, owner, s.Name))
	if err != nil {
		return "", fmt.Errorf("secret box: open %s: %w", s.Name, err)
	}
	return string(pt), nil
}
