package eventstore

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"
)

// A checkpoint is the chain's head signed by this server: whoever keeps one
// elsewhere can later prove that the log still holds that head unchanged,
// which the chain alone cannot show when the newest events are removed.

// Checkpoint is a signed statement "the log held Sequence with link Hash at
// Time". PublicKey travels with it for convenience; an auditor checks it
// against the key they pinned, not against itself.
type Checkpoint struct {
	Stream    string    `json:"stream"`
	Sequence  uint64    `json:"sequence"`
	Hash      string    `json:"hash"`
	Time      time.Time `json:"time"`
	KeyID     string    `json:"key_id"`
	PublicKey string    `json:"public_key"`
	Signature string    `json:"signature"`
}

// signedBytes is what the signature covers, one field per line.
func (c Checkpoint) signedBytes() []byte {
	return []byte("portcullis/checkpoint/v1\n" + c.Stream + "\n" + strconv.FormatUint(c.Sequence, 10) + "\n" +
		c.Hash + "\n" + c.Time.UTC().Format(time.RFC3339Nano) + "\n")
}

// KeyID names a public key: the first 16 hex digits of its SHA-256.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return fmt.Sprintf("%x", sum[:8])
}

// SignCheckpoint signs a head with key.
func SignCheckpoint(key ed25519.PrivateKey, seq uint64, hash Hash, at time.Time) Checkpoint {
	pub := key.Public().(ed25519.PublicKey)
	c := Checkpoint{Stream: StreamName, Sequence: seq, Hash: hash.String(), Time: at.UTC(),
		KeyID: KeyID(pub), PublicKey: base64.StdEncoding.EncodeToString(pub)}
	c.Signature = base64.StdEncoding.EncodeToString(ed25519.Sign(key, c.signedBytes()))
	return c
}

// ErrBadCheckpoint means a checkpoint is not signed by the trusted key, or
// its fields were changed after signing.
var ErrBadCheckpoint = errors.New("eventstore: checkpoint signature does not verify")

// Check verifies the checkpoint's signature with the trusted key pub.
func (c Checkpoint) Check(pub ed25519.PublicKey) error {
	sig, err := base64.StdEncoding.DecodeString(c.Signature)
	if err != nil || len(pub) != ed25519.PublicKeySize || !ed25519.Verify(pub, c.signedBytes(), sig) {
		return ErrBadCheckpoint
	}
	if c.Stream != StreamName {
		return fmt.Errorf("eventstore: checkpoint of stream %q, not %q", c.Stream, StreamName)
	}
	if _, err := ParseHash(c.Hash); err != nil {
		return fmt.Errorf("eventstore: checkpoint: %w", err)
	}
	return nil
}

// ErrChainBroken is what Sign returns when the log it would vouch for is
// already broken, or shorter than its last checkpoint.
var ErrChainBroken = errors.New("eventstore: the hash chain is broken")

// Checkpointer signs the chain head, periodically and on demand, and
// appends every checkpoint it signs to a file (one JSON object per line).
// It signs only a head it has verified: it walks the chain from its last
// checkpoint to the head first, so a checkpoint never vouches for a log that
// was already broken.
type Checkpointer struct {
	store *Store
	key   ed25519.PrivateKey
	path  string

	mu     sync.Mutex
	latest *Checkpoint
	walked chainWalk   // where the verified part of the chain ends
	report ChainReport // backing store of walked.rep
}

// OpenCheckpointer resumes from the newest checkpoint in the file at path
// that key signed (a missing file starts empty).
func OpenCheckpointer(store *Store, key ed25519.PrivateKey, path string) (*Checkpointer, error) {
	c := &Checkpointer{store: store, key: key, path: path}
	c.walked.rep = &c.report
	pub := key.Public().(ed25519.PublicKey)
	cps, err := ReadCheckpoints(path)
	if err != nil {
		return nil, err
	}
	for i := len(cps) - 1; i >= 0; i-- {
		if cps[i].Check(pub) == nil {
			cp := cps[i]
			c.latest = &cp
			// The chain up to our own checkpoint was verified when it was
			// signed; the walk resumes after it.
			h, _ := ParseHash(cp.Hash)
			c.report.HeadSequence, c.walked.prev, c.walked.chained = cp.Sequence, h, h != Hash{}
			break
		}
	}
	return c, nil
}

// Verify walks the whole chain, checking it against cp if given (whose
// signature the caller has checked); see Store.Verify.
func (c *Checkpointer) Verify(ctx context.Context, cp *Checkpoint) (ChainReport, error) {
	return c.store.Verify(ctx, cp)
}

// VerifyTo walks the chain up to position upTo; see Store.VerifyTo.
func (c *Checkpointer) VerifyTo(ctx context.Context, cp *Checkpoint, upTo uint64) (ChainReport, error) {
	return c.store.VerifyTo(ctx, cp, upTo)
}

// PublicKey is the key auditors verify checkpoints with.
func (c *Checkpointer) PublicKey() ed25519.PublicKey { return c.key.Public().(ed25519.PublicKey) }

// Latest is the newest checkpoint signed, nil before the first.
func (c *Checkpointer) Latest() *Checkpoint {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.latest
}

// Sign verifies the chain up to the log's head and signs that head, unless
// the newest checkpoint already names it. A broken chain is not signed: the
// error names the break.
func (c *Checkpointer) Sign(ctx context.Context, now time.Time) (Checkpoint, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	end, err := c.store.LastSequence(ctx)
	if err != nil {
		return Checkpoint{}, err
	}
	if c.latest != nil && c.latest.Sequence == end {
		return *c.latest, nil
	}
	if err := c.catchUp(ctx, end); err != nil {
		return Checkpoint{}, err
	}
	cp := SignCheckpoint(c.key, c.report.HeadSequence, c.walked.prev, now)
	if err := appendCheckpoint(c.path, cp); err != nil {
		return Checkpoint{}, err
	}
	c.latest = &cp
	return cp, nil
}

// catchUp extends the verified part of the chain to position end.
func (c *Checkpointer) catchUp(ctx context.Context, end uint64) error {
	if end < c.report.HeadSequence {
		return fmt.Errorf("%w: the log ends at %d, before the last checkpoint (%d): events were removed",
			ErrChainBroken, end, c.report.HeadSequence)
	}
	if c.report.HeadSequence == end {
		return nil
	}
	if c.report.Break != nil {
		return fmt.Errorf("%w at %d (%s): %s", ErrChainBroken,
			c.report.Break.Sequence, c.report.Break.Kind, c.report.Break.Detail)
	}
	err := c.store.walkFrom(ctx, c.report.HeadSequence+1, end, c.walked.next)
	if err != nil {
		return err
	}
	if b := c.report.Break; b != nil {
		return fmt.Errorf("%w at %d (%s): %s", ErrChainBroken, b.Sequence, b.Kind, b.Detail)
	}
	if c.report.HeadSequence < end {
		return fmt.Errorf("%w: it could be read only up to %d of %d", ErrChainBroken, c.report.HeadSequence, end)
	}
	return nil
}

// Run signs a checkpoint every interval while the log moves, until ctx
// ends. Failures go to onErr and are tried again at the next tick.
func (c *Checkpointer) Run(ctx context.Context, interval time.Duration, onErr func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if _, err := c.Sign(ctx, now); err != nil && ctx.Err() == nil {
				onErr(err)
			}
		}
	}
}

// appendCheckpoint adds one line to the checkpoint file and syncs it.
func appendCheckpoint(path string, cp Checkpoint) error {
	b, err := json.Marshal(cp)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("eventstore: checkpoint file: %w", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("eventstore: checkpoint file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("eventstore: checkpoint file: %w", err)
	}
	return f.Close()
}

// ReadCheckpoints reads a checkpoint file: one JSON checkpoint per line (a
// file holding a single JSON object, as the checkpoint endpoint answers it
// inside "data", works too). A missing file has none.
func ReadCheckpoints(path string) ([]Checkpoint, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Checkpoint
	dec := json.NewDecoder(bufio.NewReader(f))
	for {
		var cp Checkpoint
		err := dec.Decode(&cp)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("eventstore: %s: %w", path, err)
		}
		out = append(out, cp)
	}
}
