package health

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/kafkaworker/kafkaworker"
)

// TestServeHTTP: the status code follows the verdict, and the body is the
// Report, For spelled as a Go duration.
func TestServeHTTP(t *testing.T) {
	busy := []kafkaworker.PartitionStats{{Topic: "orders", Partition: 2, Pending: 1, OldestInFlight: 1500 * time.Millisecond}}
	tests := []struct {
		name  string
		stats kafkaworker.Stats
		code  int
		want  Report
		body  string
	}{
		{"before Run", kafkaworker.Stats{}, http.StatusServiceUnavailable,
			Report{Status: NotInGroup}, `{"status":"not_in_group","partitions":0}`},
		{"running, never joined", kafkaworker.Stats{Running: true}, http.StatusServiceUnavailable,
			Report{Status: NotInGroup}, `{"status":"not_in_group","partitions":0}`},
		{"standby: joined, owns nothing", kafkaworker.Stats{Running: true, Joins: 1}, http.StatusOK,
			Report{Status: Ready}, `{"status":"ready","partitions":0}`},
		{"stalled handler", kafkaworker.Stats{Running: true, Joins: 1, Partitions: busy}, http.StatusServiceUnavailable,
			Report{Status: Stalled, Partitions: 1, Stalled: []Stall{{"orders", 2, ReasonHandler, 1500 * time.Millisecond}}},
			`{"status":"stalled","partitions":1,"stalled":[{"topic":"orders","partition":2,"reason":"handler running too long","for":"1.5s"}]}`},
		{"blocked record listed", kafkaworker.Stats{Running: true, Joins: 1, Partitions: []kafkaworker.PartitionStats{{
			Topic: "orders", Partition: 1, Pending: 1,
			Blocked: []kafkaworker.BlockedRecord{{Offset: 42, Since: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Attempts: 7, Err: errors.New("cannot parse")}},
		}}}, http.StatusOK,
			Report{Status: Ready, Partitions: 1, Blocked: []Blocked{{"orders", 1, 42, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), 7, "cannot parse"}}},
			`{"status":"ready","partitions":1,"blocked":[{"topic":"orders","partition":1,"offset":42,"since":"2026-01-02T03:04:05Z","attempts":7,"error":"cannot parse"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newChecker(func() kafkaworker.Stats { return tt.stats }, time.Now, time.Second)
			w := httptest.NewRecorder()
			c.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/readyz", nil))
			if w.Code != tt.code || w.Header().Get("Content-Type") != "application/json" {
				t.Fatalf("%d %q, want %d application/json", w.Code, w.Header().Get("Content-Type"), tt.code)
			}
			body := w.Body.String()
			if body != tt.body+"\n" {
				t.Fatalf("body %s, want %s", body, tt.body)
			}
			var got Report
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("decoded %+v, want %+v", got, tt.want)
			}
		})
	}
}
