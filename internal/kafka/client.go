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
	// Context, if not nil, is the client's: cancelling it fails the
	// client's requests in flight (see Source.Close).
	Context context.Context
	// InstanceID is the static member id (group.instance.id), or "".
	InstanceID string
	// ServerSideBalancing selects KIP-848's consumer group protocol.
	ServerSideBalancing bool
	TLS                 *tls.Config    // nil: plaintext
	SASL                sasl.Mechanism // nil: none
	Logger              *slog.Logger
	// Extra are the user's options (hooks such as kprom). They are applied
	// first, so that none of the options below, which the consumer's
	// guarantees rest on, can be replaced by them.
	Extra []kgo.Opt
	// PrefetchBytes bounds what the client fetches ahead, decompressed:
	// see Source's fetch sizing.
	PrefetchBytes int64
	// PartitionRecords is how many records of one partition a fetch
	// should bring at most (half the engine's window).
	PartitionRecords int64

	// Listener receives the assignment changes. The client never runs two of
	// its callbacks at once.
	Listener engine.Group
}

// NewClient returns a group consumer client. Auto-commit is disabled here and
// nowhere else: offsets are committed only by the engine's Committer.
// Rebalances are blocked from a poll until AllowRebalance, so that a batch is
// handed to the engine whole before its partitions can be revoked.
func NewClient(o Options, hooks ...kgo.Hook) (*kgo.Client, error) {
	opts := append([]kgo.Opt(nil), o.Extra...)
	if len(hooks) > 0 {
		opts = append(opts, kgo.WithHooks(hooks...))
	}
	opts = append(opts,
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
		kgo.FetchMaxWait(100*time.Millisecond),
		// A missing dead-letter topic must fail the produce, not retry
		// forever.
		kgo.UnknownTopicRetries(3),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			// Called on every join, even with nothing new: the
			// engine counts joins.
			o.Listener.Assign(TPs(m))
		}),
		kgo.OnPartitionsRevoked(func(ctx context.Context, _ *kgo.Client, m map[string][]int32) {
			if len(m) > 0 {
				if err := o.Listener.Revoke(ctx, TPs(m)); err != nil && o.Logger != nil {
					o.Logger.Warn("revoke", "err", err)
				}
			}
		}),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			if len(m) > 0 {
				o.Listener.Lose(TPs(m))
			}
		}),
		kgo.OnOffsetsFetched(onOffsetsFetched(o.Listener)),
	)
	if o.Context != nil {
		opts = append(opts, kgo.WithContext(o.Context))
	}
	if o.InstanceID != "" {
		opts = append(opts, kgo.InstanceID(o.InstanceID))
	}
	if o.ServerSideBalancing {
		// Engages only on brokers with KIP-848 (ConsumerGroupHeartbeat)
		// and with a sticky or range balancer first; else classic.
		opts = append(opts, kgo.ServerSideBalancer())
	}
	if o.PrefetchBytes > 0 {
		// Start small; Source.resize adapts as records arrive.
		maxBytes := int32(min(o.PrefetchBytes, 50<<20))
		opts = append(opts, kgo.FetchMaxBytes(maxBytes), kgo.FetchMaxPartitionBytes(min(maxBytes, 1<<20)))
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
	return kgo.NewClient(opts...)
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
