package demo

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func runMain(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errs bytes.Buffer
	code = Main(t.Context(), args, &out, &errs)
	return code, out.String(), errs.String()
}

func TestMainReportsNoLoss(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"unordered", []string{"-records", "5000", "-latency", "1ms"},
			[]string{"produced: 5,000", "processed: 5,000", "lost: 0", "uncommitted after shutdown: 0", "result: OK"}},
		{"key order", []string{"-records", "3000", "-keys", "40", "-latency", "1ms", "-ordering", "key", "-fail-rate", "0.05"},
			[]string{"lost: 0", "order violations: 0 (key order checked)", "result: OK"}},
		{"partition order", []string{"-records", "2000", "-partitions", "4", "-latency", "500us", "-ordering", "partition"},
			[]string{"lost: 0", "order violations: 0 (partition order checked)", "result: OK"}},
		{"share group", []string{"-records", "3000", "-latency", "1ms", "-share", "-fail-rate", "0.05"},
			[]string{"share group, 3,000 records", "lost: 0", "accepted 3,000", "unacknowledged after shutdown: 0", "result: OK"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runMain(t, tt.args...)
			if code != 0 {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("report lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestMainRetriesInjectedFailures(t *testing.T) {
	code, out, errs := runMain(t, "-records", "1000", "-latency", "0", "-fail-rate", "1")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	// Every first attempt fails, and every record is retried once.
	for _, w := range []string{"lost: 0", "retries: 1,000 (injected failures 1,000)"} {
		if !strings.Contains(out, w) {
			t.Errorf("report lacks %q:\n%s", w, out)
		}
	}
}

func TestMainBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-records", "0"},
		{"-ordering", "random"},
		{"-fail-rate", "2"},
		{"-nope"},
		{"extra"},
		{"-share", "-ordering", "key"},
	} {
		if code, _, _ := runMain(t, args...); code != 2 {
			t.Errorf("Main(%q) = %d, want 2", args, code)
		}
	}
	if code, _, errs := runMain(t, "-h"); code != 0 || !strings.Contains(errs, "-max-proc-count") {
		t.Errorf("-h: exit %d, usage %q", code, errs)
	}
}

func TestMainInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var out, errs bytes.Buffer
	if code := Main(ctx, []string{"-records", "100"}, &out, &errs); code != 1 {
		t.Fatalf("exit %d for a cancelled run, want 1\nstdout:\n%s\nstderr:\n%s", code, out.String(), errs.String())
	}
}
