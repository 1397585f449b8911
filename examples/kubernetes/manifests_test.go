// Package kubernetes holds no code: its test checks the example manifests
// offline. It is a module of its own so that the library's go.mod does not
// carry the Kubernetes API types.
//
// The built-in kinds are decoded strictly (an unknown or misspelt field, or
// a value of the wrong type, fails) into k8s.io/api's types; KEDA's kinds
// into the subset of its v1alpha1 types the example uses. Then the
// invariants the manifests' comments promise are asserted.
package kubernetes

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tailscale/hujson"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

var files = []string{"deployment.yaml", "pdb.yaml", "keda.yaml"}

// Margins of terminationGracePeriodSeconds over ShutdownTimeout: after
// ShutdownTimeout, Run cancels the handlers and waits ShutdownMargin (5 s)
// for them, bounds its final commit at 10 s (consumer.go), and leaving the
// group and exiting take the rest.
const (
	finalCommitBound = 5*time.Second + 10*time.Second
	exitMargin       = 10 * time.Second
)

// kedaSASL is the Kafka scaler's name for each SaslMechanism.
var kedaSASL = map[string]string{"PLAIN": "plaintext", "SCRAM-SHA-256": "scram_sha256", "SCRAM-SHA-512": "scram_sha512"}

// Subsets of KEDA's keda.sh/v1alpha1 types (github.com/kedacore/keda/v2/apis/keda/v1alpha1),
// with the same JSON names, for the fields the example uses.
type scaledObject struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		ScaleTargetRef struct {
			APIVersion string `json:"apiVersion,omitempty"`
			Kind       string `json:"kind,omitempty"`
			Name       string `json:"name"`
		} `json:"scaleTargetRef"`
		PollingInterval *int32 `json:"pollingInterval,omitempty"`
		CooldownPeriod  *int32 `json:"cooldownPeriod,omitempty"`
		MinReplicaCount *int32 `json:"minReplicaCount,omitempty"`
		MaxReplicaCount *int32 `json:"maxReplicaCount,omitempty"`
		Advanced        *struct {
			HorizontalPodAutoscalerConfig *struct {
				Behavior *struct {
					ScaleUp   *hpaRules `json:"scaleUp,omitempty"`
					ScaleDown *hpaRules `json:"scaleDown,omitempty"`
				} `json:"behavior,omitempty"`
			} `json:"horizontalPodAutoscalerConfig,omitempty"`
		} `json:"advanced,omitempty"`
		Triggers []struct {
			Type              string            `json:"type"`
			Metadata          map[string]string `json:"metadata"`
			AuthenticationRef *struct {
				Name string `json:"name"`
				Kind string `json:"kind,omitempty"`
			} `json:"authenticationRef,omitempty"`
		} `json:"triggers"`
	} `json:"spec"`
}

// hpaRules is autoscaling/v2's HPAScalingRules.
type hpaRules struct {
	StabilizationWindowSeconds *int32 `json:"stabilizationWindowSeconds,omitempty"`
	Policies                   []struct {
		Type          string `json:"type"`
		Value         int32  `json:"value"`
		PeriodSeconds int32  `json:"periodSeconds"`
	} `json:"policies,omitempty"`
}

type triggerAuthentication struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		SecretTargetRef []struct {
			Parameter string `json:"parameter"`
			Name      string `json:"name"`
			Key       string `json:"key"`
		} `json:"secretTargetRef"`
	} `json:"spec"`
}

// appsettings is the part of the ConfigMap's appsettings.json the
// invariants need.
type appsettings struct {
	Kafka struct {
		BootstrapServers        string
		GroupId                 string
		Topic                   string
		MaxProcCount            int
		MaxMsgCountBeforeCommit int
		ShutdownTimeout         string
		SecurityProtocol        string
		SaslMechanism           string
	}
}

type manifests struct {
	configMap *corev1.ConfigMap
	deploy    *appsv1.Deployment
	pdb       *policyv1.PodDisruptionBudget
	scaled    *scaledObject
	auth      *triggerAuthentication
	settings  appsettings
}

// load decodes every document of the example files strictly.
func load(t *testing.T) manifests {
	t.Helper()
	var m manifests
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(data), -1) {
			var tm metav1.TypeMeta
			if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
				t.Fatalf("%s document %d: %v", f, i+1, err)
			}
			var obj any
			switch tm.APIVersion + " " + tm.Kind {
			case "v1 ConfigMap":
				m.configMap = &corev1.ConfigMap{}
				obj = m.configMap
			case "apps/v1 Deployment":
				m.deploy = &appsv1.Deployment{}
				obj = m.deploy
			case "policy/v1 PodDisruptionBudget":
				m.pdb = &policyv1.PodDisruptionBudget{}
				obj = m.pdb
			case "keda.sh/v1alpha1 ScaledObject":
				m.scaled = &scaledObject{}
				obj = m.scaled
			case "keda.sh/v1alpha1 TriggerAuthentication":
				m.auth = &triggerAuthentication{}
				obj = m.auth
			default:
				t.Fatalf("%s document %d: unexpected %q %q", f, i+1, tm.APIVersion, tm.Kind)
			}
			if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
				t.Fatalf("%s document %d (%s): %v", f, i+1, tm.Kind, err)
			}
		}
	}
	if m.configMap == nil || m.deploy == nil || m.pdb == nil || m.scaled == nil || m.auth == nil {
		t.Fatalf("missing kinds: ConfigMap %v, Deployment %v, PodDisruptionBudget %v, ScaledObject %v, TriggerAuthentication %v",
			m.configMap != nil, m.deploy != nil, m.pdb != nil, m.scaled != nil, m.auth != nil)
	}
	raw, ok := m.configMap.Data["appsettings.json"]
	if !ok {
		t.Fatal("the ConfigMap has no appsettings.json")
	}
	std, err := hujson.Standardize([]byte(raw))
	if err != nil {
		t.Fatalf("appsettings.json: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(std))
	if err := dec.Decode(&m.settings); err != nil {
		t.Fatalf("appsettings.json: %v", err)
	}
	return m
}

func TestGracePeriodCoversShutdown(t *testing.T) {
	m := load(t)
	shutdown := parseDuration(t, m.settings.Kafka.ShutdownTimeout)
	grace := m.deploy.Spec.Template.Spec.TerminationGracePeriodSeconds
	if grace == nil {
		t.Fatal("terminationGracePeriodSeconds is unset (Kubernetes' default is 30 s)")
	}
	need := shutdown + finalCommitBound + exitMargin
	if got := time.Duration(*grace) * time.Second; got < need {
		t.Fatalf("terminationGracePeriodSeconds %v < ShutdownTimeout %v + final commit %v + margin %v", got, shutdown, finalCommitBound, exitMargin)
	}
}

func TestDisruptionBudgetSelectsThePods(t *testing.T) {
	m := load(t)
	sel, err := metav1.LabelSelectorAsSelector(m.pdb.Spec.Selector)
	if err != nil {
		t.Fatal(err)
	}
	if sel.Empty() {
		t.Fatal("the PodDisruptionBudget selects every pod in the namespace")
	}
	if !sel.Matches(labels.Set(m.deploy.Spec.Template.Labels)) {
		t.Fatalf("the PodDisruptionBudget's selector %v does not match the pods' labels %v", sel, m.deploy.Spec.Template.Labels)
	}
	dsel, err := metav1.LabelSelectorAsSelector(m.deploy.Spec.Selector)
	if err != nil {
		t.Fatal(err)
	}
	if !dsel.Matches(labels.Set(m.deploy.Spec.Template.Labels)) {
		t.Fatal("the Deployment's selector does not match its own pods")
	}
	if mu := m.pdb.Spec.MaxUnavailable; mu == nil || mu.IntValue() != 1 {
		t.Fatalf("maxUnavailable %v, want 1: one rebalance at a time", mu)
	}
}

func TestScaledObject(t *testing.T) {
	m := load(t)
	s, k := m.scaled.Spec, m.settings.Kafka
	if s.ScaleTargetRef.Name != m.deploy.Name {
		t.Errorf("scaleTargetRef %q, the Deployment is %q", s.ScaleTargetRef.Name, m.deploy.Name)
	}
	if m.deploy.Spec.Replicas != nil {
		t.Error("the Deployment sets replicas: it would fight KEDA's HPA on every apply")
	}
	partitions, err := strconv.Atoi(m.scaled.Annotations["kafkaworker.dev/topic-partitions"])
	if err != nil || partitions < 1 {
		t.Fatalf("annotation kafkaworker.dev/topic-partitions: %v", err)
	}
	if s.MinReplicaCount == nil || s.MaxReplicaCount == nil {
		t.Fatal("minReplicaCount and maxReplicaCount must be explicit")
	}
	if lo, hi := int(*s.MinReplicaCount), int(*s.MaxReplicaCount); lo < 1 || lo > hi || hi > partitions {
		t.Fatalf("replicas %d..%d: want 1 <= min <= max <= %d partitions", lo, hi, partitions)
	}
	if len(s.Triggers) != 1 || s.Triggers[0].Type != "kafka" {
		t.Fatalf("triggers %+v, want one kafka trigger", s.Triggers)
	}
	tr := s.Triggers[0]
	md := tr.Metadata
	for key, want := range map[string]string{
		"bootstrapServers":   k.BootstrapServers,
		"consumerGroup":      k.GroupId,
		"topic":              k.Topic,
		"allowIdleConsumers": "false",
		"offsetResetPolicy":  "earliest",
		"sasl":               kedaSASL[strings.ToUpper(k.SaslMechanism)],
	} {
		if md[key] != want {
			t.Errorf("trigger %s = %q, want %q (as the ConfigMap says)", key, md[key], want)
		}
	}
	if strings.HasSuffix(k.SecurityProtocol, "SSL") != (md["tls"] == "enable") {
		t.Errorf("trigger tls %q with SecurityProtocol %s", md["tls"], k.SecurityProtocol)
	}
	lag, err := strconv.Atoi(md["lagThreshold"])
	if err != nil {
		t.Fatalf("lagThreshold: %v", err)
	}
	if floor := k.MaxProcCount + k.MaxMsgCountBeforeCommit; lag <= floor {
		t.Errorf("lagThreshold %d <= MaxProcCount + MaxMsgCountBeforeCommit = %d: a replica that keeps up would look behind", lag, floor)
	}
	if tr.AuthenticationRef == nil || tr.AuthenticationRef.Name != m.auth.Name {
		t.Fatalf("the trigger does not use the TriggerAuthentication %q", m.auth.Name)
	}
}

// The scaler authenticates with the Secret the consumer uses.
func TestTriggerAuthenticationUsesTheSecret(t *testing.T) {
	m := load(t)
	var secret, key string
	for _, c := range m.deploy.Spec.Template.Spec.Containers {
		for _, e := range c.Env {
			if e.Name == "Kafka__SaslPassword" && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				secret, key = e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Key
			}
		}
	}
	if secret == "" {
		t.Fatal("the Deployment does not read Kafka__SaslPassword from a Secret")
	}
	params := map[string]bool{}
	for _, r := range m.auth.Spec.SecretTargetRef {
		if r.Name != secret {
			t.Errorf("parameter %s from Secret %q, the consumer's is %q", r.Parameter, r.Name, secret)
		}
		if r.Parameter == "password" && r.Key != key {
			t.Errorf("password from key %q, the consumer's is %q", r.Key, key)
		}
		params[r.Parameter] = true
	}
	if !params["username"] || !params["password"] {
		t.Errorf("TriggerAuthentication parameters %v, want username and password", params)
	}
}

// kubernetes-validate (PyPI) checks the built-in kinds against Kubernetes'
// own OpenAPI schemas, offline; scripts/test.sh installs it and names it in
// KUBERNETES_VALIDATE.
func TestSchemas(t *testing.T) {
	bin := os.Getenv("KUBERNETES_VALIDATE")
	if bin == "" {
		t.Skip("KUBERNETES_VALIDATE unset: scripts/test.sh installs kubernetes-validate and sets it")
	}
	out, err := exec.Command(bin, append([]string{"--strict"}, files...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("kubernetes-validate --strict: %v\n%s", err, out)
	}
	for _, want := range []string{"configmap/kafkaworker", "deployment/kafkaworker", "poddisruptionbudget/kafkaworker"} {
		if !regexp.MustCompile(`passed for resource ` + regexp.QuoteMeta(want) + `\b`).Match(out) {
			t.Errorf("kubernetes-validate did not pass %s:\n%s", want, out)
		}
	}
}

// parseDuration reads the forms appsettings.json uses: a Go duration
// ("30s"), a TimeSpan ("00:00:30") or seconds ("30").
func parseDuration(t *testing.T, s string) time.Duration {
	t.Helper()
	if d, err := time.ParseDuration(s); err == nil {
		return d
	}
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		return time.Duration(n * float64(time.Second))
	}
	parts := strings.Split(s, ":")
	if len(parts) == 3 {
		h, e1 := strconv.Atoi(parts[0])
		mi, e2 := strconv.Atoi(parts[1])
		sec, e3 := strconv.ParseFloat(parts[2], 64)
		if e1 == nil && e2 == nil && e3 == nil {
			return time.Duration(h)*time.Hour + time.Duration(mi)*time.Minute + time.Duration(sec*float64(time.Second))
		}
	}
	t.Fatalf("ShutdownTimeout %q: not a duration", s)
	return 0
}
