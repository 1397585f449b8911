package testtls

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// EnvDir names the environment variable that selects the TLS tier: the
// directory gencerts filled and kafka.sh start --tls used.
const EnvDir = "KAFKA_TLS_DIR"

// Broker is the TLS tier's broker: its listeners by name (PLAINTEXT, SSL,
// MTLS, SASL_SSL, EXPIRED, WRONGHOST) and the files and SCRAM credentials
// it was started with.
type Broker struct {
	Dir       string
	Listeners map[string]string
	User      string
	Password  string
}

// CAFile is the path of the CA the broker's certificates chain to.
func (b *Broker) CAFile() string { return filepath.Join(b.Dir, CAFile) }

// Addr returns the address of the named listener, failing the test when
// the broker has none.
func (b *Broker) Addr(t testing.TB, name string) string {
	t.Helper()
	a, ok := b.Listeners[name]
	if !ok {
		t.Fatalf("the TLS broker has no %s listener (%s lists %v)", name, ListenersFile, b.Listeners)
	}
	return a
}

// FromEnv returns the broker EnvDir describes, skipping the test when the
// variable is unset (scripts/test.sh all sets it).
func FromEnv(t testing.TB) *Broker {
	t.Helper()
	dir := os.Getenv(EnvDir)
	if dir == "" {
		t.Skipf("needs the TLS broker (%s): scripts/test.sh all starts it", EnvDir)
	}
	b := &Broker{Dir: dir}
	var err error
	if b.Listeners, err = readEnv(filepath.Join(dir, ListenersFile)); err != nil {
		t.Fatalf("%s=%s: %v (is the broker running? kafka.sh start --tls writes it)", EnvDir, dir, err)
	}
	scram, err := readEnv(filepath.Join(dir, ScramFile))
	if err != nil {
		t.Fatal(err)
	}
	b.User, b.Password = scram["SCRAM_USER"], scram["SCRAM_PASSWORD"]
	return b
}

// readEnv reads NAME=value lines.
func readEnv(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "="); ok {
			m[k] = v
		}
	}
	return m, sc.Err()
}
