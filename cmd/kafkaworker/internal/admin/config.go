package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// setting puts a value changed at run time through the API into the
// effective configuration the status page shows, under the Kafka section
// (as the service's settings name it), every other setting kept in its
// place. The consumer's own Config() keeps the configured values.
func (s *status) setting(key string, value any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cfg, err := withSetting(s.config, "Kafka", key, value)
	if err != nil {
		return // a configuration that is not an object: shown as given
	}
	s.config = cfg
}

// withSetting returns the JSON object obj with obj[section][key] set to
// value, added at the end where missing, every other member in its order:
// the page shows the configuration in the order the service wrote it.
func withSetting(obj json.RawMessage, section, key string, value any) (json.RawMessage, error) {
	top, err := members(obj)
	if err != nil {
		return nil, err
	}
	i := find(top, section)
	if i < 0 {
		top = append(top, member{section, json.RawMessage("{}")})
		i = len(top) - 1
	}
	sec, err := members(top[i].value)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", section, err)
	}
	v, err := json.Marshal(value)
	if err != nil {
		return nil, err
	}
	if j := find(sec, key); j >= 0 {
		sec[j].value = v
	} else {
		sec = append(sec, member{key, v})
	}
	top[i].value = object(sec)
	return object(top), nil
}

// member is one name and value of a JSON object.
type member struct {
	name  string
	value json.RawMessage
}

// members reads a JSON object's members in order.
func members(obj json.RawMessage) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(obj))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	var out []member
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		name, _ := t.(string) // an object's keys are strings
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		out = append(out, member{name, v})
	}
	return out, nil
}

func find(ms []member, name string) int {
	for i, m := range ms {
		if m.name == name {
			return i
		}
	}
	return -1
}

// object writes members as a JSON object.
func object(ms []member) json.RawMessage {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range ms {
		if i > 0 {
			b.WriteByte(',')
		}
		name, _ := json.Marshal(m.name) // a string always marshals
		b.Write(name)
		b.WriteByte(':')
		b.Write(m.value)
	}
	b.WriteByte('}')
	return b.Bytes()
}
