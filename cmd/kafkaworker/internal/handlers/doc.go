// Package handlers holds the kafkaworker.Handler implementations the
// kafkaworker binary offers without code: HTTP, which POSTs each record to
// an endpoint (the seed's ProcessMessage calling "an API", moved out of
// process), and Stdout, which prints each record as a JSON line.
//
// Both are safe for concurrent use: the consumer calls Handle from up to
// MaxProcCount goroutines at once.
package handlers
