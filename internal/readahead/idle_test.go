package readahead

import (
	"io"
	"testing"
	"time"
)

// TestIdleTakesNoPoolBuffer: data that comes in small pieces, read
// slowly, stays in the two small arrays; no pooled buffer is held.
func TestIdleTakesNoPoolBuffer(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	r := New(pr)
	defer r.Stop()
	go pw.Write(make([]byte, 100))
	if n, err := r.Read(make([]byte, 50), nil, nil); n != 50 || err != nil {
		t.Fatalf("Read = %d, %v", n, err)
	}
	go pw.Write(make([]byte, 10))
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		r.mu.Lock()
		n := len(r.chunks)
		var pooled bool
		for _, ch := range r.chunks {
			pooled = pooled || ch.pooled != nil
		}
		r.mu.Unlock()
		if pooled {
			t.Fatal("a pooled buffer holds a small read")
		}
		if n == 2 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d chunks read ahead, want 2", n)
		}
	}
}
