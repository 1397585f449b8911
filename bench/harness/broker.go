// Package harness is the orchestrator's machinery: the broker, the data set,
// the child processes and the completeness check.
package harness

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// Broker is a single-node Kafka started with the project's
// scripts/kafka/kafka.sh. Port and StateDir keep it apart from the broker
// the test suite runs on the default port and state directory.
type Broker struct {
	Script   string // path to scripts/kafka/kafka.sh
	Port     int
	StateDir string
}

func (b Broker) cmd(args ...string) *exec.Cmd {
	c := exec.Command(b.Script, args...)
	c.Env = append(os.Environ(), "KAFKA_STATE_DIR="+b.StateDir)
	c.Stderr = os.Stderr
	return c
}

// Start starts the broker and returns its bootstrap address once a client
// gets metadata (the script waits for that).
func (b Broker) Start() (string, error) {
	c := b.cmd("start", "--port", fmt.Sprint(b.Port))
	var out bytes.Buffer
	c.Stdout = &out
	if err := c.Run(); err != nil {
		return "", fmt.Errorf("%s start: %w", b.Script, err)
	}
	return strings.TrimSpace(out.String()), nil
}

// Stop stops the broker and deletes its data; it is idempotent.
func (b Broker) Stop() error {
	return b.cmd("stop").Run()
}
