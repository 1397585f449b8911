// Command chaos runs kafkaworker processes against a real 3-node Kafka
// cluster while injecting faults (SIGKILL, SIGTERM, members joining and
// leaving, a broker stopped and restarted, a member frozen past its session
// timeout), then checks from the outside that no acknowledged record was
// lost, that key order held within each owner, and that the group drained.
//
//	go run . -short            # CI: 100,000 records, a few minutes
//	go run .                   # 1,000,000 records
//	go run . -seed 42          # replay a fault schedule
//	go run . -group-protocol consumer -static   # KIP-848, static members
//	go run . -short -records 100000 -max-proc-count 200 -commit-interval 30 \
//	    -faults kill,kill,kill,term -min-gap 6s   # the seed's commit settings, kills and SIGTERMs only
//
// It prints one line for CI, "lost=0 duplicates=N order_violations=0
// faults=K", writes results/<date>-<seed>.md with a timeline PNG, and exits
// 1 if a record was lost, key order was broken, the group did not drain or
// a member was left not ready.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"
)

// options are the command line.
type options struct {
	seed       uint64
	records    int
	rate       int
	keys       int
	partitions int
	members    int // at start
	maxMembers int
	procs      int // MaxProcCount of each member
	errRate    float64
	minGap     time.Duration
	maxGap     time.Duration
	drainFor   time.Duration
	repo       string
	results    string
	stateDir   string
	port       int
	reuse      bool
	keepLogs   bool
	share      bool // GroupType share: no order check, drained when the share group's start offsets reach the end
	// groupProtocol is Kafka:GroupProtocol of the members: classic or
	// consumer (KIP-848).
	groupProtocol string
	// static gives each slot a GroupInstanceId (Kafka__GroupInstanceId),
	// so a restarted slot rejoins as the same static member.
	static bool
	// commitInterval and commitRecords are the members' commit
	// settings (CommitIntervalSeconds, MaxMsgCountBeforeCommit).
	commitInterval int
	commitRecords  int
	// faultKinds: the faults drawn from (nil: all of them).
	faultKinds []string
}

func parseFlags() options {
	var o options
	short := flag.Bool("short", false, "the CI preset: 100,000 records at 1,000/s (about 3 minutes with start-up and drain)")
	flag.Uint64Var(&o.seed, "seed", 0, "seed of the fault schedule and the keys (0: from the clock); printed, to replay a run")
	flag.IntVar(&o.records, "records", 1_000_000, "records to produce")
	flag.IntVar(&o.rate, "rate", 2000, "records produced per second")
	flag.IntVar(&o.keys, "keys", 1000, "distinct keys")
	flag.IntVar(&o.partitions, "partitions", 12, "partitions of the topic")
	flag.IntVar(&o.members, "members", 3, "kafkaworker processes at start")
	flag.IntVar(&o.maxMembers, "max-members", 5, "most kafkaworker processes at once")
	flag.IntVar(&o.procs, "max-proc-count", 64, "Kafka:MaxProcCount of each member")
	flag.Float64Var(&o.errRate, "error-rate", 0.02, "share of POSTs answered 503 (retried by the engine)")
	flag.DurationVar(&o.minGap, "min-gap", 4*time.Second, "shortest time between two faults")
	flag.DurationVar(&o.maxGap, "max-gap", 10*time.Second, "longest time between two faults")
	flag.DurationVar(&o.drainFor, "drain-timeout", 10*time.Minute, "how long the group may take to commit everything at the end")
	flag.StringVar(&o.repo, "repo", "..", "root of the kafkaworker repository (builds ./cmd/kafkaworker, runs scripts/kafka/kafka.sh)")
	flag.StringVar(&o.results, "results", "results", "directory of the reports")
	flag.StringVar(&o.stateDir, "kafka-state-dir", "/tmp/kw-chaos-kafka", "KAFKA_STATE_DIR of the chaos cluster")
	flag.IntVar(&o.port, "kafka-port", 9292, "client port of broker 1 (brokers use this port and the next two)")
	flag.BoolVar(&o.reuse, "reuse-cluster", false, "use a chaos cluster already running in -kafka-state-dir and leave it running (harness development)")
	flag.BoolVar(&o.keepLogs, "keep-logs", false, "keep the members' logs even when the run passes")
	flag.BoolVar(&o.share, "share", false, "members consume as a share group (GroupType share, unordered): order is not checked, and the group has drained when its share start offsets reach the end offsets")
	flag.StringVar(&o.groupProtocol, "group-protocol", "classic", "Kafka:GroupProtocol of the members: classic or consumer (KIP-848)")
	flag.BoolVar(&o.static, "static", false, "static membership: each slot has its own GroupInstanceId (Kafka__GroupInstanceId=chaos-slot-N)")
	flag.IntVar(&o.commitInterval, "commit-interval", 1, "Kafka:CommitIntervalSeconds of the members")
	kinds := flag.String("faults", "", "comma-separated fault kinds drawn from, equally likely, a kind listed twice drawn twice as often (kill, term, add, remove, broker, pause); empty: "+strings.Join(defaultKinds, ","))
	flag.IntVar(&o.commitRecords, "commit-records", 100, "Kafka:MaxMsgCountBeforeCommit of the members")
	flag.Parse()
	if *short {
		set := map[string]bool{}
		flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["records"] {
			o.records = 100_000
		}
		if !set["rate"] {
			o.rate = 1000
		}
		if !set["drain-timeout"] {
			o.drainFor = 5 * time.Minute
		}
	}
	for k := range strings.SplitSeq(*kinds, ",") {
		switch k = strings.TrimSpace(k); k {
		case "":
		case faultKill, faultTerm, faultAdd, faultRemove, faultBroker, faultPause:
			o.faultKinds = append(o.faultKinds, k)
		default:
			fmt.Fprintf(os.Stderr, "chaos: -faults: unknown kind %q\n", k)
			os.Exit(2)
		}
	}
	if o.groupProtocol != "classic" && o.groupProtocol != "consumer" {
		fmt.Fprintf(os.Stderr, "chaos: -group-protocol %q: must be classic or consumer\n", o.groupProtocol)
		os.Exit(2)
	}
	if o.seed == 0 {
		o.seed = uint64(time.Now().UnixNano()) % 1_000_000_007
	}
	return o
}

// abortRun ends the run from anywhere (a goroutine's panic, the recorder
// failing); main's context ends with the cause and every phase returns.
var abortRun context.CancelCauseFunc = func(error) {}

// fatalf aborts the run with a message.
func fatalf(format string, args ...any) {
	err := fmt.Errorf(format, args...)
	fmt.Fprintln(os.Stderr, "chaos:", err)
	abortRun(err)
}

// goSafe runs fn in a goroutine whose panic aborts the run instead of
// killing the process, so that main's cleanup still stops the members and
// the brokers, which would otherwise outlive us.
func goSafe(name string, fn func()) {
	go func() {
		defer func() {
			if r := recover(); r != nil {
				fatalf("panic in %s: %v\n%s", name, r, debug.Stack())
			}
		}()
		fn()
	}()
}

func main() {
	os.Exit(run(parseFlags()))
}

// run is the whole program; every exit path goes through its deferred
// cleanup: members killed, producer closed, cluster stopped.
func run(o options) (code int) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	abortRun = cancel
	h := &harness{o: o}
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(os.Stderr, "chaos: panic: %v\n%s", r, debug.Stack())
			code = 3
		}
		h.cleanup()
		if ctx.Err() != nil && code == 0 {
			code = 130
		}
	}()
	fmt.Printf("chaos: seed %d (replay with -seed %d)\n", o.seed, o.seed)
	info, err := h.run(ctx)
	if err != nil {
		if c := context.Cause(ctx); c != nil && !errors.Is(err, c) {
			err = fmt.Errorf("%w (cause: %v)", err, c)
		}
		fmt.Fprintln(os.Stderr, "chaos: run aborted:", err)
		fmt.Fprintf(os.Stderr, "chaos: logs in %s\n", h.workDir)
		return 2
	}
	h.cleanup() // stop the cluster before the report: it is no longer needed
	path, err := writeReport(o.results, info)
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos: report:", err)
	} else {
		fmt.Println("chaos: report", path)
	}
	// A member that exited on its own does not fail the run (the scheduler
	// replaces it) but is a finding: keep its log.
	if passed(info) && !o.keepLogs && len(info.crashed) == 0 {
		os.RemoveAll(h.workDir)
	} else {
		fmt.Println("chaos: logs in", h.workDir)
	}
	fmt.Println(summaryLine(info))
	if !passed(info) {
		return 1
	}
	return 0
}
