package projections

import (
	"encoding/binary"
	"time"

	"github.com/portcullis/portcullis/domain"
)

// The timeline maps instants to stream positions, for time travel (as_of),
// the audit log's from/to filters and replays to a time.
//
// Events carry the time their command appended them, and concurrent
// commands can land a little out of that order. The timeline therefore
// keeps a watermark, the latest time seen up to each position, which never
// goes back: "the log as of instant T" is every event up to the last
// position whose watermark is at most T. An event that took longer to be
// appended than a later-stamped one counts from when that later one landed.
var (
	bucketTimeline = []byte("timeline") // be64 watermark (unix ns), be64 position → nil
	keyWatermark   = []byte("timeline_watermark")
)

// timelineProjection keeps the watermark in memory for the length of a
// transaction and stores it once, at its end.
type timelineProjection struct {
	watermark uint64
	loaded    bool // watermark holds the stored one, or a newer one
}

func (p *timelineProjection) begin() { p.loaded = false }

func (p *timelineProjection) flush(tx *vtx) error {
	if !p.loaded {
		return nil
	}
	return putUint(tx.Bucket(bucketMeta), keyWatermark, p.watermark)
}

func (p *timelineProjection) apply(tx *vtx, e domain.Event) error {
	if !p.loaded {
		p.watermark, p.loaded = getUint(tx.Bucket(bucketMeta), keyWatermark), true
	}
	p.watermark = max(p.watermark, uint64(max(e.OccurredAt.UnixNano(), 0)))
	b := tx.Bucket(bucketTimeline)
	b.setFillPercent(0.95) // keys only ever grow
	return b.Put(timelineKey(p.watermark, e.Sequence), nil)
}

func timelineKey(watermark, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(make([]byte, 0, 16), watermark), seq)
}

// PositionAt is the stream position of the log as of instant t: the last
// position whose watermark is at most t, 0 when the log had nothing then.
// Positions the read models have not reached yet are not known here.
func (db *DB) PositionAt(t time.Time) (uint64, error) {
	var pos uint64
	err := db.view(func(tx *vtx) error {
		pos = positionAt(tx, t)
		return nil
	})
	return pos, err
}

func positionAt(tx *vtx, t time.Time) uint64 {
	ns := t.UnixNano()
	if ns < 0 {
		return 0
	}
	c := tx.Bucket(bucketTimeline).Cursor()
	k, _ := c.Seek(timelineKey(uint64(ns)+1, 0))
	if k == nil {
		k, _ = c.Last()
	} else {
		k, _ = c.Prev()
	}
	if len(k) != 16 {
		return 0
	}
	return binary.BigEndian.Uint64(k[8:])
}

// firstPositionFrom is the first position whose watermark is at least t:
// no event stamped t or later lies before it. It is beyond the newest
// position when none is.
func firstPositionFrom(tx *vtx, t time.Time) uint64 {
	ns := max(t.UnixNano(), 0)
	c := tx.Bucket(bucketTimeline).Cursor()
	k, _ := c.Seek(timelineKey(uint64(ns), 0))
	if len(k) != 16 {
		return ^uint64(0)
	}
	return binary.BigEndian.Uint64(k[8:])
}
