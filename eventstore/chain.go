package eventstore

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ChainHeader is the message header that carries an event's link in the
// hash chain. It lives beside the stored bytes, not inside them, so the
// envelope and every golden payload stay as they were, and the link can
// commit to those exact bytes.
const ChainHeader = "Pc-Chain"

// Versions of a link, its first field: how its hash was computed. A
// version 2 link also commits to the message's frame (parts.go), so a part
// or void header cannot be added, changed or removed unseen.
const (
	chainVersion       = "1"
	chainVersionFramed = "2"
)

// chainDomain and chainDomainFramed separate these hashes from any other
// SHA-256 of the same bytes.
const (
	chainDomain       = "portcullis/chain/v1\n"
	chainDomainFramed = "portcullis/chain/v2\n"
)

// Hash is a SHA-256 digest in the chain.
type Hash [sha256.Size]byte

// String is the lower-case hex form used in headers, reports and
// checkpoints.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// ParseHash reads the hex form of a Hash.
func ParseHash(s string) (Hash, error) {
	var h Hash
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(h) {
		return h, fmt.Errorf("eventstore: %q is not a hex SHA-256", s)
	}
	copy(h[:], b)
	return h, nil
}

// chainHash is the link of the event stored at seq on subject with data,
// following the event whose link is prev:
//
//	SHA-256("portcullis/chain/v1\n" ‖ prev ‖ seq as 8 bytes big-endian ‖
//	        len(subject) as 4 bytes big-endian ‖ subject ‖ data)
//
// data is the stored message body, the msgpack envelope exactly as
// appended; the chain header itself is not part of it. A framed message
// (a part of a command, or a void marker: parts.go) is hashed as
//
//	SHA-256("portcullis/chain/v2\n" ‖ prev ‖ seq as 8 bytes big-endian ‖
//	        len(subject) as 4 bytes big-endian ‖ subject ‖
//	        len(frame) as 4 bytes big-endian ‖ frame ‖ data)
//
// where frame is frame.hashed(), e.g. "part 1/2" or "void 41".
func chainHash(prev Hash, seq uint64, subject, frame string, data []byte) Hash {
	h := sha256.New()
	var n [12]byte
	binary.BigEndian.PutUint64(n[:8], seq)
	binary.BigEndian.PutUint32(n[8:], uint32(len(subject)))
	if frame == "" {
		h.Write([]byte(chainDomain))
	} else {
		h.Write([]byte(chainDomainFramed))
	}
	h.Write(prev[:])
	h.Write(n[:])
	h.Write([]byte(subject))
	if frame != "" {
		var l [4]byte
		binary.BigEndian.PutUint32(l[:], uint32(len(frame)))
		h.Write(l[:])
		h.Write([]byte(frame))
	}
	h.Write(data)
	var out Hash
	h.Sum(out[:0])
	return out
}

// link is the content of a chain header: the position the event was
// chained at, the link of the event before it and its own.
type link struct {
	Framed bool // version 2: the hash covers the frame
	Seq    uint64
	Prev   Hash
	Hash   Hash
}

func (l link) String() string {
	v := chainVersion
	if l.Framed {
		v = chainVersionFramed
	}
	return v + " " + strconv.FormatUint(l.Seq, 10) + " " + l.Prev.String() + " " + l.Hash.String()
}

// parseLink reads a chain header; ok is false when there is none.
func parseLink(h nats.Header) (l link, ok bool, err error) {
	v := h.Get(ChainHeader)
	if v == "" {
		return l, false, nil
	}
	f := strings.Fields(v)
	if len(f) != 4 || (f[0] != chainVersion && f[0] != chainVersionFramed) {
		return l, true, fmt.Errorf("malformed chain header %q", v)
	}
	l.Framed = f[0] == chainVersionFramed
	if l.Seq, err = strconv.ParseUint(f[1], 10, 64); err != nil {
		return l, true, fmt.Errorf("malformed chain header %q", v)
	}
	if l.Prev, err = ParseHash(f[2]); err != nil {
		return l, true, err
	}
	if l.Hash, err = ParseHash(f[3]); err != nil {
		return l, true, err
	}
	return l, true, nil
}

// chainHead is where the next event chains on: the stream position of the
// newest event and its link (zero before the first chained event).
type chainHead struct {
	Seq  uint64
	Hash Hash
}

// loadHead reads the newest event of the stream and returns the head to
// chain on. An event without a chain header (appended before the chain
// existed) starts the chain afresh from the zero hash; verification reports
// the events before the first link as not covered.
func loadHead(ctx context.Context, stream jetstream.Stream) (chainHead, error) {
	info, err := stream.Info(ctx)
	if err != nil {
		return chainHead{}, fmt.Errorf("eventstore: chain head: %w", err)
	}
	last := info.State.LastSeq
	if last == 0 {
		return chainHead{}, nil
	}
	m, err := stream.GetMsg(ctx, last)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return chainHead{}, fmt.Errorf("eventstore: chain head: the newest event %d cannot be read", last)
	}
	if err != nil {
		return chainHead{}, fmt.Errorf("eventstore: chain head: %w", err)
	}
	l, ok, err := parseLink(m.Header)
	if err != nil {
		return chainHead{}, fmt.Errorf("eventstore: chain head at %d: %w", m.Sequence, err)
	}
	if !ok {
		return chainHead{Seq: m.Sequence}, nil
	}
	return chainHead{Seq: m.Sequence, Hash: l.Hash}, nil
}
