package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadConfigListsEveryProblem: a configuration with several mistakes, in
// the file, the environment and the flags, exits 2 and names them all, each
// with its source.
func TestBadConfigListsEveryProblem(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "appsettings.json")
	err := os.WriteFile(file, []byte(`{
  "Kafka": {
    "BootstrapServers": "localhost",   // no port
    "Topic": "orders",
    "MaxProcCount": "abc",
    "EnableAutoCommit": true,
    "MaxProcCnt": 5,
  },
}`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("Kafka__CommitIntervalSeconds", "soon")
	r := runArgs(t, "run", "--config", file, "--set", "Kafka:RevokeTimeout=2m", "--admin-addr", "off")
	if r.code != exitConfig {
		t.Fatalf("exit %d, want %d", r.code, exitConfig)
	}
	for _, want := range []string{
		"invalid configuration (6 problems)",
		`Kafka:BootstrapServers="localhost" (from ` + file + `): "localhost" is not host:port`,
		`Kafka:CommitIntervalSeconds="soon" (from environment variable Kafka__CommitIntervalSeconds): must be a whole number`,
		`Kafka:EnableAutoCommit="true" (from ` + file + `): must be false`,
		"Kafka:GroupId: is required",
		`Kafka:MaxProcCount="abc" (from ` + file + `): must be a whole number`,
		`Kafka:RevokeTimeout="2m0s" (from --set Kafka:RevokeTimeout): must be below RebalanceTimeout`,
		"warning: unknown key Kafka:MaxProcCnt (did you mean MaxProcCount?)",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q", want)
		}
	}
}

func TestMissingConfigFile(t *testing.T) {
	r := runArgs(t, "run", "--config", filepath.Join(t.TempDir(), "absent.json"))
	if r.code != exitConfig || !strings.Contains(r.stderr, "no such file") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestBadFlags(t *testing.T) {
	const pw = "hunter2-s3cret"
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"run", "--max-procs", "5"}, "flag provided but not defined: -max-procs"},
		{"stray argument", []string{"run", "appsettings.json"}, `unexpected argument "appsettings.json"`},
		{"malformed --set hides its value", []string{"run", "--set", "Kafka:SaslPassword " + pw}, "--set number 1: want Section:Key=Value"},
		{"unknown section", []string{"run", "--config", seedConfig, "--set", "Kafak:GroupId=g"}, "(did you mean Kafka?)"},
		{"unknown command", []string{"serve"}, `unknown command "serve"`},
		{"no command", nil, "Usage:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runArgs(t, tt.args...)
			if r.code != exitConfig || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit %d, stderr lacks %q:\n%s", r.code, tt.want, r.stderr)
			}
			if strings.Contains(r.stderr+r.stdout, pw) {
				t.Error("password echoed")
			}
		})
	}
}

func TestHelpAndVersion(t *testing.T) {
	tests := []struct {
		args   []string
		stream func(result) string
		want   []string
	}{
		{[]string{"-h"}, func(r result) string { return r.stdout }, []string{"kafkaworker run", "kafkaworker demo", "kafkaworker version"}},
		{[]string{"help"}, func(r result) string { return r.stdout }, []string{"Start here:"}},
		{[]string{"run", "-h"}, func(r result) string { return r.stderr }, []string{
			"Kafka__MaxProcCount=200", "-set Section:Key=Value", "-bootstrap-servers", "-admin-addr", "Exit status", "130",
			`section "KafkaWorker"`}},
		{[]string{"version"}, func(r result) string { return r.stdout }, []string{"kafkaworker ", "go1."}},
	}
	for _, tt := range tests {
		r := runArgs(t, tt.args...)
		if r.code != exitOK {
			t.Errorf("%v: exit %d", tt.args, r.code)
		}
		for _, w := range tt.want {
			if !strings.Contains(tt.stream(r), w) {
				t.Errorf("%v: output lacks %q", tt.args, w)
			}
		}
	}
}

// TestCheckPrintsSettings: --check validates the seed with overrides from
// every source and prints the effective settings, the password hidden.
func TestCheckPrintsSettings(t *testing.T) {
	const pw, token = "hunter2-s3cret", "admin-t0ken-xyz"
	t.Setenv("Kafka__SaslPassword", pw)
	t.Setenv("Kafka__SaslUsername", "svc")
	t.Setenv("Kafka__SaslMechanism", "SCRAM-SHA-512")
	t.Setenv("Kafka__MaxProcCount", "100")
	r := runArgs(t, "run", "--check", "--config", seedConfig, "--set", "Kafka:SecurityProtocol=SASL_SSL",
		"--max-proc-count", "200", "--set", "KafkaWorker:AdminAddr=:9090", "--set", "KafkaWorker:AdminToken="+token)
	if r.code != exitOK {
		t.Fatalf("exit %d", r.code)
	}
	for _, want := range []string{`"GroupId":"production-consumer-group-01"`, `"MaxProcCount":200`,
		`"SaslPassword":"[redacted]"`, `"AdminAddr":":9090"`, `"AdminToken":"[redacted]"`} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %s:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout+r.stderr, token) {
		t.Error("admin token printed")
	}
	if strings.Contains(r.stdout+r.stderr, pw) {
		t.Error("password printed")
	}
}

// TestUnreachableBroker: the seed's settings against an address where no
// broker listens fail the start-up check with a plain "unreachable" error
// and status 1, once the startup timeout passes.
func TestUnreachableBroker(t *testing.T) {
	r := runArgs(t, "run", "--config", seedConfig, "--bootstrap-servers", "127.0.0.1:1",
		"--startup-timeout", "1s", "--admin-addr", "127.0.0.1:0")
	if r.code != exitRuntime {
		t.Fatalf("exit %d, want %d", r.code, exitRuntime)
	}
	for _, want := range []string{"Kafka is unreachable", "127.0.0.1:1", "check Kafka:BootstrapServers"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q", want)
		}
	}
}

// TestAdminAddrInUse: a port already taken is a runtime error naming the
// setting to change.
func TestAdminAddrInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	r := runArgs(t, "run", "--config", seedConfig, "--admin-addr", ln.Addr().String())
	if r.code != exitRuntime || !strings.Contains(r.stderr, "KafkaWorker:AdminAddr") || !strings.Contains(r.stderr, "address already in use") {
		t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
}

// TestAdminOffLoopbackNeedsAToken: the admin API can pause the consumer,
// so the service refuses to start with it open on an address other than
// loopback; a token, or read-only, lets it start.
func TestAdminOffLoopbackNeedsAToken(t *testing.T) {
	r := runArgs(t, "run", "--config", seedConfig, "--admin-addr", "0.0.0.0:0")
	if r.code != exitConfig || !strings.Contains(r.stderr, "KafkaWorker:AdminToken") {
		t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	for _, set := range []string{"KafkaWorker:AdminToken=t0ken", "KafkaWorker:AdminReadOnly=true"} {
		r := runArgs(t, "run", "--check", "--config", seedConfig, "--admin-addr", "0.0.0.0:0", "--set", set)
		if r.code != exitOK {
			t.Errorf("with %s: exit %d, stderr:\n%s", set, r.code, r.stderr)
		}
	}
}
