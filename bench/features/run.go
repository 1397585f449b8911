package features

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kafkaworker/kafkaworker"
	"github.com/kafkaworker/kafkaworker/bench/contenders"
)

// The scenarios, one per child run.
const (
	StoreSingle = "store-single" // a Handler writing each record to the Store
	StoreBatch  = "store-batch"  // a BatchHandler writing each batch to the Store
	RateLimit   = "rate-limit"   // a no-op Handler under MaxRecordsPerSecond
	Knee        = "downstream"   // a Handler calling the Downstream, fixed or adaptive
)

// Spec is one child run.
type Spec struct {
	Scenario  string
	Bootstrap string
	Topic     string
	Group     string
	Ends      []int64 // the topic's end offsets by partition
	Keys      int     // distinct keys of the data set (key order check)
	MPC       int
	Ordering  string
	// Conns is the store's connection pool size.
	Conns int
	// DeadLetterTopic, when set, makes 0.1% of records poison (IsPoison)
	// and dead-letters them after one retry.
	DeadLetterTopic string
	RatePerSecond   int  // MaxRecordsPerSecond
	Adaptive        bool // AdaptiveConcurrency
	// Warmup and Window as in contenders.Spec: Window 0 reads the whole
	// topic, with the steady state between the 10% and 90% marks.
	Warmup, Window time.Duration
	Timeout        time.Duration
	Rep            int // repetition of the same settings, from 1
}

// Records is the number of records in the topic.
func (s Spec) Records() int64 {
	var n int64
	for _, e := range s.Ends {
		n += e
	}
	return n
}

// Label names the run in the tables.
func (s Spec) Label() string {
	switch s.Scenario {
	case StoreSingle, StoreBatch:
		l := fmt.Sprintf("%s, %d conn", map[string]string{StoreSingle: "single-record Handler", StoreBatch: "BatchHandler"}[s.Scenario], s.Conns)
		if s.DeadLetterTopic != "" {
			l += ", 0.1% poison"
		}
		return l
	case RateLimit:
		return fmt.Sprintf("MaxRecordsPerSecond %d", s.RatePerSecond)
	case Knee:
		if s.Adaptive {
			return fmt.Sprintf("adaptive, MaxProcCount %d", s.MPC)
		}
		return fmt.Sprintf("fixed MaxProcCount %d", s.MPC)
	}
	return s.Scenario
}

// Result is what a child reports, as one JSON line after ResultPrefix.
type Result struct {
	contenders.Result
	Store    StoreCounts // in the steady window
	Order    *OrderReport
	Calls    int64 // downstream calls in the steady window
	Calls503 int64 // of which answered 503
	// Answered is the time the answered calls took, summed: Answered ÷
	// (Calls − Calls503) against the model's latency shows how much the
	// machine's load stretched a call.
	Answered time.Duration
	// Limit is the concurrency limit in force, sampled every 100 ms in the
	// steady window (Stats().ConcurrencyLimit).
	LimitMin, LimitMax int
	LimitMean          float64
	// InFlightMean is the mean of Stats().InFlight, sampled with the
	// limit: handler calls running (for a BatchHandler, records in
	// calls or waiting for a batch).
	InFlightMean float64
	// Pauses is Stats().Pauses at the end: partitions paused because
	// their window was full.
	Pauses uint64
	// PerSecond is the records/s of each second of the window (each
	// interval timed: about a second, more on a loaded machine).
	PerSecond []float64
	// PoisonCalls counts the failed calls that held a poison record
	// (bisection included); PoisonMean and PoisonMax how long a poison
	// record took from its first call to its last attempt's failure.
	PoisonCalls           int64
	PoisonMean, PoisonMax time.Duration
	DeadLettered          uint64 // Stats().DeadLettered at the end
	Processed             uint64 // Stats().Processed at the end
	Retried               uint64
}

// ResultPrefix starts the line that carries a Result.
const ResultPrefix = "KWFEATURE "

// Line formats r for stdout.
func (r Result) Line() string {
	b, err := json.Marshal(r)
	if err != nil {
		return ResultPrefix + `{"Result":{"ErrorMsg":` + strconv.Quote(err.Error()) + `}}`
	}
	return ResultPrefix + string(b)
}

// ParseLine reads a line written by Line.
func ParseLine(line string) (Result, bool) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(line), ResultPrefix)
	if !ok {
		return Result{}, false
	}
	var r Result
	if err := json.Unmarshal([]byte(rest), &r); err != nil {
		return Result{}, false
	}
	return r, true
}

// meter follows the run's own counters in the steady window, which opens
// Warmup after the first record and lasts Window (as the Tally's does: the
// two are a few microseconds apart). A full run (Window 0) reports whole-run
// counters instead.
type meter struct {
	s       Spec
	store   *Store
	down    *Downstream
	stats   func() kafkaworker.Stats
	handled atomic.Int64
	once    sync.Once
	// stop is the Tally's Done (the window is over, or every record
	// handled); ended is closed by Run's caller once Run has returned.
	// Either ends the window early.
	stop, ended <-chan struct{}
	running     sync.WaitGroup // the window goroutine

	mu                    sync.Mutex
	store0                StoreCounts
	down0                 DownstreamCounts
	res                   Result
	limitSum, inFlightSum float64
	limitN                int
}

// first starts the window's clock at the first record; later calls do
// nothing.
func (m *meter) first() {
	m.once.Do(func() {
		m.running.Add(1)
		if m.s.Window == 0 {
			go m.whole()
			return
		}
		go m.window()
	})
}

func (m *meter) window() {
	defer m.running.Done()
	select {
	case <-time.After(m.s.Warmup):
	case <-m.stop:
		return
	case <-m.ended:
		return
	}
	m.open()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	end := time.After(m.s.Window)
	last, lastAt := m.handled.Load(), time.Now()
	for {
		select {
		case <-end:
			m.closeWindow()
			return
		case <-m.stop:
			m.closeWindow()
			return
		case <-m.ended:
			m.closeWindow()
			return
		case <-tick.C:
			m.sample()
			// Timed, not counted in ticks: a Ticker drops the ticks
			// of a late receiver, which a loaded machine makes.
			if now := time.Now(); now.Sub(lastAt) >= time.Second {
				n := m.handled.Load()
				m.mu.Lock()
				m.res.PerSecond = append(m.res.PerSecond, float64(n-last)/now.Sub(lastAt).Seconds())
				m.mu.Unlock()
				last, lastAt = n, now
			}
		}
	}
}

func (m *meter) open() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.store != nil {
		m.store0 = m.store.Counts()
	}
	if m.down != nil {
		m.down0 = m.down.Counts()
	}
}

func (m *meter) closeWindow() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.store != nil {
		m.res.Store = m.store.Counts().Sub(m.store0)
	}
	if m.down != nil {
		m.setDown(m.down.Counts().Sub(m.down0))
	}
	m.means()
}

// means sets the sampled means. Called with mu held.
func (m *meter) means() {
	if m.limitN > 0 {
		m.res.LimitMean = m.limitSum / float64(m.limitN)
		m.res.InFlightMean = m.inFlightSum / float64(m.limitN)
	}
}

func (m *meter) sample() {
	if m.stats == nil {
		return
	}
	st := m.stats()
	l := st.ConcurrencyLimit
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.limitN == 0 || l < m.res.LimitMin {
		m.res.LimitMin = l
	}
	m.res.LimitMax = max(m.res.LimitMax, l)
	m.limitSum += float64(l)
	m.inFlightSum += float64(st.InFlight)
	m.limitN++
}

// Measure runs s in this process until its window is over (or, without one,
// every record is handled), the consumer has drained and committed, or ctx
// ends.
func Measure(ctx context.Context, s Spec) Result {
	res, err := run(ctx, s)
	res.PeakRSSKiB = contenders.SelfPeakRSS()
	if err != nil && res.ErrorMsg == "" {
		res.ErrorMsg = err.Error()
	}
	return res
}

func run(ctx context.Context, s Spec) (Result, error) {
	cs := contenders.Spec{Ends: s.Ends, Warmup: s.Warmup, Window: s.Window}
	t := contenders.NewTally(cs)
	ended := make(chan struct{})
	m := &meter{s: s, stop: t.Done(), ended: ended}
	cfg := kafkaworker.Config{
		BootstrapServers: s.Bootstrap,
		GroupID:          s.Group,
		Topic:            s.Topic,
		MaxProcCount:     s.MPC,
		Ordering:         kafkaworker.Ordering(s.Ordering),
		// As kwbench's contender: a commit a second, not one per 100
		// records, which at these rates would measure the broker's
		// commit path.
		CommitIntervalSeconds:   1,
		MaxMsgCountBeforeCommit: 1_000_000,
	}
	var order *KeyOrder
	if s.Ordering == string(kafkaworker.KeyOrdered) {
		order = NewKeyOrder(s.Keys)
	}
	begin := func(seqs []int64) {
		if order != nil {
			order.Begin(seqs)
		}
	}
	end := func(seqs []int64) {
		if order != nil {
			order.End(seqs)
		}
	}
	count := func(r *kafkaworker.Record) {
		t.Count(r.Partition, r.Offset)
		m.handled.Add(1)
	}
	poison := s.DeadLetterTopic != ""
	if poison {
		cfg.DeadLetterTopic, cfg.FailurePolicy = s.DeadLetterTopic, kafkaworker.DeadLetterPolicy
		cfg.MaxRetries = 1
	}
	// lastAttempt counts a poison record as handled when its last attempt
	// fails: the consumer dead-letters it before the commit passes it, and
	// the completeness check then finds it committed.
	var pc poisonClock
	lastAttempt := func(r *kafkaworker.Record) {
		if r.Attempt > cfg.MaxRetries {
			pc.resolved(Seq(r.Value))
			count(r)
		}
	}
	quiet := kafkaworker.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	var c *kafkaworker.Consumer
	var err error
	switch s.Scenario {
	case StoreSingle:
		m.store = NewStore(s.Conns)
		c, err = kafkaworker.New(cfg, kafkaworker.HandlerFunc(func(_ context.Context, r *kafkaworker.Record) error {
			t.Start()
			m.first()
			seqs := []int64{Seq(r.Value)}
			begin(seqs)
			defer end(seqs)
			m.store.Write(1)
			if poison && IsPoison(seqs[0]) {
				lastAttempt(r)
				return errPoison
			}
			count(r)
			return nil
		}), quiet)
	case StoreBatch:
		m.store = NewStore(s.Conns)
		c, err = kafkaworker.NewBatch(cfg, kafkaworker.BatchHandlerFunc(func(_ context.Context, recs []*kafkaworker.Record) error {
			t.Start()
			m.first()
			seqs := make([]int64, len(recs))
			bad := false
			for i, r := range recs {
				seqs[i] = Seq(r.Value)
				if poison && IsPoison(seqs[i]) {
					bad = true
					pc.seen(seqs[i])
				}
			}
			begin(seqs)
			defer end(seqs)
			// One transaction per batch: a poison record fails it
			// whole, after its cost.
			m.store.Write(len(recs))
			if bad {
				pc.calls.Add(1)
				if len(recs) == 1 {
					lastAttempt(recs[0])
				}
				return errPoison
			}
			for _, r := range recs {
				count(r)
			}
			return nil
		}), quiet)
	case RateLimit:
		cfg.MaxRecordsPerSecond = float64(s.RatePerSecond)
		c, err = kafkaworker.New(cfg, kafkaworker.HandlerFunc(func(_ context.Context, r *kafkaworker.Record) error {
			t.Start()
			m.first()
			count(r)
			return nil
		}), quiet)
	case Knee:
		m.down = &Downstream{}
		cfg.AdaptiveConcurrency = s.Adaptive
		// A 503 is retried, as often as it takes, after 10-100 ms: the
		// settings of internal/engine's BenchmarkAdaptiveConcurrency.
		cfg.MaxRetries = 1 << 30
		cfg.RetryBackoffMin, cfg.RetryBackoffMax = 10*time.Millisecond, 100*time.Millisecond
		c, err = kafkaworker.New(cfg, kafkaworker.HandlerFunc(func(_ context.Context, r *kafkaworker.Record) error {
			t.Start()
			m.first()
			if err := m.down.Call(); err != nil {
				return kafkaworker.Overloaded(err)
			}
			count(r)
			return nil
		}), quiet)
	default:
		return Result{}, fmt.Errorf("unknown scenario %q", s.Scenario)
	}
	if err != nil {
		return Result{}, err
	}
	m.stats = c.Stats
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-t.Done():
			cancel()
		case <-runCtx.Done():
		}
	}()
	err = c.Run(runCtx)
	t.Finish()
	close(ended)
	m.running.Wait()
	m.mu.Lock()
	res := m.res
	m.mu.Unlock()
	res.Result = t.Result()
	if order != nil {
		o := order.Report()
		res.Order = &o
	}
	st := c.Stats()
	res.DeadLettered, res.Processed, res.Retried, res.Pauses = st.DeadLettered, st.Processed, st.Retried, st.Pauses
	res.PoisonCalls, res.PoisonMean, res.PoisonMax = pc.report()
	return res, err
}

// whole is window's counterpart for a full run (Window 0): it samples
// until the run ends, then fills in the store's and downstream's totals
// since the start.
func (m *meter) whole() {
	defer m.running.Done()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-m.stop:
		case <-m.ended:
		case <-tick.C:
			m.sample()
			continue
		}
		break
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.store != nil {
		m.res.Store = m.store.Counts()
	}
	if m.down != nil {
		m.setDown(m.down.Counts())
	}
	m.means()
}

func (m *meter) setDown(c DownstreamCounts) {
	m.res.Calls, m.res.Calls503, m.res.Answered = c.Calls, c.Overloaded, c.Answered
}

var errPoison = errors.New("poison record")

// poisonClock times poison records from their first call to their last
// attempt. Safe for concurrent use.
type poisonClock struct {
	calls atomic.Int64

	mu    sync.Mutex
	first map[int64]time.Time
	sum   time.Duration
	n     int
	max   time.Duration
}

func (c *poisonClock) seen(seq int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.first == nil {
		c.first = map[int64]time.Time{}
	}
	if _, ok := c.first[seq]; !ok {
		c.first[seq] = time.Now()
	}
}

func (c *poisonClock) resolved(seq int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.first[seq]; ok {
		d := time.Since(t)
		c.sum += d
		c.n++
		c.max = max(c.max, d)
	}
}

func (c *poisonClock) report() (calls int64, mean, longest time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n > 0 {
		mean = c.sum / time.Duration(c.n)
	}
	return c.calls.Load(), mean, c.max
}
