package settings

import (
	"cmp"
	"time"

	"github.com/kafkaworker/kafkaworker"
)

// Section names, as spelled in appsettings.json and in messages.
const (
	KafkaSection   = "Kafka"
	ServiceSection = "KafkaWorker"
)

// Settings is the service's whole configuration. Kafka is returned as read,
// without kafkaworker's defaults applied (kafkaworker.New applies them), so
// that it compares equal to what the file says; Service has its defaults
// applied.
type Settings struct {
	Kafka   kafkaworker.Config
	Service Service
}

// Handler names for Service.Handler.
const (
	HTTPHandler   = "http"
	StdoutHandler = "stdout"
)

// Service holds the settings of the kafkaworker binary that are not the
// library's: the "KafkaWorker" section. The key tags give the spelling used
// in appsettings.json.
type Service struct {
	// Handler is what each record is given to: "stdout" (default) writes
	// it as a JSON line, for trying the service out and for piping;
	// "http" POSTs it to HttpUrl.
	Handler string `key:"Handler"`
	// HTTPURL is where the http handler POSTs records. Required with it.
	HTTPURL string `key:"HttpUrl"`
	// HTTPTimeout bounds one POST, from dial to the end of the response
	// headers. Default 30s. A timeout is retried like any failure, so keep
	// it above the endpoint's slowest honest answer.
	HTTPTimeout time.Duration `key:"HttpTimeout"`
	// HTTPBatch makes the http handler POST batches: a JSON array of up to
	// Kafka:MaxBatchSize records per request, gathered for at most
	// Kafka:BatchLinger (the format is in README, "Batches"). Default
	// false: one POST per record.
	HTTPBatch bool `key:"HttpBatch"`
	// AdminAddr is where /healthz, /readyz and /metrics are served.
	// Default 127.0.0.1:8080: loopback, so that a laptop run exposes
	// nothing; in a container set 0.0.0.0:8080 (or :8080) so probes and
	// scrapers reach it. "off" disables the admin server.
	AdminAddr string `key:"AdminAddr"`
	// AdminToken is the bearer token the admin API's mutations (pause,
	// resume, commit, concurrency; the status page's buttons) require:
	// "Authorization: Bearer TOKEN". On a loopback AdminAddr they are open
	// without one unless it is set; on any other address the service
	// refuses to start with mutations enabled and no token. Read-only
	// endpoints never need it. A secret: never logged or shown.
	AdminToken string `key:"AdminToken"`
	// AdminReadOnly turns the admin API's mutations off (403), for a
	// non-loopback AdminAddr without a token. Default false.
	AdminReadOnly bool `key:"AdminReadOnly"`
	// TraceLinks makes the spans of a traced consumer (tracing is on when
	// OTEL_EXPORTER_OTLP_ENDPOINT is set) start traces of their own,
	// linked to the producer's span, instead of continuing its trace.
	// Default false: one trace from producer to handler.
	TraceLinks bool `key:"TraceLinks"`
	// StallTimeout is how long a record may stay in flight before /healthz
	// reports the consumer stalled, and a liveness probe restarts it.
	// Default 5m: above the slowest honest handler call plus its retries,
	// or a slow but healthy pod is killed in a loop.
	StallTimeout time.Duration `key:"StallTimeout"`
	// StartupTimeout bounds the start-up check that the brokers answer, the
	// credentials work and the topics exist. Default 30s.
	StartupTimeout time.Duration `key:"StartupTimeout"`
	// LogFormat is "text" (default, for people) or "json" (for log
	// collectors).
	LogFormat string `key:"LogFormat"`
	// LogLevel is debug, info (default), warn or error.
	LogLevel string `key:"LogLevel"`
}

// Service defaults.
const (
	DefaultHandler        = StdoutHandler
	DefaultHTTPTimeout    = 30 * time.Second
	DefaultAdminAddr      = "127.0.0.1:8080"
	DefaultStallTimeout   = 5 * time.Minute
	DefaultStartupTimeout = 30 * time.Second
	DefaultLogFormat      = "text"
	DefaultLogLevel       = "info"
	// AdminOff as AdminAddr disables the admin server.
	AdminOff = "off"
)

// withDefaults returns s with every zero field set to its default.
func (s Service) withDefaults() Service {
	s.Handler = cmp.Or(s.Handler, DefaultHandler)
	s.AdminAddr = cmp.Or(s.AdminAddr, DefaultAdminAddr)
	s.LogFormat = cmp.Or(s.LogFormat, DefaultLogFormat)
	s.LogLevel = cmp.Or(s.LogLevel, DefaultLogLevel)
	s.HTTPTimeout = cmp.Or(s.HTTPTimeout, DefaultHTTPTimeout)
	s.StallTimeout = cmp.Or(s.StallTimeout, DefaultStallTimeout)
	s.StartupTimeout = cmp.Or(s.StartupTimeout, DefaultStartupTimeout)
	return s
}
