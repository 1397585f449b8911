package kafka

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkaworker/kafkaworker/internal/engine"
)

// acceptWatch sees every acknowledgement the broker receives and records
// each accept of a record whose handler had not succeeded: a premature
// accept, which loses the record. One topic, so records are told apart by
// partition and offset.
type acceptWatch struct {
	mu        sync.Mutex
	succeeded map[[2]int64]bool
	accepted  map[[2]int64]bool
	early     []string      // accepts of records not succeeded
	first     chan struct{} // closed at the first early accept
}

func newAcceptWatch(c *kfake.Cluster) *acceptWatch {
	w := &acceptWatch{succeeded: map[[2]int64]bool{}, accepted: map[[2]int64]bool{}, first: make(chan struct{})}
	c.ControlKey(kmsg.ShareFetch.Int16(), func(req kmsg.Request) (kmsg.Response, error, bool) {
		for _, t := range req.(*kmsg.ShareFetchRequest).Topics {
			for _, p := range t.Partitions {
				for _, b := range p.AcknowledgementBatches {
					w.saw(p.Partition, b.FirstOffset, b.LastOffset, b.AcknowledgeTypes)
				}
			}
		}
		return nil, nil, false
	})
	c.ControlKey(kmsg.ShareAcknowledge.Int16(), func(req kmsg.Request) (kmsg.Response, error, bool) {
		for _, t := range req.(*kmsg.ShareAcknowledgeRequest).Topics {
			for _, p := range t.Partitions {
				for _, b := range p.AcknowledgementBatches {
					w.saw(p.Partition, b.FirstOffset, b.LastOffset, b.AcknowledgeTypes)
				}
			}
		}
		return nil, nil, false
	})
	return w
}

// saw records an acknowledgement batch: one type for the whole range, or
// one per offset.
func (w *acceptWatch) saw(p int32, first, last int64, types []int8) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for off := first; off <= last; off++ {
		typ := types[0]
		if len(types) > 1 {
			typ = types[off-first]
		}
		if typ != int8(kgo.AckAccept) {
			continue
		}
		k := [2]int64{int64(p), off}
		w.accepted[k] = true
		if !w.succeeded[k] {
			if len(w.early) == 0 {
				close(w.first)
			}
			w.early = append(w.early, fmt.Sprintf("%d@%d", p, off))
		}
	}
}

func (w *acceptWatch) succeed(r *kgo.Record) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.succeeded[[2]int64{int64(r.Partition), r.Offset}] = true
}

func (w *acceptWatch) counts() (succeeded, accepted int, early []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.succeeded), len(w.accepted), append([]string(nil), w.early...)
}

func shareConvert(krs []*kgo.Record, out []engine.Fetched[*kgo.Record]) []engine.Fetched[*kgo.Record] {
	for _, kr := range krs {
		out = append(out, engine.Fetched[*kgo.Record]{Rec: kr, TP: engine.TP{Topic: kr.Topic, Partition: kr.Partition},
			Offset: kr.Offset, Key: kr.Key, Size: len(kr.Key) + len(kr.Value)})
	}
	return out
}

func shareEngineConfig() engine.Config {
	return engine.Config{
		MaxProcCount: 8, MaxBuffered: 1000, MaxBufferedBytes: 1 << 20, PartitionWindow: 1000,
		CommitCount: 100, CommitInterval: time.Second, MaxRetries: 2,
		BackoffMin: 20 * time.Millisecond, BackoffMax: 50 * time.Millisecond, Policy: engine.Skip,
		RevokeTimeout: time.Second, ShutdownTimeout: 5 * time.Second, ShutdownMargin: time.Second,
		CommitTimeout: time.Second, Share: true,
	}
}

// startShare returns a kfake cluster with a topic of 3 partitions holding n
// records, and a share source of members members on it.
func startShare(t *testing.T, n, members int, ungated bool, opts ...kfake.Opt) (*kfake.Cluster, *ShareSource[*kgo.Record], *acceptWatch) {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(3, "t")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	w := newAcceptWatch(c)
	prod, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.DefaultProduceTopic("t"))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := range n {
		prod.Produce(ctx, kgo.StringRecord(fmt.Sprint(i)), nil)
	}
	if err := prod.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	src, err := NewShareSource(Options{Seeds: c.ListenAddrs(), Group: "g", Topics: []string{"t"},
		ClientID: "test", SessionTimeout: 10 * time.Second},
		ShareOptions[*kgo.Record]{Convert: shareConvert, Unconvert: func(r *kgo.Record) *kgo.Record { return r }, Slot: testSlot(),
			Members: members, PerPoll: 20, Seeds: strings.Join(c.ListenAddrs(), ",")})
	if err != nil {
		t.Fatal(err)
	}
	src.ungated = ungated
	return c, src, w
}

// No record is ever accepted before its handler succeeded: with records
// failing on their first delivery and retried after a backoff (their locks
// renewed meanwhile), every accept the broker receives is of a record whose
// handler returned nil, and every record is accepted (lost = 0).
func TestShareNeverAcceptsUnfinished(t *testing.T) {
	for _, members := range []int{1, 3} {
		t.Run(fmt.Sprint("members=", members), func(t *testing.T) {
			const n = 600
			_, src, w := startShare(t, n, members, false)
			h := func(_ context.Context, r *kgo.Record, attempt int) error {
				if r.Offset%7 == 0 && attempt == 1 {
					return errors.New("first delivery fails")
				}
				w.succeed(r)
				return nil
			}
			e := engine.New(shareEngineConfig(), h)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			runErr := make(chan error, 1)
			go func() { runErr <- e.Run(ctx, src) }()
			deadline := time.After(60 * time.Second)
			for {
				s, a, early := w.counts()
				if len(early) > 0 {
					t.Fatalf("accepted before the handler succeeded: %v", early)
				}
				if s == n && a == n {
					break
				}
				select {
				case <-deadline:
					t.Fatalf("succeeded %d, accepted %d of %d", s, a, n)
				case err := <-runErr:
					t.Fatalf("Run returned early: %v", err)
				case <-time.After(5 * time.Millisecond):
				}
			}
			cancel()
			if err := <-runErr; err != nil {
				t.Fatalf("Run: %v", err)
			}
			st := e.Stats()
			if !src.Renews() {
				t.Error("kfake takes renewals (ShareAcknowledge v2), but the source did not see it")
			}
			if st.Acquired < n || st.Accepted != n || st.Retried == 0 {
				t.Errorf("acquired %d, accepted %d, retried %d; want ≥%d, %d, >0", st.Acquired, st.Accepted, st.Retried, n, n)
			}
			if _, _, early := w.counts(); len(early) > 0 {
				t.Fatalf("accepted before the handler succeeded: %v", early)
			}
		})
	}
}

// The check above can fail: with the gate removed, a member polls while its
// previous batch is still running, and franz-go accepts that batch.
func TestShareAcceptWatchSeesUngatedAutoAccept(t *testing.T) {
	const n = 100
	_, src, w := startShare(t, n, 1, true)
	h := func(ctx context.Context, r *kgo.Record, _ int) error {
		// Hold every record until the broker has accepted one that
		// is still here.
		select {
		case <-w.first:
		case <-ctx.Done():
			return ctx.Err()
		}
		w.succeed(r)
		return nil
	}
	e := engine.New(shareEngineConfig(), h)
	ctx, cancel := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() { runErr <- e.Run(ctx, src) }()
	select {
	case <-w.first:
	case <-time.After(60 * time.Second):
		t.Error("no premature accept seen without the gate: the watch cannot fail")
	}
	cancel()
	if err := <-runErr; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// Records held longer than their lock, by a slow handler, keep it: the
// source renews the locks, so no record is released and delivered again.
// Without renewal, the broker (a 1 s lock here) would hand them to the
// other member with delivery count 2.
func TestShareRenewsLocksOfSlowRecords(t *testing.T) {
	const n = 30
	_, src, w := startShare(t, n, 2, false, kfake.BrokerConfigs(map[string]string{
		"group.share.record.lock.duration.ms": "1000",
		"share.record.lock.sweep.interval.ms": "50",
	}))
	h := func(ctx context.Context, r *kgo.Record, _ int) error {
		// Hold the first records until their locks have been renewed
		// several times over: well past the lock's duration.
		if r.Offset < 3 {
			for src.Renewed() < 30 {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(10 * time.Millisecond):
				}
			}
		}
		w.succeed(r)
		return nil
	}
	e := engine.New(shareEngineConfig(), h)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- e.Run(ctx, src) }()
	deadline := time.After(60 * time.Second)
	for {
		s, a, early := w.counts()
		if len(early) > 0 {
			t.Fatalf("accepted before the handler succeeded: %v", early)
		}
		if s == n && a == n {
			break
		}
		select {
		case <-deadline:
			t.Fatalf("succeeded %d, accepted %d of %d; renewed %d", s, a, n, src.Renewed())
		case err := <-runErr:
			t.Fatalf("Run returned early: %v", err)
		case <-time.After(5 * time.Millisecond):
		}
	}
	cancel()
	if err := <-runErr; err != nil {
		t.Fatalf("Run: %v", err)
	}
	st := e.Stats()
	if st.Deliveries[1] != 0 || st.Acquired != n {
		t.Fatalf("acquired %d, deliveries by count %v: a lock expired and records came back", st.Acquired, st.Deliveries)
	}
}

// testSlot gives each *kgo.Record a slot for the share source's handle,
// which kgo.Record has no field for.
func testSlot() func(*kgo.Record) *any {
	var slots sync.Map
	return func(r *kgo.Record) *any {
		v, _ := slots.LoadOrStore(r, new(any))
		return v.(*any)
	}
}
