// Package testkafka gives tests a Kafka cluster: the real broker named by
// KAFKA_BOOTSTRAP_SERVERS when it is set (the project's scripts/kafka starts
// one), otherwise an in-process kfake cluster. The same test code runs on
// both tiers; each test gets its own uniquely named topics and groups, and
// deletes its topics when it ends.
package testkafka

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// EnvBootstrap names the environment variable that selects the real tier.
const EnvBootstrap = "KAFKA_BOOTSTRAP_SERVERS"

// EnvCluster3 names the bootstrap servers of the 3-node cluster for failover
// tests, and EnvCluster3State the state dir scripts/kafka/kafka.sh keeps for
// it (so that tests can stop and start one node).
const (
	EnvCluster3      = "KAFKA_CLUSTER3_BOOTSTRAP"
	EnvCluster3State = "KAFKA_CLUSTER3_STATE_DIR"
)

// EnvGroupProtocol names the group protocol the real tier's consumers use:
// "classic" (or unset) or "consumer" (KIP-848). scripts/test.sh runs the
// real tier once with each. kfake runs classic.
const EnvGroupProtocol = "KAFKA_GROUP_PROTOCOL"

// Cluster is a cluster for one test.
type Cluster struct {
	Seeds string // comma-separated bootstrap servers
	Real  bool   // a real broker rather than kfake
	adm   *kadm.Client
	cl    *kgo.Client
}

var seq atomic.Int64

// Start returns the test's cluster; everything it starts is stopped by
// t.Cleanup. With kfake options it is always an in-process cluster.
func Start(t testing.TB, opts ...kfake.Opt) *Cluster {
	t.Helper()
	return start(t, os.Getenv(EnvBootstrap), opts...)
}

// StartCluster3 returns the real 3-node cluster, skipping the test when the
// suite did not start one.
func StartCluster3(t testing.TB) *Cluster {
	t.Helper()
	seeds := os.Getenv(EnvCluster3)
	if seeds == "" {
		t.Skipf("needs the 3-node cluster (%s): make test starts it", EnvCluster3)
	}
	return start(t, seeds)
}

func start(t testing.TB, seeds string, opts ...kfake.Opt) *Cluster {
	c := &Cluster{Seeds: seeds}
	if c.Seeds != "" && len(opts) == 0 {
		c.Real = true
	} else {
		fake, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1)}, opts...)...)
		if err != nil {
			t.Fatalf("kfake: %v", err)
		}
		t.Cleanup(fake.Close)
		c.Seeds = strings.Join(fake.ListenAddrs(), ",")
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(c.Seeds, ",")...),
		kgo.ProducerLinger(5*time.Millisecond), kgo.MaxBufferedRecords(100000))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	c.cl, c.adm = cl, kadm.NewClient(cl)
	return c
}

// Tier names the tier, for test output: kfake, kafka, or kafka/consumer
// when the real tier runs KIP-848's protocol.
func (c *Cluster) Tier() string {
	if c.Real {
		if p := c.GroupProtocol(); p != "classic" {
			return "kafka/" + p
		}
		return "kafka"
	}
	return "kfake"
}

// GroupProtocol is the group protocol consumers of this cluster should use:
// on the real tier, $KAFKA_GROUP_PROTOCOL (default classic); on kfake,
// classic.
func (c *Cluster) GroupProtocol() string {
	if p := os.Getenv(EnvGroupProtocol); c.Real && p != "" {
		return p
	}
	return "classic"
}

// GroupType is the type of group as the broker lists it (ListGroups v5):
// "classic" or "consumer"; "" if the broker does not list it or does not
// know the group.
func (c *Cluster) GroupType(t testing.TB, group string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	listed, err := c.adm.ListGroups(ctx)
	if err != nil {
		t.Fatalf("list groups: %v", err)
	}
	return listed[group].GroupType
}

// Client is an admin-capable client of the cluster, for producing and
// reading offsets independently of the code under test.
func (c *Cluster) Client() *kgo.Client { return c.cl }

// Admin wraps Client.
func (c *Cluster) Admin() *kadm.Client { return c.adm }

// Name returns a unique name with prefix, for topics and groups.
func (c *Cluster) Name(t testing.TB, prefix string) string {
	clean := strings.NewReplacer("/", "-", " ", "-", "#", "-").Replace(t.Name())
	if len(clean) > 60 {
		clean = clean[:60]
	}
	return fmt.Sprintf("%s-%s-%d-%d", prefix, clean, time.Now().UnixNano()%1e9, seq.Add(1))
}

// Topic creates a uniquely named topic and deletes it when the test ends.
func (c *Cluster) Topic(t testing.TB, partitions int32) string {
	t.Helper()
	return c.TopicRF(t, partitions, 1, nil)
}

// TopicRF is Topic with a replication factor and topic configs.
func (c *Cluster) TopicRF(t testing.TB, partitions int32, rf int16, configs map[string]*string) string {
	t.Helper()
	name := c.Name(t, "t")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := c.adm.CreateTopic(ctx, partitions, rf, configs, name)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatalf("creating topic %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = c.adm.DeleteTopics(ctx, name)
	})
	// The real broker creates partitions asynchronously: wait until
	// every partition has a leader.
	deadline := time.Now().Add(30 * time.Second)
	for {
		td, err := c.adm.ListTopics(ctx, name)
		if err == nil && td[name].Err == nil && len(td[name].Partitions) == int(partitions) {
			ready := true
			for _, p := range td[name].Partitions {
				ready = ready && p.Leader >= 0 && p.Err == nil
			}
			if ready {
				return name
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("topic %s not ready: %v", name, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Produce writes n records to topic, record i with key key(i) (nil key
// function: no keys) and an 8-byte big-endian i as value, spread over
// partitions by the key hash (or round robin without keys). It returns once
// all are acknowledged.
func (c *Cluster) Produce(t testing.TB, topic string, n int, key func(i int) []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const chunk = 10000
	for start := 0; start < n; start += chunk {
		recs := make([]*kgo.Record, 0, chunk)
		for i := start; i < min(start+chunk, n); i++ {
			r := &kgo.Record{Topic: topic, Value: binary.BigEndian.AppendUint64(nil, uint64(i))}
			if key != nil {
				r.Key = key(i)
			} else {
				r.Partition = -1
			}
			recs = append(recs, r)
		}
		if err := c.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatalf("producing to %s: %v", topic, err)
		}
	}
}

// Seq decodes a value written by Produce.
func Seq(value []byte) uint64 { return binary.BigEndian.Uint64(value) }

// EndOffsets returns each partition's end offset.
func (c *Cluster) EndOffsets(t testing.TB, topic string) map[int32]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ends, err := c.adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatalf("end offsets of %s: %v", topic, err)
	}
	out := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) { out[o.Partition] = o.Offset })
	return out
}

// Committed returns the group's committed offsets for topic, read by the
// cluster's own client (independent of the consumer under test).
func (c *Cluster) Committed(t testing.TB, group, topic string) map[int32]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	offs, err := c.adm.FetchOffsets(ctx, group)
	if err != nil {
		t.Fatalf("committed offsets of %s: %v", group, err)
	}
	out := map[int32]int64{}
	offs.Each(func(o kadm.OffsetResponse) {
		if o.Topic == topic && o.Err == nil {
			out[o.Partition] = o.At
		}
	})
	return out
}
