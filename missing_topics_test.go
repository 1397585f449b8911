// A topic that does not exist when Run starts, consumed or dead-letter,
// fails the start-up check at once, by name.

package kafkaworker_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kafkaworker/kafkaworker"
	"github.com/kafkaworker/kafkaworker/internal/testkafka"
)

// A missing topic is reported at start-up, by name, at once; an existing
// topic next to it is not blamed.
func TestBadInputTopicMissingAtStart(t *testing.T) {
	cl := testkafka.Start(t)
	topic, missing := cl.Topic(t, 1), cl.Name(t, "missing")
	cfg := baseConfig(cl, cl.Name(t, "g"), topic)
	cfg.Topics = []string{missing}
	c, err := kafkaworker.New(cfg, nopHandler, kafkaworker.WithLogger(testLogger()))
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	err = runWithin(t, c, context.Background(), 20*time.Second)
	if !errors.Is(err, kafkaworker.ErrTopicNotFound) {
		t.Fatalf("Run = %v, want ErrTopicNotFound", err)
	}
	if !strings.Contains(err.Error(), missing) || strings.Contains(err.Error(), strconv.Quote(topic)) {
		t.Fatalf("the error should name %s and only it: %v", missing, err)
	}
	t.Logf("tier %s: Run returned after %s: %v", cl.Tier(), time.Since(t0).Round(time.Millisecond), err)
	if err := c.Run(context.Background()); !errors.Is(err, kafkaworker.ErrClosed) {
		t.Fatalf("second Run = %v, want ErrClosed", err)
	}
}

// A missing dead-letter topic fails the start-up check, by name, although
// the consumed topic exists.
func TestBadInputDeadLetterTopicMissingAtStart(t *testing.T) {
	cl := testkafka.Start(t)
	topic, dlt := cl.Topic(t, 1), cl.Name(t, "dlt")
	cfg := baseConfig(cl, cl.Name(t, "g"), topic)
	cfg.DeadLetterTopic = dlt
	c, err := kafkaworker.New(cfg, nopHandler, kafkaworker.WithLogger(testLogger()))
	if err != nil {
		t.Fatal(err)
	}
	err = runWithin(t, c, context.Background(), 20*time.Second)
	if !errors.Is(err, kafkaworker.ErrTopicNotFound) || !strings.Contains(err.Error(), dlt) {
		t.Fatalf("Run = %v, want ErrTopicNotFound naming %s", err, dlt)
	}
}
