package offsetmeta_test

import (
	"encoding/base64"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/kafkaworker/kafkaworker/internal/offsetmeta"
)

// TestDecodeForeign checks that metadata written by anyone else, or
// damaged, is ignored.
func TestDecodeForeign(t *testing.T) {
	good := offsetmeta.Encode(100, bitsOf([]int64{2, 3, 40}, 41), 41, offsetmeta.DefaultBudget)
	// The Parallel Consumer writes a magic byte and then its encoding,
	// base64'd (offsets/OffsetSimultaneousEncoder.java): here the v2 magic
	// and a bitset header, as it would put them on the wire.
	pc := base64.StdEncoding.EncodeToString([]byte{'b', 0x02, 0, 0, 0, 10, 0x0c, 0x02})
	tests := []struct{ name, meta string }{
		{"empty", ""},
		{"franz-go member id", "kgo-5f1e4c3a-9b2d-4a8e-bc71-0d6e2f3a4b5c"},
		{"java member id", "consumer-my-group-1-8d5c2a91-3f4e-4b6a-a7c8-9e0f1d2c3b4a"},
		{"parallel consumer", pc},
		{"parallel consumer raw magic", "b\x02\x00\x00\x00\n"},
		{"magic only", offsetmeta.Magic},
		{"magic and form only", offsetmeta.Magic + "R"},
		{"unknown form", offsetmeta.Magic + "X" + good[5:]},
		{"other version", "kw2:" + good[4:]},
		{"padded base64", good + "=="},
		{"standard base64 alphabet", offsetmeta.Magic + "R+/+/"},
		{"not base64", offsetmeta.Magic + "R!!!!"},
		{"truncated", good[:len(good)-2]},
		{"form swapped", offsetmeta.Magic + "B" + good[5:]},
		{"compressed form on raw body", offsetmeta.Magic + "r" + good[5:]},
		{"garbage", "\x00\xff\xfe garbage \n"},
		{"json", `{"owner":"someone","offsets":[1,2,3]}`},
		{"huge", offsetmeta.Magic + "R" + strings.Repeat("A", 3<<20)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d, ok := offsetmeta.Decode(tt.meta, 100); ok || len(d.Runs()) != 0 {
				t.Errorf("Decode(%.40q) = %v, %v; want nothing, false", tt.meta, d.Runs(), ok)
			}
		})
	}
	if !strings.HasPrefix(good, "kw1:R") {
		t.Fatalf("good = %q, want the run-length form", good)
	}
	if d, ok := offsetmeta.Decode(good, 100); !ok || !slices.Equal(offsetsOf(&d), []int64{102, 103, 140}) {
		t.Fatalf("Decode(good) = %v, %v", d.Runs(), ok)
	}
	for _, c := range []int64{99, 101, 0, -1, math.MaxInt64} {
		if _, ok := offsetmeta.Decode(good, c); ok {
			t.Errorf("Decode(good, %d) ok; written for 100", c)
		}
	}
}

// TestDecodeEveryByteFlip flips each bit of valid metadata of every form:
// none may decode to a different set.
func TestDecodeEveryByteFlip(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var metas []string
	for _, pattern := range []func(i int64) bool{
		func(i int64) bool { return i%997 == 0 || i%1009 < 3 }, // runs
		func(i int64) bool { return rng.IntN(3) == 0 },         // bitset
		func(i int64) bool { return i%500 == 0 },               // compressed runs
		func(i int64) bool { return i%2 == 0 || i%1000 < 400 }, // compressed bitset
	} {
		var rel []int64
		for i := int64(1); i < 20000; i++ {
			if pattern(i) {
				rel = append(rel, i)
			}
		}
		m, _ := checkRoundTrip(t, 1<<33, rel, 20000, 300, false)
		metas = append(metas, m)
	}
	forms := map[byte]bool{}
	for _, m := range metas {
		forms[m[4]] = true
		want, _ := offsetmeta.Decode(m, 1<<33)
		for i := 5; i < len(m); i++ {
			for _, c := range []byte("AQgw_-9z") {
				if c == m[i] {
					continue
				}
				flipped := m[:i] + string(c) + m[i+1:]
				if d, ok := offsetmeta.Decode(flipped, 1<<33); ok && !slices.Equal(d.Runs(), want.Runs()) {
					t.Fatalf("%q with byte %d set to %q decoded to another set", m[:8], i, c)
				}
			}
		}
	}
	if len(forms) != 4 {
		t.Errorf("forms exercised: %v, want all four", forms)
	}
}

// TestEncodeForms checks that each form is picked where it is the smallest.
func TestEncodeForms(t *testing.T) {
	var every3, alternate, random, every100 []int64
	rng := rand.New(rand.NewPCG(5, 6))
	for i := int64(1); i < 3000; i++ {
		if i%3 == 0 {
			every3 = append(every3, i)
		}
		if i%2 == 0 {
			alternate = append(alternate, i)
		}
		if rng.IntN(2) == 0 {
			random = append(random, i)
		}
	}
	for i := int64(100); i < 30000; i += 100 {
		every100 = append(every100, i)
	}
	tests := []struct {
		name string
		rel  []int64
		n    int64
		form byte
	}{
		{"few runs", []int64{5, 6, 7, 8, 100, 101}, 200, 'R'},
		{"random half", random, 3000, 'B'},
		{"every third: compressed bitset", every3, 3000, 'b'},
		{"alternate: compressed bitset", alternate, 3000, 'b'},
		{"every 100th: compressed runs", every100, 30000, 'r'},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			meta, _ := checkRoundTrip(t, 7, tt.rel, tt.n, offsetmeta.DefaultBudget, true)
			if meta[4] != tt.form {
				t.Errorf("form %q (%d bytes), want %q", meta[4], len(meta), tt.form)
			}
		})
	}
}

// TestEncodeEdges covers the cases where Encode returns "" or cuts.
func TestEncodeEdges(t *testing.T) {
	if m := offsetmeta.Encode(5, nil, 0, 4096); m != "" {
		t.Errorf("nothing outstanding: %q", m)
	}
	if m := offsetmeta.Encode(5, []uint64{1}, 64, 4096); m != "" {
		t.Errorf("only bit 0 (the commit point) set: %q", m)
	}
	if m := offsetmeta.Encode(-1, []uint64{6}, 64, 4096); m != "" {
		t.Errorf("negative committed: %q", m)
	}
	if m := offsetmeta.Encode(5, []uint64{6}, 64, 10); m != "" {
		t.Errorf("budget 10: %q", m)
	}
	if m := offsetmeta.Encode(5, []uint64{6}, 1000, 4096); m == "" {
		t.Errorf("n beyond the bitset: nothing")
	}
	// Bits at n and above are not claimed.
	meta := offsetmeta.Encode(5, []uint64{0b1110}, 3, 4096)
	if d, ok := offsetmeta.Decode(meta, 5); !ok || !slices.Equal(offsetsOf(&d), []int64{6, 7}) {
		t.Errorf("n=3: %v, %v", d.Runs(), ok)
	}
	// Every budget from nothing to enough: never over, always a prefix.
	var rel []int64
	rng := rand.New(rand.NewPCG(7, 8))
	for i := int64(1); i < 5000; i++ {
		if rng.IntN(4) != 0 {
			rel = append(rel, i)
		}
	}
	prev := 0
	for budget := range 1200 {
		_, kept := checkRoundTrip(t, 1<<40, rel, 5000, budget, false)
		if kept+kept/4 < prev {
			t.Errorf("budget %d keeps %d offsets, budget %d kept %d", budget, kept, budget-1, prev)
		}
		prev = max(prev, kept)
	}
	// A huge range: cut to MaxRange.
	n := int64(offsetmeta.MaxRange + 1000)
	big := []int64{1, offsetmeta.MaxRange - 1, offsetmeta.MaxRange + 5}
	meta = offsetmeta.Encode(0, bitsOf(big, n), n, 4096)
	d, ok := offsetmeta.Decode(meta, 0)
	if !ok || !slices.Equal(offsetsOf(&d), big[:2]) {
		t.Errorf("beyond MaxRange: %v, %v", d.Runs(), ok)
	}
}

// TestFormatExample pins the format: the example in the package comment.
func TestFormatExample(t *testing.T) {
	// Committed 100; 102, 103 and 140 done: N=41, runs P0=2 D0=2 P1=36
	// D1=1 (4 bytes; the bitset would take 6).
	meta := offsetmeta.Encode(100, bitsOf([]int64{2, 3, 40}, 41), 41, 4096)
	body, err := base64.RawURLEncoding.DecodeString(meta[5:])
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte{100, 41, 2, 2, 36, 1}; meta[:5] != "kw1:R" || !slices.Equal(body[:len(body)-4], want) {
		t.Fatalf("meta %q body %v, want kw1:R and %v + CRC", meta, body, want)
	}
	t.Logf("example: %s", meta)
}

func TestDoneSkipContains(t *testing.T) {
	meta := offsetmeta.Encode(10, bitsOf([]int64{2, 3, 4, 10, 64, 65, 200}, 201), 201, 4096)
	d, ok := offsetmeta.Decode(meta, 10)
	if !ok {
		t.Fatal("not ok")
	}
	want := map[int64]bool{12: true, 13: true, 14: true, 20: true, 74: true, 75: true, 210: true}
	if d.Count() != 7 || d.End() != 211 {
		t.Fatalf("Count %d End %d", d.Count(), d.End())
	}
	for off := int64(0); off < 300; off++ {
		if d.Contains(off) != want[off] {
			t.Fatalf("Contains(%d) = %v", off, !want[off])
		}
		if d.Skip(off) != want[off] {
			t.Fatalf("Skip(%d) = %v", off, !want[off])
		}
	}
	// Asking lower again starts over.
	if !d.Skip(13) || d.Skip(15) || !d.Skip(12) {
		t.Fatal("Skip after going back")
	}
	var empty offsetmeta.Done
	if empty.Skip(5) || empty.Contains(5) || empty.End() != 0 || empty.Count() != 0 {
		t.Fatal("zero Done not empty")
	}
}
