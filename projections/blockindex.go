package projections

import (
	"encoding/binary"

	"github.com/portcullis/portcullis/domain"
)

// A blocked index is a position-ordered index (prefix 0x00 be64 seq →
// value) with a counter per block of positions, kept in bucketViewBlocks
// under prefix 0x00 be64 block. A page at any depth passes over the block
// counters, skipping whole blocks, and then steps through at most one
// block's entries: its cost does not grow with the entries before it (the
// credentials list does the same with its own blocks, walkBlocks).
var bucketViewBlocks = []byte("view_blocks")

// Block sizes, as shifts of the position: credential ordinals are dense
// within a tenant; log positions are shared by every record, so the
// activity of one space is sparse in them and takes bigger blocks.
const (
	ordinalBlockShift  = 10 // 1024 ordinals
	positionBlockShift = 16 // 65536 log positions
)

// blocked names one blocked index: the bucket of its entries, its prefix
// and its block size.
type blocked struct {
	entries *vbucket
	blocks  *vbucket
	prefix  []byte
	shift   uint
}

func blockedIndex(tx *vtx, entries []byte, prefix []byte, shift uint) blocked {
	return blocked{entries: tx.Bucket(entries), blocks: tx.Bucket(bucketViewBlocks), prefix: prefix, shift: shift}
}

// put adds an entry and counts it in its block.
func (b blocked) put(seq uint64, value []byte) error {
	if err := b.entries.Put(seqKey(b.prefix, seq), value); err != nil {
		return err
	}
	return addUint(b.blocks, seqKey(b.prefix, seq>>b.shift), 1)
}

// delete removes an entry and uncounts it; the block's counter goes when
// it reaches zero, so that walks pass over live blocks only.
func (b blocked) delete(seq uint64) error {
	if err := b.entries.Delete(seqKey(b.prefix, seq)); err != nil {
		return err
	}
	k := seqKey(b.prefix, seq>>b.shift)
	if n := getUint(b.blocks, k); n <= 1 {
		return b.blocks.Delete(k)
	}
	return addUint(b.blocks, k, -1)
}

// page reads one page of entries, in order or newest first with desc, and
// returns each entry's position and value (valid inside the transaction).
func (b blocked) page(desc bool, page domain.Page) ([]indexEntry, error) {
	p := append(append([]byte{}, b.prefix...), 0)
	bc := b.blocks.Cursor()
	var k, v []byte
	nextBlock := bc.Next
	if desc {
		k, v = bc.Seek(append(append([]byte{}, b.prefix...), 1))
		if k == nil {
			k, v = bc.Last()
		} else {
			k, v = bc.Prev()
		}
		nextBlock = bc.Prev
	} else {
		k, v = bc.Seek(p)
	}
	skip := page.Offset()
	var block uint64
	found := false
	for ; k != nil && hasPrefix(k, p) && len(k) == len(p)+8; k, v = nextBlock() {
		n := int(binary.BigEndian.Uint64(v))
		if n > skip {
			block, found = binary.BigEndian.Uint64(k[len(p):]), true
			break
		}
		skip -= n
	}
	if !found {
		return nil, nil
	}
	c := b.entries.Cursor()
	next := c.Next
	if desc {
		k, v = c.Seek(seqKey(b.prefix, (block+1)<<b.shift))
		if k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
		next = c.Prev
	} else {
		k, v = c.Seek(seqKey(b.prefix, block<<b.shift))
	}
	var out []indexEntry
	for ; k != nil && hasPrefix(k, p) && len(k) == len(p)+8 && len(out) < page.Limit; k, v = next() {
		if skip > 0 {
			skip--
			continue
		}
		out = append(out, indexEntry{seq: binary.BigEndian.Uint64(k[len(p):]), id: v})
	}
	return out, nil
}
