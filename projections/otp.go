package projections

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"time"

	"github.com/vmihailenco/msgpack/v5"
	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// OTPs keeps the one-time codes in flight, in a file of their own: a code is
// a secret, so it never enters the log, and only its keyed MAC is stored
// here. It is not derived from the log, so a rebuild leaves it alone.
type OTPs struct {
	bolt *bolt.DB
}

var bucketOTPs = []byte("otps") // tenant,individual → otpRecord

type otpRecord struct {
	MAC       []byte    `msgpack:"mac"`
	ExpiresAt time.Time `msgpack:"expires_at"`
	Attempts  int       `msgpack:"attempts"`
}

// MaxOTPAttempts is how many wrong codes lock a code: the next try fails
// even with the right one, until a new code is sent.
const MaxOTPAttempts = 5

// Outcomes of a verification.
var (
	ErrOTPInvalid = errors.New("otp: wrong, expired or already used code")
	ErrOTPLocked  = errors.New("otp: locked after too many wrong codes")
)

// OpenOTPs opens or creates the code file at path.
func OpenOTPs(path string) (*OTPs, error) {
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, ErrLocked
	}
	if err != nil {
		return nil, fmt.Errorf("projections: open %s: %w", path, err)
	}
	err = b.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketOTPs)
		return err
	})
	if err != nil {
		b.Close()
		return nil, err
	}
	return &OTPs{bolt: b}, nil
}

// Close closes the file.
func (o *OTPs) Close() error { return o.bolt.Close() }

// Put replaces the individual's code with a new one (its MAC), valid until
// expiresAt, with no wrong tries yet.
func (o *OTPs) Put(tenant, individualID string, mac []byte, expiresAt time.Time) error {
	data, err := msgpack.Marshal(&otpRecord{MAC: mac, ExpiresAt: expiresAt})
	if err != nil {
		return err
	}
	return o.bolt.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketOTPs).Put(key(tenant, individualID), data)
	})
}

// Verify checks a code's MAC in one transaction: a right code is used up; a
// wrong one counts, and the MaxOTPAttempts-th wrong one locks the code. It
// returns the number of wrong tries so far.
func (o *OTPs) Verify(tenant, individualID string, mac []byte, now time.Time) (attempts int, err error) {
	// A wrong code must count even though it fails, so its failure is kept
	// apart from the transaction's error, which would roll the count back.
	var wrong error
	err = o.bolt.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketOTPs)
		k := key(tenant, individualID)
		var rec otpRecord
		if found, err := getValue(b, k, &rec); err != nil {
			return err
		} else if !found || !now.Before(rec.ExpiresAt) {
			return ErrOTPInvalid
		}
		if rec.Attempts >= MaxOTPAttempts {
			attempts = rec.Attempts
			return ErrOTPLocked
		}
		if subtle.ConstantTimeCompare(rec.MAC, mac) == 1 {
			return b.Delete(k)
		}
		rec.Attempts++
		attempts = rec.Attempts
		wrong = ErrOTPInvalid
		return putValue(b, k, &rec)
	})
	if err == nil {
		err = wrong
	}
	return attempts, err
}
