package kafkaworker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
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
	client   atomic.Pointer[kgo.Client]
	fatal    context.CancelCauseFunc // cancels Run's fetch loop; set before the engine runs
	checkTO  time.Duration
}

// Option customises a Consumer beyond its Config.
type Option func(*Consumer)

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(c *Consumer) { c.log = l } }

// WithClientOptions appends franz-go client options, such as kgo.WithHooks
// for metrics (plugin/kprom). Options that would break the consumer's
// guarantees (auto-commit) are overridden.
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

// New validates cfg and returns a Consumer that runs h. It does not connect:
// Run does.
func New(cfg Config, h Handler, opts ...Option) (*Consumer, error) {
	if h == nil {
		return nil, errors.New("kafkaworker: nil Handler")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Consumer{cfg: cfg.WithDefaults(), handler: h, log: slog.Default(), checkTO: 30 * time.Second}
	for _, o := range opts {
		o(c)
	}
	c.eng = engine.New(c.engineConfig(), c.handle, engine.CommitterFunc(c.commit), c.deadLetter, c.onFatal)
	return c, nil
}

func (c *Consumer) engineConfig() engine.Config {
	cfg := c.cfg
	ec := engine.Config{
		MaxProcCount:    cfg.MaxProcCount,
		MaxBuffered:     cfg.MaxBufferedRecords,
		PartitionWindow: int64(cfg.PartitionWindow),
		CommitCount:     cfg.MaxMsgCountBeforeCommit,
		CommitInterval:  time.Duration(cfg.CommitIntervalSeconds) * time.Second,
		MaxRetries:      max(cfg.MaxRetries, 0),
		BackoffMin:      cfg.RetryBackoffMin,
		BackoffMax:      cfg.RetryBackoffMax,
		RevokeTimeout:   cfg.RevokeTimeout,
		Logger:          c.log,
		Permanent:       IsPermanent,
		OnCommit:        c.onCommit,
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
	}
	return ec
}

// handle runs the user's handler; the engine counts attempts.
func (c *Consumer) handle(ctx context.Context, r *Record, attempt int) error {
	r.Attempt = attempt
	return c.handler.Handle(ctx, r)
}

func (c *Consumer) commit(ctx context.Context, offs []engine.Offset) error {
	cl := c.client.Load()
	if cl == nil {
		return errors.New("kafkaworker: commit before the client started")
	}
	return kafka.Committer{Client: cl}.Commit(ctx, offs)
}

func (c *Consumer) deadLetter(ctx context.Context, r *Record, attempts int, cause error) error {
	kr := &kgo.Record{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Key: r.Key, Value: r.Value, Timestamp: r.Timestamp}
	for _, h := range r.Headers {
		kr.Headers = append(kr.Headers, kgo.RecordHeader{Key: h.Key, Value: h.Value})
	}
	return kafka.DeadLetter{Client: c.client.Load(), Topic: c.cfg.DeadLetterTopic}.Produce(ctx, kr, attempts, cause)
}

// onFatal is called by the engine, with its lock held, on the first fatal
// error: it only cancels the fetch loop.
func (c *Consumer) onFatal(err error) {
	if c.fatal != nil {
		c.fatal(err)
	}
}

// Run consumes until ctx ends or a record fails under the stop policy, then
// shuts down gracefully: it stops fetching, lets running handlers finish for
// up to ShutdownTimeout (then cancels their context), commits what is done,
// leaves the group and closes the client. It returns only after all that.
//
// It returns nil after a shutdown asked for through ctx, an error wrapping
// ErrShutdownTimeout if handlers outlived ShutdownTimeout, ErrRecordFailed
// for a record that failed for good, or ErrBrokersUnreachable,
// ErrAuthentication or ErrTopicNotFound if the start-up check failed. Run may
// be called once; later calls return ErrClosed.
func (c *Consumer) Run(ctx context.Context) error {
	if !c.ran.CompareAndSwap(false, true) {
		return ErrClosed
	}
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	c.fatal = cancel

	cl, err := c.newClient()
	if err != nil {
		return err
	}
	c.client.Store(cl)
	if err := c.check(ctx, cl); err != nil {
		cl.Close()
		return err
	}
	c.eng.Start()
	c.running.Store(true)
	c.log.Info("kafkaworker consuming", "topics", c.cfg.AllTopics(), "group", c.cfg.GroupID,
		"max_proc_count", c.cfg.MaxProcCount, "ordering", c.cfg.Ordering)
	c.fetchLoop(runCtx)
	c.running.Store(false)

	c.log.Info("kafkaworker shutting down", "in_flight", c.eng.Stats().InFlight)
	base := context.WithoutCancel(ctx)
	drainCtx, cancelDrain := context.WithTimeout(base, c.cfg.ShutdownTimeout)
	defer cancelDrain()
	commitCtx, cancelCommit := context.WithTimeout(base, 30*time.Second)
	defer cancelCommit()
	shutErr := c.eng.Shutdown(drainCtx, commitCtx)
	// Leaving the group revokes everything; the engine has nothing left to
	// commit, and does not wait again for stuck handlers.
	cl.CloseAllowingRebalance()
	if err := c.eng.Err(); err != nil {
		return errors.Join(err, shutErr)
	}
	if shutErr != nil {
		return fmt.Errorf("kafkaworker: shutdown: %w", shutErr)
	}
	return nil
}

func (c *Consumer) newClient() (*kgo.Client, error) {
	tlsCfg, mech, err := kafka.Security{
		Protocol: c.cfg.SecurityProtocol, Mechanism: c.cfg.SaslMechanism,
		Username: c.cfg.SaslUsername, Password: c.cfg.SaslPassword,
		CALocation: c.cfg.SslCaLocation, CertLocation: c.cfg.SslCertificateLocation, KeyLocation: c.cfg.SslKeyLocation,
	}.Build()
	if err != nil {
		return nil, err
	}
	return kafka.NewClient(kafka.Options{
		Seeds:            kafka.SplitSeeds(c.cfg.BootstrapServers),
		Group:            c.cfg.GroupID,
		Topics:           c.cfg.AllTopics(),
		ClientID:         c.cfg.ClientID,
		SessionTimeout:   c.cfg.SessionTimeout,
		RebalanceTimeout: c.cfg.RebalanceTimeout,
		ResetToLatest:    strings.EqualFold(c.cfg.AutoOffsetReset, "latest"),
		TLS:              tlsCfg,
		SASL:             mech,
		Logger:           c.log,
		Extra:            append(c.extra, kgo.DisableAutoCommit()),
		OnAssigned:       func(_ context.Context, tps []engine.TP) { c.eng.Assign(tps) },
		OnRevoked: func(ctx context.Context, tps []engine.TP) {
			if err := c.eng.Revoke(ctx, tps); err != nil {
				c.log.Warn("revoke", "err", err)
			}
		},
		OnLost: func(_ context.Context, tps []engine.TP) { c.eng.Lose(tps) },
	})
}

func (c *Consumer) check(ctx context.Context, cl *kgo.Client) error {
	ctx, cancel := context.WithTimeout(ctx, c.checkTO)
	defer cancel()
	topics := c.cfg.AllTopics()
	if c.cfg.FailurePolicy == DeadLetterPolicy {
		topics = append(topics, c.cfg.DeadLetterTopic)
	}
	if err := kafka.Check(ctx, cl, c.cfg.BootstrapServers, strings.HasPrefix(strings.ToUpper(c.cfg.SecurityProtocol), "SASL_"), topics...); err != nil {
		return fmt.Errorf("kafkaworker: start-up check: %w", err)
	}
	return nil
}

// fetchLoop polls records into the engine until ctx ends. It never blocks
// inside a poll-to-AllowRebalance section, so group membership is never
// held up by a slow handler: backpressure is applied by pausing partitions
// and by polling no more than the engine has room for.
func (c *Consumer) fetchLoop(ctx context.Context) {
	cl := c.client.Load()
	batch := make([]engine.Fetched[*Record], 0, 256)
	var marks []engine.Watermark
	for {
		room, err := c.eng.WaitRoom(ctx)
		if err != nil {
			return
		}
		pause, resume, pollMax := c.eng.FetchPlan()
		if len(resume) > 0 {
			cl.ResumeFetchPartitions(kafka.Map(resume))
		}
		if len(pause) > 0 {
			cl.PauseFetchPartitions(kafka.Map(pause))
		}
		pollCtx, cancelPoll := context.WithCancel(ctx)
		c.eng.SetWaker(cancelPoll)
		fetches := cl.PollRecords(pollCtx, min(room, pollMax))
		c.eng.SetWaker(nil)
		cancelPoll()
		if fetches.IsClientClosed() {
			return
		}
		fetches.EachError(func(t string, p int32, err error) {
			if !errors.Is(err, context.Canceled) {
				c.log.Warn("fetch error", "topic", t, "partition", p, "err", kafka.Explain(err, c.cfg.BootstrapServers))
			}
		})
		fetches.EachRecord(func(r *kgo.Record) {
			batch = append(batch, engine.Fetched[*Record]{
				TP:     engine.TP{Topic: r.Topic, Partition: r.Partition},
				Offset: r.Offset, Key: r.Key, Rec: newRecord(r),
			})
		})
		c.eng.Add(batch)
		clear(batch)
		batch = batch[:0]
		marks = marks[:0]
		fetches.EachPartition(func(p kgo.FetchTopicPartition) {
			if len(p.Records) > 0 {
				marks = append(marks, engine.Watermark{TP: engine.TP{Topic: p.Topic, Partition: p.Partition}, High: p.HighWatermark})
			}
		})
		if len(marks) > 0 {
			c.eng.SetWatermarks(marks)
		}
		cl.AllowRebalance()
		if ctx.Err() != nil {
			return
		}
	}
}

func newRecord(r *kgo.Record) *Record {
	rec := &Record{
		Topic: r.Topic, Partition: r.Partition, Offset: r.Offset,
		Key: r.Key, Value: r.Value, Timestamp: r.Timestamp,
	}
	if len(r.Headers) > 0 {
		rec.Headers = make([]Header, len(r.Headers))
		for i, h := range r.Headers {
			rec.Headers[i] = Header{Key: h.Key, Value: h.Value}
		}
	}
	return rec
}
