package settings

import (
	"os"
	"strings"
	"testing"
)

// FuzzLoad feeds arbitrary files, environment values and overrides to Load,
// which must never panic, and must never echo a password it was given.
func FuzzLoad(f *testing.F) {
	seed, err := os.ReadFile(seedPath)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed, "Kafka__MaxProcCount=200", "Kafka:Topics=a,b")
	f.Add([]byte(base), "Kafka__Topics__0=x", "Kafka:ShutdownTimeout=00:00:30")
	f.Add([]byte(`{"Kafka": {"Topics": [[1], {"a": null}], "MaxProcCount": 1e400}}`), "KAFKA__GROUPID=", "KafkaWorker:Handler=http")
	f.Add([]byte(`{"Kafka": 1, "Kafka": {}, "KafkaWorker": []}`), "Kafka__=1", "Kafka:=2")
	f.Add([]byte(`// only a comment`), "Kafka____x=1", "=")
	f.Fuzz(func(t *testing.T, file []byte, env, override string) {
		const pw = "pw-NEVER-SHOWN"
		envs := []string{env, "Kafka__SaslPassword=" + pw}
		var ovs []Override
		if o, err := ParseOverride(override); err == nil {
			ovs = append(ovs, o)
		}
		s, warns, err := Load(Input{Path: "fuzz.json", Data: file, Env: envs, Overrides: ovs})
		var out strings.Builder
		if err != nil {
			out.WriteString(err.Error())
		}
		for _, w := range warns {
			out.WriteString(w.String())
		}
		logSettings(&out, s)
		if strings.Contains(out.String(), pw) {
			t.Fatalf("password in output:\n%s", out.String())
		}
	})
}
