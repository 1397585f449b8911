package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/kafkaworker/kafkaworker"
)

// HandleBatch makes HTTP a kafkaworker.BatchHandler (the service's
// HttpBatch mode): one POST per batch, Content-Type application/json, the
// records as a JSON array in the stdout handler's format plus "attempt":
//
//	[{"topic":"orders","partition":0,"offset":42,"timestamp":"2025-01-02T03:04:05Z",
//	  "key":"k","value":"{\"id\":1}","headers":[{"key":"trace","value":"abc"}],"attempt":1},
//	 …]
//
// with X-Kafka-Batch-Size: the number of records. A 2xx answer marks every
// record done, unless its body is a JSON object listing the records that
// failed, by index into the array:
//
//	{"failed":[{"index":3,"error":"duplicate key"}]}
//
// Those are then retried alone (a batch of one). Any other answer fails
// the whole batch as Handle's would (Retry-After honoured, 4xx other than
// 408 and 429 permanent); a failed batch is bisected by the consumer to
// isolate the records that fail.
func (h *HTTP) HandleBatch(ctx context.Context, recs []*kafkaworker.Record) error {
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	lines := make([]line, len(recs))
	for i, r := range recs {
		lines[i] = toLine(r)
		lines[i].Attempt = max(r.Attempt, 1)
	}
	body, err := json.Marshal(lines)
	if err != nil {
		return fmt.Errorf("http handler: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("http handler: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Kafka-Batch-Size", strconv.Itoa(len(recs)))
	resp, err := h.client.Do(req)
	if err != nil {
		return fmt.Errorf("http handler: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		snippet, err := drain(resp.Body)
		if err != nil && snippet == "" {
			snippet = "(body unreadable: " + err.Error() + ")"
		}
		return statusError(resp, snippet)
	}
	defer resp.Body.Close()
	return batchResult(io.LimitReader(resp.Body, batchResultLen), len(recs))
}

// batchResultLen bounds the 2xx body read for per-record results.
const batchResultLen = 4 << 20

// batchResult reads a 2xx body: nil unless it lists failed records.
func batchResult(r io.Reader, n int) error {
	var res struct {
		Failed []struct {
			Index int    `json:"index"`
			Error string `json:"error"`
		} `json:"failed"`
	}
	b, err := io.ReadAll(r)
	if err != nil || len(bytes.TrimSpace(b)) == 0 || json.Unmarshal(b, &res) != nil || len(res.Failed) == 0 {
		// The endpoint accepted the batch; a body that says nothing
		// about records (or cannot be read after the status) changes
		// nothing.
		return nil
	}
	be := &kafkaworker.BatchError{Errs: make(map[int]error, len(res.Failed))}
	for _, f := range res.Failed {
		if f.Index < 0 || f.Index >= n {
			return fmt.Errorf("http handler: the endpoint's result names record %d of a batch of %d", f.Index, n)
		}
		be.Errs[f.Index] = errors.New(f.Error)
	}
	return be
}
