package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkaworker/kafkaworker/internal/engine"
)

// ShareSource is the engine's Source on a share group (KIP-932): the broker
// hands each record to one member with an acquisition lock and a delivery
// count, and the member acknowledges records one by one.
//
// franz-go acknowledges for the caller in one place: PollRecords first
// accepts every record of the client's previous poll that has no terminal
// acknowledgement yet (renewed ones included). Polling while a record is
// still running, waiting to be retried or failed would accept it unhandled.
// So the source runs several share clients, its members, and a member polls
// only once every record of its previous poll has been acknowledged by the
// engine (accept or release): the auto-accept then has nothing to accept.
// Members poll in turn as their batches finish, so records keep flowing
// while a slow batch holds back its own member alone.
//
// Records whose outcome is not known yet have their locks renewed (AckRenew,
// Kafka 4.2+) so that long handlers and local retries keep them; Renews
// reports whether the broker supports it.
//
// ShareSource is safe for concurrent use as engine.Source and engine.Acker
// require. R must be comparable (a pointer): it identifies the record in
// Ack.
type ShareSource[R comparable] struct {
	members   []*member
	perPoll   int
	convert   func([]*kgo.Record, []engine.Fetched[R]) []engine.Fetched[R]
	unconvert func(R) *kgo.Record
	slot      func(R) *any
	dead      DeadLetter
	log       *slog.Logger
	seeds     string
	group     string
	reset     string // the group's share.auto.offset.reset

	ctx     context.Context // members' and the renewer's; cancelled by Close
	cancel  context.CancelFunc
	loops   sync.WaitGroup
	start   sync.Once
	closed  sync.Once
	batches chan []engine.Fetched[R] // members send, Poll receives; unbuffered

	renews  atomic.Bool
	renewed atomic.Uint64
	ackErrs atomic.Uint64 // partitions whose acknowledgements the broker refused or never got
	lock    atomic.Int64  // the acquisition lock duration seen, ns; 0: none yet

	// ungated, for a test only, opens a member's gate as soon as its
	// batch is handed over: the hazard the gate exists for.
	ungated bool
}

// member is one share client and its gate. out counts the records of its
// last poll not yet acknowledged, and held is that poll's records; ready
// holds a token (capacity one) when out is zero, which is when the member
// may poll. mu guards out and held's entries.
type member struct {
	cl    *kgo.Client
	mu    sync.Mutex
	out   int
	held  []held
	ready chan struct{}
}

// held is a record handed out: its client record (to acknowledge; nil once
// acknowledged), its member (whose gate it holds), and when its lock should
// be renewed next. The record's slot points at it: Ack finds it without a
// lookup (a map of records handed out was a tenth of share mode's CPU).
type held struct {
	kr  *kgo.Record
	m   *member
	due time.Time
}

// ShareOptions are what a ShareSource needs beyond the client's Options.
type ShareOptions[R any] struct {
	Convert   func([]*kgo.Record, []engine.Fetched[R]) []engine.Fetched[R]
	Unconvert func(R) *kgo.Record
	// Slot returns a field of the record that the source owns from the
	// poll that brings the record until its Ack: where it keeps its
	// handle on the record.
	Slot            func(R) *any
	DeadLetterTopic string
	Seeds           string // for error messages
	// Members is the number of share clients (at least 1), and PerPoll the
	// records one member asks for at a time (ShareMaxRecords, the broker's
	// soft limit: it hands out whole producer batches, so a poll may bring
	// more).
	Members, PerPoll int
}

// NewShareSource creates the members' clients. They join the share group
// on the first Poll.
func NewShareSource[R comparable](o Options, so ShareOptions[R]) (*ShareSource[R], error) {
	s := &ShareSource[R]{
		perPoll: max(so.PerPoll, 1), convert: so.Convert, unconvert: so.Unconvert, slot: so.Slot,
		log: o.Logger, seeds: so.Seeds, group: o.Group, reset: "earliest",
		batches: make(chan []engine.Fetched[R]),
	}
	if o.ResetToLatest {
		s.reset = "latest"
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	for i := range max(so.Members, 1) {
		if i == 1 {
			// The user's options (hooks such as kprom, which
			// registers its metrics once per process) go to the
			// first client only.
			o.Extra = nil
		}
		cl, err := newShareClient(o, s.perPoll, s.onAcks)
		if err != nil {
			s.closeClients()
			return nil, err
		}
		m := &member{cl: cl, ready: make(chan struct{}, 1)}
		m.ready <- struct{}{}
		s.members = append(s.members, m)
	}
	s.dead = DeadLetter{Client: s.members[0].cl, Topic: so.DeadLetterTopic}
	return s, nil
}

// newShareClient returns a share-group client that fetches only while it
// is polled (MaxConcurrentFetches 0: no prefetch), so that no record waits
// acquired in the client's buffer while its member's gate is shut, and asks
// for about perPoll records a fetch.
//
// perPoll is the broker's soft limit (ShareFetch MaxRecords in its default,
// batch-optimized acquire mode), not ShareMaxRecordsStrict: the strict mode
// makes the broker cut its acquisitions inside producer batches, and the
// client then decompresses and decodes a whole batch for each slice of it
// it acquires. With 100-byte records in ~600-record batches, perPoll 500,
// that was most of share mode's CPU (6 µs a record) and, with the fetches
// it needed, held it to 67% of the Little's-law limit at 10 ms; whole batches
// cost 2 µs and reach the limit. The price: a fetch may bring up to a
// producer batch per partition more than perPoll.
func newShareClient(o Options, perPoll int, onAcks func(*kgo.Client, kgo.ShareAckResults)) (*kgo.Client, error) {
	opts := append([]kgo.Opt(nil), o.Extra...)
	opts = append(opts,
		kgo.SeedBrokers(o.Seeds...),
		kgo.ClientID(o.ClientID),
		kgo.ShareGroup(o.Group),
		kgo.ConsumeTopics(o.Topics...),
		kgo.ShareMaxRecords(int32(min(perPoll, 1<<20))),
		kgo.MaxConcurrentFetches(0),
		kgo.ShareAckCallback(onAcks),
		kgo.SessionTimeout(o.SessionTimeout),
		kgo.FetchMaxWait(500*time.Millisecond),
		kgo.UnknownTopicRetries(3),
	)
	if o.TLS != nil {
		opts = append(opts, kgo.DialTLSConfig(o.TLS))
	}
	if o.SASL != nil {
		opts = append(opts, kgo.SASL(o.SASL))
	}
	if o.Logger != nil {
		opts = append(opts, kgo.WithLogger(slogLogger{o.Logger}))
	}
	return kgo.NewClient(opts...)
}

// Client is the first member's client, for the start-up check.
func (s *ShareSource[R]) Client() *kgo.Client { return s.members[0].cl }

// Renewed is the number of lock renewals sent.
func (s *ShareSource[R]) Renewed() uint64 { return s.renewed.Load() }

// AckErrors is the number of per-partition acknowledgement results that
// failed: the broker refused them, or the client could not deliver them.
// The records concerned are delivered again once their locks expire.
func (s *ShareSource[R]) AckErrors() uint64 { return s.ackErrs.Load() }

// onAcks logs acknowledgements that failed. franz-go has retried what could
// be retried; without this callback the rest would be invisible.
func (s *ShareSource[R]) onAcks(_ *kgo.Client, rs kgo.ShareAckResults) {
	for _, r := range rs {
		if r.Err != nil {
			s.ackErrs.Add(1)
			s.log.Warn("share acknowledgement failed; the records are delivered again when their locks expire",
				"topic", r.Topic, "partition", r.Partition, "err", r.Err)
		}
	}
}

// Renews implements engine.Acker.
func (s *ShareSource[R]) Renews() bool { return s.renews.Load() }

// Poll implements engine.Source: it returns the batches members have
// polled, at least one, as many as are ready without waiting. max is not
// needed: each member holds one poll's records at a time, about PerPoll.
func (s *ShareSource[R]) Poll(ctx context.Context, _ int, b *engine.Batch[R]) error {
	s.start.Do(s.startLoops)
	select {
	case recs := <-s.batches:
		b.Records = append(b.Records, recs...)
	case <-ctx.Done():
		return ctx.Err()
	case <-s.ctx.Done():
		return engine.ErrSourceClosed
	}
	for {
		select {
		case recs := <-s.batches:
			b.Records = append(b.Records, recs...)
		default:
			return ctx.Err()
		}
	}
}

// startLoops prepares the group and starts the members and the renewer.
func (s *ShareSource[R]) startLoops() {
	s.setReset(s.ctx)
	s.renews.Store(s.probeRenew(s.ctx))
	for _, m := range s.members {
		s.loops.Go(func() { s.runMember(m) })
	}
	s.loops.Go(s.runRenewer)
}

// runMember polls m whenever its gate is open, converts what it brings and
// hands it to Poll. It returns when Close cancels s.ctx; a batch not handed
// over by then is released.
func (s *ShareSource[R]) runMember(m *member) {
	var out []engine.Fetched[R]
	for {
		select {
		case <-m.ready:
		case <-s.ctx.Done():
			return
		}
		// The gate is open: every record of m's previous poll has a
		// terminal acknowledgement, so the auto-accept of this poll
		// finds none pending.
		// Everything buffered: the one fetch this poll made.
		fetches := m.cl.PollRecords(s.ctx, -1)
		if s.ctx.Err() != nil || fetches.IsClientClosed() {
			release(fetches)
			return
		}
		fetches.EachError(func(t string, p int32, err error) {
			if !errors.Is(err, context.Canceled) {
				s.log.Warn("share fetch error", "topic", t, "partition", p, "err", Explain(err, s.seeds))
			}
		})
		krs := fetches.Records()
		if len(krs) == 0 {
			m.ready <- struct{}{}
			s.pause() // errors only: do not spin
			continue
		}
		out = s.convert(krs, out[:0])
		now := time.Now()
		lock := s.lockDuration(krs[0], now)
		// A new slab each poll: a record of an earlier poll (only
		// possible ungated, in a test) keeps pointing at its own.
		hs := make([]held, len(krs))
		for i := range out {
			out[i].Attempt = int(krs[i].DeliveryCount())
			hs[i] = held{kr: krs[i], m: m, due: now.Add(lock / 3)}
			*s.slot(out[i].Rec) = &hs[i]
		}
		m.mu.Lock()
		m.out, m.held = len(krs), hs
		m.mu.Unlock()
		batch := append([]engine.Fetched[R](nil), out...)
		if s.ungated {
			m.ready <- struct{}{}
		}
		select {
		case s.batches <- batch:
		case <-s.ctx.Done():
			for i := range batch {
				s.Ack(batch[i].Rec, engine.Release)
			}
			return
		}
	}
}

// lockDuration returns the acquisition lock's duration: what is left of
// the first lock seen (the broker's duration less the fetch's trip), or
// the broker's default, 30s, before one is seen.
func (s *ShareSource[R]) lockDuration(kr *kgo.Record, now time.Time) time.Duration {
	if d := kr.AcquisitionDeadline().Sub(now); d > 0 && s.lock.Load() == 0 {
		s.lock.Store(int64(d))
	}
	if d := time.Duration(s.lock.Load()); d > 0 {
		return d
	}
	return 30 * time.Second
}

// pause waits a little after a poll that brought only errors.
func (s *ShareSource[R]) pause() {
	t := time.NewTimer(250 * time.Millisecond)
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.ctx.Done():
	}
}

// release releases records polled after Close began.
func release(fetches kgo.Fetches) {
	fetches.EachRecord(func(r *kgo.Record) { r.Ack(kgo.AckRelease) })
}

// Ack implements engine.Acker: it acknowledges r and, when r was the last
// unacknowledged record of its member's poll, opens the member's gate.
func (s *ShareSource[R]) Ack(r R, a engine.Ack) {
	slot := s.slot(r)
	h, _ := (*slot).(*held)
	*slot = nil
	var kr *kgo.Record
	if h != nil {
		h.m.mu.Lock()
		kr, h.kr = h.kr, nil
		h.m.mu.Unlock()
	}
	if kr == nil {
		s.log.Error("kafkaworker bug: acknowledging a record the share source does not hold", "ack", a)
		return
	}
	switch a {
	case engine.Accept:
		kr.Ack(kgo.AckAccept)
	case engine.Reject:
		kr.Ack(kgo.AckReject)
	default:
		kr.Ack(kgo.AckRelease)
	}
	// The acknowledgement is set (franz-go records it before returning)
	// before out falls and the gate can open: a later poll cannot
	// auto-accept r, whichever of the member's records is acknowledged
	// last.
	h.m.mu.Lock()
	h.m.out--
	open := h.m.out == 0 && !s.ungated
	h.m.mu.Unlock()
	if open {
		h.m.ready <- struct{}{}
	}
}

// runRenewer renews the locks of held records a third of the way through
// them, until Close, and flushes the renewals at once: franz-go otherwise
// holds an acknowledgement that cannot ride on a fetch for up to a second.
// A record acknowledged meanwhile is not renewed: franz-go ignores a renewal
// after a terminal acknowledgement.
func (s *ShareSource[R]) runRenewer() {
	if !s.renews.Load() {
		return
	}
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	var due []*kgo.Record
	for {
		select {
		case <-t.C:
		case <-s.ctx.Done():
			return
		}
		now := time.Now()
		lock := time.Duration(s.lock.Load())
		if lock <= 0 {
			lock = 30 * time.Second
		}
		due = due[:0]
		for _, m := range s.members {
			m.mu.Lock()
			for i := range m.held {
				if h := &m.held[i]; h.kr != nil && now.After(h.due) {
					due = append(due, h.kr)
					h.due = now.Add(lock / 3)
				}
			}
			m.mu.Unlock()
		}
		if len(due) == 0 {
			continue
		}
		for _, kr := range due {
			kr.Ack(kgo.AckRenew)
		}
		s.renewed.Add(uint64(len(due)))
		s.flush(lock / 3)
	}
}

// flush sends every member's pending acknowledgements now, waiting up to d.
func (s *ShareSource[R]) flush(d time.Duration) {
	ctx, cancel := context.WithTimeout(s.ctx, d)
	defer cancel()
	var wg sync.WaitGroup
	for _, m := range s.members {
		wg.Go(func() { _ = m.cl.FlushAcks(ctx) })
	}
	wg.Wait()
}

// probeRenew reports whether the broker takes lock renewals:
// ShareAcknowledge v2 (KIP-1222, Kafka 4.2).
func (s *ShareSource[R]) probeRenew(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	resp, err := kmsg.NewPtrApiVersionsRequest().RequestWith(ctx, s.members[0].cl)
	if err != nil {
		s.log.Warn("cannot tell whether the broker renews share locks; failed records are released for redelivery", "err", err)
		return false
	}
	for _, k := range resp.ApiKeys {
		if k.ApiKey == kmsg.ShareAcknowledge.Int16() {
			return k.MaxVersion >= 2
		}
	}
	return false
}

// setReset sets the group's share.auto.offset.reset, which decides where a
// share group starts on partitions it has never read (Kafka's default is
// latest); kadm has no helper for group configs.
func (s *ShareSource[R]) setReset(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err := SetGroupConfig(ctx, s.members[0].cl, s.group, "share.auto.offset.reset", s.reset)
	if err != nil {
		s.log.Warn("could not set the share group's share.auto.offset.reset; the broker's default applies",
			"value", s.reset, "err", err)
	}
}

// SetGroupConfig sets one config of a group (IncrementalAlterConfigs on the
// group resource).
func SetGroupConfig(ctx context.Context, cl *kgo.Client, group, key, value string) error {
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	res := kmsg.NewIncrementalAlterConfigsRequestResource()
	res.ResourceType = kmsg.ConfigResourceTypeGroupConfig
	res.ResourceName = group
	c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
	c.Name, c.Value = key, kmsg.StringPtr(value)
	c.Op = kmsg.IncrementalAlterConfigOpSet
	res.Configs = append(res.Configs, c)
	req.Resources = append(req.Resources, res)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return err
	}
	for _, r := range resp.Resources {
		if r.ErrorCode != 0 {
			msg := ""
			if r.ErrorMessage != nil {
				msg = *r.ErrorMessage
			}
			return fmt.Errorf("%s=%s on group %s: error code %d %s", key, value, group, r.ErrorCode, strings.TrimSpace(msg))
		}
	}
	return nil
}

// AllowRebalance implements engine.Source; the broker assigns share
// partitions without a handshake.
func (s *ShareSource[R]) AllowRebalance() {}

// Pause implements engine.Source; the engine never pauses in share mode.
func (s *ShareSource[R]) Pause([]engine.TP) {}

// Resume implements engine.Source.
func (s *ShareSource[R]) Resume([]engine.TP) {}

// Commit implements engine.Source; share groups commit nothing.
func (s *ShareSource[R]) Commit(context.Context, []engine.Offset) error { return nil }

// DeadLetter implements engine.Source.
func (s *ShareSource[R]) DeadLetter(ctx context.Context, r R, attempts int, cause error) error {
	return s.dead.Produce(ctx, s.unconvert(r), attempts, cause)
}

// Close stops the members, releases what they polled and did not hand
// over, flushes the acknowledgements and leaves the group (a client's close
// releases whatever of its records is still unacknowledged).
func (s *ShareSource[R]) Close() {
	s.closed.Do(func() {
		s.flushAll()
		s.cancel()
		s.loops.Wait()
		s.flushAll()
		s.closeClients()
	})
}

// flushAll sends every member's pending acknowledgements, waiting up to 10s.
func (s *ShareSource[R]) flushAll() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, m := range s.members {
		wg.Go(func() {
			if err := m.cl.FlushAcks(ctx); err != nil {
				s.log.Warn("flushing share acknowledgements", "err", err)
			}
		})
	}
	wg.Wait()
}

func (s *ShareSource[R]) closeClients() {
	var wg sync.WaitGroup
	for _, m := range s.members {
		wg.Go(m.cl.Close)
	}
	wg.Wait()
}
