package kafkaworker_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafkaworker/kafkaworker"
	"github.com/kafkaworker/kafkaworker/internal/poll"
	"github.com/kafkaworker/kafkaworker/internal/testkafka"
)

// A poison record fails every attempt and lands in the dead-letter topic
// with its key, value, headers and the error; everything is committed.
func TestPoisonRecordGoesToDeadLetterTopic(t *testing.T) {
	cl := testkafka.Start(t)
	topic, dlt, group := cl.Topic(t, 3), cl.Topic(t, 1), cl.Name(t, "g")
	const n = 300
	cl.Produce(t, topic, n, nil)
	ends := cl.EndOffsets(t, topic)
	var attempts atomic.Int32
	var ok atomic.Int32
	h := kafkaworker.HandlerFunc(func(ctx context.Context, r *kafkaworker.Record) error {
		if testkafka.Seq(r.Value) == 42 {
			attempts.Add(1)
			return errors.New("cannot parse order 42")
		}
		ok.Add(1)
		return nil
	})
	cfg := baseConfig(cl, group, topic)
	cfg.DeadLetterTopic = dlt
	cfg.MaxRetries = 2
	c, stop := startConsumer(t, cfg, h)
	poll.Until(t, 30*time.Second, "dead-lettered", func() bool { return c.Stats().DeadLettered == 1 && ok.Load() == n-1 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if attempts.Load() != 3 {
		t.Fatalf("poison record tried %d times, want 1+MaxRetries = 3", attempts.Load())
	}
	if !committedAll(cl, group, topic, ends) {
		t.Fatalf("committed %v, want %v", cl.Committed(t, group, topic), ends)
	}
	// Read the dead letter back with an independent client.
	rd, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(cl.Seeds, ",")...), kgo.ConsumeTopics(dlt),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	fs := rd.PollRecords(ctx, 1)
	if err := fs.Err0(); err != nil {
		t.Fatal(err)
	}
	recs := fs.Records()
	if len(recs) != 1 || testkafka.Seq(recs[0].Value) != 42 {
		t.Fatalf("dead-letter topic holds %d records", len(recs))
	}
	hdr := map[string]string{}
	for _, h := range recs[0].Headers {
		hdr[h.Key] = string(h.Value)
	}
	if !strings.Contains(hdr["kafkaworker.error"], "cannot parse order 42") || hdr["kafkaworker.original.topic"] != topic ||
		hdr["kafkaworker.attempts"] != "3" {
		t.Fatalf("dead-letter headers %v", hdr)
	}
}

// Under the stop policy Run returns the handler's error and the failed
// offset is not committed.
func TestStopPolicyReturnsErrorAndKeepsOffset(t *testing.T) {
	cl := testkafka.Start(t)
	topic, group := cl.Topic(t, 1), cl.Name(t, "g")
	cl.Produce(t, topic, 100, nil)
	errBad := errors.New("bad record")
	h := kafkaworker.HandlerFunc(func(ctx context.Context, r *kafkaworker.Record) error {
		if r.Offset == 50 {
			return errBad
		}
		return nil
	})
	cfg := baseConfig(cl, group, topic)
	cfg.MaxRetries = -1
	cfg.FailurePolicy = kafkaworker.StopPolicy
	c, err := kafkaworker.New(cfg, h, kafkaworker.WithLogger(testLogger()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err = c.Run(ctx)
	if !errors.Is(err, errBad) || !errors.Is(err, kafkaworker.ErrRecordFailed) {
		t.Fatalf("Run = %v, want ErrRecordFailed wrapping the handler's error", err)
	}
	if got := cl.Committed(t, group, topic)[0]; got != 50 {
		t.Fatalf("committed %d, want 50 (the failed offset)", got)
	}
}

// A panicking handler is an error like any other: here, skipped.
func TestPanickingHandlerIsRecovered(t *testing.T) {
	cl := testkafka.Start(t)
	topic, group := cl.Topic(t, 1), cl.Name(t, "g")
	cl.Produce(t, topic, 10, nil)
	h := kafkaworker.HandlerFunc(func(ctx context.Context, r *kafkaworker.Record) error {
		if r.Offset == 3 {
			panic("nil map")
		}
		return nil
	})
	cfg := baseConfig(cl, group, topic)
	cfg.FailurePolicy = kafkaworker.SkipPolicy
	cfg.MaxRetries = -1
	c, stop := startConsumer(t, cfg, h)
	poll.Until(t, 30*time.Second, "done", func() bool { s := c.Stats(); return s.Processed == 9 && s.Skipped == 1 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got := cl.Committed(t, group, topic)[0]; got != 10 {
		t.Fatalf("committed %d, want 10", got)
	}
}

// SASL PLAIN and SCRAM against kfake: the right password consumes, a wrong
// one fails at start-up with ErrAuthentication instead of retrying forever.
func TestSASL(t *testing.T) {
	for _, mech := range []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"} {
		t.Run(mech, func(t *testing.T) {
			fake, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(),
				kfake.Superuser(mech, "app", "s3cret"), kfake.SeedTopics(1, "orders"))
			if err != nil {
				t.Fatal(err)
			}
			defer fake.Close()
			base := kafkaworker.Config{
				BootstrapServers: fake.ListenAddrs()[0], GroupID: "g", Topic: "orders",
				SecurityProtocol: "SASL_PLAINTEXT", SaslMechanism: mech, SaslUsername: "app",
			}
			h := kafkaworker.HandlerFunc(func(context.Context, *kafkaworker.Record) error { return nil })

			bad := base
			bad.SaslPassword = "wrong"
			c, err := kafkaworker.New(bad, h, kafkaworker.WithLogger(testLogger()), kafkaworker.WithStartupTimeout(10*time.Second))
			if err != nil {
				t.Fatal(err)
			}
			err = c.Run(context.Background())
			if !errors.Is(err, kafkaworker.ErrAuthentication) {
				t.Fatalf("wrong password: Run = %v, want ErrAuthentication", err)
			}
			if strings.Contains(err.Error(), "wrong") {
				t.Fatalf("error echoes the password: %v", err)
			}

			good := base
			good.SaslPassword = "s3cret"
			c, stop := startConsumer(t, good, h)
			poll.Until(t, 20*time.Second, "assigned", func() bool { return c.Stats().Assigned == 1 })
			if err := stop(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
