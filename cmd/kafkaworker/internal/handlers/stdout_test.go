package handlers

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"

	"github.com/kafkaworker/kafkaworker"
)

func TestStdoutLine(t *testing.T) {
	var buf bytes.Buffer
	if err := NewStdout(&buf).Handle(context.Background(), record()); err != nil {
		t.Fatal(err)
	}
	want := `{"topic":"orders","partition":3,"offset":42,"timestamp":"2025-01-02T03:04:05Z","key":"order-1","value":"{\"id\":1}",` +
		`"headers":[{"key":"trace-id","value":"abc"},{"key":"my key","value":"/wA=","encoding":"base64"},{"key":"trace-id","value":"def"}]}` + "\n"
	if buf.String() != want {
		t.Errorf("line\n%s\nwant\n%s", buf.String(), want)
	}
}

func TestStdoutBinaryAndNil(t *testing.T) {
	var buf bytes.Buffer
	r := &kafkaworker.Record{Topic: "t", Offset: 1, Value: []byte{0xff, 0xfe}}
	if err := NewStdout(&buf).Handle(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	want := `{"topic":"t","partition":0,"offset":1,"key":null,"value":"//4=","value_encoding":"base64"}` + "\n"
	if buf.String() != want {
		t.Errorf("line\n%s\nwant\n%s", buf.String(), want)
	}
}

// TestStdoutConcurrentLinesIntact writes from many goroutines and checks
// every line parses: writes are serialised.
func TestStdoutConcurrentLinesIntact(t *testing.T) {
	const writers, each = 8, 200
	var buf bytes.Buffer
	h := NewStdout(&buf)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				r := &kafkaworker.Record{Topic: "t", Partition: int32(w), Offset: int64(i), Value: bytes.Repeat([]byte("v"), 1000)}
				if err := h.Handle(context.Background(), r); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	sc := bufio.NewScanner(&buf)
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		var l line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %d: %v", n, err)
		}
		n++
	}
	if n != writers*each {
		t.Errorf("%d lines, want %d", n, writers*each)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestStdoutWriteError(t *testing.T) {
	if err := NewStdout(failWriter{}).Handle(context.Background(), record()); err == nil {
		t.Error("write error not returned")
	}
}
