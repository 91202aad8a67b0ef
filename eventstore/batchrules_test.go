package eventstore

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/synadia-io/orbit.go/jetstreamext"
)

// TestAtomicBatchExpectationRules pins the JetStream behaviour the writer
// is built on (ADR-50, nats-server's atomic batch commit): expectations are
// checked against the stream as it was before the batch, when the batch
// commits; the stream expectation is allowed on the first message only; a
// subject's expectation cannot follow a write to that subject in the same
// batch; any failed check refuses the whole batch, with an error that does
// not say which message failed.
func TestAtomicBatchExpectationRules(t *testing.T) {
	s, err := Open(context.Background(), Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	msg := func(subj string, hdr ...string) *nats.Msg {
		m := &nats.Msg{Subject: SubjectPrefix + ".t." + subj, Data: []byte("x"), Header: nats.Header{}}
		for i := 0; i+1 < len(hdr); i += 2 {
			m.Header.Set(hdr[i], hdr[i+1])
		}
		return m
	}
	code := func(err error) int {
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) {
			return int(apiErr.ErrorCode)
		}
		return 0
	}
	last := func() uint64 {
		n, err := s.LastSequence(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	batch := func(msgs ...*nats.Msg) error {
		_, err := jetstreamext.PublishMsgBatch(ctx, s.js, msgs)
		return err
	}
	if err := batch(msg("a.1"), msg("b.1")); err != nil {
		t.Fatal(err)
	}
	head := strconv.FormatUint(last(), 10)

	for _, c := range []struct {
		name string
		msgs []*nats.Msg
		want int
	}{
		{"stream expectation on the first message, stale", []*nats.Msg{
			msg("c.1", jetstream.ExpectedLastSeqHeader, "1"), msg("c.2")}, 10071},
		// A later message is checked against the position the batch has
		// reached: the head before the batch does not match (10071), the
		// position after the first message is refused all the same (10164).
		{"stream expectation on a later message, the head before the batch", []*nats.Msg{
			msg("c.1"), msg("c.2", jetstream.ExpectedLastSeqHeader, head)}, 10071},
		{"stream expectation on a later message, the position reached", []*nats.Msg{
			msg("c.1"), msg("c.2", jetstream.ExpectedLastSeqHeader, strconv.FormatUint(last()+1, 10))}, 10164},
		{"subject expectation stale on the last message", []*nats.Msg{
			msg("c.1", jetstream.ExpectedLastSeqHeader, head), msg("c.2"), msg("a.1", jetstream.ExpectedLastSubjSeqHeader, "0")}, 10071},
		{"subject expectation after a write to it in the batch", []*nats.Msg{
			msg("c.1"), msg("c.1", jetstream.ExpectedLastSubjSeqHeader, "0")}, 10164},
	} {
		before := last()
		err := batch(c.msgs...)
		if code(err) != c.want {
			t.Errorf("%s: err = %v, want JetStream error %d", c.name, err, c.want)
		}
		if !errors.Is(translate(err), ErrConflict) {
			t.Errorf("%s: %v is not translated to ErrConflict", c.name, err)
		}
		if last() != before {
			t.Errorf("%s: a refused batch stored messages", c.name)
		}
	}
	// All checks hold: stored contiguously after the expected head.
	if err := batch(msg("c.1", jetstream.ExpectedLastSeqHeader, head), msg("c.2", jetstream.ExpectedLastSubjSeqHeader, "0"),
		msg("a.1", jetstream.ExpectedLastSubjSeqHeader, "1")); err != nil {
		t.Fatalf("a batch whose checks hold: %v", err)
	}
}
