package engine

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

// In partition order with slow handlers, a backlog served one partition at
// a time (as a broker returns whole fetches of each partition) must not let
// the first partitions fill the buffer with records that wait their turn:
// every partition gets its share and runs at once. Before polls were capped
// in partition order, the first poll took the whole buffer from partition
// 0 and one handler ran at a time. Virtual time: the 10 ms handlers cost
// nothing real.
func TestPartitionOrderKeepsEveryPartitionRunning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.Ordering = ByPartition
		cfg.MaxProcCount = 100
		cfg.MaxBuffered = 1200
		cfg.PartitionWindow = 1000
		h := func(context.Context, rec, int) error {
			time.Sleep(10 * time.Millisecond)
			return nil
		}
		var tps []TP
		for p := range 12 {
			tps = append(tps, TP{"t", int32(p)})
		}
		e := run(t, cfg, h, &fakeCommits{}, nil, tps...)
		for _, tp := range tps {
			feed(e, tp, 0, 2000, nil)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		s := e.Stats()
		if s.PeakInFlight != 12 {
			t.Fatalf("peak in flight %d, want all 12 partitions at once", s.PeakInFlight)
		}
		// 2 s of 10 ms calls on 12 partitions: about 2,400 records.
		if s.Processed < 2000 {
			t.Fatalf("processed %d in 2 s of 10 ms calls on 12 partitions, want about 2,400", s.Processed)
		}
		if err := shutdown(t, e); err != nil {
			t.Fatal(err)
		}
	})
}
