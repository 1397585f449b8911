package main

import (
	"context"
	"io"
	"os"
	"syscall"
	"testing"
)

// TestSecondSignalExitsAtOnce: the first signal ends the context, with the
// signal as its cause; the second calls exit(130) without waiting for
// anything.
func TestSecondSignalExitsAtOnce(t *testing.T) {
	sigs := make(chan os.Signal, 2)
	exited := make(chan int, 1)
	ctx, stop := watchSignals(context.Background(), sigs, io.Discard, func(code int) { exited <- code })
	defer stop()

	sigs <- syscall.SIGTERM
	<-ctx.Done()
	if cause := context.Cause(ctx); cause == nil || cause.Error() != "terminated received" {
		t.Errorf("cause = %v", cause)
	}
	select {
	case code := <-exited:
		t.Fatalf("exit(%d) after one signal", code)
	default:
	}
	sigs <- os.Interrupt
	if code := <-exited; code != exitInterrupt {
		t.Errorf("exit(%d), want %d", code, exitInterrupt)
	}
}

// TestStopWithoutSignal: stop ends the watcher (goleak checks it) and the
// context, and is idempotent.
func TestStopWithoutSignal(t *testing.T) {
	ctx, stop := watchSignals(context.Background(), make(chan os.Signal), io.Discard, func(int) { t.Error("exit called") })
	stop()
	stop()
	if ctx.Err() == nil {
		t.Error("context not ended by stop")
	}
}
