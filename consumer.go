package kafkaworker

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

	"github.com/kafkaworker/kafkaworker/internal/engine"
	"github.com/kafkaworker/kafkaworker/internal/kafka"
)

// Consumer consumes a group's topics, running a Handler on up to
// MaxProcCount records at once and committing offsets in order. Create it
// with New and run it once with Run. Its methods are safe for concurrent use.
type Consumer struct {
	cfg      Config
	handler  Handler
	log      *slog.Logger
	extra    []kgo.Opt
	eng      *engine.Engine[*Record]
	ran      atomic.Bool
	running  atomic.Bool
	onCommit func(time.Duration, int, error)
	checkTO  time.Duration
	share    atomic.Pointer[kafka.ShareSource[*Record]] // set by Run in share mode, for Stats
	batcher  *batcher                                   // NewBatch's; nil for a Handler

	stop     context.CancelFunc // ends Run's context; set once Run starts
	stopMu   sync.Mutex
	stopping bool          // Shutdown was called (maybe before Run)
	done     chan struct{} // closed when Run returns
}

// Option customises a Consumer beyond its Config.
type Option func(*Consumer)

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(c *Consumer) { c.log = l } }

// WithClientOptions adds franz-go client options, such as kgo.WithHooks
// for metrics (plugin/kprom) or kgo.FetchMaxWait. They are applied before
// the options the consumer's guarantees rest on (group callbacks,
// auto-commit off, rebalances blocked while polling, the reset policy),
// which therefore always win. In share mode they apply to the first of the
// ShareMembers clients only: a metrics hook such as kprom registers its
// series once. An auto-commit option (kgo.AutoCommitMarks,
// kgo.GreedyAutoCommit) makes Run fail at once: auto-commit commits what was
// fetched, not what was handled.
func WithClientOptions(opts ...kgo.Opt) Option {
	return func(c *Consumer) { c.extra = append(c.extra, opts...) }
}

// WithCommitObserver registers f to be told of every commit request: its
// duration, how many partitions it carried and its error (for a latency
// histogram). f runs on the committing goroutine and must be quick.
func WithCommitObserver(f func(d time.Duration, partitions int, err error)) Option {
	return func(c *Consumer) { c.onCommit = f }
}

// WithStartupTimeout bounds the start-up check that the brokers answer, the
// credentials work and the topics exist (default 30s).
func WithStartupTimeout(d time.Duration) Option { return func(c *Consumer) { c.checkTO = d } }

// ShutdownMargin is how long Run waits, after ShutdownTimeout has passed and
// the handlers' contexts are cancelled, for them to return. Run therefore
// returns within ShutdownTimeout + ShutdownMargin + the final commit (at most
// 10s) of its context ending, unless the group itself holds it up.
const ShutdownMargin = 5 * time.Second

// finalCommitTimeout bounds the final commit.
const finalCommitTimeout = 10 * time.Second

// New validates cfg and returns a Consumer that runs h. It does not connect:
// Run does.
func New(cfg Config, h Handler, opts ...Option) (*Consumer, error) {
	if h == nil {
		return nil, errors.New("kafkaworker: nil Handler")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Consumer{cfg: cfg.WithDefaults(), handler: h, log: slog.Default(), checkTO: 30 * time.Second,
		done: make(chan struct{})}
	for _, o := range opts {
		o(c)
	}
	c.eng = engine.New(c.engineConfig(), c.handle)
	return c, nil
}

// prefetchShare is the part of MaxBufferedBytes left to the client's
// prefetch; the engine holds the rest.
const prefetchShare = 4

// commitStallHold is the longest a periodic commit may be stuck before no
// new records start (see internal/engine/stall.go; the bound follows the
// commits' own time below it): commits take milliseconds, so a second means
// a rebalance or a coordinator change holds them, and the work finished
// meanwhile is at risk of being done again.
const commitStallHold = time.Second

func (c *Consumer) engineConfig() engine.Config {
	cfg := c.cfg
	ec := engine.Config{
		MaxProcCount:        cfg.MaxProcCount,
		MaxBuffered:         cfg.MaxBufferedRecords,
		MaxBufferedBytes:    int64(cfg.MaxBufferedBytes) - int64(cfg.MaxBufferedBytes)/prefetchShare,
		PartitionWindow:     int64(cfg.PartitionWindow),
		CommitCount:         cfg.MaxMsgCountBeforeCommit,
		CommitInterval:      time.Duration(cfg.CommitIntervalSeconds) * time.Second,
		MaxRetries:          max(cfg.MaxRetries, 0),
		BackoffMin:          cfg.RetryBackoffMin,
		BackoffMax:          cfg.RetryBackoffMax,
		RevokeTimeout:       cfg.RevokeTimeout,
		ShutdownTimeout:     cfg.ShutdownTimeout,
		ShutdownMargin:      ShutdownMargin,
		CommitTimeout:       finalCommitTimeout,
		FreezeAfter:         cfg.SessionTimeout,
		CommitStallHold:     commitStallHold,
		Logger:              c.log,
		Permanent:           IsPermanent,
		RetryAfter:          c.retryAfter,
		Adaptive:            cfg.AdaptiveConcurrency,
		Overloaded:          IsOverloaded,
		MaxRecordsPerSecond: cfg.MaxRecordsPerSecond,
		OnCommit:            c.onCommit,
		Share:               cfg.GroupType == ShareGroup,
	}
	switch cfg.Ordering {
	case KeyOrdered:
		ec.Ordering = engine.ByKey
	case PartitionOrdered:
		ec.Ordering = engine.ByPartition
	}
	switch cfg.FailurePolicy {
	case SkipPolicy:
		ec.Policy = engine.Skip
	case DeadLetterPolicy:
		ec.Policy = engine.DeadLetter
	case BlockPolicy:
		ec.Policy = engine.Block
	}
	return ec
}

// handle runs the user's handler. A retry gets a copy of the record with
// its Attempt set, so that a handler that kept the record of an earlier
// attempt never sees it change.
func (c *Consumer) handle(ctx context.Context, r *Record, attempt int) error {
	if attempt != r.Attempt {
		cp := *r
		cp.Attempt = attempt
		r = &cp
	}
	return c.handler.Handle(ctx, r)
}

// Run consumes until ctx ends, Shutdown is called, or a record fails under
// the stop policy, then shuts down gracefully: it stops fetching, lets
// running handlers finish for up to ShutdownTimeout (then cancels their
// context and waits up to ShutdownMargin more), commits what is done,
// leaves the group and closes the client. It returns only after all that.
//
// It returns nil after a shutdown asked for through ctx or Shutdown, an error
// wrapping ErrShutdownTimeout if handlers outlived ShutdownTimeout,
// ErrRecordFailed for a record that failed for good, or
// ErrBrokersUnreachable, ErrAuthentication or ErrTopicNotFound if the
// start-up check failed. Run may be called once; later calls return
// ErrClosed.
func (c *Consumer) Run(ctx context.Context) error {
	if !c.ran.CompareAndSwap(false, true) {
		return ErrClosed
	}
	defer close(c.done)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c.stopMu.Lock()
	c.stop = cancel
	if c.stopping {
		cancel()
	}
	c.stopMu.Unlock()

	src, err := c.newSource()
	if err != nil {
		return fmt.Errorf("kafkaworker: creating the client: %w", err)
	}
	if err := c.check(ctx, src.Client()); err != nil {
		src.Close()
		return err
	}
	if c.cfg.GroupType == ShareGroup {
		// The broker assigns share partitions to every member without
		// a handshake the client reports: the consumer counts as
		// joined once the start-up check passed.
		c.eng.Assign(nil)
	} else if mb, ok := src.(interface{ MetadataBudget(context.Context) int }); ok {
		budgetCtx, cancelBudget := context.WithTimeout(ctx, 5*time.Second)
		c.eng.SetMetadataBudget(mb.MetadataBudget(budgetCtx))
		cancelBudget()
	}
	c.running.Store(true)
	c.log.Info("kafkaworker consuming", "topics", c.cfg.AllTopics(), "group", c.cfg.GroupID,
		"group_type", c.cfg.GroupType, "max_proc_count", c.cfg.MaxProcCount, "ordering", c.cfg.Ordering)
	err = c.eng.Run(ctx, src)
	c.running.Store(false)
	if c.batcher != nil {
		c.batcher.stop(ShutdownMargin)
	}
	switch {
	case errors.Is(err, engine.ErrFatal):
		return err
	case err != nil:
		return fmt.Errorf("kafkaworker: shutdown: %w", err)
	}
	return nil
}

// Shutdown stops Run gracefully, as if its context had ended, and waits for
// it to return or for ctx to end, whichever comes first (then it returns
// ctx's error; Run goes on shutting down). It may be called any number of
// times, before, during or after Run; called before Run, it makes Run return
// at once after the start-up check.
func (c *Consumer) Shutdown(ctx context.Context) error {
	c.stopMu.Lock()
	c.stopping = true
	if c.stop != nil {
		c.stop()
	}
	c.stopMu.Unlock()
	if !c.ran.Load() {
		return nil
	}
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// source is what Run needs of a Source: the engine's seam and the client
// for the start-up check.
type source interface {
	engine.Source[*Record]
	Client() *kgo.Client
}

func (c *Consumer) newSource() (source, error) {
	tlsCfg, mech, err := kafka.Security{
		Protocol: c.cfg.SecurityProtocol, Mechanism: c.cfg.SaslMechanism,
		Username: c.cfg.SaslUsername, Password: c.cfg.SaslPassword,
		CALocation: c.cfg.SslCaLocation, CertLocation: c.cfg.SslCertificateLocation, KeyLocation: c.cfg.SslKeyLocation,
	}.Build()
	if err != nil {
		return nil, err
	}
	o := kafka.Options{
		Seeds:               kafka.SplitSeeds(c.cfg.BootstrapServers),
		Group:               c.cfg.GroupID,
		Topics:              c.cfg.AllTopics(),
		ClientID:            c.cfg.ClientID,
		SessionTimeout:      c.cfg.SessionTimeout,
		RebalanceTimeout:    c.cfg.RebalanceTimeout,
		ResetToLatest:       strings.EqualFold(c.cfg.AutoOffsetReset, "latest"),
		InstanceID:          c.cfg.GroupInstanceID,
		ServerSideBalancing: strings.EqualFold(string(c.cfg.GroupProtocol), string(ConsumerProtocol)),
		TLS:                 tlsCfg,
		SASL:                mech,
		Logger:              c.log,
		Extra:               c.extra,
		PrefetchBytes:       int64(c.cfg.MaxBufferedBytes) / prefetchShare,
		PartitionRecords:    int64(c.cfg.PartitionWindow) / 2,
		Listener:            c.eng,
	}
	if c.cfg.GroupType == ShareGroup {
		members := c.cfg.ShareMembers
		s, err := kafka.NewShareSource(o, kafka.ShareOptions[*Record]{
			Convert:         convert,
			Unconvert:       unconvert,
			Slot:            func(r *Record) *any { return &r.share },
			DeadLetterTopic: c.cfg.DeadLetterTopic,
			Seeds:           c.cfg.BootstrapServers,
			Members:         members,
			// Four records per handler slot held, within the buffer:
			// a member's records wait for its slowest one and for its
			// next fetch, and are not running meanwhile.
			PerPoll: max(1, min(4*c.cfg.MaxProcCount, c.cfg.MaxBufferedRecords)/members),
		})
		if err != nil {
			return nil, err
		}
		c.share.Store(s)
		return s, nil
	}
	return kafka.NewSource(o, kafka.SourceOptions[*Record]{
		Convert:         convert,
		Unconvert:       unconvert,
		DeadLetterTopic: c.cfg.DeadLetterTopic,
		Seeds:           c.cfg.BootstrapServers,
	})
}

func (c *Consumer) check(ctx context.Context, cl *kgo.Client) error {
	ctx, cancel := context.WithTimeout(ctx, c.checkTO)
	defer cancel()
	topics := c.cfg.AllTopics()
	if p := c.cfg.FailurePolicy; c.cfg.DeadLetterTopic != "" && (p == DeadLetterPolicy || p == BlockPolicy) {
		// Under block, Release may dead-letter a record.
		topics = append(topics, c.cfg.DeadLetterTopic)
	}
	if err := kafka.Check(ctx, cl, c.cfg.BootstrapServers, strings.HasPrefix(strings.ToUpper(c.cfg.SecurityProtocol), "SASL_"), topics...); err != nil {
		return fmt.Errorf("kafkaworker: start-up check: %w", err)
	}
	return nil
}
