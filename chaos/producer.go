package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// produced is one record the producer sent: its key and per-key sequence
// number, and where the broker put it once it acknowledged it.
type produced struct {
	key, seq  int32
	partition int32
	offset    int64
	acked     bool
}

// producer writes keyed records with acks=all and idempotence (franz-go's
// defaults, stated explicitly here because the whole check rests on them):
// an acknowledged record is on at least min.insync.replicas brokers and was
// written once, in order per partition, so the per-key sequence numbers are
// increasing in offset order.
type producer struct {
	cl    *kgo.Client
	topic string
	keys  int
	rng   *rand.Rand // the run's seed: which key each record gets

	recs    []produced // indexed by send order; each promise writes its own entry
	wg      sync.WaitGroup
	sent    atomic.Int64
	acked   atomic.Int64
	perSec  sync.Map // unix second → *atomic.Int64 of acknowledgements
	failed  atomic.Int64
	errOnce sync.Once
	err     error // the first delivery error, set once
}

// produceDeliveryTimeout bounds how long one record may wait for its
// acknowledgement across broker restarts; a record not acknowledged by then
// is reported as not acked and left out of the loss check.
const produceDeliveryTimeout = 2 * time.Minute

func newProducer(bootstrap, topic string, keys int, seed uint64) (*producer, error) {
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(strings.Split(bootstrap, ",")...),
		kgo.DefaultProduceTopic(topic),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordDeliveryTimeout(produceDeliveryTimeout),
		kgo.ProducerLinger(5*time.Millisecond),
	)
	if err != nil {
		return nil, err
	}
	return &producer{cl: cl, topic: topic, keys: keys, rng: rand.New(rand.NewPCG(seed, 0x70726f64))}, nil
}

func keyName(k int32) string { return fmt.Sprintf("k%04d", k) }

// parseValue reads a value written by run: "k<key>:<seq>".
func parseValue(v string) (key, seq int32, ok bool) {
	ks, ss, found := strings.Cut(v, ":")
	if !found || !strings.HasPrefix(ks, "k") {
		return 0, 0, false
	}
	k, err1 := strconv.Atoi(ks[1:])
	s, err2 := strconv.Atoi(ss)
	return int32(k), int32(s), err1 == nil && err2 == nil
}

// run sends n records at about rate per second, then waits for every
// acknowledgement (at most produceDeliveryTimeout more). It returns early,
// without waiting, when ctx ends.
func (p *producer) run(ctx context.Context, n, rate int) error {
	p.recs = make([]produced, n)
	next := make([]int32, p.keys)
	const tick = 10 * time.Millisecond
	t := time.NewTicker(tick)
	defer t.Stop()
	budget := 0.0
	for i := 0; i < n; {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		budget += float64(rate) * tick.Seconds()
		for ; budget >= 1 && i < n; budget-- {
			k := int32(p.rng.IntN(p.keys))
			p.recs[i] = produced{key: k, seq: next[k], partition: -1, offset: -1}
			next[k]++
			p.send(ctx, i)
			i++
		}
	}
	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(produceDeliveryTimeout + 30*time.Second):
		return fmt.Errorf("producer: acknowledgements still missing after %v", produceDeliveryTimeout+30*time.Second)
	}
}

func (p *producer) send(ctx context.Context, i int) {
	r := p.recs[i]
	rec := &kgo.Record{Key: []byte(keyName(r.key)), Value: fmt.Appendf(nil, "%s:%d", keyName(r.key), r.seq)}
	p.wg.Add(1)
	p.sent.Add(1)
	p.cl.Produce(ctx, rec, func(rec *kgo.Record, err error) {
		defer p.wg.Done()
		if err != nil {
			p.failed.Add(1)
			p.errOnce.Do(func() { p.err = err })
			return
		}
		p.recs[i].partition, p.recs[i].offset, p.recs[i].acked = rec.Partition, rec.Offset, true
		p.acked.Add(1)
		c, _ := p.perSec.LoadOrStore(time.Now().Unix(), new(atomic.Int64))
		c.(*atomic.Int64).Add(1)
	})
}

// close ends the client; records not yet acknowledged fail.
func (p *producer) close() { p.cl.Close() }

// ackedPerSecond returns acknowledgements per Unix second.
func (p *producer) ackedPerSecond() map[int64]int64 {
	out := map[int64]int64{}
	p.perSec.Range(func(k, v any) bool {
		out[k.(int64)] = v.(*atomic.Int64).Load()
		return true
	})
	return out
}
