package offsetmeta_test

import (
	"testing"

	"pgregory.net/rapid"

	"github.com/kafkaworker/kafkaworker/internal/offsetmeta"
	"github.com/kafkaworker/kafkaworker/internal/window"
)

// TestEngineFlow plays what the engine does around a rebalance, against a
// model: an owner's window with records in flight, a commit with metadata
// (AppendDoneBits, Encode), then a new owner that decodes it at assignment
// and fetches from the committed offset, calling Skip for each record and
// AddDone for the skipped ones; part-way through the refetch it commits
// again, carrying the restored offsets it has not fetched yet (AppendBits).
// A third owner restores that. Checked: no record done before is handed to
// a handler again unless its offset was cut from the metadata for the
// budget, and every record not done is handed again (replay, never skip).
func TestEngineFlow(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		const first = 5000
		n := rapid.Int64Range(1, 3000).Draw(t, "n")
		budget := rapid.OneOf(rapid.IntRange(0, 300), rapid.Just(offsetmeta.DefaultBudget)).Draw(t, "budget")
		// Owner 1: records [first, first+n), some done. Gaps (offsets
		// never fetched, as compaction leaves them) are drawn too.
		var w window.Window
		done := map[int64]bool{}
		var recs []int64
		for off := int64(first); off < first+n; off++ {
			if rapid.IntRange(0, 9).Draw(t, "gap") == 0 {
				continue
			}
			if err := w.Add(off); err != nil {
				t.Fatal(err)
			}
			recs = append(recs, off)
		}
		for _, off := range recs {
			if rapid.Bool().Draw(t, "done") {
				if _, err := w.Done(off); err != nil {
					t.Fatal(err)
				}
				done[off] = true
			}
		}
		if w.Pending() == 0 {
			return // everything committable: no metadata needed
		}
		c := w.Committable()
		bits, bn := w.AppendDoneBits(nil)
		meta := offsetmeta.Encode(c, bits, bn, budget)

		// Owner 2 reads the commit back and refetches from c.
		restored, _ := offsetmeta.Decode(meta, c)
		var w2 window.Window
		handled := map[int64]bool{}
		var stop int64 = -1 // where owner 2 commits, part-way
		cut := rapid.IntRange(0, len(recs)).Draw(t, "cut")
		var meta2 string
		var c2 int64
		for i, off := range recs {
			if off < c {
				continue
			}
			if i == cut && w2.Next() >= 0 {
				stop = off
				break
			}
			if restored.Skip(off) {
				if !done[off] {
					t.Fatalf("offset %d skipped but was never done", off)
				}
				if err := w2.AddDone(off); err != nil {
					t.Fatal(err)
				}
				continue
			}
			if err := w2.Add(off); err != nil {
				t.Fatal(err)
			}
			handled[off] = true
		}
		for off := range done {
			if off >= c && handled[off] && off < restored.End() {
				t.Fatalf("offset %d done, covered by the metadata, handed again", off)
			}
		}
		if stop < 0 {
			return
		}
		// Owner 2 commits before fetching the rest: its window, plus
		// the restored offsets it has not fetched.
		c2 = w2.Committable()
		bits2, bn2 := w2.AppendDoneBits(nil)
		bits2, bn2 = restored.AppendBits(bits2, c2, bn2)
		meta2 = offsetmeta.Encode(c2, bits2, bn2, offsetmeta.DefaultBudget)

		// Owner 3: every offset from c2 that owner 1 finished and owner
		// 2's metadata covers is skipped; nothing unfinished is.
		restored3, _ := offsetmeta.Decode(meta2, c2)
		for _, off := range recs {
			if off < c2 {
				continue
			}
			skip := restored3.Skip(off)
			if skip && !done[off] {
				t.Fatalf("owner 3 skips %d, never done", off)
			}
			if off >= stop && off < restored.End() && done[off] && !skip && len(meta2) < offsetmeta.DefaultBudget-64 {
				t.Fatalf("owner 3 replays %d: restored by owner 2 but not carried (meta2 %d bytes)", off, len(meta2))
			}
		}
	})
}
