package kafka

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkaworker/kafkaworker/internal/engine"
)

// A static member that died (it joined, then went silent) holds its
// instance id under KIP-848 until its session ends. ReleaseStaticMember
// frees it, and a new client with the same instance id gets the whole
// assignment without waiting for that session.
func TestReleaseStaticMemberHandsTheAssignmentToTheRestart(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, "t"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	seeds := c.ListenAddrs()
	admin, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	if released, err := ReleaseStaticMember(ctx, admin, "g", "i1"); err != nil || released {
		t.Fatalf("no group yet: released %v, err %v; want false, nil", released, err)
	}

	// The dead incarnation: one join heartbeat, then silence.
	instance := "i1"
	join := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	join.Group, join.MemberID, join.MemberEpoch, join.InstanceID = "g", "dead-member-0000000001", 0, &instance
	join.RebalanceTimeoutMillis = 30000
	join.SubscribedTopicNames = []string{"t"}
	join.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{}
	resp, err := join.RequestWith(ctx, admin)
	if err != nil || resp.ErrorCode != 0 {
		t.Fatalf("join of the first incarnation: %v (code %d)", err, resp.ErrorCode)
	}
	dead := memberOf(t, ctx, admin, "g", instance)
	if dead.MemberEpoch < 0 {
		t.Fatalf("first incarnation has epoch %d, want a live member", dead.MemberEpoch)
	}

	if released, err := ReleaseStaticMember(ctx, admin, "g", "other"); err != nil || released {
		t.Fatalf("unknown instance: released %v, err %v; want false, nil", released, err)
	}
	released, err := ReleaseStaticMember(ctx, admin, "g", instance)
	if err != nil || !released {
		t.Fatalf("released %v, err %v; want true, nil", released, err)
	}
	if m := memberOf(t, ctx, admin, "g", instance); m.MemberEpoch != staticLeaveEpoch {
		t.Fatalf("after the release the instance's member has epoch %d, want %d (kept for the rejoin)", m.MemberEpoch, staticLeaveEpoch)
	}
	// Released already: a second call finds no live member to release.
	if again, err := ReleaseStaticMember(ctx, admin, "g", instance); err != nil || again {
		t.Fatalf("second release: released %v, err %v; want false, nil", again, err)
	}

	assigned := make(chan int, 8)
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ConsumerGroup("g"), kgo.ConsumeTopics("t"),
		kgo.InstanceID(instance), kgo.ServerSideBalancer(), kgo.DisableAutoCommit(),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, m map[string][]int32) { assigned <- len(m["t"]) }))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	go cl.PollFetches(ctx) // drives the join; ends with ctx or Close
	for got := 0; got < 3; {
		select {
		case n := <-assigned:
			got += n
		case <-ctx.Done():
			t.Fatalf("the restarted instance got %d of 3 partitions before the timeout (the dead member's session is 45 s)", got)
		}
	}
}

func memberOf(t *testing.T, ctx context.Context, cl *kgo.Client, group, instance string) kadm.ConsumerGroupMember {
	t.Helper()
	d, err := kadm.NewClient(cl).DescribeConsumerGroups(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range d[group].Members {
		if m.InstanceID != nil && *m.InstanceID == instance {
			return m
		}
	}
	t.Fatalf("group %s has no member with instance id %s: %+v", group, instance, d[group].Members)
	return kadm.ConsumerGroupMember{}
}

// nopGroup is an engine.Group that only counts assignments.
type nopGroup struct{ assigned chan struct{} }

func (g nopGroup) Assign(tps []engine.TP) {
	if len(tps) > 0 {
		select {
		case g.assigned <- struct{}{}:
		default:
		}
	}
}
func (nopGroup) Restore(engine.TP, int64, string)          {}
func (nopGroup) Revoke(context.Context, []engine.TP) error { return nil }
func (nopGroup) Lose([]engine.TP)                          {}

// StillMember sees what the client cannot yet: the group expelled it. Its
// heartbeats are answered by the test without reaching the coordinator (as
// for a process that did not run), so the coordinator ends its session
// while the client believes itself a member.
func TestStillMemberSeesAnExpelledMember(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "t"), kfake.GroupMinSessionTimeout(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	g := nopGroup{assigned: make(chan struct{}, 1)}
	src, err := NewSource(Options{Seeds: c.ListenAddrs(), Group: "g", Topics: []string{"t"}, Listener: g,
		SessionTimeout: time.Second, RebalanceTimeout: time.Second, Extra: []kgo.Opt{kgo.HeartbeatInterval(100 * time.Millisecond)}},
		SourceOptions[*kgo.Record]{Convert: func(_ []*kgo.Record, out []engine.Fetched[*kgo.Record]) []engine.Fetched[*kgo.Record] { return out }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	polling := make(chan struct{})
	go func() { // drives the join, as the engine's fetch loop does
		defer close(polling)
		var b engine.Batch[*kgo.Record]
		for ctx.Err() == nil && src.Poll(ctx, 10, &b) == nil {
			b.Records = b.Records[:0]
			src.AllowRebalance()
		}
	}()
	// The engine closes its Source after its last poll: a poll that
	// returns after the close would block the client's rebalance, and the
	// close with it.
	defer func() {
		cancel()
		<-polling
		src.Close()
	}()
	select {
	case <-g.assigned:
	case <-ctx.Done():
		t.Fatal("never assigned")
	}
	if still, err := src.StillMember(ctx); err != nil || !still {
		t.Fatalf("a member that heartbeats: still %v, err %v; want true", still, err)
	}
	c.ControlKey(int16(kmsg.Heartbeat), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		return kmsg.NewPtrHeartbeatResponse(), nil, true
	})
	for {
		still, err := src.StillMember(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !still {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("the coordinator never expelled the silent member")
		case <-time.After(50 * time.Millisecond):
		}
	}
}
