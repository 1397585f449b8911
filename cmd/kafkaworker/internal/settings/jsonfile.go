package settings

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/tailscale/hujson"
)

// entry is one flattened setting from one source: a path such as
// "Kafka:Topics:0" and its text.
type entry struct {
	path   string
	value  string
	source string
	// empty marks an empty object or array: present, but with no leaves.
	empty bool
}

// flattenFile turns an appsettings.json (JSON with comments and trailing
// commas, as .NET's reader allows) into entries, as .NET's
// JsonConfigurationFileParser does: objects join keys with ':', arrays use
// indices, null is "". A duplicate key, which .NET refuses because which
// one wins would be a guess, is a problem.
func flattenFile(name string, data []byte) ([]entry, []Problem) {
	// Standardize rewrites comments in place; the caller's bytes are not ours.
	std, err := hujson.Standardize(bytes.Clone(data))
	if err != nil {
		return nil, []Problem{{Source: name, Msg: "is not valid JSON: " + sanitizeSyntax(err)}}
	}
	w := &walker{dec: json.NewDecoder(bytes.NewReader(std)), source: name}
	w.dec.UseNumber()
	if tok, err := w.dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, []Problem{{Source: name, Msg: "must hold a JSON object, such as {\"Kafka\": {…}}"}}
	}
	if err := w.object(""); err != nil {
		// Standardize accepted it, so this is not expected; report it
		// rather than trust half a file.
		return nil, []Problem{{Source: name, Msg: "is not valid JSON: " + err.Error()}}
	}
	return w.entries, w.problems
}

// hujsonLiteral matches the part of a hujson error that quotes the offending
// literal, which may be a secret typed without quotes.
var hujsonLiteral = regexp.MustCompile(`invalid literal: .*`)

// sanitizeSyntax keeps a syntax error's position and kind but not the text
// it quotes, which could be a password.
func sanitizeSyntax(err error) string {
	return hujsonLiteral.ReplaceAllString(err.Error(), "invalid literal (an unquoted or malformed value)")
}

type walker struct {
	dec      *json.Decoder
	source   string
	entries  []entry
	problems []Problem
}

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + ":" + key
}

// object reads an object's members, its '{' already read.
func (w *walker) object(path string) error {
	seen := map[string]bool{}
	n := 0
	for w.dec.More() {
		tok, err := w.dec.Token()
		if err != nil {
			return err
		}
		key, ok := tok.(string)
		if !ok {
			return fmt.Errorf("object key is %T", tok)
		}
		child := join(path, key)
		if lower := strings.ToLower(key); seen[lower] {
			w.problems = append(w.problems, Problem{Key: child, Source: w.source,
				Msg: "is a duplicate key (keys are case-insensitive); remove all but one"})
		} else {
			seen[lower] = true
		}
		if err := w.value(child); err != nil {
			return err
		}
		n++
	}
	if _, err := w.dec.Token(); err != nil { // '}'
		return err
	}
	if n == 0 && path != "" {
		w.entries = append(w.entries, entry{path: path, source: w.source, empty: true})
	}
	return nil
}

func (w *walker) value(path string) error {
	tok, err := w.dec.Token()
	if err != nil {
		return err
	}
	switch t := tok.(type) {
	case json.Delim:
		if t == '{' {
			return w.object(path)
		}
		return w.array(path)
	case string:
		w.add(path, t)
	case json.Number:
		w.add(path, t.String())
	case bool:
		w.add(path, strconv.FormatBool(t))
	case nil:
		w.add(path, "")
	default:
		return errors.New("unexpected JSON token")
	}
	return nil
}

func (w *walker) array(path string) error {
	i := 0
	for w.dec.More() {
		if err := w.value(join(path, strconv.Itoa(i))); err != nil {
			return err
		}
		i++
	}
	if _, err := w.dec.Token(); err != nil { // ']'
		return err
	}
	if i == 0 {
		w.entries = append(w.entries, entry{path: path, source: w.source, empty: true})
	}
	return nil
}

func (w *walker) add(path, value string) {
	w.entries = append(w.entries, entry{path: path, value: value, source: w.source})
}
