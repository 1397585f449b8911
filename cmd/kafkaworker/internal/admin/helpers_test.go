package admin

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafkaworker/kafkaworker"
)

const testTopic = "orders"

// newCluster starts an in-process cluster with a topic of n partitions and
// produces records to it, returning its address and each partition's end
// offset.
func newCluster(t *testing.T, partitions int32, records int) (string, map[int32]int64) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, testTopic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	seeds := c.ListenAddrs()
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.DefaultProduceTopic(testTopic),
		kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ends := make(map[int32]int64)
	for i := range records {
		r := cl.ProduceSync(t.Context(), &kgo.Record{Value: []byte{byte(i)}})
		rec, err := r.First()
		if err != nil {
			t.Fatal(err)
		}
		ends[rec.Partition] = max(ends[rec.Partition], rec.Offset+1)
	}
	return strings.Join(seeds, ","), ends
}

// startConsumer runs a consumer of the test topic until the test ends.
func startConsumer(t *testing.T, seeds string, h kafkaworker.Handler) *kafkaworker.Consumer {
	t.Helper()
	c := newConsumer(t, seeds, h)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return c
}

func newConsumer(t *testing.T, seeds string, h kafkaworker.Handler) *kafkaworker.Consumer {
	t.Helper()
	c, err := kafkaworker.New(kafkaworker.Config{
		BootstrapServers:        seeds,
		GroupID:                 "admin-test",
		Topic:                   testTopic,
		MaxProcCount:            8,
		MaxMsgCountBeforeCommit: 5,
		CommitIntervalSeconds:   1,
		ShutdownTimeout:         5 * time.Second,
	}, h, kafkaworker.WithLogger(quietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// startServer starts an admin server on a free port until the test ends,
// and returns its base URL and a client whose connections are closed then.
func startServer(t *testing.T, c *kafkaworker.Consumer, reg *prometheus.Registry, stallTimeout time.Duration) (string, *http.Client) {
	t.Helper()
	return startServerWith(t, c, Options{Addr: "127.0.0.1:0", Registry: reg, StallTimeout: stallTimeout})
}

// startServerWith starts a server with o (its Log set to a quiet one) until
// the test ends.
func startServerWith(t *testing.T, c *kafkaworker.Consumer, o Options) (string, *http.Client) {
	t.Helper()
	o.Log = quietLogger()
	s := New(c, o)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{}}
	t.Cleanup(func() {
		client.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return "http://" + s.Addr(), client
}

// get fetches url and returns the status and body.
func get(t *testing.T, client *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// gate is a handler that blocks on one record until released.
type gate struct {
	partition int32
	offset    int64
	entered   chan struct{} // closed when the blocked call starts
	enteredAt time.Time     // when it started; read after entered is closed
	release   chan struct{} // closed by open
	once      sync.Once
	enterOnce sync.Once
}

func newGate(partition int32, offset int64) *gate {
	return &gate{partition: partition, offset: offset, entered: make(chan struct{}), release: make(chan struct{})}
}

func (g *gate) Handle(ctx context.Context, r *kafkaworker.Record) error {
	if r.Partition != g.partition || r.Offset != g.offset {
		return nil
	}
	g.enterOnce.Do(func() {
		g.enteredAt = time.Now()
		close(g.entered)
	})
	select {
	case <-g.release:
		return nil
	case <-ctx.Done():
		return errors.Join(errors.New("gate: cancelled"), ctx.Err())
	}
}

func (g *gate) open() { g.once.Do(func() { close(g.release) }) }
