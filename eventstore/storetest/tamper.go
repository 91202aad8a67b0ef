package storetest

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/minio/highwayhash"

	"github.com/portcullis/portcullis/eventstore"
)

// Tampering with a stopped embedded store's files, as an attacker with
// access to the disk would, so that tests can show what the chain finds.
//
// The embedded nats-server keeps the stream in message blocks,
// <data-dir>/jetstream/jetstream/$G/streams/PORTCULLIS/msgs/<n>.blk, one
// record after another:
//
//	length u32 (top bit: has headers) | sequence u64 | timestamp i64 |
//	subject length u16 | subject | [headers length u32 | headers] | body |
//	checksum (8 bytes)
//
// all little-endian. The checksum is HighwayHash-64 keyed with
// SHA-256("PORTCULLIS-<n>") over sequence, timestamp, subject, headers and
// body; the server refuses a block whose records do not match it (it
// truncates the block at the first bad record when it rebuilds its state).
// So these helpers recompute the checksum of what they change, the way a
// careful attacker would, and remove msgs/index.db so that the server
// rebuilds the stream's state from the blocks on its next start. An
// attacker who does less is found by the server itself.

// CopyDir copies a stopped server's data directory into a new temporary
// directory and returns it: tampering happens on the copy, never on the
// original.
func CopyDir(t testing.TB, from string) string {
	t.Helper()
	to := t.TempDir()
	err := filepath.Walk(from, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if fi.IsDir() {
			return os.MkdirAll(dst, 0o700)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, fi.Mode().Perm())
	})
	if err != nil {
		t.Fatalf("copy %s: %v", from, err)
	}
	return to
}

// BlockDir is where the embedded server keeps the event stream's blocks.
func BlockDir(dataDir string) string {
	return filepath.Join(dataDir, "jetstream", "jetstream", "$G", "streams", eventstore.StreamName, "msgs")
}

// record is one stored message inside a block file.
type record struct {
	file     string
	index    uint32 // the block's number
	off, len int    // where the record is in the file
	seq      uint64
	body     [2]int // [start, end) of the body within the record
}

// records lists the records of every block, in stream order.
func records(t testing.TB, dataDir string) []record {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(BlockDir(dataDir), "*.blk"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no message blocks under %s (%v)", BlockDir(dataDir), err)
	}
	sort.Slice(files, func(i, j int) bool { return blockIndex(files[i]) < blockIndex(files[j]) })
	var out []record
	for _, f := range files {
		buf, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for off := 0; off+22 <= len(buf); {
			rl := binary.LittleEndian.Uint32(buf[off:])
			hasHdr := rl&(1<<31) != 0
			rl &^= 1 << 31
			if rl < 22+8 || off+int(rl) > len(buf) {
				t.Fatalf("%s: record at %d has length %d: not a block this helper understands", f, off, rl)
			}
			seq := binary.LittleEndian.Uint64(buf[off+4:])
			slen := int(binary.LittleEndian.Uint16(buf[off+20:]))
			start := 22 + slen
			if hasHdr {
				start += 4 + int(binary.LittleEndian.Uint32(buf[off+start:]))
			}
			// Deleted and tombstone records carry flag bits in the
			// sequence; the event log never has them (DenyDelete).
			if seq>>62 == 0 {
				out = append(out, record{file: f, index: blockIndex(f), off: off, len: int(rl), seq: seq,
					body: [2]int{start, int(rl) - 8}})
			}
			off += int(rl)
		}
	}
	return out
}

func blockIndex(file string) uint32 {
	n, _ := strconv.ParseUint(strings.TrimSuffix(filepath.Base(file), ".blk"), 10, 32)
	return uint32(n)
}

func find(t testing.TB, dataDir string, seq uint64) (record, []record) {
	t.Helper()
	all := records(t, dataDir)
	for _, r := range all {
		if r.seq == seq {
			return r, all
		}
	}
	t.Fatalf("no stored record for position %d", seq)
	return record{}, nil
}

// forgetState removes the stream's state file, so that the server rebuilds
// it from the blocks (and checks their checksums) when it starts.
func forgetState(t testing.TB, dataDir string) {
	t.Helper()
	if err := os.Remove(filepath.Join(BlockDir(dataDir), "index.db")); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
}

// AlterEvent lets edit change the stored body of the event at seq in place
// (its length must stay), and reseals the record with a valid checksum.
func AlterEvent(t testing.TB, dataDir string, seq uint64, edit func(body []byte)) {
	t.Helper()
	r, _ := find(t, dataDir, seq)
	buf, err := os.ReadFile(r.file)
	if err != nil {
		t.Fatal(err)
	}
	rec := buf[r.off : r.off+r.len]
	before := bytes.Clone(rec[r.body[0]:r.body[1]])
	edit(rec[r.body[0]:r.body[1]])
	if bytes.Equal(before, rec[r.body[0]:r.body[1]]) {
		t.Fatalf("the edit left event %d unchanged", seq)
	}
	reseal(t, r.index, rec)
	if err := os.WriteFile(r.file, buf, 0o600); err != nil {
		t.Fatal(err)
	}
	forgetState(t, dataDir)
}

// RemoveEvent cuts the record of the event at seq out of its block.
func RemoveEvent(t testing.TB, dataDir string, seq uint64) {
	t.Helper()
	r, _ := find(t, dataDir, seq)
	cut(t, r.file, r.off, r.off+r.len)
	forgetState(t, dataDir)
}

// TruncateAfter cuts every record after position seq, as if the newest
// events had never been written.
func TruncateAfter(t testing.TB, dataDir string, seq uint64) {
	t.Helper()
	_, all := find(t, dataDir, seq)
	for i := len(all) - 1; i >= 0 && all[i].seq > seq; i-- {
		r := all[i]
		cut(t, r.file, r.off, r.off+r.len)
	}
	forgetState(t, dataDir)
}

// SwapEvents exchanges what is stored at positions a and b of one block:
// each keeps its position and time, and takes the other's subject, headers
// and body, as if the two events had been written the other way round.
func SwapEvents(t testing.TB, dataDir string, a, b uint64) {
	t.Helper()
	ra, _ := find(t, dataDir, a)
	rb, _ := find(t, dataDir, b)
	if ra.file != rb.file || ra.off > rb.off {
		t.Fatalf("positions %d and %d are not in order in one block", a, b)
	}
	buf, err := os.ReadFile(ra.file)
	if err != nil {
		t.Fatal(err)
	}
	recA := bytes.Clone(buf[ra.off : ra.off+ra.len])
	recB := bytes.Clone(buf[rb.off : rb.off+rb.len])
	newA, newB := rebuilt(recA, recB), rebuilt(recB, recA)
	reseal(t, ra.index, newA)
	reseal(t, rb.index, newB)
	var out []byte
	out = append(out, buf[:ra.off]...)
	out = append(out, newA...)
	out = append(out, buf[ra.off+ra.len:rb.off]...)
	out = append(out, newB...)
	out = append(out, buf[rb.off+rb.len:]...)
	if err := os.WriteFile(ra.file, out, 0o600); err != nil {
		t.Fatal(err)
	}
	forgetState(t, dataDir)
}

// rebuilt is a record with the position and time of at and everything else
// (length flags, subject, headers, body) of from; its checksum is stale.
func rebuilt(at, from []byte) []byte {
	out := bytes.Clone(from)
	copy(out[4:20], at[4:20])
	return out
}

func cut(t testing.TB, file string, from, to int) {
	t.Helper()
	buf, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, append(buf[:from:from], buf[to:]...), 0o600); err != nil {
		t.Fatal(err)
	}
}

// reseal recomputes the checksum at the end of one record of block index.
func reseal(t testing.TB, index uint32, rec []byte) {
	t.Helper()
	key := sha256.Sum256([]byte(fmt.Sprintf("%s-%d", eventstore.StreamName, index)))
	hh, err := highwayhash.New64(key[:])
	if err != nil {
		t.Fatal(err)
	}
	rl := binary.LittleEndian.Uint32(rec)
	hasHdr := rl&(1<<31) != 0
	slen := int(binary.LittleEndian.Uint16(rec[20:]))
	data := rec[22:]
	hh.Write(rec[4:20])
	hh.Write(data[:slen])
	if hasHdr {
		hh.Write(data[slen+4 : len(data)-8])
	} else {
		hh.Write(data[slen : len(data)-8])
	}
	copy(rec[len(rec)-8:], hh.Sum(nil))
}
