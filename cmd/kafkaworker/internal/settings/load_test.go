package settings

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kafkaworker/kafkaworker"
)

// base is a complete, valid file for the tests to vary.
const base = `{
  // as the seed writes it
  "Kafka": {
    "BootstrapServers": "localhost:9092",
    "GroupId": "g",
    "Topic": "orders",
  },
}`

func set(key, value string) Override { return Override{Key: key, Value: value, Source: "--set " + key} }

func TestPrecedence(t *testing.T) {
	tests := []struct {
		name string
		file string
		env  []string
		ovs  []Override
		want func(*Settings) any
		val  any
	}{
		{name: "default", file: base,
			want: func(s *Settings) any { return s.Kafka.WithDefaults().MaxProcCount }, val: 50},
		{name: "file over default", file: `{"Kafka": {"BootstrapServers": "b:1", "GroupId": "g", "Topic": "t", "MaxProcCount": 7}}`,
			want: func(s *Settings) any { return s.Kafka.MaxProcCount }, val: 7},
		{name: "env over file", file: base, env: []string{"Kafka__MaxProcCount=200"},
			want: func(s *Settings) any { return s.Kafka.MaxProcCount }, val: 200},
		{name: "env key is case-insensitive", file: base, env: []string{"KAFKA__MAXPROCCOUNT=201"},
			want: func(s *Settings) any { return s.Kafka.MaxProcCount }, val: 201},
		{name: "env GroupId binds GroupID", file: base, env: []string{"Kafka__GroupId=from-env"},
			want: func(s *Settings) any { return s.Kafka.GroupID }, val: "from-env"},
		{name: "env of other programs ignored", file: base, env: []string{"PATH=/bin", "Logging__LogLevel__Default=Debug", "NOEQUALS"},
			want: func(s *Settings) any { return s.Kafka.GroupID }, val: "g"},
		{name: "flag over env", file: base, env: []string{"Kafka__MaxProcCount=200"}, ovs: []Override{set("Kafka:MaxProcCount", "300")},
			want: func(s *Settings) any { return s.Kafka.MaxProcCount }, val: 300},
		{name: "last flag wins", file: base, ovs: []Override{set("Kafka:MaxProcCount", "1"), set("kafka__maxproccount", "2")},
			want: func(s *Settings) any { return s.Kafka.MaxProcCount }, val: 2},
		{name: "empty value resets to default", file: `{"Kafka": {"MaxProcCount": 7}}`, env: []string{"Kafka__MaxProcCount="},
			want: func(s *Settings) any { return s.Kafka.MaxProcCount }, val: 0},
		{name: "topics array", file: `{"Kafka": {"Topics": ["a", "b"]}}`,
			want: func(s *Settings) any { return s.Kafka.Topics }, val: []string{"a", "b"}},
		{name: "topics comma string", file: `{"Kafka": {"Topics": "a, b,,c"}}`,
			want: func(s *Settings) any { return s.Kafka.Topics }, val: []string{"a", "b", "c"}},
		{name: "env list replaces file list whole", file: `{"Kafka": {"Topics": ["a", "b", "c"]}}`, env: []string{"Kafka__Topics=x,y"},
			want: func(s *Settings) any { return s.Kafka.Topics }, val: []string{"x", "y"}},
		{name: "indexed env list", file: base, env: []string{"Kafka__Topics__1=second", "Kafka__Topics__0=first"},
			want: func(s *Settings) any { return s.Kafka.Topics }, val: []string{"first", "second"}},
		{name: "enum in any case", file: base, env: []string{"Kafka__Ordering=Key", "Kafka__AutoOffsetReset=Latest"},
			want: func(s *Settings) any { return [2]string{string(s.Kafka.Ordering), s.Kafka.AutoOffsetReset} },
			val:  [2]string{"key", "latest"}},
		{name: "duration TimeSpan", file: base, env: []string{"Kafka__ShutdownTimeout=00:01:30"},
			want: func(s *Settings) any { return s.Kafka.ShutdownTimeout }, val: 90 * time.Second},
		{name: "duration seconds as JSON number", file: `{"Kafka": {"ShutdownTimeout": 45}}`,
			want: func(s *Settings) any { return s.Kafka.ShutdownTimeout }, val: 45 * time.Second},
		{name: "duration Go", file: base, ovs: []Override{set("Kafka:ShutdownTimeout", "1m")},
			want: func(s *Settings) any { return s.Kafka.ShutdownTimeout }, val: time.Minute},
		{name: "bool in .NET case", file: `{"Kafka": {"EnableAutoCommit": "False"}}`,
			want: func(s *Settings) any { return s.Kafka.EnableAutoCommit }, val: false},
		{name: "service section", file: base,
			env:  []string{"KafkaWorker__Handler=HTTP", "KafkaWorker__HttpUrl=http://sink/x", "KafkaWorker__AdminAddr=:9090"},
			want: func(s *Settings) any { return [3]string{s.Service.Handler, s.Service.HTTPURL, s.Service.AdminAddr} },
			val:  [3]string{"http", "http://sink/x", ":9090"}},
		{name: "service defaults", file: base,
			want: func(s *Settings) any { return s.Service }, val: Service{Handler: "stdout", HTTPTimeout: 30 * time.Second,
				AdminAddr: "127.0.0.1:8080", StallTimeout: 5 * time.Minute, StartupTimeout: 30 * time.Second, LogFormat: "text", LogLevel: "info"}},
		{name: "flow control and batches (issue 12)", file: `{"Kafka": {"FailurePolicy": "Block", "MaxRecordsPerSecond": 0.5,
			"AdaptiveConcurrency": true, "MaxBatchSize": 200, "BatchLinger": "00:00:00.020"},
			"KafkaWorker": {"Handler": "http", "HttpUrl": "http://sink/batch", "HttpBatch": true}}`,
			want: func(s *Settings) any {
				return []any{s.Kafka.FailurePolicy, s.Kafka.MaxRecordsPerSecond, s.Kafka.AdaptiveConcurrency,
					s.Kafka.MaxBatchSize, s.Kafka.BatchLinger, s.Service.HTTPBatch}
			},
			val: []any{kafkaworker.BlockPolicy, 0.5, true, 200, 20 * time.Millisecond, true}},
		{name: "key path at top level", file: `{"Kafka:MaxProcCount": 9, "Kafka": {"GroupId": "g"}}`,
			want: func(s *Settings) any { return s.Kafka.MaxProcCount }, val: 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _, _ := Load(Input{Path: "appsettings.json", Data: []byte(tt.file), Env: tt.env, Overrides: tt.ovs})
			if got := tt.want(&s); !reflect.DeepEqual(got, tt.val) {
				t.Errorf("got %#v, want %#v", got, tt.val)
			}
		})
	}
}

// problemsOf returns the problems of err, failing if it is not an *Error.
func problemsOf(t *testing.T, err error) []Problem {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *Error", err, err)
	}
	return e.Problems
}

func TestProblems(t *testing.T) {
	tests := []struct {
		name string
		file string
		env  []string
		ovs  []Override
		want []string // substrings, each of which some problem must contain
	}{
		{name: "admin mutations on a non-loopback address need a token", file: base,
			env:  []string{"KafkaWorker__AdminAddr=0.0.0.0:8080"},
			want: []string{"KafkaWorker:AdminToken", "not loopback"}},
		{name: "type error names key, value and source", file: base, env: []string{"Kafka__MaxProcCount=abc"},
			want: []string{`Kafka:MaxProcCount="abc" (from environment variable Kafka__MaxProcCount): must be a whole number`}},
		{name: "type error in the file", file: `{"Kafka": {"BootstrapServers": "b:1", "GroupId": "g", "Topic": "t", "MaxProcCount": "abc", "CommitIntervalSeconds": 1.5}}`,
			want: []string{`Kafka:MaxProcCount="abc" (from appsettings.json): must be a whole number`,
				`Kafka:CommitIntervalSeconds="1.5" (from appsettings.json): must be a whole number`}},
		{name: "number", file: base, env: []string{"Kafka__MaxRecordsPerSecond=NaN"},
			want: []string{`Kafka:MaxRecordsPerSecond="NaN" (from environment variable Kafka__MaxRecordsPerSecond): must be a number`}},
		{name: "bool", file: base, ovs: []Override{set("Kafka:EnableAutoCommit", "yes")},
			want: []string{`Kafka:EnableAutoCommit="yes" (from --set Kafka:EnableAutoCommit): must be true or false`}},
		{name: "auto-commit refused, with the reason", file: `{"Kafka": {"BootstrapServers": "b:1", "GroupId": "g", "Topic": "t", "EnableAutoCommit": true}}`,
			want: []string{`Kafka:EnableAutoCommit="true" (from appsettings.json): must be false`}},
		{name: "duration", file: base, env: []string{"Kafka__RevokeTimeout=soon"},
			want: []string{`Kafka:RevokeTimeout="soon" (from environment variable Kafka__RevokeTimeout): must be a duration`}},
		{name: "bad TimeSpan", file: base, env: []string{"Kafka__RevokeTimeout=00:61:00"},
			want: []string{`Kafka:RevokeTimeout="00:61:00"`, "minutes and seconds below 60"}},
		{name: "object for a number", file: `{"Kafka": {"MaxProcCount": {"a": 1}}}`,
			want: []string{"Kafka:MaxProcCount (from appsettings.json): must be a single value"}},
		{name: "every problem at once, validation included", file: `{"Kafka": {"MaxProcCount": -1, "Ordering": "random"}}`,
			want: []string{"Kafka:BootstrapServers", "Kafka:GroupId", "Kafka:Topic", `Kafka:MaxProcCount="-1" (from appsettings.json): must be at least 1`,
				`Kafka:Ordering="random" (from appsettings.json): must be unordered, key or partition`}},
		{name: "section not an object", file: `{"Kafka": 5}`, want: []string{"Kafka (from appsettings.json): must be an object"}},
		{name: "duplicate key", file: `{"Kafka": {"BootstrapServers": "b:1", "GroupId": "g", "Topic": "t", "GROUPID": "h"}}`,
			want: []string{"Kafka:GROUPID (from appsettings.json): is a duplicate key"}},
		{name: "syntax error", file: `{"Kafka": {`, want: []string{"appsettings.json: is not valid JSON: hujson: line 1"}},
		{name: "not an object", file: `[1]`, want: []string{"appsettings.json: must hold a JSON object"}},
		{name: "unknown override section", file: base, ovs: []Override{set("Kafak:MaxProcCount", "1")},
			want: []string{"Kafak:MaxProcCount=\"1\" (from --set Kafak:MaxProcCount): names no known section", "(did you mean Kafka?)"}},
		{name: "http handler needs a URL", file: base, env: []string{"KafkaWorker__Handler=http"},
			want: []string{"KafkaWorker:HttpUrl (from default): is required with Handler http"}},
		{name: "service values", file: base,
			env: []string{"KafkaWorker__Handler=grpc", "KafkaWorker__AdminAddr=8080", "KafkaWorker__LogFormat=xml", "KafkaWorker__LogLevel=loud", "KafkaWorker__StallTimeout=-1s"},
			want: []string{`KafkaWorker:Handler="grpc"`, `KafkaWorker:AdminAddr="8080"`, `KafkaWorker:LogFormat="xml"`,
				`KafkaWorker:LogLevel="loud"`, `KafkaWorker:StallTimeout="-1s"`}},
		{name: "missing file", want: []string{"no such file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := Input{Path: "appsettings.json", Data: []byte(tt.file), Env: tt.env, Overrides: tt.ovs}
			if tt.file == "" {
				in = Input{Path: t.TempDir() + "/absent.json"}
			}
			_, _, err := Load(in)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			msg := err.Error()
			for _, w := range tt.want {
				// "(from default)" stands for "no source": the value is
				// the default, so the message names none.
				w = strings.ReplaceAll(w, " (from default)", "")
				if !strings.Contains(msg, w) {
					t.Errorf("error lacks %q:\n%s", w, msg)
				}
			}
		})
	}
}

// TestTypeErrorHidesValidation checks that a key that failed to convert is
// not also blamed by Validate for the zero value it was left with.
func TestTypeErrorHidesValidation(t *testing.T) {
	_, _, err := Load(Input{Data: []byte(base), Env: []string{"Kafka__BootstrapServers=", "Kafka__GroupId__a=x", "Kafka__RetryBackoffMin=x"}})
	ps := problemsOf(t, err)
	var keys []string
	for _, p := range ps {
		keys = append(keys, p.Key)
		if p.Key == "Kafka:GroupId" && !strings.Contains(p.Msg, "single value") {
			t.Errorf("GroupId blamed for its zero value: %v", p)
		}
	}
	want := []string{"Kafka:BootstrapServers", "Kafka:GroupId", "Kafka:RetryBackoffMin"}
	if !slices.Equal(keys, want) {
		t.Errorf("problem keys = %v, want %v:\n%v", keys, want, err)
	}
}

func TestUnknownKeysWarn(t *testing.T) {
	tests := []struct {
		name string
		file string
		env  []string
		ovs  []Override
		want []string
	}{
		{name: "typo in file", file: `{"Kafka": {"BootstrapServers": "b:1", "GroupId": "g", "Topic": "t", "MaxProcCnt": 5}}`,
			want: []string{"unknown key Kafka:MaxProcCnt (did you mean MaxProcCount?), from appsettings.json: ignored"}},
		{name: "typo in env", file: base, env: []string{"Kafka__GroupIdd=x"},
			want: []string{"unknown key Kafka:GroupIdd (did you mean GroupId?), from environment variable Kafka__GroupIdd: ignored"}},
		{name: "typo in service section", file: base, ovs: []Override{set("KafkaWorker:AdminAdr", ":1")},
			want: []string{"unknown key KafkaWorker:AdminAdr (did you mean AdminAddr?), from --set KafkaWorker:AdminAdr: ignored"}},
		{name: "nothing close", file: base, env: []string{"Kafka__Frobnicate=1"},
			want: []string{"unknown key Kafka:Frobnicate, from environment variable Kafka__Frobnicate: ignored"}},
		{name: "section typo", file: `{"Kafak": {"MaxProcCount": 5}, "Kafka": {"BootstrapServers": "b:1", "GroupId": "g", "Topic": "t"}}`,
			want: []string{"unknown section Kafak (did you mean Kafka?), from appsettings.json: ignored"}},
		{name: "other programs' sections are not ours", file: `{"Logging": {"LogLevel": {"Default": "Information"}}, "AllowedHosts": "*",
			"Kafka": {"BootstrapServers": "b:1", "GroupId": "g", "Topic": "t"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, warns, err := Load(Input{Path: "appsettings.json", Data: []byte(tt.file), Env: tt.env, Overrides: tt.ovs})
			if err != nil {
				t.Fatalf("an unknown key must not be an error: %v", err)
			}
			var got []string
			for _, w := range warns {
				got = append(got, w.String())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("warnings:\n %q\nwant\n %q", got, tt.want)
			}
		})
	}
}

// TestSecretsNeverEchoed runs every path by which a value reaches a message
// with the password in it.
func TestSecretsNeverEchoed(t *testing.T) {
	const pw = "hunter2-s3cret"
	tests := []struct {
		name string
		file string
		env  []string
		ovs  []Override
	}{
		{name: "valid config", file: base, env: []string{"Kafka__SecurityProtocol=SASL_SSL", "Kafka__SaslMechanism=PLAIN",
			"Kafka__SaslUsername=u", "Kafka__SaslPassword=" + pw}},
		{name: "invalid config around it", file: `{"Kafka": {"SaslPassword": "` + pw + `", "MaxProcCount": "x"}}`},
		{name: "password as an object", file: `{"Kafka": {"SaslPassword": {"v": "` + pw + `"}}}`},
		{name: "unquoted password is a syntax error", file: `{"Kafka": {"SaslPassword": ` + pw + `}}`},
		{name: "password with a bad escape", file: `{"Kafka": {"SaslPassword": "` + pw + `\q"}}`},
		{name: "misspelt key", file: base, env: []string{"Kafka__SaslPasword=" + pw}},
		{name: "override", file: base, ovs: []Override{set("Kafka:SaslPassword", pw), set("Kafak:SaslPassword", pw)}},
		{name: "credentials in a URL", file: base, env: []string{"KafkaWorker__Handler=http", "KafkaWorker__HttpUrl=ftp://u:" + pw + "@host/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, warns, err := Load(Input{Path: "appsettings.json", Data: []byte(tt.file), Env: tt.env, Overrides: tt.ovs})
			var out strings.Builder
			if err != nil {
				out.WriteString(err.Error())
			}
			for _, w := range warns {
				out.WriteString(w.String())
			}
			var logged strings.Builder
			logSettings(&logged, s)
			out.WriteString(logged.String())
			if strings.Contains(out.String(), pw) {
				t.Errorf("password in output:\n%s", out.String())
			}
		})
	}
	if _, err := ParseOverride("Kafka:SaslPassword " + pw); err == nil || strings.Contains(err.Error(), pw) {
		t.Errorf("ParseOverride without '=': %v", err)
	}
}

func TestParseOverride(t *testing.T) {
	tests := []struct {
		in      string
		want    Override
		wantErr bool
	}{
		{in: "Kafka:MaxProcCount=200", want: Override{Key: "Kafka:MaxProcCount", Value: "200", Source: "--set Kafka:MaxProcCount"}},
		{in: "Kafka__GroupId=a=b", want: Override{Key: "Kafka__GroupId", Value: "a=b", Source: "--set Kafka__GroupId"}},
		{in: "Kafka:Topic=", want: Override{Key: "Kafka:Topic", Source: "--set Kafka:Topic"}},
		{in: "MaxProcCount=1", wantErr: true},
		{in: "Kafka:MaxProcCount", wantErr: true},
		{in: "=1", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseOverride(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseOverride(%q) = %+v, %v; want %+v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

// TestEveryConfigFieldBinds sets each Config field through the environment
// and checks it lands, so a field added to kafkaworker.Config is either
// bindable or fails here.
func TestEveryConfigFieldBinds(t *testing.T) {
	samples := map[kind]struct {
		text string
		want any
	}{
		kindString:   {"x", "x"},
		kindEnum:     {"X", "x"},
		kindInt:      {"7", 7},
		kindFloat:    {"0.5", 0.5},
		kindBool:     {"true", true},
		kindDuration: {"00:00:07", 7 * time.Second},
		kindList:     {"a,b", []string{"a", "b"}},
	}
	for _, f := range schema[0].fields {
		sm := samples[f.kind]
		s, warns, _ := Load(Input{Env: []string{"Kafka__" + f.key + "=" + sm.text}})
		if len(warns) > 0 {
			t.Errorf("%s: %v", f.key, warns)
		}
		got := reflect.ValueOf(s.Kafka).Field(f.index).Interface()
		if reflect.TypeOf(got) != reflect.TypeOf(sm.want) {
			got = reflect.ValueOf(got).Convert(reflect.TypeOf(sm.want)).Interface()
		}
		if !reflect.DeepEqual(got, sm.want) {
			t.Errorf("%s = %#v, want %#v", f.key, got, sm.want)
		}
	}
	if n := reflect.TypeFor[kafkaworker.Config]().NumField(); len(schema[0].fields) != n {
		t.Errorf("schema has %d Kafka fields, Config has %d", len(schema[0].fields), n)
	}
}
