package domain

import (
	"crypto/sha256"
	"encoding/hex"
)

// AggregateUnique is the aggregate type of a claimed unique value. A value
// that must be unique per tenant (an individual's email, later a credential
// number) is its own aggregate, so the log itself enforces uniqueness: two
// concurrent claims both expect the claim's subject to be at the same
// position, and JetStream accepts only one of them.
const AggregateUnique = "unique_value"

// Event types of unique-value claims.
const (
	TypeUniqueValueClaimed  = "unique_value.claimed"
	TypeUniqueValueReleased = "unique_value.released"
)

// Kinds of unique values.
const (
	UniqueIndividualEmail = "individual.email"
)

// UniqueRef names the claim aggregate of one value of one kind. The value is
// hashed so the subject carries no personal data and stays a valid token.
func UniqueRef(kind, value string) Ref {
	h := sha256.Sum256([]byte(kind + "\x00" + value))
	return Ref{Type: AggregateUnique, ID: hex.EncodeToString(h[:16])}
}

// UniqueValueClaimed records that Owner now holds the value.
type UniqueValueClaimed struct {
	Kind  string `msgpack:"kind"`
	Owner string `msgpack:"owner"`
}

func (*UniqueValueClaimed) EventType() string { return TypeUniqueValueClaimed }
func (*UniqueValueClaimed) EventVersion() int { return 1 }

// UniqueValueReleased records that Owner gave the value up.
type UniqueValueReleased struct {
	Kind  string `msgpack:"kind"`
	Owner string `msgpack:"owner"`
}

func (*UniqueValueReleased) EventType() string { return TypeUniqueValueReleased }
func (*UniqueValueReleased) EventVersion() int { return 1 }

// UniqueValue is the state of a claim: who holds it, if anyone.
type UniqueValue struct {
	Owner string
}

// Apply folds one event into the claim.
func (u *UniqueValue) Apply(e Event) {
	switch d := e.Data.(type) {
	case *UniqueValueClaimed:
		u.Owner = d.Owner
	case *UniqueValueReleased:
		u.Owner = ""
	}
}

// Claim decides that owner takes the value; field names the input that
// carried it, for the conflict message.
func (u *UniqueValue) Claim(kind, owner, field string) ([]EventData, error) {
	if u.Owner == owner {
		return nil, nil
	}
	if u.Owner != "" {
		return nil, &Error{Code: CodeConflict, Field: field, Message: "is already in use by another record"}
	}
	return []EventData{&UniqueValueClaimed{Kind: kind, Owner: owner}}, nil
}

// Release decides that owner gives the value up; releasing a value one does
// not hold decides nothing.
func (u *UniqueValue) Release(kind, owner string) []EventData {
	if u.Owner != owner {
		return nil
	}
	return []EventData{&UniqueValueReleased{Kind: kind, Owner: owner}}
}
