package secretstream

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"golang.org/x/net/nettest"
)

func testKeys() (client, server Keys) {
	var a, b [32]byte
	rand.Read(a[:])
	rand.Read(b[:])
	k1, k2 := make([]byte, 32), make([]byte, 32)
	rand.Read(k1)
	rand.Read(k2)
	return Keys{TX: k1, RX: k2, LocalID: a, RemoteID: b}, Keys{TX: k2, RX: k1, LocalID: b, RemoteID: a}
}

func pair(t testing.TB, c, s net.Conn, ck, sk Keys) (*Conn, *Conn, error, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	type res struct {
		c   *Conn
		err error
	}
	ch := make(chan res, 1)
	go func() { sc, err := Handshake(ctx, s, sk); ch <- res{sc, err} }()
	cc, cerr := Handshake(ctx, c, ck)
	r := <-ch
	return cc, r.c, cerr, r.err
}

// connected returns the client's end of a pipe, and the two Conns over
// it after a successful handshake, closed when the test ends.
func connected(t testing.TB) (c net.Conn, cc, sc *Conn) {
	t.Helper()
	c, s := net.Pipe()
	ck, sk := testKeys()
	cc, sc, cerr, serr := pair(t, c, s, ck, sk)
	if err := errors.Join(cerr, serr); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close(); sc.Close() })
	return c, cc, sc
}

func TestConn(t *testing.T) {
	nettest.TestConn(t, func() (net.Conn, net.Conn, func(), error) {
		c, s := net.Pipe()
		ck, sk := testKeys()
		cc, sc, cerr, serr := pair(t, c, s, ck, sk)
		if err := errors.Join(cerr, serr); err != nil {
			return nil, nil, nil, err
		}
		return cc, sc, func() { cc.Close(); sc.Close() }, nil
	})
}

func TestEcho(t *testing.T) {
	c, cc, sc := connected(t)
	data := make([]byte, 300<<10)
	rand.Read(data)
	// keepAlive sends an empty message, as hyperdht peers do every 5 s,
	// straight on the pipe: Write never sends one.
	keepAlive := func() {
		msg := cc.push.p.Seal([]byte{0, 0, 0}, nil, nil, TagMessage)
		putUint24(msg, len(msg)-3)
		c.Write(msg)
	}
	go func() {
		keepAlive()
		cc.Write(data[:10])
		keepAlive()
		keepAlive()
		cc.Write(data[10:])
	}()
	var got []byte
	buf := make([]byte, 70<<10)
	for len(got) < len(data) {
		n, err := sc.Read(buf)
		if n == 0 || err != nil {
			t.Fatalf("Read = %d, %v after %d bytes: keepalives must be dropped", n, err, len(got))
		}
		got = append(got, buf[:n]...)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("echoed data differs")
	}
}

// TestSmallReads reads messages larger than the Read buffer, which the
// frame reader opens in place, where they lie.
func TestSmallReads(t *testing.T) {
	_, cc, sc := connected(t)
	data := make([]byte, 200<<10)
	rand.Read(data)
	go cc.Write(data)
	got := make([]byte, len(data))
	for off := 0; off < len(data); {
		n, err := sc.Read(got[off:min(off+100, len(data))])
		if err != nil {
			t.Fatalf("Read after %d bytes: %v", off, err)
		}
		off += n
	}
	if !bytes.Equal(got, data) {
		for i := range got {
			if got[i] != data[i] {
				t.Fatalf("data read in small pieces differs at byte %d", i)
			}
		}
	}
}

func TestHandshakeRefusals(t *testing.T) {
	t.Run("wrong id", func(t *testing.T) {
		c, s := net.Pipe()
		ck, sk := testKeys()
		sk.RemoteID[0] ^= 1
		cc, sc, _, serr := pair(t, c, s, ck, sk)
		if !errors.Is(serr, ErrWrongID) {
			t.Fatalf("server: %v, want ErrWrongID", serr)
		}
		if cc != nil {
			cc.Close()
		}
		if sc != nil {
			sc.Close()
		}
		c.Close()
		s.Close()
	})
	t.Run("bad header size", func(t *testing.T) {
		c, s := net.Pipe()
		defer c.Close()
		defer s.Close()
		go func() { s.Write([]byte{10, 0, 0}); s.Write(make([]byte, 10)); io.Copy(io.Discard, s) }()
		ck, _ := testKeys()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := Handshake(ctx, c, ck); !errors.Is(err, ErrBadHeader) {
			t.Fatalf("Handshake = %v, want ErrBadHeader", err)
		}
	})
	t.Run("context", func(t *testing.T) {
		c, s := net.Pipe()
		defer c.Close()
		defer s.Close()
		go io.Copy(io.Discard, s)
		ck, _ := testKeys()
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		if _, err := Handshake(ctx, c, ck); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Handshake = %v, want DeadlineExceeded", err)
		}
	})
}

func TestTampered(t *testing.T) {
	c, cc, sc := connected(t)
	msg := cc.push.p.Seal([]byte{0, 0, 0}, []byte("hello"), nil, TagMessage)
	putUint24(msg, len(msg)-3)
	msg[len(msg)-1] ^= 1
	go c.Write(msg)
	if _, err := sc.Read(make([]byte, 10)); !errors.Is(err, ErrAuth) {
		t.Fatalf("Read = %v, want ErrAuth", err)
	}
	if _, err := sc.Read(make([]byte, 10)); !errors.Is(err, ErrAuth) {
		t.Fatalf("Read again = %v, want ErrAuth", err)
	}
}

// FuzzRead feeds a Conn's Read a byte stream built from valid messages,
// mutated: it returns plaintext or an error, never panics, and never
// returns more than the stream carried.
func FuzzRead(f *testing.F) {
	key := bytes.Repeat([]byte{7}, 32)
	header := bytes.Repeat([]byte{9}, HeaderSize)
	push, _ := NewPushHeader(key, header)
	var stream []byte
	for _, m := range [][]byte{[]byte("hello"), nil, bytes.Repeat([]byte("x"), 300)} {
		msg := push.Seal([]byte{0, 0, 0}, m, nil, TagMessage)
		putUint24(msg, len(msg)-3)
		stream = append(stream, msg...)
	}
	// The peer's first message, as Handshake reads it: its stream id
	// and the header, then the stream.
	keys := Keys{TX: key, RX: key, RemoteID: [32]byte{5}}
	first := append([]byte{IDHeaderSize, 0, 0}, keys.RemoteID[:]...)
	first = append(first, header...)
	f.Add(append(append([]byte(nil), first...), stream...))
	f.Add(first[:20])
	f.Add(stream)
	f.Add(stream[:10])
	f.Add([]byte{0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, in []byte) {
		// The stream alone, after a header.
		pull, _ := NewPull(key, header)
		p2, _ := NewPushHeader(key, header)
		rc := &readConn{r: bytes.NewReader(in)}
		c := &Conn{nc: rc}
		c.fc.Init(rc, &format, &sealer{p: p2}, &opener{p: pull})
		got, _ := io.ReadAll(c)
		if len(got) > len(in) {
			t.Fatalf("read %d bytes from %d", len(got), len(in))
		}
		// The header message first, through Handshake.
		hc, err := Handshake(context.Background(), &readConn{r: bytes.NewReader(in)}, keys)
		if err != nil {
			return
		}
		if !bytes.Equal(in[3:35], keys.RemoteID[:]) {
			t.Fatalf("Handshake took stream id %x", in[3:35])
		}
		got, _ = io.ReadAll(hc)
		if len(got) > len(in) {
			t.Fatalf("read %d bytes from %d after the header", len(got), len(in))
		}
	})
}

type readConn struct {
	net.Conn
	r io.Reader
}

func (c *readConn) Read(p []byte) (int, error)    { return c.r.Read(p) }
func (c *readConn) Write(p []byte) (int, error)   { return len(p), nil }
func (c *readConn) SetDeadline(t time.Time) error { return nil }
func (c *readConn) Close() error                  { return nil }
