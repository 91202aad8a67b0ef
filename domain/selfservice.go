package domain

import "time"

// AggregateSelfService is the aggregate type of an individual's self-service
// sign-ins, keyed by the individual's id. It is apart from the individual so
// that sending a code does not change the person's version (its ETag).
const AggregateSelfService = "self_service"

// Event types of self-service. None carries a code, a hash of one or a token.
const (
	TypeOTPSent     = "self_service.otp_sent"
	TypeOTPVerified = "self_service.otp_verified"
	TypeOTPLocked   = "self_service.otp_locked"
)

// OTPSent records that a one-time code was mailed to the individual.
type OTPSent struct {
	ExpiresAt time.Time `msgpack:"expires_at"`
}

func (*OTPSent) EventType() string { return TypeOTPSent }
func (*OTPSent) EventVersion() int { return 1 }

// OTPVerified records that the individual proved the code and received a
// self-service token valid until ExpiresAt.
type OTPVerified struct {
	ExpiresAt time.Time `msgpack:"expires_at"`
}

func (*OTPVerified) EventType() string { return TypeOTPVerified }
func (*OTPVerified) EventVersion() int { return 1 }

// OTPLocked records that a code was locked after too many wrong tries.
type OTPLocked struct {
	Attempts int `msgpack:"attempts"`
}

func (*OTPLocked) EventType() string { return TypeOTPLocked }
func (*OTPLocked) EventVersion() int { return 1 }

// SelfService is the state of an individual's self-service record: only
// what the audit trail needs, since codes live outside the log.
type SelfService struct {
	Sent, Verified, Locked int
}

// Exists is true: the record of a person with no sign-ins yet is empty, not
// missing.
func (s *SelfService) Exists() bool { return true }

// Apply folds one event into the record.
func (s *SelfService) Apply(e Event) {
	switch e.Data.(type) {
	case *OTPSent:
		s.Sent++
	case *OTPVerified:
		s.Verified++
	case *OTPLocked:
		s.Locked++
	}
}
