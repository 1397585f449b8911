package settings

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// validateService checks the KafkaWorker section, defaults applied.
func validateService(s Service) []Problem {
	var ps []Problem
	bad := func(key, value, msg string) {
		ps = append(ps, newProblem(ServiceSection+":"+key, value, "", msg))
	}
	switch s.Handler {
	case StdoutHandler:
	case HTTPHandler:
		if msg := checkURL(s.HTTPURL); msg != "" {
			bad("HttpUrl", redactURL(s.HTTPURL), msg)
		}
	default:
		bad("Handler", s.Handler, "must be http or stdout")
	}
	if s.HTTPBatch && s.Handler != HTTPHandler {
		bad("HttpBatch", "true", "needs Handler http")
	}
	for key, d := range map[string]time.Duration{
		"HttpTimeout": s.HTTPTimeout, "StallTimeout": s.StallTimeout, "StartupTimeout": s.StartupTimeout,
	} {
		if d < 0 {
			bad(key, d.String(), "must not be negative")
		}
	}
	if s.AdminAddr != AdminOff {
		_, port, err := net.SplitHostPort(s.AdminAddr)
		if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 0 || n > 65535 {
			bad("AdminAddr", s.AdminAddr, `must be host:port, such as 127.0.0.1:8080 or :8080, or "off"`)
		}
	}
	if s.AdminAddr != AdminOff && !s.AdminReadOnly && s.AdminToken == "" && !LoopbackAddr(s.AdminAddr) {
		ps = append(ps, newProblem(ServiceSection+":AdminToken", "", "",
			fmt.Sprintf("is required with AdminAddr %s, which is not loopback: the admin API can pause the consumer (set a token, or KafkaWorker:AdminReadOnly true)", s.AdminAddr)))
	}
	switch s.LogFormat {
	case "text", "json":
	default:
		bad("LogFormat", s.LogFormat, "must be text or json")
	}
	if _, err := ParseLevel(s.LogLevel); err != nil {
		bad("LogLevel", s.LogLevel, err.Error())
	}
	return ps
}

// LoopbackAddr reports whether a host:port listens on loopback only:
// localhost or a loopback IP. An empty host (":8080") listens on every
// interface, and another name may resolve anywhere: neither is loopback.
func LoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func checkURL(raw string) string {
	if raw == "" {
		return "is required with Handler http"
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "must be an absolute http:// or https:// URL"
	}
	return ""
}

// redactURL hides a password in a URL's user information.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if strings.Contains(raw, "@") {
			return redacted // unparseable, and may hold credentials
		}
		return raw
	}
	return u.Redacted()
}

// ParseLevel parses a log level: slog's names (debug, info, warn, error,
// with offsets such as "info+2") or .NET's (Trace, Debug, Information,
// Warning, Error, Critical), so that a Logging:LogLevel value copied from
// the seed works.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "trace":
		return slog.LevelDebug, nil
	case "information":
		return slog.LevelInfo, nil
	case "warning":
		return slog.LevelWarn, nil
	case "critical":
		return slog.LevelError, nil
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("must be debug, info, warn or error")
	}
	return l, nil
}
