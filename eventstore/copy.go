package eventstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/portcullis/portcullis/domain"
)

// copyWindow bounds the copied messages awaiting their acknowledgement.
const copyWindow = 2048

// CopyPrefix copies the log into dst, an empty store, from position 1 on:
// each event with its subject, its exact bytes, its position and its chain
// link, so the copy verifies like the original and answers the same
// consistency tokens. It stops before the first event keep refuses, or at
// the log's head as of the call, and returns the position of the last event
// copied. progress, if set, hears of the position reached now and then.
//
// It is how a replay gives an auditor a log that ends at a chosen instant:
// a server started on the copy serves everything as it stood then.
func (s *Store) CopyPrefix(ctx context.Context, dst *Store, keep func(domain.Event) bool, progress func(pos, head uint64)) (uint64, error) {
	if n, err := dst.LastSequence(ctx); err != nil {
		return 0, err
	} else if n != 0 {
		return 0, fmt.Errorf("eventstore: copy: the destination already holds %d events", n)
	}
	head, err := s.LastSequence(ctx)
	if err != nil || head == 0 {
		return 0, err
	}
	var copied uint64
	var pending []jetstream.PubAckFuture
	var failed error
	// settle waits for the acknowledgements in flight; each must name the
	// position its message had in the source.
	settle := func() error {
		for _, f := range pending {
			select {
			case ack := <-f.Ok():
				want, _ := strconv.ParseUint(f.Msg().Header.Get(jetstream.ExpectedLastSeqHeader), 10, 64)
				if ack.Sequence != want+1 {
					return fmt.Errorf("eventstore: copy: stored at %d, not %d", ack.Sequence, want+1)
				}
				copied = ack.Sequence
			case err := <-f.Err():
				return fmt.Errorf("eventstore: copy: %w", err)
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		pending = pending[:0]
		return nil
	}
	lastReport := time.Time{}
	// The parts of a command are kept or not as its first part is, and a
	// void marker goes with the parts before it (parts.go), so the copy
	// never ends inside a command that the source holds whole.
	var inCommand bool
	err = s.walkFrom(ctx, 1, head, func(m *jetstream.RawStreamMsg) bool {
		fr, err := readFrame(m.Header)
		if err != nil {
			failed = fmt.Errorf("eventstore: copy: the event at %d: %w", m.Sequence, err)
			return false
		}
		if fr.void == 0 && !(inCommand && fr.isPart() && fr.part > 1) {
			e, err := Decode(m.Data, m.Sequence)
			if err != nil {
				failed = err
				return false
			}
			if !keep(e) {
				return false
			}
		}
		inCommand = fr.isPart() && fr.part < fr.of
		msg := nats.NewMsg(m.Subject)
		msg.Data = m.Data
		for k, v := range m.Header {
			// JetStream's own headers were instructions to the original
			// append (message ids, expectations, batch markers); the
			// chain link and anything else of ours is kept.
			if !strings.HasPrefix(k, "Nats-") {
				msg.Header[k] = v
			}
		}
		// The copy must hold every event at its original position.
		msg.Header.Set(jetstream.ExpectedLastSeqHeader, strconv.FormatUint(m.Sequence-1, 10))
		f, err := dst.js.PublishMsgAsync(msg)
		if err != nil {
			failed = fmt.Errorf("eventstore: copy: %w", err)
			return false
		}
		pending = append(pending, f)
		if len(pending) >= copyWindow {
			if failed = settle(); failed != nil {
				return false
			}
			if progress != nil && time.Since(lastReport) > 200*time.Millisecond {
				progress(copied, head)
				lastReport = time.Now()
			}
		}
		return true
	})
	if err == nil {
		err = failed
	}
	if serr := settle(); err == nil {
		err = serr
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		return copied, err
	}
	if progress != nil {
		progress(copied, head)
	}
	return copied, err
}
