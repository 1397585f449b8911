package admin

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// /api/status is gzipped for a client that accepts it once it is large (a
// page with many partitions polls it each second), and plain otherwise.
func TestStatusIsGzippedWhenAcceptedAndLarge(t *testing.T) {
	seeds, _ := newCluster(t, 1, 0)
	c := newConsumer(t, seeds, noop) // not run: the status needs no group
	big, _ := json.Marshal(map[string]any{"Kafka": map[string]any{"Padding": strings.Repeat("x", 2*gzipAbove)}})
	base, _ := startServerWith(t, c, Options{Addr: "127.0.0.1:0", StallTimeout: time.Minute, Config: big})
	small, _ := startServerWith(t, c, Options{Addr: "127.0.0.1:0", StallTimeout: time.Minute})
	// A transport that leaves the encoding to the test.
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableCompression: true}}
	t.Cleanup(client.CloseIdleConnections)
	fetch := func(url, accept string) (string, statusJSON) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, url+"/api/status", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept-Encoding", accept)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body io.Reader = resp.Body
		enc := resp.Header.Get("Content-Encoding")
		if enc == "gzip" {
			zr, err := gzip.NewReader(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			body = zr
		}
		var st statusJSON
		if err := json.NewDecoder(body).Decode(&st); err != nil {
			t.Fatalf("Accept-Encoding %q, Content-Encoding %q: %v", accept, enc, err)
		}
		return enc, st
	}
	for _, tt := range []struct {
		url, accept, want string
	}{
		{base, "gzip, deflate, br, zstd", "gzip"},
		{base, "br;q=1.0, GZIP;q=0.5", "gzip"},
		{base, "", ""},
		{base, "identity", ""},
		{base, "gzip;q=0", ""},
		{base, "gzip; q=0.000", ""},
		{small, "gzip", ""},
	} {
		enc, st := fetch(tt.url, tt.accept)
		if enc != tt.want {
			t.Errorf("Accept-Encoding %q on %s: Content-Encoding %q, want %q", tt.accept, tt.url, enc, tt.want)
		}
		if tt.url == base && !strings.Contains(string(st.Config), "xxxx") {
			t.Errorf("Accept-Encoding %q: the configuration did not come through", tt.accept)
		}
	}
}

// A run-time change lands in the configuration shown, every other member in
// its place: replaced, appended to its section, or in a new section.
func TestWithSetting(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`{"Kafka":{"A":1,"MaxRecordsPerSecond":0,"B":"x"},"KafkaWorker":{}}`, `{"Kafka":{"A":1,"MaxRecordsPerSecond":0.5,"B":"x"},"KafkaWorker":{}}`},
		{`{"Kafka":{"A":1}, "KafkaWorker": {"C": [1, 2]}}`, `{"Kafka":{"A":1,"MaxRecordsPerSecond":0.5},"KafkaWorker":{"C": [1, 2]}}`},
		{`{}`, `{"Kafka":{"MaxRecordsPerSecond":0.5}}`},
	} {
		got, err := withSetting(json.RawMessage(tt.in), "Kafka", "MaxRecordsPerSecond", 0.5)
		if err != nil || string(got) != tt.want {
			t.Errorf("withSetting(%s) = %s, %v; want %s", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{`[]`, `{"Kafka":[]}`, `{"Kafka":{"A":}}`} {
		if got, err := withSetting(json.RawMessage(bad), "Kafka", "MaxRecordsPerSecond", 0.5); err == nil {
			t.Errorf("withSetting(%s) = %s, want an error", bad, got)
		}
	}
}
