package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/kafkaworker/kafkaworker/bench/contenders"
)

// contend is the child side: `kwbench contend` runs one Go contender in this
// process and prints its result line. The orchestrator starts it so that the
// kernel's per-process accounting (CPU, peak RSS) covers exactly one
// contender. The flags are the ones the Java contender takes too.
func contend(args []string) error {
	fs := flag.NewFlagSet("contend", flag.ContinueOnError)
	var s contenders.Spec
	var model string
	var timeout int
	fs.StringVar(&s.Contender, "contender", "kafkaworker", "raw-franz-go, kafkaworker or sarama")
	fs.StringVar(&s.Ordering, "ordering", "", "kafkaworker: unordered, key, partition or share (a share group)")
	fs.IntVar(&s.MPC, "mpc", 50, "kafkaworker: MaxProcCount")
	fs.StringVar(&model, "model", "0ms", "handler model: 0ms, 1ms, 10ms or cpu")
	fs.IntVar(&s.CPUIters, "cpu-iters", contenders.DefaultCPUIters, "SHA-256 rounds of the cpu model")
	fs.StringVar(&s.Bootstrap, "bootstrap", "127.0.0.1:19092", "seed broker")
	fs.StringVar(&s.Topic, "topic", "", "topic")
	fs.StringVar(&s.Group, "group", "", "consumer group (fresh per run)")
	ends := fs.String("ends", "", "the topic's end offsets by partition, comma-separated")
	fs.DurationVar(&s.Warmup, "warmup", 0, "windowed run: time after the first record before the window opens")
	fs.DurationVar(&s.Window, "window", 0, "windowed run: the steady-state window, after which the run stops (0: consume the whole topic)")
	fs.IntVar(&s.MaxBufferedBytes, "max-buffered-bytes", 0, "kafkaworker: Config.MaxBufferedBytes (0: the default)")
	fs.BoolVar(&s.Seed, "seed", false, "kafkaworker: the seed's appsettings.json (MaxProcCount 50, commit per 100 records or 30 s)")
	fs.IntVar(&timeout, "timeout", 600, "seconds before the run gives up")
	fs.StringVar(&s.Profile, "cpuprofile", "", "write a CPU profile of the run here")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var err error
	if s.Model, err = contenders.ParseModel(model); err != nil {
		return err
	}
	if s.Ends, err = parseEnds(*ends); err != nil {
		return err
	}
	if s.Topic == "" || s.Group == "" || s.Records() <= 0 {
		return fmt.Errorf("contend: -topic, -group and -ends are required")
	}
	if s.Profile != "" {
		f, err := os.Create(s.Profile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(timeout)*time.Second)
	defer cancel()
	r := contenders.Run(ctx, s)
	if ctx.Err() != nil && r.ErrorMsg == "" {
		r.ErrorMsg = fmt.Sprintf("timeout after %ds: handled %d of %d", timeout, r.Handled, s.Records())
	}
	fmt.Println(r)
	return nil
}

// parseEnds reads -ends: "n0,n1,...", partition i's end offset at index i.
func parseEnds(v string) ([]int64, error) {
	var ends []int64
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("-ends: bad value %q", f)
		}
		ends = append(ends, n)
	}
	return ends, nil
}

// formatEnds writes what parseEnds reads.
func formatEnds(ends []int64) string {
	f := make([]string, len(ends))
	for i, e := range ends {
		f[i] = strconv.FormatInt(e, 10)
	}
	return strings.Join(f, ",")
}
