package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
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
	fs.Int64Var(&s.Records, "records", 0, "records in the topic: the run ends when all are handled")
	fs.IntVar(&timeout, "timeout", 600, "seconds before the run gives up")
	fs.StringVar(&s.Profile, "cpuprofile", "", "write a CPU profile of the run here")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var err error
	if s.Model, err = contenders.ParseModel(model); err != nil {
		return err
	}
	if s.Topic == "" || s.Group == "" || s.Records <= 0 {
		return fmt.Errorf("contend: -topic, -group and -records are required")
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
		r.ErrorMsg = fmt.Sprintf("timeout after %ds: handled %d of %d", timeout, r.Handled, s.Records)
	}
	fmt.Println(r)
	return nil
}
