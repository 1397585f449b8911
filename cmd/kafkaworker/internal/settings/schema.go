package settings

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/kafkaworker/kafkaworker"
)

// kind is how a setting's text is converted.
type kind int

const (
	kindString kind = iota
	kindEnum        // a string matched case-insensitively: stored lower-case
	kindInt
	kindFloat
	kindBool
	kindDuration
	kindList
)

// field is one bindable setting.
type field struct {
	key    string // spelling in appsettings.json: "GroupId"
	index  int    // the struct field's index
	kind   kind
	secret bool // its value is never shown
}

// section is one bindable struct: its fields by lower-case key.
type section struct {
	name   string
	typ    reflect.Type
	fields []field
	byKey  map[string]field // lower-case key → field
}

// schema is built from the struct types themselves, so that a field added
// to kafkaworker.Config is bindable (and listed in suggestions) without a
// change here; TestSchemaCoversConfig keeps the kinds honest.
var schema = []*section{
	newSection(KafkaSection, reflect.TypeFor[kafkaworker.Config]()),
	newSection(ServiceSection, reflect.TypeFor[Service]()),
}

// enumKeys are plain strings in Config that are nonetheless enumerations,
// which .NET binds case-insensitively. Folding them here matters: the
// library compares some of them case-sensitively after Validate has
// accepted any case.
var enumKeys = map[string]bool{"autooffsetreset": true, "handler": true, "logformat": true, "loglevel": true}

func newSection(name string, t reflect.Type) *section {
	s := &section{name: name, typ: t, byKey: map[string]field{}}
	durType := reflect.TypeFor[time.Duration]()
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		f := field{key: keyName(sf), index: i}
		lower := strings.ToLower(f.key)
		switch {
		case sf.Type == durType:
			f.kind = kindDuration
		case sf.Type.Kind() == reflect.String && (sf.Type != reflect.TypeFor[string]() || enumKeys[lower]):
			f.kind = kindEnum
		case sf.Type.Kind() == reflect.String:
			f.kind = kindString
		case sf.Type.Kind() == reflect.Int:
			f.kind = kindInt
		case sf.Type.Kind() == reflect.Float64:
			f.kind = kindFloat
		case sf.Type.Kind() == reflect.Bool:
			f.kind = kindBool
		case sf.Type == reflect.TypeFor[[]string]():
			f.kind = kindList
		default:
			// A programming error caught by every test run, not a user's.
			panic(fmt.Sprintf("settings: %s.%s has unsupported type %s", t.Name(), sf.Name, sf.Type))
		}
		f.secret = secretKey(lower)
		s.fields = append(s.fields, f)
		s.byKey[lower] = f
	}
	return s
}

// keyName is the field's appsettings.json spelling: its key tag, or its Go
// name with a final "ID" written "Id" as .NET names it (GroupID → GroupId).
func keyName(sf reflect.StructField) string {
	if k := sf.Tag.Get("key"); k != "" {
		return k
	}
	if n, ok := strings.CutSuffix(sf.Name, "ID"); ok {
		return n + "Id"
	}
	return sf.Name
}

// sectionNamed returns the section whose name matches name in any case.
func sectionNamed(name string) *section {
	for _, s := range schema {
		if strings.EqualFold(s.name, name) {
			return s
		}
	}
	return nil
}

// keys lists the section's keys, for suggestions.
func (s *section) keys() []string {
	ks := make([]string, len(s.fields))
	for i, f := range s.fields {
		ks[i] = f.key
	}
	return ks
}

// isSecret reports whether the path "Section:Key…" names a secret setting.
func isSecret(path string) bool {
	sec, rest, _ := strings.Cut(path, ":")
	key, _, _ := strings.Cut(rest, ":")
	if s := sectionNamed(sec); s != nil {
		if f, ok := s.byKey[strings.ToLower(key)]; ok {
			return f.secret
		}
	}
	return secretKey(strings.ToLower(key))
}

// secretKey reports whether a lower-case key names a secret: a password, a
// secret or a token (KafkaWorker:AdminToken).
func secretKey(lower string) bool {
	return strings.Contains(lower, "password") || strings.Contains(lower, "secret") || strings.Contains(lower, "token")
}
