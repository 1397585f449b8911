package engine

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// A stop with a record still running commits the offset of that record and,
// in the metadata, the records done above it; the partition's next owner
// restores them and hands only the unfinished record to its handler.
func TestCommitMetadataCarriesDoneRecordsToTheNextOwner(t *testing.T) {
	for _, mode := range []Ordering{Unordered, ByKey, ByPartition} {
		t.Run(fmt.Sprint(mode), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { testMetadataHandover(t, mode) })
		})
	}
}

func testMetadataHandover(t *testing.T, mode Ordering) {
	cfg := testConfig()
	cfg.Ordering = mode
	cfg.ShutdownTimeout = time.Second
	key := func(o int64) string { return fmt.Sprint("k", o%7) }
	// First owner: offset 5 never finishes; in partition order nothing
	// after it can run either, and in key order nothing of its key.
	var first atomic.Int32
	h1 := func(ctx context.Context, r rec, _ int) error {
		if r.off == 5 {
			<-ctx.Done()
			return ctx.Err()
		}
		first.Add(1)
		return nil
	}
	fc := &fakeCommits{}
	tp := TP{"t", 0}
	e1 := run(t, cfg, h1, fc, nil, tp)
	e1.SetMetadataBudget(4096)
	feed(e1, tp, 0, 100, key)
	synctest.Wait()
	if err := shutdown(t, e1); err == nil {
		t.Fatal("Run returned nil with a handler outliving ShutdownTimeout")
	}
	if got := fc.get(tp); got != 5 {
		t.Fatalf("first owner committed %d, want 5", got)
	}
	meta := fc.metadata(tp)
	switch {
	case mode == ByPartition && meta != "":
		// Nothing after a running record runs in partition order.
		t.Fatalf("commit metadata %q in partition order, want none", meta)
	case mode != ByPartition && !strings.HasPrefix(meta, "kw1:"):
		t.Fatalf("commit metadata %q, want ours", meta)
	}

	// Second owner: restores, is fed from the committed offset.
	var second []int64
	h2 := func(_ context.Context, r rec, _ int) error {
		second = append(second, r.off) // one at a time: MaxProcCount 1
		return nil
	}
	cfg.MaxProcCount = 1
	e2 := run(t, cfg, h2, fc, nil, tp)
	e2.SetMetadataBudget(4096)
	e2.Restore(tp, 5, meta)
	feed(e2, tp, 5, 100, key)
	synctest.Wait()
	if err := shutdown(t, e2); err != nil {
		t.Fatal(err)
	}
	want := 100 - 5 - int(first.Load()-5) // the records the first owner did not finish
	if len(second) != want || second[0] != 5 {
		t.Fatalf("second owner handled %d records (%v...), want %d starting at 5", len(second), second[:min(len(second), 5)], want)
	}
	if s := e2.Stats(); s.Restored != uint64(first.Load()-5) {
		t.Fatalf("restored %d, want %d", s.Restored, first.Load()-5)
	}
	if got := fc.get(tp); got != 100 {
		t.Fatalf("second owner committed %d, want 100", got)
	}
}

// Metadata that is not ours, or is damaged, or was written for another
// offset is ignored: everything from the committed offset is handled.
func TestForeignOrStaleMetadataReplays(t *testing.T) {
	good := "" // a valid encoding for committed offset 5, made below
	{
		synctest.Test(t, func(t *testing.T) {
			cfg := testConfig()
			cfg.ShutdownTimeout = time.Second
			fc := &fakeCommits{}
			tp := TP{"t", 0}
			e := run(t, cfg, func(ctx context.Context, r rec, _ int) error {
				if r.off == 5 {
					<-ctx.Done()
					return ctx.Err()
				}
				return nil
			}, fc, nil, tp)
			e.SetMetadataBudget(4096)
			feed(e, tp, 0, 20, nil)
			synctest.Wait()
			_ = shutdown(t, e)
			good = fc.metadata(tp)
		})
	}
	for name, c := range map[string]struct {
		meta      string
		committed int64
	}{
		"member id":      {"kgo-member-6f1c", 5},
		"damaged":        {good[:len(good)-2] + "xx", 5},
		"other offset":   {good, 4},
		"empty":          {"", 5},
		"other consumer": {"\x01AAAA", 5},
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var handled atomic.Int32
				fc := &fakeCommits{}
				tp := TP{"t", 0}
				e := run(t, testConfig(), func(context.Context, rec, int) error { handled.Add(1); return nil }, fc, nil, tp)
				e.Restore(tp, c.committed, c.meta)
				feed(e, tp, c.committed, 20, nil)
				synctest.Wait()
				if err := shutdown(t, e); err != nil {
					t.Fatal(err)
				}
				if got, want := handled.Load(), int32(20-c.committed); got != want {
					t.Fatalf("handled %d, want all %d from the committed offset", got, want)
				}
			})
		})
	}
}
