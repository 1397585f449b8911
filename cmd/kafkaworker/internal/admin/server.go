// Package admin serves the kafkaworker binary's operator endpoints over
// HTTP: /healthz for liveness, /readyz for readiness with stall detection
// (the public health package's Checker), and /metrics in the Prometheus
// format, including the consumer's own figures (the kwprom plugin's
// Collector, read from Consumer.Stats at scrape time).
package admin

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kafkaworker/kafkaworker"
	"github.com/kafkaworker/kafkaworker/health"
	"github.com/kafkaworker/kafkaworker/plugin/kwprom"
)

// Server is the admin HTTP server. Create it with New, then Start it; stop
// it with Shutdown. Its methods are safe for concurrent use.
type Server struct {
	addr string
	log  *slog.Logger
	srv  *http.Server

	mu     sync.Mutex
	ln     net.Listener  // nil before Start
	served chan struct{} // closed when Serve returns; nil before Start
}

// New returns a server for c that will listen on addr (host:port; port 0
// picks a free one). It registers a collector of c's statistics, named
// kafkaworker_*, in reg, and serves everything reg gathers on /metrics, so
// the caller adds its own collectors there (Go runtime, process, franz-go's
// kprom). A nil reg gets a fresh registry and a nil log slog.Default().
//
// stallTimeout is how long a handler call may run, or a partition with
// pending records may keep its commit point, before /readyz reports the
// partition as stalled. It should exceed the slowest legitimate handler
// call and RetryBackoffMax, or a busy consumer reads as stalled.
func New(addr string, c *kafkaworker.Consumer, reg *prometheus.Registry, stallTimeout time.Duration, log *slog.Logger) *Server {
	if log == nil {
		log = slog.Default()
	}
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	if err := reg.Register(kwprom.NewCollector(c)); err != nil {
		// Only a second registration of the same consumer's metrics
		// fails; they are then served already.
		log.Warn("admin: kafkaworker metrics not registered", "err", err)
	}
	errLog := slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", healthz)
	mux.Handle("GET /readyz", health.NewChecker(c, stallTimeout))
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg, ErrorLog: errLog}))
	return &Server{
		addr: addr,
		log:  log,
		srv: &http.Server{
			Handler: mux,
			// Probes and scrapes are small; a client that trickles its
			// headers must not hold a connection forever.
			ReadHeaderTimeout: 5 * time.Second,
			ErrorLog:          errLog,
		},
	}
}

// Start listens on the server's address and serves in the background. It
// returns the listen error (address in use, bad address) and does not
// block otherwise. A server starts once; later calls return an error.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.served != nil {
		return errors.New("admin: server already started")
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return err
	}
	s.ln, s.served = ln, make(chan struct{})
	go s.serve(ln, s.served)
	s.log.Info("admin server listening", "addr", ln.Addr().String())
	return nil
}

// serve runs http.Server.Serve until Shutdown and closes served.
func (s *Server) serve(ln net.Listener, served chan<- struct{}) {
	defer close(served)
	if err := s.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		s.log.Error("admin server stopped", "err", err)
	}
}

// Addr returns the address the server listens on, with the port chosen for
// port 0, or "" before Start.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Shutdown stops listening, waits for requests in progress to finish and
// for the serving goroutine to return, or for ctx to end, whichever comes
// first; then it returns ctx's error. As with http.Server, the server cannot
// be started again.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	s.mu.Lock()
	served := s.served
	s.mu.Unlock()
	if served == nil {
		return err
	}
	select {
	case <-served:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// healthz answers 200 while the process can serve HTTP at all: liveness
// says nothing about Kafka, so that a broker outage does not get every
// consumer restarted.
func healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}
