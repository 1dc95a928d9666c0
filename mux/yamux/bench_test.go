package yamux_test

import (
	"context"
	"io"
	"net"
	"sync"
	"testing"
)

// BenchmarkThroughput moves data one way over TCP loopback: over one
// stream, and over 16 streams at once. Raw TCP is the reference.
func BenchmarkThroughput(b *testing.B) {
	b.Run("tcp", func(b *testing.B) {
		c, s := tcpPair(b)
		defer c.Close()
		defer s.Close()
		pump(b, []net.Conn{c}, []net.Conn{s})
	})
	for _, n := range []int{1, 16} {
		b.Run(map[int]string{1: "1stream", 16: "16streams"}[n], func(b *testing.B) {
			client, server := tcpSessions(b, nil)
			var cs, ss []net.Conn
			for range n {
				c, s := streamPair(b, client, server)
				cs, ss = append(cs, c), append(ss, s)
			}
			pump(b, cs, ss)
		})
	}
}

// pump writes b.N chunks of 64 KiB, spread over the conns in cs, and reads
// them from the matching conns in ss.
func pump(b *testing.B, cs, ss []net.Conn) {
	const chunk = 64 << 10
	buf := make([]byte, chunk)
	var readers sync.WaitGroup
	for _, s := range ss {
		readers.Go(func() {
			io.Copy(io.Discard, s)
			s.Close()
		})
	}
	b.SetBytes(chunk)
	b.ReportAllocs()
	b.ResetTimer()
	var writers sync.WaitGroup
	for i, c := range cs {
		n := b.N / len(cs)
		if i < b.N%len(cs) {
			n++
		}
		writers.Go(func() {
			for range n {
				if _, err := c.Write(buf); err != nil {
					b.Error(err)
					return
				}
			}
			c.Close()
		})
	}
	writers.Wait()
	readers.Wait()
	b.StopTimer()
}

// BenchmarkOpen opens, uses and closes a stream per iteration.
func BenchmarkOpen(b *testing.B) {
	client, server := tcpSessions(b, nil)
	go func() {
		for {
			s, err := server.Accept()
			if err != nil {
				return
			}
			go func() {
				io.Copy(s, s)
				s.Close()
			}()
		}
	}()
	buf := make([]byte, 1)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		c, err := client.Open(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		c.Write(buf)
		if _, err := io.ReadFull(c, buf); err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
}
