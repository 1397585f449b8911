package settings

import (
	"fmt"
	"strings"
)

// redacted stands for a secret value in every message.
const redacted = "[redacted]"

// Problem is one reason the configuration cannot be used.
type Problem struct {
	Key    string // the full path: "Kafka:MaxProcCount"; "" for a whole source
	Value  string // as given, "" if none; [redacted] for secrets
	Source string // where the value came from: a file, an environment variable, a flag, or "default"
	Msg    string
}

func (p Problem) Error() string {
	if p.Key == "" { // the source as a whole: a file that is not JSON
		return p.Source + ": " + p.Msg
	}
	var b strings.Builder
	b.WriteString(p.Key)
	if p.Value != "" {
		fmt.Fprintf(&b, "=%q", p.Value)
	}
	if p.Source != "" {
		fmt.Fprintf(&b, " (from %s)", p.Source)
	}
	b.WriteString(": ")
	b.WriteString(p.Msg)
	return b.String()
}

// newProblem builds a Problem, hiding the value if the key is a secret: the
// one place values enter messages, so the one place they are redacted.
func newProblem(key, value, source, msg string) Problem {
	if isSecret(key) && value != "" {
		value = redacted
	}
	return Problem{Key: key, Value: value, Source: source, Msg: msg}
}

// Error lists every problem Load found: in the sources, in the types of the
// values, and those kafkaworker.Config.Validate and the service's own
// checks report.
type Error struct {
	Problems []Problem
}

func (e *Error) Error() string {
	var b strings.Builder
	if len(e.Problems) == 1 {
		b.WriteString("invalid configuration (1 problem):")
	} else {
		fmt.Fprintf(&b, "invalid configuration (%d problems):", len(e.Problems))
	}
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.Error())
	}
	return b.String()
}

// Unwrap lets errors.As find each Problem.
func (e *Error) Unwrap() []error {
	errs := make([]error, len(e.Problems))
	for i, p := range e.Problems {
		errs[i] = p
	}
	return errs
}

// Warning is something in the configuration that Load ignored but that is
// probably a mistake: a key no setting has, most often a typo.
type Warning struct {
	Key        string // the full path as written: "Kafka:MaxProcCnt"
	Source     string
	Suggestion string // the closest known key, or ""
	section    bool   // the unknown thing is a section, not a key
}

func (w Warning) String() string {
	var b strings.Builder
	if w.section {
		b.WriteString("unknown section ")
	} else {
		b.WriteString("unknown key ")
	}
	b.WriteString(w.Key)
	if w.Suggestion != "" {
		fmt.Fprintf(&b, " (did you mean %s?)", w.Suggestion)
	}
	if w.Source != "" {
		fmt.Fprintf(&b, ", from %s", w.Source)
	}
	b.WriteString(": ignored")
	return b.String()
}
