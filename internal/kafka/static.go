package kafka

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// staticLeaveEpoch is KIP-848's member epoch for a static member that leaves
// for a while: the coordinator keeps its assignment for the member that
// rejoins with the same instance id.
const staticLeaveEpoch = -2

// ReleaseStaticMember lets a restarted static member (KIP-345) take its
// partitions back at once under KIP-848.
//
// Under the classic protocol a join with a known group.instance.id replaces
// the old member at once. KIP-848's coordinator instead refuses the join with
// UNRELEASED_INSTANCE_ID while the old member's session lasts (the broker's
// group.consumer.session.timeout.ms, 45 s by default) — after a SIGKILL, the
// restarted instance waits that long for its own partitions. The old
// incarnation is this very instance, dead: so before joining, the new one
// finds the member that holds its instance id (ConsumerGroupDescribe) and
// sends, on its behalf, the heartbeat a static member sends when it stops
// (member epoch -2). The coordinator keeps the assignment for the instance id,
// and the join that follows inherits it: no rebalance, no wait.
//
// It runs once, before the process's first join, never on a later rejoin.
// So if two live processes are misconfigured with one instance id, the newer
// takes it, as under the classic protocol, and the older one's rejoin fails
// with UNRELEASED_INSTANCE_ID, which franz-go reports, instead of the two
// evicting each other in turn.
//
// It reports whether a member was released. A group that does not exist, is
// classic, or has no member with the instance id is not an error.
func ReleaseStaticMember(ctx context.Context, cl *kgo.Client, group, instanceID string) (bool, error) {
	described, err := kadm.NewClient(cl).DescribeConsumerGroups(ctx, group)
	if err != nil {
		return false, fmt.Errorf("describing group %q: %w", group, err)
	}
	g, ok := described[group]
	switch {
	case !ok, errors.Is(g.Err, kerr.GroupIDNotFound):
		return false, nil
	case g.Err != nil:
		return false, fmt.Errorf("describing group %q: %w", group, g.Err)
	}
	for _, m := range g.Members {
		if m.InstanceID == nil || *m.InstanceID != instanceID || m.MemberEpoch < 0 {
			continue
		}
		req := kmsg.NewPtrConsumerGroupHeartbeatRequest()
		req.Group = group
		req.MemberID = m.MemberID
		req.InstanceID = m.InstanceID
		req.MemberEpoch = staticLeaveEpoch
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			return false, fmt.Errorf("releasing instance %q (member %s): %w", instanceID, m.MemberID, err)
		}
		if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
			// Unknown member or fenced: its session ended meanwhile,
			// which is what the release was for.
			if errors.Is(err, kerr.UnknownMemberID) || errors.Is(err, kerr.FencedInstanceID) {
				return false, nil
			}
			return false, fmt.Errorf("releasing instance %q (member %s): %w", instanceID, m.MemberID, err)
		}
		return true, nil
	}
	return false, nil
}

// releaseOwnInstance runs ReleaseStaticMember on a short-lived client of its
// own, before the group client exists (so the member released can never be
// this process's new one). It is best effort within its timeout: when it
// fails, the join waits for the old session as it would without it. The
// user's extra options are not applied to that client: they may hold hooks
// that register once per process (kprom).
func releaseOwnInstance(o Options, timeout time.Duration) {
	opts := []kgo.Opt{kgo.SeedBrokers(o.Seeds...), kgo.ClientID(o.ClientID)}
	if o.TLS != nil {
		opts = append(opts, kgo.DialTLSConfig(o.TLS))
	}
	if o.SASL != nil {
		opts = append(opts, kgo.SASL(o.SASL))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(cmp.Or(o.Context, context.Background()), timeout)
	defer cancel()
	released, err := ReleaseStaticMember(ctx, cl, o.Group, o.InstanceID)
	switch {
	case o.Logger == nil:
	case err != nil:
		o.Logger.Info("could not release this instance's previous member; the join waits for its session to end", "instance", o.InstanceID, "err", err)
	case released:
		o.Logger.Info("released this instance's previous member: its partitions come back without a rebalance", "instance", o.InstanceID)
	}
}

// StillMember implements engine.MemberChecker: it describes the group and
// looks for this client's member id. A member that the group expelled
// (its session ended while the process was stopped) is no longer listed.
// Before the first join there is nothing to lose: true.
func (s *Source[R]) StillMember(ctx context.Context) (bool, error) {
	member, _ := s.cl.GroupMetadata()
	if member == "" {
		return true, nil
	}
	adm := kadm.NewClient(s.cl)
	group := s.cl.OptValue(kgo.ConsumerGroup).(string)
	if s.serverSide {
		described, err := adm.DescribeConsumerGroups(ctx, group)
		if err == nil {
			if g, ok := described[group]; ok && g.Err == nil {
				for _, m := range g.Members {
					if m.MemberID == member {
						return true, nil
					}
				}
				return false, nil
			}
		}
		// Not a KIP-848 group after all (franz-go falls back to the
		// classic protocol on brokers without it): ask the classic way.
	}
	described, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		return false, fmt.Errorf("describing group %q: %w", group, err)
	}
	g, ok := described[group]
	if !ok {
		return false, fmt.Errorf("describing group %q: not in the response", group)
	}
	if g.Err != nil {
		return false, fmt.Errorf("describing group %q: %w", group, g.Err)
	}
	for _, m := range g.Members {
		if m.MemberID == member {
			return true, nil
		}
	}
	return false, nil
}
