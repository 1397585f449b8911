package main

import (
	"fmt"
	"io"

	"github.com/kafkaworker/kafkaworker"
	"github.com/kafkaworker/kafkaworker/cmd/kafkaworker/internal/handlers"
	"github.com/kafkaworker/kafkaworker/cmd/kafkaworker/internal/settings"
)

// newConsumer builds the consumer of the handler the settings name: a batch
// consumer in the http handler's batch mode.
func newConsumer(s settings.Settings, base, h kafkaworker.Handler, opts ...kafkaworker.Option) (*kafkaworker.Consumer, error) {
	if bh, ok := base.(kafkaworker.BatchHandler); ok && s.Service.HTTPBatch {
		return kafkaworker.NewBatch(s.Kafka, bh, opts...)
	}
	return kafkaworker.New(s.Kafka, h, opts...)
}

// newHandler builds the handler the settings name, and a function that
// releases what it holds, to call after the consumer has stopped.
func newHandler(s settings.Settings, stdout io.Writer) (kafkaworker.Handler, func(), error) {
	switch s.Service.Handler {
	case settings.HTTPHandler:
		h, err := handlers.NewHTTP(handlers.HTTPConfig{
			URL:      s.Service.HTTPURL,
			Timeout:  s.Service.HTTPTimeout,
			MaxConns: s.Kafka.WithDefaults().MaxProcCount,
		})
		if err != nil {
			return nil, nil, err
		}
		return h, h.Close, nil
	case settings.StdoutHandler:
		return handlers.NewStdout(stdout), func() {}, nil
	}
	// settings.Load refuses any other name; this is a programming error.
	return nil, nil, fmt.Errorf("unknown handler %q", s.Service.Handler)
}
