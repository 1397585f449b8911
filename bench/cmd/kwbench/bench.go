package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kafkaworker/kafkaworker/bench/contenders"
	"github.com/kafkaworker/kafkaworker/bench/harness"
)

// options are the benchmark's flags.
type options struct {
	quick      bool
	records    int64
	backlog    int64
	reps       int
	warmup     time.Duration
	window     time.Duration
	window0    time.Duration
	mpcs       []int
	mbb        int
	models     []contenders.Model
	bootstrap  string
	script     string
	port       int
	stateDir   string
	java       bool
	peers      bool
	share      bool
	only       string
	features   bool
	outDir     string
	cpuIters   int
	runTimeout time.Duration
	curves     bool
}

func parseOptions(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("kwbench", flag.ContinueOnError)
	mpcs := fs.String("mpc", "1000", "MaxProcCount values for kafkaworker unordered and key (comma-separated, ascending); partition order and the Parallel Consumer run at the highest")
	models := fs.String("models", "", "handler models to run (0ms, 1ms, 10ms, 10ms-tail, cpu; default 0ms,1ms,10ms,10ms-tail; without the tail with -quick)")
	mbb := fs.Int("mbb", 32, "MaxBufferedBytes in MiB of the extra kafkaworker unordered row at 0 ms (0: no such row)")
	fs.BoolVar(&o.quick, "quick", false, "a smoke run of under 5 minutes: 1 repetition, a 2 s warm-up, a 24,000,000-record 0 ms backlog with a 3 s window, a 4,000,000-record backlog with a 5 s window for 1 ms and 10 ms, no tail model")
	fs.Int64Var(&o.records, "records", 0, "records of the 0 ms backlog, which the 0 ms runs read until their window ends: more than the fastest contender reads in the warm-up and window (default 64,000,000; 24,000,000 with -quick)")
	fs.Int64Var(&o.backlog, "backlog", 0, "records of the backlog the other models (1ms, 10ms, 10ms-tail, cpu) read until their window ends (default 16,000,000; 4,000,000 with -quick)")
	fs.IntVar(&o.reps, "reps", 0, "runs of each row; the table shows their median and min–max (default 3; 1 with -quick)")
	fs.DurationVar(&o.warmup, "warmup", -1, "every model: time after the first record before the window opens (default 3s; 2s with -quick)")
	fs.DurationVar(&o.window, "window", 0, "1 ms, 10 ms, 10ms-tail, cpu: the steady-state window, after which the run stops (default 20s; 5s with -quick)")
	fs.DurationVar(&o.window0, "window0", 0, "0 ms: the steady-state window (default 10s; 3s with -quick)")
	fs.StringVar(&o.bootstrap, "bootstrap", "", "use this running broker instead of starting one")
	fs.BoolVar(&o.curves, "curves", false, "run the curves instead of the matrix: CPU per record and peak RSS against partitions, MaxProcCount and record size, and commit cost (see curves.go; about 12 minutes with -reps 3, 6 more to produce the topics the first time)")
	fs.StringVar(&o.script, "kafka-script", "../scripts/kafka/kafka.sh", "the project's broker script")
	fs.IntVar(&o.port, "kafka-port", 19092, "client port of the broker kwbench starts (kept off the tests' 9092)")
	fs.StringVar(&o.stateDir, "kafka-state", "/tmp/kw-bench-kafka", "KAFKA_STATE_DIR of the broker kwbench starts")
	fs.BoolVar(&o.java, "java", true, "include the Confluent Parallel Consumer (needs java 17 and mvn)")
	fs.BoolVar(&o.peers, "peers", true, "run the other Go peers too: confluent-kafka-go, segmentio/kafka-go and a franz-go worker pool (-peers=false: about 10 minutes less for a full run)")
	fs.BoolVar(&o.share, "share", false, "also run kafkaworker in share-group mode (GroupType share) at the highest MaxProcCount, at 0 ms and 10 ms (about 2 more minutes for a full run)")
	fs.StringVar(&o.only, "only", "", "run only the rows whose label contains one of these comma-separated texts (e.g. \"share,kafkaworker unordered\"; with -features \"MaxProcCount\" for the adaptive rows); the targets of rows not run read n/a")
	fs.BoolVar(&o.features, "features", false, "instead of the comparison, measure issue 12's features: BatchHandler against Handler on a pooled store, MaxRecordsPerSecond, AdaptiveConcurrency (~15 minutes; results/DATE-features.md)")
	fs.StringVar(&o.outDir, "out", "results", "directory for the table, charts and profile")
	fs.IntVar(&o.cpuIters, "cpu-iters", contenders.DefaultCPUIters, "SHA-256 rounds per record of the cpu model")
	fs.DurationVar(&o.runTimeout, "run-timeout", 10*time.Minute, "limit for one contender run")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	pick := func(v, full, quick int64) int64 {
		if v != 0 {
			return v
		}
		if o.quick {
			return quick
		}
		return full
	}
	o.records = pick(o.records, 64_000_000, 24_000_000)
	o.backlog = pick(o.backlog, 16_000_000, 4_000_000)
	o.reps = int(pick(int64(o.reps), 3, 1))
	if o.curves && o.window == 0 && !o.quick {
		o.window = 10 * time.Second // curves.go: many points, each a 10 s window
	}
	o.window = time.Duration(pick(int64(o.window), int64(20*time.Second), int64(5*time.Second)))
	o.window0 = time.Duration(pick(int64(o.window0), int64(10*time.Second), int64(3*time.Second)))
	if o.warmup < 0 {
		o.warmup = time.Duration(pick(0, int64(3*time.Second), int64(2*time.Second)))
	}
	if *models == "" {
		*models = "0ms,1ms,10ms,10ms-tail"
		if o.quick {
			*models = "0ms,1ms,10ms"
		}
	}
	o.mbb = *mbb << 20
	if o.reps < 1 || o.records < 1000 || o.backlog < 1000 || o.window <= 0 || o.window0 <= 0 {
		return o, fmt.Errorf("-reps, -records, -backlog, -window or -window0 out of range")
	}
	for _, f := range strings.Split(*mpcs, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return o, fmt.Errorf("-mpc: bad value %q", f)
		}
		o.mpcs = append(o.mpcs, n)
	}
	for _, f := range strings.Split(*models, ",") {
		m, err := contenders.ParseModel(strings.TrimSpace(f))
		if err != nil {
			return o, err
		}
		o.models = append(o.models, m)
	}
	return o, nil
}

// bench runs the whole benchmark. The broker it starts is stopped on every
// path out, including Ctrl-C.
func bench(args []string) error {
	o, err := parseOptions(args)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := os.MkdirAll(o.outDir, 0o755); err != nil {
		return err
	}
	var java []string
	if o.java && !o.curves && !o.features {
		if java, err = buildJava(ctx); err != nil {
			return err
		}
	}
	bootstrap := o.bootstrap
	if bootstrap == "" {
		b := harness.Broker{Script: o.script, Port: o.port, StateDir: o.stateDir}
		logf("starting Kafka on port %d (state %s)", o.port, o.stateDir)
		if bootstrap, err = b.Start(); err != nil {
			return err
		}
		defer func() {
			logf("stopping Kafka")
			if err := b.Stop(); err != nil {
				logf("stopping Kafka: %v", err)
			}
		}()
	}
	if o.features {
		return runFeatures(ctx, o, bootstrap)
	}
	r := &runner{o: o, bootstrap: bootstrap, java: java, stamp: time.Now().Format("2006-01-02"), commit: commit()}
	if o.quick {
		r.stamp += "-quick"
	}
	// The broker's CPU per run, when the broker is the one kafka.sh runs
	// on -kafka-port with -kafka-state (started here or kept running).
	if strings.HasSuffix(bootstrap, ":"+strconv.Itoa(o.port)) {
		r.brokerPid = harness.Broker{StateDir: o.stateDir}.Pid()
	}
	if o.curves {
		return r.curves(ctx)
	}
	if err := r.prepare(ctx); err != nil {
		return err
	}
	runs, err := r.runAll(ctx)
	if err != nil {
		return err
	}
	return r.write(runs)
}

// buildJava compiles the Parallel Consumer contender once and returns the
// command line that runs it.
func buildJava(ctx context.Context) ([]string, error) {
	dir, err := filepath.Abs("parallel-consumer")
	if err != nil {
		return nil, err
	}
	logf("building the Parallel Consumer contender with Maven")
	cp := filepath.Join(dir, "target", "classpath.txt")
	cmd := execCommand(ctx, "mvn", "-q", "-B", "-f", filepath.Join(dir, "pom.xml"),
		"package", "dependency:build-classpath", "-Dmdep.outputFile="+cp)
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("mvn: %w\n%s", err, out)
	}
	deps, err := os.ReadFile(cp)
	if err != nil {
		return nil, err
	}
	classpath := filepath.Join(dir, "target", "classes") + string(os.PathListSeparator) + strings.TrimSpace(string(deps))
	return []string{"java", "-Xmx1g", "-cp", classpath, "kwbench.PcBench"}, nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "kwbench: "+format+"\n", args...)
}

func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("%d CPUs (%s), %s/%s, %s; broker, producer and every contender share them",
		runtime.NumCPU(), model, runtime.GOOS, runtime.GOARCH, runtime.Version())
}
