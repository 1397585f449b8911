// The dead-letter topic deleted after start-up: the next failed record
// cannot be dead-lettered, so Run stops with ErrRecordFailed and the
// record's offset stays uncommitted, rather than skipping it.

package kafkaworker_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafkaworker/kafkaworker"
	"github.com/kafkaworker/kafkaworker/internal/poll"
	"github.com/kafkaworker/kafkaworker/internal/testkafka"
)

// The dead-letter topic deleted after start-up, then a poison record: Run
// stops with ErrRecordFailed and the poison offset stays uncommitted.
func TestBadInputDeadLetterTopicDeletedThenPoison(t *testing.T) {
	cl := testkafka.Start(t)
	topic, dlt, group := cl.Topic(t, 1), cl.Topic(t, 1), cl.Name(t, "g")
	const good = 20
	cl.Produce(t, topic, good, nil)
	poison := errors.New("poison record")
	var processed atomic.Int64
	h := kafkaworker.HandlerFunc(func(ctx context.Context, r *kafkaworker.Record) error {
		if r.Offset >= good && string(r.Value) == "poison" {
			return poison
		}
		processed.Add(1)
		return nil
	})
	cfg := baseConfig(cl, group, topic)
	cfg.DeadLetterTopic = dlt
	cfg.MaxRetries = 1
	c, err := kafkaworker.New(cfg, h, kafkaworker.WithLogger(testLogger()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	poll.Until(t, 30*time.Second, "the good records committed", func() bool { return committedAll(cl, group, topic, map[int32]int64{0: good}) })

	actx, acancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer acancel()
	if _, err := cl.Admin().DeleteTopics(actx, dlt); err != nil {
		t.Fatal(err)
	}
	waitTopicGone(t, cl, dlt)
	recs := []*kgo.Record{{Topic: topic, Value: []byte("poison")}, {Topic: topic, Value: []byte("after")}}
	if err := cl.Client().ProduceSync(actx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	select {
	case err = <-done:
		done <- err
	case <-time.After(60 * time.Second):
		t.Fatal("Run did not stop within 60s of the poison record")
	}
	// ErrRecordFailed wraps the dead letter's error; the handler's is
	// quoted.
	if !errors.Is(err, kafkaworker.ErrRecordFailed) || !errors.Is(err, kerr.UnknownTopicOrPartition) ||
		!strings.Contains(err.Error(), strconv.Quote(dlt)) || !strings.Contains(err.Error(), poison.Error()) {
		t.Fatalf("Run = %v, want ErrRecordFailed naming %s, its error and the handler's", err, dlt)
	}
	if got := cl.Committed(t, group, topic)[0]; got != good {
		t.Fatalf("committed %d, want %d: the poison offset", got, good)
	}
	t.Logf("tier %s: Run = %v", cl.Tier(), err)
}
