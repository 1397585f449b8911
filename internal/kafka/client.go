// Package kafka adapts franz-go's client to the engine: it builds the client
// with the settings kafkaworker depends on, commits and dead-letters through
// it, and explains the errors a user can act on.
package kafka

import (
	"context"
	"crypto/tls"
	"log/slog"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"

	"github.com/kafkaworker/kafkaworker/internal/engine"
)

// Options are what the client needs from the user's configuration.
type Options struct {
	Seeds            []string
	Group            string
	Topics           []string
	ClientID         string
	SessionTimeout   time.Duration
	RebalanceTimeout time.Duration
	ResetToLatest    bool
	TLS              *tls.Config    // nil: plaintext
	SASL             sasl.Mechanism // nil: none
	Logger           *slog.Logger
	Extra            []kgo.Opt // appended last (hooks such as kprom)

	// Group callbacks. The client never runs two at once.
	OnAssigned func(ctx context.Context, tps []engine.TP)
	OnRevoked  func(ctx context.Context, tps []engine.TP)
	OnLost     func(ctx context.Context, tps []engine.TP)
}

// NewClient returns a group consumer client. Auto-commit is disabled here and
// nowhere else: offsets are committed only by the engine's Committer.
// Rebalances are blocked from a poll until AllowRebalance, so that a batch is
// handed to the engine whole before its partitions can be revoked.
func NewClient(o Options) (*kgo.Client, error) {
	opts := []kgo.Opt{
		kgo.SeedBrokers(o.Seeds...),
		kgo.ClientID(o.ClientID),
		kgo.ConsumerGroup(o.Group),
		kgo.ConsumeTopics(o.Topics...),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.Balancers(kgo.CooperativeStickyBalancer()),
		kgo.SessionTimeout(o.SessionTimeout),
		kgo.RebalanceTimeout(o.RebalanceTimeout),
		// A resumed partition is fetched in the next request, which can
		// wait behind one the broker holds for up to MaxWait when the
		// other partitions have nothing new; the default 5s would stall
		// it. 100ms costs an idle consumer ten small requests a second.
		kgo.FetchMaxWait(100 * time.Millisecond),
		// A missing dead-letter topic must fail the produce, not retry
		// forever.
		kgo.UnknownTopicRetries(3),
		kgo.OnPartitionsAssigned(func(ctx context.Context, _ *kgo.Client, m map[string][]int32) {
			// Called on every join, even with nothing new: the
			// engine counts joins.
			if o.OnAssigned != nil {
				o.OnAssigned(ctx, TPs(m))
			}
		}),
		kgo.OnPartitionsRevoked(groupCallback(o.OnRevoked)),
		kgo.OnPartitionsLost(groupCallback(o.OnLost)),
	}
	if o.ResetToLatest {
		opts = append(opts, kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()))
	} else {
		opts = append(opts, kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	}
	if o.TLS != nil {
		opts = append(opts, kgo.DialTLSConfig(o.TLS))
	}
	if o.SASL != nil {
		opts = append(opts, kgo.SASL(o.SASL))
	}
	if o.Logger != nil {
		opts = append(opts, kgo.WithLogger(slogLogger{o.Logger}))
	}
	opts = append(opts, o.Extra...)
	return kgo.NewClient(opts...)
}

func groupCallback(f func(context.Context, []engine.TP)) func(context.Context, *kgo.Client, map[string][]int32) {
	return func(ctx context.Context, _ *kgo.Client, m map[string][]int32) {
		if f != nil && len(m) > 0 {
			f(ctx, TPs(m))
		}
	}
}

// TPs flattens a franz-go partition map.
func TPs(m map[string][]int32) []engine.TP {
	var tps []engine.TP
	for t, ps := range m {
		for _, p := range ps {
			tps = append(tps, engine.TP{Topic: t, Partition: p})
		}
	}
	return tps
}

// Map builds a franz-go partition map.
func Map(tps []engine.TP) map[string][]int32 {
	m := make(map[string][]int32)
	for _, tp := range tps {
		m[tp.Topic] = append(m[tp.Topic], tp.Partition)
	}
	return m
}

// SplitSeeds splits a comma-separated bootstrap list.
func SplitSeeds(s string) []string {
	var seeds []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			seeds = append(seeds, p)
		}
	}
	return seeds
}

// slogLogger passes franz-go's logs to slog, at one level below ours: the
// client is chatty at Info.
type slogLogger struct{ l *slog.Logger }

func (s slogLogger) Level() kgo.LogLevel {
	ctx := context.Background()
	switch {
	case s.l.Enabled(ctx, slog.LevelDebug):
		return kgo.LogLevelInfo
	case s.l.Enabled(ctx, slog.LevelInfo):
		return kgo.LogLevelWarn
	default:
		return kgo.LogLevelError
	}
}

func (s slogLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	l := slog.LevelDebug
	switch level {
	case kgo.LogLevelError:
		l = slog.LevelError
	case kgo.LogLevelWarn:
		l = slog.LevelWarn
	}
	s.l.Log(context.Background(), l, "kgo: "+msg, keyvals...)
}
