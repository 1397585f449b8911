package demo

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/kafkaworker/kafkaworker"
)

// options are the demo's flags. The defaults make a run that finishes in a
// few seconds on a laptop and still shows what parallelism inside a
// partition buys.
type options struct {
	records      int
	keys         int
	partitions   int
	latency      time.Duration // maximum simulated latency; each call draws uniformly from [0, latency]
	failRate     float64       // share of records whose first attempt fails
	ordering     kafkaworker.Ordering
	maxProcCount int
	share        bool // consume as a share group (KIP-932) instead of a consumer group
}

// parseOptions parses args. It returns flag.ErrHelp for -h, after flag has
// printed the usage to stderr.
func parseOptions(args []string, stderr io.Writer) (options, error) {
	var o options
	var ordering string
	fs := flag.NewFlagSet("kafkaworker demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: kafkaworker demo [flags]")
		fmt.Fprintln(fs.Output(), "\nStarts an in-process Kafka cluster, produces keyed records, consumes them with a simulated\nhandler and reports loss, duplicates, order and throughput. Needs nothing installed.\n\nflags:")
		fs.PrintDefaults()
	}
	fs.IntVar(&o.records, "records", 200_000, "records to produce and consume")
	fs.IntVar(&o.keys, "keys", 10_000, "distinct record keys")
	fs.IntVar(&o.partitions, "partitions", 12, "partitions of the demo topic")
	fs.DurationVar(&o.latency, "latency", 5*time.Millisecond, "maximum simulated handler latency (uniform from 0)")
	fs.Float64Var(&o.failRate, "fail-rate", 0.01, "share of records whose first attempt fails and is retried")
	fs.StringVar(&ordering, "ordering", string(kafkaworker.Unordered), "unordered, key or partition")
	fs.IntVar(&o.maxProcCount, "max-proc-count", 200, "handler calls at once (MaxProcCount)")
	fs.BoolVar(&o.share, "share", false, "consume as a share group (GroupType share, KIP-932): per-record acknowledgements instead of offset commits")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return o, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	o.ordering = kafkaworker.Ordering(ordering)
	return o, o.validate()
}

func (o options) validate() error {
	var errs []error
	if o.records < 1 {
		errs = append(errs, errors.New("-records must be at least 1"))
	}
	if o.keys < 1 {
		errs = append(errs, errors.New("-keys must be at least 1"))
	}
	if o.partitions < 1 || o.partitions > 10_000 {
		errs = append(errs, errors.New("-partitions must be between 1 and 10000"))
	}
	if o.latency < 0 {
		errs = append(errs, errors.New("-latency must not be negative"))
	}
	if o.failRate < 0 || o.failRate > 1 {
		errs = append(errs, errors.New("-fail-rate must be between 0 and 1"))
	}
	switch o.ordering {
	case kafkaworker.Unordered, kafkaworker.KeyOrdered, kafkaworker.PartitionOrdered:
	default:
		errs = append(errs, fmt.Errorf("-ordering %q: must be unordered, key or partition", o.ordering))
	}
	if o.share && o.ordering != kafkaworker.Unordered {
		errs = append(errs, fmt.Errorf("-share with -ordering %s: share groups keep no order; use -ordering unordered", o.ordering))
	}
	if o.maxProcCount < 1 {
		errs = append(errs, errors.New("-max-proc-count must be at least 1"))
	}
	return errors.Join(errs...)
}
