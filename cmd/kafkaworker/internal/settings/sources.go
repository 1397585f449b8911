package settings

import (
	"fmt"
	"strings"
)

// Override is one command-line setting. The command line builds them from
// --set and from its direct flags, in the order given.
type Override struct {
	Key    string // "Kafka:MaxProcCount"; "__" may stand for ':'
	Value  string
	Source string // for messages: "--set", "--max-proc-count"
}

// ParseOverride parses "Section:Key=Value" (or Section__Key=Value), the
// argument of --set. Its error never quotes the argument: without an '='
// there is no telling where a key ends and a secret begins.
func ParseOverride(s string) (Override, error) {
	key, value, ok := strings.Cut(s, "=")
	key = strings.TrimSpace(key)
	if !ok || key == "" {
		return Override{}, fmt.Errorf("want Section:Key=Value, such as Kafka:MaxProcCount=200")
	}
	if !strings.Contains(strings.ReplaceAll(key, "__", ":"), ":") {
		return Override{}, fmt.Errorf("key %q has no section: want Section:Key=Value, such as Kafka:%s=…", key, key)
	}
	return Override{Key: key, Value: value, Source: "--set " + key}, nil
}

// fromEnv keeps the variables that address a known section, as ASP.NET
// Core's environment provider does after mapping "__" to ':'. Others (PATH,
// HOME, a "Logging__…") are none of ours.
func fromEnv(env []string) []entry {
	var es []entry
	for _, kv := range env {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || !strings.Contains(name, "__") {
			continue
		}
		path := strings.ReplaceAll(name, "__", ":")
		sec, _, _ := strings.Cut(path, ":")
		if sectionNamed(sec) == nil {
			continue
		}
		es = append(es, entry{path: path, value: value, source: "environment variable " + name})
	}
	return es
}

// fromOverrides turns overrides into entries. An override naming an unknown
// section is a problem, not a warning: it was typed on purpose, and cannot
// be meant for another program.
func fromOverrides(ovs []Override) ([]entry, []Problem) {
	var es []entry
	var ps []Problem
	for _, o := range ovs {
		path := strings.ReplaceAll(strings.TrimSpace(o.Key), "__", ":")
		sec, _, _ := strings.Cut(path, ":")
		if sectionNamed(sec) == nil {
			msg := fmt.Sprintf("names no known section: want %s:… or %s:…", KafkaSection, ServiceSection)
			if s := suggest(sec, sectionNames()); s != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", s)
			}
			ps = append(ps, newProblem(path, o.Value, o.Source, msg))
			continue
		}
		es = append(es, entry{path: path, value: o.Value, source: o.Source})
	}
	return es, ps
}

func sectionNames() []string {
	ns := make([]string, len(schema))
	for i, s := range schema {
		ns[i] = s.name
	}
	return ns
}

// store merges sources. Its unit is the setting, "Section:Key": a later
// source that sets a setting replaces everything earlier sources said about
// it, including every element of a list.
type store struct {
	settings map[string][]entry // lower-case "section:key" → the entries of the last source that set it
}

func newStore() *store { return &store{settings: map[string][]entry{}} }

// settingOf returns the lower-case "section:key" an entry path belongs to, and
// the rest of the path ("" or a list index).
func settingOf(path string) (setting, rest string) {
	sec, tail, _ := strings.Cut(path, ":")
	key, rest, _ := strings.Cut(tail, ":")
	return strings.ToLower(sec + ":" + key), rest
}

// apply layers one source over the store. Within a source, a later entry
// for the same path replaces an earlier one.
func (st *store) apply(es []entry) {
	layer := map[string][]entry{}
	for _, e := range es {
		s, _ := settingOf(e.path)
		list := layer[s]
		list = removePath(list, e.path)
		layer[s] = append(list, e)
	}
	for s, list := range layer {
		st.settings[s] = list
	}
}

func removePath(es []entry, path string) []entry {
	out := es[:0]
	for _, e := range es {
		if !strings.EqualFold(e.path, path) {
			out = append(out, e)
		}
	}
	return out
}
