package settings

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/kafkaworker/kafkaworker"
)

// Input names the sources Load reads, from lowest precedence to highest
// (below them all are the defaults).
type Input struct {
	// Path is the configuration file, read unless Data is set; "" means
	// no file. It names the file in messages either way.
	Path string
	Data []byte
	// Env is the environment, as os.Environ returns it.
	Env []string
	// Overrides are the command line's settings, applied in order.
	Overrides []Override
}

// Load reads, merges, binds and validates the configuration. It returns the
// warnings (unknown keys) whatever happens, and an *Error listing every
// problem if the configuration cannot be used; the Settings it returns then
// hold what could be bound, for diagnostics only.
func Load(in Input) (Settings, []Warning, error) {
	l := &loader{st: newStore()}
	if in.Data == nil && in.Path != "" {
		data, err := os.ReadFile(in.Path)
		if err != nil {
			return Settings{}, nil, &Error{Problems: []Problem{{Source: in.Path, Msg: fileError(err)}}}
		}
		in.Data = data
	}
	if in.Data != nil {
		name := in.Path
		if name == "" {
			name = "configuration file"
		}
		es, ps := flattenFile(name, in.Data)
		l.problems = append(l.problems, ps...)
		l.st.apply(l.sections(es))
	}
	l.st.apply(fromEnv(in.Env))
	es, ps := fromOverrides(in.Overrides)
	l.problems = append(l.problems, ps...)
	l.st.apply(es)

	var s Settings
	l.bind(schema[0], reflect.ValueOf(&s.Kafka).Elem())
	l.bind(schema[1], reflect.ValueOf(&s.Service).Elem())
	s.Service = s.Service.withDefaults()
	l.validate(s)
	if len(l.problems) > 0 {
		slices.SortStableFunc(l.problems, func(a, b Problem) int { return strings.Compare(a.Key, b.Key) })
		return s, l.warnings, &Error{Problems: l.problems}
	}
	return s, l.warnings, nil
}

func fileError(err error) string {
	if errors.Is(err, os.ErrNotExist) {
		return "cannot be read: no such file (pass --config with the path of appsettings.json)"
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		return "cannot be read: " + pe.Err.Error()
	}
	return "cannot be read: " + err.Error()
}

// loader accumulates what Load finds, so that it reports everything at once.
type loader struct {
	st       *store
	problems []Problem
	warnings []Warning
	// bad holds the lower-case paths that failed to convert, whose
	// validation problems would be about a value the user did not give.
	bad map[string]bool
}

// sections keeps the file's entries under known sections. A top-level name
// a typo away from a section is worth a warning; any other is another
// program's section, as in any shared appsettings.json.
func (l *loader) sections(es []entry) []entry {
	var out []entry
	warned := map[string]bool{}
	for _, e := range es {
		sec, rest, nested := strings.Cut(e.path, ":")
		s := sectionNamed(sec)
		switch {
		case s == nil:
			if sug := suggest(sec, sectionNames()); sug != "" && !warned[sec] {
				warned[sec] = true
				l.warnings = append(l.warnings, Warning{Key: sec, Source: e.source, Suggestion: sug, section: true})
			}
		case !nested && !e.empty:
			l.problems = append(l.problems, Problem{Key: sec, Source: e.source,
				Msg: "must be an object of settings, such as {\"MaxProcCount\": 50}"})
		case nested && rest != "":
			out = append(out, e)
		}
	}
	return out
}

// bind sets the fields of v, a value of sec's struct type, from the store.
func (l *loader) bind(sec *section, v reflect.Value) {
	names := make([]string, 0, len(l.st.settings))
	for name := range l.st.settings {
		if strings.HasPrefix(name, strings.ToLower(sec.name)+":") {
			names = append(names, name)
		}
	}
	slices.Sort(names) // messages in a stable order
	for _, name := range names {
		es := l.st.settings[name]
		_, key, _ := strings.Cut(es[0].path, ":")
		key, _, _ = strings.Cut(key, ":")
		f, ok := sec.byKey[strings.ToLower(key)]
		if !ok {
			l.warnings = append(l.warnings, Warning{Key: sec.name + ":" + key, Source: es[0].source,
				Suggestion: suggest(key, sec.keys())})
			continue
		}
		l.bindField(sec.name+":"+f.key, f, v.Field(f.index), es)
	}
}

func (l *loader) bindField(path string, f field, v reflect.Value, es []entry) {
	fail := func(e entry, msg string) {
		l.problems = append(l.problems, newProblem(path, e.value, e.source, msg))
		if l.bad == nil {
			l.bad = map[string]bool{}
		}
		l.bad[strings.ToLower(path)] = true
	}
	if f.kind == kindList {
		list, err := listOf(es)
		if err != nil {
			fail(es[0], err.Error())
			return
		}
		v.Set(reflect.ValueOf(list))
		return
	}
	e := es[0]
	if len(es) > 1 || settingRest(e.path) != "" {
		fail(entry{source: e.source}, "must be a single value, not an object or a list")
		return
	}
	if e.empty || e.value == "" {
		v.SetZero() // unset: the default applies
		return
	}
	switch f.kind {
	case kindString:
		v.SetString(e.value)
	case kindEnum:
		v.SetString(strings.ToLower(strings.TrimSpace(e.value)))
	case kindInt:
		n, err := parseInt(e.value)
		if err != nil {
			fail(e, err.Error())
			return
		}
		v.SetInt(int64(n))
	case kindFloat:
		x, err := parseFloat(e.value)
		if err != nil {
			fail(e, err.Error())
			return
		}
		v.SetFloat(x)
	case kindBool:
		b, err := parseBool(e.value)
		if err != nil {
			fail(e, err.Error())
			return
		}
		v.SetBool(b)
	case kindDuration:
		d, err := parseDuration(e.value)
		if err != nil {
			fail(e, err.Error())
			return
		}
		v.SetInt(int64(d))
	}
}

func settingRest(path string) string {
	_, rest := settingOf(path)
	return rest
}

// listOf reads a list setting: a comma-separated value, indexed entries
// (Topics:0, Topics:1) in index order, or both.
func listOf(es []entry) ([]string, error) {
	type item struct {
		i int
		v string
	}
	var scalar []string
	var items []item
	for _, e := range es {
		rest := settingRest(e.path)
		if rest == "" {
			scalar = append(scalar, splitList(e.value)...)
			continue
		}
		i, err := strconv.Atoi(rest)
		if err != nil || i < 0 {
			return nil, fmt.Errorf("must be a list of names (an array or a comma-separated string); %q is not an index", rest)
		}
		if !e.empty {
			items = append(items, item{i, strings.TrimSpace(e.value)})
		}
	}
	slices.SortFunc(items, func(a, b item) int { return a.i - b.i })
	for _, it := range items {
		if it.v != "" {
			scalar = append(scalar, it.v)
		}
	}
	return scalar, nil
}

// validate adds the library's and the service's own checks, each problem
// under its full key and with the source of its value.
func (l *loader) validate(s Settings) {
	var ps []Problem
	var ce *kafkaworker.ConfigError
	if err := s.Kafka.Validate(); errors.As(err, &ce) {
		for _, fe := range ce.Problems {
			ps = append(ps, newProblem(KafkaSection+":"+fe.Key, fe.Value, "", fe.Msg))
		}
	} else if err != nil {
		ps = append(ps, Problem{Key: KafkaSection, Msg: err.Error()})
	}
	ps = append(ps, validateService(s.Service)...)
	for _, p := range ps {
		if l.bad[strings.ToLower(p.Key)] {
			continue
		}
		if es, ok := l.st.settings[strings.ToLower(p.Key)]; ok && p.Source == "" {
			p.Source = es[0].source
		}
		l.problems = append(l.problems, p)
	}
}
