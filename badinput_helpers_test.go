// Helpers of the bad-input tests: a no-op handler, a bounded Run, and a
// wait for a deleted topic to leave the broker's metadata.

package kafkaworker_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkaworker/kafkaworker"
	"github.com/kafkaworker/kafkaworker/internal/poll"
	"github.com/kafkaworker/kafkaworker/internal/testkafka"
)

var nopHandler = kafkaworker.HandlerFunc(func(context.Context, *kafkaworker.Record) error { return nil })

// runWithin runs c until it returns, failing the test if that takes longer
// than bound.
func runWithin(t *testing.T, c *kafkaworker.Consumer, ctx context.Context, bound time.Duration) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	select {
	case err := <-done:
		return err
	case <-time.After(bound):
		t.Fatalf("Run did not return within %s", bound)
		return nil
	}
}

// waitTopicGone waits until the broker's metadata no longer has topic. It
// asks the broker directly: kadm's ListTopics may answer from the client's
// metadata cache.
func waitTopicGone(t *testing.T, cl *testkafka.Cluster, topic string) {
	t.Helper()
	poll.Until(t, 30*time.Second, topic+" gone from the metadata", func() bool {
		req := kmsg.NewPtrMetadataRequest()
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(topic)
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(context.Background(), cl.Client())
		return err == nil && len(resp.Topics) == 1 &&
			errors.Is(kerr.ErrorForCode(resp.Topics[0].ErrorCode), kerr.UnknownTopicOrPartition)
	})
}
