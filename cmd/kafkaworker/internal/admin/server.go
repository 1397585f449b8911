// Package admin serves the kafkaworker binary's operator endpoints over
// HTTP: /healthz for liveness, /readyz for readiness with stall detection
// (the public health package's Checker), /metrics in the Prometheus format
// (the kwprom plugin's Collector, read from Consumer.Stats at scrape time),
// the status page at / with its JSON at /api/status, and the admin API's
// mutations (pause, resume, commit, and the run-time settings a consumer
// may offer) under POST /api/, behind a bearer token off loopback.
package admin

import (
	"context"
	"encoding/json"
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
	opts   Options
	log    *slog.Logger
	srv    *http.Server
	status *status
	api    *api

	mu     sync.Mutex
	ln     net.Listener  // nil before Start
	served chan struct{} // closed when Serve returns; nil before Start
}

// Options configure a Server.
type Options struct {
	// Addr is host:port to listen on; port 0 picks a free one.
	Addr string
	// Registry gets a collector of the consumer's statistics, named
	// kafkaworker_*, and everything it gathers is served on /metrics, so
	// the caller adds its own collectors there (Go runtime, process,
	// franz-go's kprom). Nil: a fresh registry.
	Registry *prometheus.Registry
	// StallTimeout is how long a handler call may run, or a partition with
	// pending records may keep its commit point, before /readyz and the
	// status page report the partition as stalled. It should exceed the
	// slowest legitimate handler call and RetryBackoffMax, or a busy
	// consumer reads as stalled.
	StallTimeout time.Duration
	// Log is the logger; nil: slog.Default().
	Log *slog.Logger
	// Token is the bearer token mutations require. Without one they are
	// served only when the listener is on loopback: Start refuses to serve
	// mutations on any other address without a token.
	Token string
	// ReadOnly turns mutations off: they answer 403.
	ReadOnly bool
	// Config is the effective configuration, secrets already redacted, as
	// the status page shows it.
	Config json.RawMessage
	// SampleEvery is how often throughput, errors and the assignment are
	// sampled for the status page's history (default 2s; 150 samples are
	// kept).
	SampleEvery time.Duration
}

// New returns a server for c. It serves nothing until Start.
func New(c *kafkaworker.Consumer, o Options) *Server {
	log := o.Log
	if log == nil {
		log = slog.Default()
	}
	reg := o.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	if err := reg.Register(kwprom.NewCollector(c)); err != nil {
		// Only a second registration of the same consumer's metrics
		// fails; they are then served already.
		log.Warn("admin: kafkaworker metrics not registered", "err", err)
	}
	errLog := slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	st := newStatus(c, o.StallTimeout, o.Config, o.SampleEvery)
	a := &api{c: c, log: log, token: o.Token, readOnly: o.ReadOnly, changed: st.setting}
	st.mode = a.mode
	st.caps = func() map[string]bool { return capabilities(a.target()) }
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", healthz)
	mux.Handle("GET /readyz", health.NewChecker(c, o.StallTimeout))
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg, ErrorLog: errLog}))
	mux.Handle("GET /api/status", st)
	a.routes(mux)
	ui(mux)
	return &Server{
		opts:   o,
		log:    log,
		status: st,
		api:    a,
		srv: &http.Server{
			Handler: mux,
			// Probes and scrapes are small; a client that trickles its
			// headers must not hold a connection forever.
			ReadHeaderTimeout: 5 * time.Second,
			ErrorLog:          errLog,
		},
	}
}

// ErrUnsafeAdmin is returned by Start when mutations would be served
// without a token on an address other than loopback.
var ErrUnsafeAdmin = errors.New("admin: the admin API's mutations need a token (KafkaWorker:AdminToken) on an address that is not loopback; or set KafkaWorker:AdminReadOnly")

// Start listens on the server's address and serves in the background. It
// returns the listen error (address in use, bad address) and does not
// block otherwise. A server starts once; later calls return an error.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.served != nil {
		return errors.New("admin: server already started")
	}
	ln, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return err
	}
	loopback := isLoopback(ln.Addr())
	if !loopback && !s.opts.ReadOnly && s.opts.Token == "" {
		_ = ln.Close()
		return ErrUnsafeAdmin
	}
	s.api.setLoopback(loopback)
	s.ln, s.served = ln, make(chan struct{})
	s.status.start()
	go s.serve(ln, s.served)
	s.log.Info("admin server listening", "addr", ln.Addr().String(), "status_page", "http://"+ln.Addr().String()+"/",
		"mutations", s.api.mode())
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
	s.status.stop()
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

// isLoopback reports whether a listener's address is a loopback IP.
func isLoopback(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}
