package kafka

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
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
