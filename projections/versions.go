package projections

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// Versioned buckets: time travel for every read model, not only for the
// records that keep a history.
//
// Every write a projection makes to a read-model bucket while it applies
// an event is also written, as a version at that event's position, into
// the bucket's shadow ("asofv_<name>"): key ‖ be64 position → 1 ‖ value, or
// 0 for a deletion. A read transaction opened as of position S (DB.At)
// sees each versioned bucket as it stood after S: a Get is the newest
// version of the key at or below S (one seek), and a cursor walks the keys
// that had a live version then, in key order, two seeks per key. So every
// read of every read model — views, counters, indexes, records — runs the
// same code live and as of a past position, and answers what the live read
// answered then.
//
// Keys in the shadow are escaped (0x00 → 0x00 0xFF) and terminated by
// 0x00 0x00 before the position, which keeps them in the order of the
// original keys and makes no key's versions a prefix of another key's.
//
// Not versioned (see unversioned): buckets that are already keyed by
// position and only ever grow (the history, the audit log and its indexes,
// the timeline, the as-of lives) and the checkpoint. Read as of a position
// they show their live contents; the readers that use them bound them by
// the position themselves.

// shadowPrefix names the shadow of a bucket.
const shadowPrefix = "asofv_"

// unversioned reports whether a bucket keeps no versions.
func unversioned(name []byte) bool {
	switch string(name) {
	case string(bucketMeta), string(bucketHistory), string(bucketHistoryIndex), string(bucketTimeline), string(bucketAudit),
		string(bucketAuditIndex), string(bucketAuditCounts), string(bucketLives), string(bucketLifeOf),
		string(bucketLiveCount):
		return true
	}
	return bytes.HasPrefix(name, []byte(shadowPrefix))
}

// shadowBuckets are the shadows of the versioned buckets among names.
func shadowBuckets(names [][]byte) [][]byte {
	var out [][]byte
	for _, n := range names {
		if !unversioned(n) {
			out = append(out, shadowName(n))
		}
	}
	return out
}

func shadowName(name []byte) []byte { return append([]byte(shadowPrefix), name...) }

// vtx is a bbolt transaction as the read models see it: writes to a
// versioned bucket also write its version at pos; with past, reads see the
// versioned buckets as of position asOf.
//
// A write transaction holds the versions back and writes them, bucket by
// bucket in key order, when it ends (flushVersions): a key written by many
// events of one transaction (a counter, a record updated again and again)
// has its versions next to each other in the middle of the shadow, and
// bbolt splits a leaf only at commit, so writing them in log order would
// shift the growing leaf's tail once per version. Nothing reads a shadow
// in a write transaction (only DB.At reads them).
type vtx struct {
	tx   *bolt.Tx
	pos  uint64
	asOf uint64
	past bool
	held map[*bolt.Bucket][]heldVersion // write transactions: versions not written yet
	// arena holds the held versions' keys and values: one allocation per
	// many versions instead of two per version. bbolt keeps what Put was
	// given until the commit, so a full arena is left to it, not reused.
	arena []byte
	rec   *WriteLog // a benchmark's recording, nil otherwise (writelog.go)
	// buckets caches the handles a write transaction handed out: every
	// event looks up the same few buckets, and each lookup would otherwise
	// find the bucket and its shadow anew and allocate both names' wrapper.
	buckets map[string]*vbucket
	// state is the record the history version at position stateSeq holds,
	// as putVersion encoded it: the audit log reads it from here instead
	// of decoding the version back out of the history.
	state    []byte
	stateSeq uint64
}

// heldVersion is a version a write transaction holds back, and its place
// among its shadow's versions in log order.
type heldVersion struct {
	k, v []byte
	n    int
}

// holdVersion keeps the version at the transaction's position of key k
// (value v, or a deletion) for flushVersions.
func (t *vtx) holdVersion(shadow *bolt.Bucket, k, v []byte, deleted bool) {
	if t.held == nil {
		t.held = map[*bolt.Bucket][]heldVersion{}
	}
	// The shadow key (k escaped, terminated, be64 position) and the
	// version (1 ‖ v, or 0), side by side in the arena.
	need := 2*len(k) + 10 + 1 + len(v)
	if cap(t.arena)-len(t.arena) < need {
		t.arena = make([]byte, 0, max(64<<10, need))
	}
	start := len(t.arena)
	t.arena = binary.BigEndian.AppendUint64(append(escapeKey(t.arena, k), 0, 0), t.pos)
	sk := t.arena[start:len(t.arena):len(t.arena)]
	start = len(t.arena)
	if deleted {
		t.arena = append(t.arena, 0)
	} else {
		t.arena = append(append(t.arena, 1), v...)
	}
	vs := t.held[shadow]
	t.held[shadow] = append(vs, heldVersion{k: sk, v: t.arena[start:len(t.arena):len(t.arena)], n: len(vs)})
}

// flushVersions writes the versions held back, each shadow's in key order;
// of two writes of the same key at the same position the later one wins,
// as it would have written in log order.
func (t *vtx) flushVersions() error {
	for shadow, vs := range t.held {
		slices.SortFunc(vs, func(x, y heldVersion) int {
			if c := bytes.Compare(x.k, y.k); c != 0 {
				return c
			}
			return cmp.Compare(x.n, y.n)
		})
		for _, hv := range vs {
			if err := shadow.Put(hv.k, hv.v); err != nil {
				return err
			}
			if t.rec != nil {
				t.rec.put(shadow, hv.k, hv.v, false)
			}
		}
	}
	t.held = nil
	return nil
}

// Bucket is the named bucket, nil when it does not exist.
func (t *vtx) Bucket(name []byte) *vbucket {
	if vb, ok := t.buckets[string(name)]; ok {
		return vb
	}
	b := t.tx.Bucket(name)
	if b == nil {
		return nil
	}
	vb := &vbucket{b: b, t: t}
	if !unversioned(name) {
		vb.shadow = t.tx.Bucket(shadowName(name))
	}
	if t.rec != nil {
		t.rec.handle(b, name)
		if vb.shadow != nil {
			t.rec.handle(vb.shadow, shadowName(name))
		}
	}
	if t.buckets != nil {
		t.buckets[string(name)] = vb
	}
	return vb
}

// CreateBucketIfNotExists creates a bucket of the file that is not a read
// model (no shadow).
func (t *vtx) CreateBucketIfNotExists(name []byte) (*vbucket, error) {
	b, err := t.tx.CreateBucketIfNotExists(name)
	if err != nil {
		return nil, err
	}
	return &vbucket{b: b, t: t}, nil
}

// vbucket is one bucket seen through a vtx.
type vbucket struct {
	b      *bolt.Bucket
	shadow *bolt.Bucket // nil: not versioned
	t      *vtx
	// get is the cursor Get seeks with: bbolt's own Get makes a cursor,
	// and grows its stack, per call. A seek starts from the root, so
	// writes in between do not disturb it.
	get *bolt.Cursor
}

func (b *vbucket) asOf() bool { return b.shadow != nil && b.t.past }

// Get is the value at k (as of the transaction's position when it has one).
func (b *vbucket) Get(k []byte) []byte {
	if b.asOf() {
		v, _ := shadowVersionAt(b.shadow.Cursor(), shadowKey(k), b.t.asOf)
		return v
	}
	if b.get == nil {
		b.get = b.b.Cursor()
	}
	// Read models hold no nested buckets: a key found is a value.
	if found, v := b.get.Seek(k); bytes.Equal(found, k) && found != nil {
		return v
	}
	return nil
}

// Put writes k and its version.
func (b *vbucket) Put(k, v []byte) error {
	if err := b.b.Put(k, v); err != nil {
		return err
	}
	if b.t.rec != nil {
		b.t.rec.put(b.b, k, v, false)
	}
	if b.shadow == nil {
		return nil
	}
	b.t.holdVersion(b.shadow, k, v, false)
	return nil
}

// Delete removes k and records its removal as a version.
func (b *vbucket) Delete(k []byte) error {
	if err := b.b.Delete(k); err != nil {
		return err
	}
	if b.t.rec != nil {
		b.t.rec.put(b.b, k, nil, true)
	}
	if b.shadow == nil {
		return nil
	}
	b.t.holdVersion(b.shadow, k, nil, true)
	return nil
}

// NextSequence is bbolt's bucket sequence (not versioned).
func (b *vbucket) NextSequence() (uint64, error) { return b.b.NextSequence() }

// setFillPercent tunes page splits for buckets whose keys only grow.
func (b *vbucket) setFillPercent(p float64) {
	b.b.FillPercent = p
	if b.t.rec != nil {
		b.t.rec.setFill(b.b, p)
	}
}

// ForEach calls fn for every key in order.
func (b *vbucket) ForEach(fn func(k, v []byte) error) error {
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return nil
}

// Cursor walks the bucket (as of the transaction's position when it has
// one).
func (b *vbucket) Cursor() *vcursor {
	if b.asOf() {
		return &vcursor{c: b.shadow.Cursor(), past: true, seq: b.t.asOf}
	}
	return &vcursor{c: b.b.Cursor()}
}

// vcursor is a bbolt cursor, or with past a walk over a shadow's keys as
// they stood at position seq.
type vcursor struct {
	c    *bolt.Cursor
	past bool
	seq  uint64
	cur  []byte // past: the original key the cursor stands on
}

// First moves to the first key.
func (c *vcursor) First() ([]byte, []byte) {
	if !c.past {
		return c.c.First()
	}
	k, _ := c.c.First()
	return c.forward(k)
}

// Last moves to the last key.
func (c *vcursor) Last() ([]byte, []byte) {
	if !c.past {
		return c.c.Last()
	}
	k, _ := c.c.Last()
	return c.backward(k)
}

// Seek moves to the first key at or after k.
func (c *vcursor) Seek(k []byte) ([]byte, []byte) {
	if !c.past {
		return c.c.Seek(k)
	}
	sk, _ := c.c.Seek(escapeKey(nil, k))
	return c.forward(sk)
}

// Next moves to the next key.
func (c *vcursor) Next() ([]byte, []byte) {
	if !c.past {
		return c.c.Next()
	}
	if c.cur == nil {
		return nil, nil
	}
	k, _ := c.c.Seek(pastVersions(c.cur))
	return c.forward(k)
}

// Prev moves to the previous key.
func (c *vcursor) Prev() ([]byte, []byte) {
	if !c.past {
		return c.c.Prev()
	}
	if c.cur == nil {
		return nil, nil
	}
	c.c.Seek(shadowKey(c.cur))
	k, _ := c.c.Prev()
	return c.backward(k)
}

// forward settles on the first original key, from shadow key sk on, that
// had a live version at the cursor's position.
func (c *vcursor) forward(sk []byte) ([]byte, []byte) {
	for sk != nil {
		orig, ok := originalKey(sk)
		if !ok {
			sk, _ = c.c.Next()
			continue
		}
		if v, found := shadowVersionAt(c.c, shadowKey(orig), c.seq); found {
			c.cur = orig
			return orig, v
		}
		sk, _ = c.c.Seek(pastVersions(orig))
	}
	c.cur = nil
	return nil, nil
}

// backward settles on the last original key, from shadow key sk back,
// that had a live version at the cursor's position.
func (c *vcursor) backward(sk []byte) ([]byte, []byte) {
	for sk != nil {
		orig, ok := originalKey(sk)
		if !ok {
			sk, _ = c.c.Prev()
			continue
		}
		base := shadowKey(orig)
		if v, found := shadowVersionAt(c.c, base, c.seq); found {
			c.cur = orig
			return orig, v
		}
		c.c.Seek(base)
		sk, _ = c.c.Prev()
	}
	c.cur = nil
	return nil, nil
}

// shadowVersionAt is the newest version at or below seq of the key whose
// escaped, terminated form is base; found is false when it had none or the
// newest was a deletion.
func shadowVersionAt(c *bolt.Cursor, base []byte, seq uint64) ([]byte, bool) {
	var k, v []byte
	if seq == ^uint64(0) {
		k, _ = c.Seek(pastVersionsOfBase(base))
	} else {
		k, _ = c.Seek(binary.BigEndian.AppendUint64(append([]byte{}, base...), seq+1))
	}
	if k == nil {
		k, v = c.Last()
	} else {
		k, v = c.Prev()
	}
	if k == nil || len(k) != len(base)+8 || !bytes.HasPrefix(k, base) || len(v) == 0 || v[0] == 0 {
		return nil, false
	}
	return v[1:], true
}

// escapeKey appends k with every 0x00 escaped as 0x00 0xFF.
func escapeKey(dst, k []byte) []byte {
	for _, b := range k {
		dst = append(dst, b)
		if b == 0 {
			dst = append(dst, 0xFF)
		}
	}
	return dst
}

// shadowKey is k escaped and terminated: the prefix of all its versions.
func shadowKey(k []byte) []byte {
	return append(escapeKey(make([]byte, 0, len(k)+10), k), 0, 0)
}

// pastVersions is the least shadow key after every version of k.
func pastVersions(k []byte) []byte { return pastVersionsOfBase(shadowKey(k)) }

func pastVersionsOfBase(base []byte) []byte {
	out := append([]byte{}, base...)
	out[len(out)-1] = 1
	return out
}

// originalKey undoes shadowKey on a shadow key (escaped key, 0x00 0x00,
// be64 position).
func originalKey(sk []byte) ([]byte, bool) {
	out := make([]byte, 0, len(sk))
	for i := 0; i < len(sk); i++ {
		if sk[i] != 0 {
			out = append(out, sk[i])
			continue
		}
		if i+1 >= len(sk) {
			return nil, false
		}
		switch sk[i+1] {
		case 0xFF:
			out = append(out, 0)
			i++
		case 0:
			return out, len(sk) == i+2+8
		default:
			return nil, false
		}
	}
	return nil, false
}

// withShadows is names and the shadows of the versioned ones.
func withShadows(names [][]byte) [][]byte { return append(names, shadowBuckets(names)...) }
