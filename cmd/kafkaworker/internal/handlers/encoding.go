package handlers

import (
	"encoding/base64"
	"strings"
	"unicode/utf8"
)

// Encodings named next to an encoded key or value.
const (
	utf8Enc   = "utf-8"
	base64Enc = "base64"
)

// encode returns b as text when ok(b), and as base64 otherwise, with the
// name of the encoding used.
func encode(b []byte, ok func([]byte) bool) (string, string) {
	if ok(b) {
		return string(b), utf8Enc
	}
	return base64.StdEncoding.EncodeToString(b), base64Enc
}

// printable reports whether b can travel as an HTTP header value unchanged:
// valid UTF-8, without control characters (which the transport refuses,
// CR and LF above all), and without the leading or trailing blanks that
// HTTP parsers trim.
func printable(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, c := range b {
		if c < 0x20 || c == 0x7f {
			return false
		}
	}
	return len(b) == 0 || (b[0] != ' ' && b[len(b)-1] != ' ')
}

// headerName makes a Kafka header name usable in an HTTP header name,
// percent-encoding each byte that is not an RFC 9110 token character ('%'
// included, so that the encoding can be undone).
func headerName(name string) string {
	var b strings.Builder
	for i := range len(name) {
		c := name[i]
		if isTokenChar(c) && c != '%' {
			b.WriteByte(c)
			continue
		}
		const hex = "0123456789ABCDEF"
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0xf])
	}
	return b.String()
}

func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
