// Handlers that panic on every attempt or never return: the consumer
// reports them (ErrRecordFailed with a *PanicError; readiness "stalled",
// then ErrShutdownTimeout) and commits nothing at or past their record.

package kafkaworker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kafkaworker/kafkaworker"
	"github.com/kafkaworker/kafkaworker/health"
	"github.com/kafkaworker/kafkaworker/internal/poll"
	"github.com/kafkaworker/kafkaworker/internal/testkafka"
)

// A handler that panics on every attempt under the stop policy: Run returns
// ErrRecordFailed wrapping a *PanicError with the panic value and a stack.
func TestBadInputPanicEveryAttemptStops(t *testing.T) {
	cl := testkafka.Start(t)
	topic, group := cl.Topic(t, 1), cl.Name(t, "g")
	cl.Produce(t, topic, 10, nil)
	var attempts atomic.Int32
	h := kafkaworker.HandlerFunc(func(ctx context.Context, r *kafkaworker.Record) error {
		if r.Offset == 4 {
			attempts.Add(1)
			panic(fmt.Sprintf("cannot decode order %d", r.Offset))
		}
		return nil
	})
	cfg := baseConfig(cl, group, topic)
	cfg.MaxRetries = 2
	cfg.FailurePolicy = kafkaworker.StopPolicy
	// The engine logs each panic's stack at Error: keep the test's output
	// readable.
	c, err := kafkaworker.New(cfg, h, kafkaworker.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	err = runWithin(t, c, context.Background(), 60*time.Second)
	var pe *kafkaworker.PanicError
	if !errors.Is(err, kafkaworker.ErrRecordFailed) || !errors.As(err, &pe) {
		t.Fatalf("Run = %v, want ErrRecordFailed wrapping a *PanicError", err)
	}
	if fmt.Sprint(pe.Value) != "cannot decode order 4" || !bytes.Contains(pe.Stack, []byte("bad_handler_test.go")) {
		t.Fatalf("PanicError value %v, stack:\n%s", pe.Value, pe.Stack)
	}
	if got := attempts.Load(); got != 3 {
		t.Fatalf("%d attempts, want 1+MaxRetries = 3", got)
	}
	if got := cl.Committed(t, group, topic)[0]; got != 4 {
		t.Fatalf("committed %d, want 4: the panicking offset", got)
	}
}

// A handler that never returns and ignores its context: /readyz turns 503
// "stalled" while it is stuck; on shutdown Run gives up after
// ShutdownTimeout with ErrShutdownTimeout, having committed every offset
// before the stuck record and not the stuck one.
func TestBadInputHandlerNeverReturns(t *testing.T) {
	cl := testkafka.Start(t)
	topic, group := cl.Topic(t, 1), cl.Name(t, "g")
	const n, stuckAt = 100, 40
	cl.Produce(t, topic, n, nil)
	release := make(chan struct{})
	var stuckCtx atomic.Pointer[context.Context]
	var processed atomic.Int64
	h := kafkaworker.HandlerFunc(func(ctx context.Context, r *kafkaworker.Record) error {
		if r.Offset == stuckAt {
			stuckCtx.Store(&ctx)
			<-release // ignores ctx on purpose
			return nil
		}
		processed.Add(1)
		return nil
	})
	cfg := baseConfig(cl, group, topic)
	cfg.ShutdownTimeout = 500 * time.Millisecond
	c, err := kafkaworker.New(cfg, h, kafkaworker.WithLogger(testLogger()))
	if err != nil {
		t.Fatal(err)
	}
	// Released after Run has returned, so that no goroutine outlives the
	// test.
	var releaseOnce sync.Once
	t.Cleanup(func() { releaseOnce.Do(func() { close(release) }) })

	// The readiness check the kafkaworker binary serves on /readyz.
	ready := health.NewChecker(c, 300*time.Millisecond)
	probe := func() (int, health.Report) {
		w := httptest.NewRecorder()
		ready.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		var body health.Report
		if err := json.NewDecoder(w.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		return w.Code, body
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	poll.Until(t, 30*time.Second, "the other records processed and committed up to the stuck one", func() bool {
		return processed.Load() == n-1 && committedAll(cl, group, topic, map[int32]int64{0: stuckAt})
	})
	var code int
	var body health.Report
	poll.Until(t, 10*time.Second, "/readyz reporting the stall", func() bool {
		code, body = probe()
		return code == http.StatusServiceUnavailable && body.Status == health.Stalled
	})
	if len(body.Stalled) != 1 || body.Stalled[0].Topic != topic || body.Stalled[0].Partition != 0 {
		t.Fatalf("/readyz %d %+v, want partition 0 of %s stalled", code, body, topic)
	}

	t0 := time.Now()
	cancel()
	select {
	case err = <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return within 15s with a stuck handler and a 500ms ShutdownTimeout")
	}
	took := time.Since(t0)
	t.Logf("tier %s: Run returned after %s: %v", cl.Tier(), took.Round(time.Millisecond), err)
	if !errors.Is(err, kafkaworker.ErrShutdownTimeout) {
		t.Fatalf("Run = %v, want ErrShutdownTimeout", err)
	}
	if took < cfg.ShutdownTimeout {
		t.Fatalf("Run returned after %s, before ShutdownTimeout %s", took, cfg.ShutdownTimeout)
	}
	if p := stuckCtx.Load(); p == nil || (*p).Err() == nil {
		t.Fatal("the stuck handler's context was not cancelled at the shutdown deadline")
	}
	if got := cl.Committed(t, group, topic)[0]; got != stuckAt {
		t.Fatalf("committed %d, want %d: everything before the stuck record and not it", got, stuckAt)
	}
	releaseOnce.Do(func() { close(release) })
}
