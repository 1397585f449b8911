package settings

import (
	"errors"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Every source yields text, as in ASP.NET Core's configuration; these turn
// it into the field's type. Their errors are the message after the key and
// value, so they never repeat the value.

func parseInt(s string) (int, error) {
	s = strings.TrimSpace(s)
	n, err := strconv.Atoi(s)
	if err == nil {
		return n, nil
	}
	var ne *strconv.NumError
	if errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange) {
		return 0, errors.New("is out of range")
	}
	if f, ferr := strconv.ParseFloat(s, 64); ferr == nil && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return int(f), nil // 50.0 or 5e1: a whole number written as JSON may write it
	}
	return 0, errors.New("must be a whole number")
}

// parseFloat reads a number such as 0.5, 5000 or 5e3; NaN and the
// infinities, which strconv accepts, are no setting's value.
func parseFloat(s string) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, errors.New("must be a number")
	}
	return f, nil
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, errors.New("must be true or false")
}

// timeSpan matches .NET's TimeSpan "c" format and its common relatives:
// [-][d.]hh:mm[:ss[.fffffff]].
var timeSpan = regexp.MustCompile(`^(-)?(?:(\d+)\.)?(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,7}))?)?$`)

const durationForms = `must be a duration: a Go duration ("30s", "1m30s"), a TimeSpan ("00:00:30") or a number of seconds (30)`

// parseDuration accepts a Go duration ("30s"), a .NET TimeSpan
// ("00:00:30", "1.02:03:04.5") or a number of seconds ("30", "1.5"). A
// bare number means seconds, not days as TimeSpan.Parse would have it,
// because the seed's own settings count in seconds (CommitIntervalSeconds).
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New(durationForms)
	}
	if m := timeSpan.FindStringSubmatch(s); m != nil {
		return fromTimeSpan(m)
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > math.MaxInt64/float64(time.Second) {
			return 0, errors.New("is out of range")
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, errors.New(durationForms)
	}
	return d, nil
}

func fromTimeSpan(m []string) (time.Duration, error) {
	num := func(s string) int64 {
		n, _ := strconv.ParseInt(s, 10, 64) // digits only, by the regexp; "" is 0
		return n
	}
	days, hours, mins, secs := num(m[2]), num(m[3]), num(m[4]), num(m[5])
	if hours > 23 || mins > 59 || secs > 59 {
		return 0, errors.New("is not a valid TimeSpan: hours must be below 24, minutes and seconds below 60")
	}
	if days > math.MaxInt64/int64(24*time.Hour)-1 {
		return 0, errors.New("is out of range")
	}
	frac := m[6] + strings.Repeat("0", 9-len(m[6])) // to nanoseconds
	d := time.Duration(days)*24*time.Hour + time.Duration(hours)*time.Hour +
		time.Duration(mins)*time.Minute + time.Duration(secs)*time.Second + time.Duration(num(frac))
	if m[1] == "-" {
		d = -d
	}
	return d, nil
}

// splitList splits a comma-separated list, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
