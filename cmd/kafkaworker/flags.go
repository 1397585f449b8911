package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/kafkaworker/kafkaworker/cmd/kafkaworker/internal/settings"
)

// defaultConfig is read when present, as ASP.NET Core reads its
// appsettings.json: optional unless named with --config.
const defaultConfig = "appsettings.json"

// runFlags is what the run command's command line says.
type runFlags struct {
	config    string
	configSet bool
	check     bool
	overrides overrides
}

// overrides collects --set and the direct flags in command-line order, so
// that the last one given wins, whichever spelling it used. Malformed --set
// arguments are kept as errors and reported after parsing, because the
// flag package's own message would quote the argument, which may hold a
// password.
type overrides struct {
	list []settings.Override
	errs []error
	sets int // --set arguments seen, to number them in messages
}

func (o *overrides) set(arg string) error {
	o.sets++
	ov, err := settings.ParseOverride(arg)
	if err != nil {
		o.errs = append(o.errs, fmt.Errorf("--set number %d: %w", o.sets, err))
		return nil
	}
	o.list = append(o.list, ov)
	return nil
}

// direct registers a flag that is shorthand for one setting.
func (o *overrides) direct(fs *flag.FlagSet, name, key, usage string) {
	fs.Func(name, usage+" ("+key+")", func(v string) error {
		o.list = append(o.list, settings.Override{Key: key, Value: v, Source: "--" + name})
		return nil
	})
}

// parseRunFlags parses the run command's arguments. It returns -1 as the
// status to go on, or the status to exit with: 0 after -h, 2 for bad flags.
func parseRunFlags(args []string, stderr io.Writer) (runFlags, int) {
	var f runFlags
	fs := flag.NewFlagSet("kafkaworker run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.config, "config", defaultConfig, "`path` of the appsettings.json to read (optional unless given)")
	fs.BoolVar(&f.check, "check", false, "validate the configuration, print it (secrets hidden) and exit: 0 if valid, 2 if not")
	fs.Func("set", "set any `Section:Key=Value`, such as Kafka:MaxProcCount=200 (repeatable; Kafka__MaxProcCount=200 also works)", f.overrides.set)
	o := &f.overrides
	o.direct(fs, "bootstrap-servers", "Kafka:BootstrapServers", "comma-separated `host:port` list of seed brokers")
	o.direct(fs, "group-id", "Kafka:GroupId", "consumer `group`")
	o.direct(fs, "topic", "Kafka:Topic", "`topic` to consume")
	o.direct(fs, "topics", "Kafka:Topics", "comma-separated `list` of further topics")
	o.direct(fs, "max-proc-count", "Kafka:MaxProcCount", "`n` records processed at once")
	o.direct(fs, "ordering", "Kafka:Ordering", "`mode`: unordered, key or partition")
	o.direct(fs, "handler", "KafkaWorker:Handler", "`name` of the record handler: stdout or http")
	o.direct(fs, "http-url", "KafkaWorker:HttpUrl", "`URL` the http handler POSTs each record to")
	o.direct(fs, "admin-addr", "KafkaWorker:AdminAddr", "`host:port` of /healthz, /readyz and /metrics; port 0 picks one; off disables")
	o.direct(fs, "startup-timeout", "KafkaWorker:StartupTimeout", "`duration` to wait for the brokers at start-up")
	o.direct(fs, "log-format", "KafkaWorker:LogFormat", "`format` of the log on stderr: text or json")
	o.direct(fs, "log-level", "KafkaWorker:LogLevel", "`level`: debug, info, warn or error")
	fs.Usage = func() { runUsage(fs) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return f, exitOK
		}
		return f, exitConfig // the flag package has printed the error and the usage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "kafkaworker run: unexpected argument %s (settings go in --set Section:Key=Value)\n", strconv.Quote(fs.Arg(0)))
		return f, exitConfig
	}
	if len(o.errs) > 0 {
		for _, err := range o.errs {
			fmt.Fprintln(stderr, "kafkaworker run:", err)
		}
		return f, exitConfig
	}
	fs.Visit(func(fl *flag.Flag) { f.configSet = f.configSet || fl.Name == "config" })
	return f, -1
}

// input turns the flags and the environment into the loader's sources.
func (f runFlags) input(env []string) settings.Input {
	in := settings.Input{Env: env, Overrides: f.overrides.list}
	if _, err := os.Stat(f.config); f.configSet || err == nil {
		in.Path = f.config
	}
	return in
}

func runUsage(fs *flag.FlagSet) {
	w := fs.Output()
	fmt.Fprint(w, `Usage: kafkaworker run [--config appsettings.json] [flags]

Consumes until SIGTERM or SIGINT, then shuts down gracefully: stops fetching,
waits up to Kafka:ShutdownTimeout (default 30s) for running handlers,
commits and leaves the group. A second signal exits at once (status 130);
records in flight are then processed again after restart.

Configuration, each source overriding the one before:
  1. defaults
  2. appsettings.json: the .NET service's file, read unchanged. Section "Kafka"
     holds the consumer settings (BootstrapServers, GroupId, Topic, Topics,
     MaxProcCount, MaxMsgCountBeforeCommit, CommitIntervalSeconds, Ordering,
     MaxRetries, FailurePolicy, DeadLetterTopic, ShutdownTimeout, Sasl*, Ssl*,
     …); section "KafkaWorker" this program's (Handler, HttpUrl, HttpTimeout,
     AdminAddr, StallTimeout, StartupTimeout, LogFormat, LogLevel).
  3. environment, ASP.NET Core style: Kafka__MaxProcCount=200,
     Kafka__SaslPassword=… (keep secrets here, not in the file)
  4. flags below, in the order given
Keys are case-insensitive. Durations take 30s, 00:00:30 or 30 (seconds).
Unknown keys are warned about, with the closest known key.

Flags:
`)
	fs.PrintDefaults()
	fmt.Fprint(w, `
Exit status: 0 after a clean shutdown, 1 on a runtime error (brokers
unreachable, authentication failed, topic missing, a record failed under
FailurePolicy stop), 2 on a configuration error, 130 after a second signal.

Examples:
  kafkaworker run --config appsettings.json --admin-addr :8080
  kafkaworker run --check --config appsettings.json --set Kafka:MaxProcCount=200
  kafkaworker run --bootstrap-servers localhost:9092 --group-id g --topic orders \
      --handler http --http-url http://localhost:8000/orders
`)
}
