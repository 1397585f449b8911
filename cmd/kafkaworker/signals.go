package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// shutdownSignals are the signals that ask for a graceful shutdown: SIGTERM
// from Kubernetes or systemd, SIGINT from a terminal.
var shutdownSignals = []os.Signal{os.Interrupt, syscall.SIGTERM}

// onSignals returns a context that ends at the first shutdown signal, and a
// stop function that unregisters the signals and waits for the watcher to
// return. A second signal calls exit(exitInterrupt) at once, so an operator
// can always cut short a drain that waits on stuck handlers.
//
// signal.NotifyContext is not enough: after its context ends it leaves the
// signal caught and ignored, and a second Ctrl-C would do nothing.
func onSignals(ctx context.Context, stderr io.Writer, exit func(int)) (context.Context, func()) {
	ch := make(chan os.Signal, 2) // capacity 2: both signals are seen even if they arrive together
	signal.Notify(ch, shutdownSignals...)
	ctx, stopWatch := watchSignals(ctx, ch, stderr, exit)
	return ctx, func() {
		signal.Stop(ch)
		stopWatch()
	}
}

// watchSignals is onSignals' logic over any channel, so tests can send the
// signals. The context it returns ends with the signal as its cause.
func watchSignals(parent context.Context, sigs <-chan os.Signal, stderr io.Writer, exit func(int)) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(parent)
	done := make(chan struct{}) // closed by stop; ends the watcher
	var wg sync.WaitGroup
	wg.Go(func() {
		select {
		case sig := <-sigs:
			fmt.Fprintf(stderr, "kafkaworker: %v received: shutting down gracefully; send it again to exit at once\n", sig)
			cancel(fmt.Errorf("%v received", sig))
		case <-done:
			return
		}
		select {
		case sig := <-sigs:
			fmt.Fprintf(stderr, "kafkaworker: second %v: exiting now without waiting for the shutdown\n", sig)
			exit(exitInterrupt)
		case <-done:
		}
	})
	var once sync.Once
	return ctx, func() {
		once.Do(func() {
			close(done)
			wg.Wait()
			cancel(nil)
		})
	}
}
