package resume

import (
	"io"
	"net"
	"runtime"
	"testing"
	"time"
)

// benchStream streams 32 KiB writes from c to s, as io.Copy would.
func benchStream(b *testing.B, c, s net.Conn) {
	p := make([]byte, 32<<10)
	done := make(chan struct{})
	go func() {
		defer close(done)
		io.Copy(io.Discard, s)
	}()
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Write(p); err != nil {
			b.Fatal(err)
		}
	}
	c.(interface{ CloseWrite() error }).CloseWrite()
	<-done
}

// BenchmarkTCP is the bare loopback TCP conn, to compare with
// BenchmarkConnTCP.
func BenchmarkTCP(b *testing.B) {
	x, y, err := tcpPair()
	if err != nil {
		b.Fatal(err)
	}
	defer x.Close()
	defer y.Close()
	benchStream(b, x, y)
}

// BenchmarkConnTCP is a Conn over a loopback TCP carrier.
func BenchmarkConnTCP(b *testing.B) {
	x, y, err := tcpPair()
	if err != nil {
		b.Fatal(err)
	}
	c, s := New(x, nil), New(y, nil)
	defer c.Close()
	defer s.Close()
	benchStream(b, c, s)
}

// BenchmarkIdleConn reports the heap and stack that an idle Conn holds
// after a resumed exchange, its carrier's share (a net.Pipe end)
// included.
func BenchmarkIdleConn(b *testing.B) {
	const n = 1000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	conns := make([]*Conn, 0, 2*n)
	for range n {
		x, y := net.Pipe()
		c, s := New(x, nil), New(y, nil)
		c.Write([]byte("hello"))
		io.ReadFull(s, make([]byte, 5))
		conns = append(conns, c, s)
	}
	time.Sleep(100 * time.Millisecond) // for the ACKs; the writers end
	runtime.GC()
	runtime.GC() // the pools' chunks too
	runtime.ReadMemStats(&after)
	for b.Loop() {
	}
	b.ReportMetric(float64(after.HeapInuse-before.HeapInuse)/(2*n), "heap-B/conn")
	b.ReportMetric(float64(after.StackInuse-before.StackInuse)/(2*n), "stack-B/conn")
	b.ReportMetric(float64(runtime.NumGoroutine())/(2*n), "goroutines/conn")
	for _, c := range conns {
		c.Close()
	}
}
