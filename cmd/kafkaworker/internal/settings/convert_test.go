package settings

import (
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{in: "30s", want: 30 * time.Second},
		{in: "1m30s", want: 90 * time.Second},
		{in: "250ms", want: 250 * time.Millisecond},
		{in: "30", want: 30 * time.Second},
		{in: " 1.5 ", want: 1500 * time.Millisecond},
		{in: "0", want: 0},
		{in: "00:00:30", want: 30 * time.Second},
		{in: "00:05", want: 5 * time.Minute}, // hh:mm, as TimeSpan reads it
		{in: "01:02:03", want: time.Hour + 2*time.Minute + 3*time.Second},
		{in: "1.02:03:04", want: 26*time.Hour + 3*time.Minute + 4*time.Second},
		{in: "00:00:00.5", want: 500 * time.Millisecond},
		{in: "00:00:00.0000001", want: 100 * time.Nanosecond}, // one tick
		{in: "-00:00:10", want: -10 * time.Second},
		{in: "24:00:00", wantErr: true},
		{in: "00:60:00", wantErr: true},
		{in: "00:00:60", wantErr: true},
		{in: "00:00:00.12345678", wantErr: true}, // more digits than ticks
		{in: "1e300", wantErr: true},
		{in: "NaN", wantErr: true},
		{in: "99999999999.00:00:00", wantErr: true},
		{in: "", wantErr: true},
		{in: "soon", wantErr: true},
		{in: "30 s", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseDuration(tt.in)
		if (err != nil) != tt.wantErr || (!tt.wantErr && got != tt.want) {
			t.Errorf("parseDuration(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseInt(t *testing.T) {
	tests := []struct {
		in      string
		want    int
		wantErr bool
	}{
		{in: "50", want: 50},
		{in: " -3 ", want: -3},
		{in: "50.0", want: 50},
		{in: "5e1", want: 50},
		{in: "1.5", wantErr: true},
		{in: "abc", wantErr: true},
		{in: "99999999999999999999", wantErr: true},
		{in: "1e300", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseInt(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseInt(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestSuggest(t *testing.T) {
	keys := schema[0].keys()
	tests := []struct{ in, want string }{
		{"MaxProcCnt", "MaxProcCount"},
		{"maxproccount", "MaxProcCount"},
		{"GroupID", "GroupId"},
		{"BootstrapServer", "BootstrapServers"},
		{"Topik", "Topic"},
		{"Frobnicate", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := suggest(tt.in, keys); got != tt.want {
			t.Errorf("suggest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if d := levenshtein("kitten", "sitting"); d != 3 {
		t.Errorf("levenshtein(kitten, sitting) = %d, want 3", d)
	}
}
