package wsconn_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/f7d52a8e/multiserver/internal/wsconn"
	"go.uber.org/goleak"
	"golang.org/x/net/nettest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// server serves WebSocket upgrades on loopback and hands each one, as a
// wsconn.Conn, to accepted. It stops when the test ends.
func server(t testing.TB, limit int64) (url string, accepted chan *wsconn.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted = make(chan *wsconn.Conn, 1)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := &wsconn.Hijacker{ResponseWriter: w}
		ws, err := websocket.Accept(h, r, nil)
		if err != nil {
			return
		}
		accepted <- wsconn.New(ws, h.Socket(), limit, h.Socket().LocalAddr(), h.Socket().RemoteAddr())
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "ws://" + ln.Addr().String(), accepted
}

// dial dials url with a Socket under the WebSocket.
func dial(t testing.TB, url string, limit int64) *wsconn.Conn {
	return dialVia(t, url, limit, func(c net.Conn) net.Conn { return c })
}

// dialVia is dial with wrap(TCP conn) under the Socket.
func dialVia(t testing.TB, url string, limit int64, wrap func(net.Conn) net.Conn) *wsconn.Conn {
	t.Helper()
	var sock *wsconn.Socket
	tr := &http.Transport{DisableKeepAlives: true, DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		sock = wsconn.NewSocket(wrap(c))
		return sock, nil
	}}
	ws, _, err := websocket.Dial(context.Background(), url, &websocket.DialOptions{HTTPClient: &http.Client{Transport: tr}})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	return wsconn.New(ws, sock, limit, sock.LocalAddr(), sock.RemoteAddr())
}

// pair returns both ends of a new WebSocket, closed when the test ends.
func pair(t testing.TB) (client, server_ *wsconn.Conn) {
	t.Helper()
	url, accepted := server(t, 1<<20)
	client = dial(t, url, 1<<20)
	server_ = <-accepted
	t.Cleanup(func() { client.Close(); server_.Close() })
	return client, server_
}

func TestConn(t *testing.T) {
	nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
		c, s := pair(t)
		return c, s, func() { c.Close(); s.Close() }, nil
	})
}

// TestDeadlines times a Read and a Write out again and again and checks
// that the conn still carries data after each: a deadline fails calls,
// never the WebSocket.
func TestDeadlines(t *testing.T) {
	c, s := pair(t)
	for i := range 3 {
		c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		n, err := c.Read(make([]byte, 10))
		if n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("round %d: Read past its deadline = %d, %v; want 0, os.ErrDeadlineExceeded", i, n, err)
		}
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("round %d: Read's %v is not a timeout", i, err)
		}
		go s.Write([]byte("ping"))
		time.Sleep(20 * time.Millisecond)
		if n, err := c.Read(make([]byte, 10)); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("round %d: Read past its deadline with data waiting = %d, %v; want 0, os.ErrDeadlineExceeded", i, n, err)
		}
		c.SetReadDeadline(time.Time{})
		buf := make([]byte, 4)
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
			t.Fatalf("round %d: read %q, %v after a timeout", i, buf, err)
		}
	}
	// The server does not read: a Write fills the buffers and times out,
	// a message cut short included; the server then reads all that was
	// reported written, and nothing more.
	var sent int
	c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	chunk := bytes.Repeat([]byte{1}, 1<<20)
	for {
		n, err := c.Write(chunk)
		sent += n
		if err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("Write = %v, want os.ErrDeadlineExceeded", err)
			}
			break
		}
	}
	// The server reads while the Write below waits for room: the rest
	// of the message cut short goes out first, and the buffers are full.
	got := make([]byte, sent+1)
	s.SetReadDeadline(time.Now().Add(10 * time.Second))
	read := make(chan error, 1)
	go func() { _, err := io.ReadFull(s, got); read <- err }()
	c.SetWriteDeadline(time.Time{})
	if _, err := c.Write([]byte{2}); err != nil {
		t.Fatalf("Write after a timeout: %v", err)
	}
	if err := <-read; err != nil {
		t.Fatalf("reading the %d bytes written: %v", sent+1, err)
	}
	if !bytes.Equal(got[:sent], bytes.Repeat([]byte{1}, sent)) || got[sent] != 2 {
		t.Fatal("the bytes read differ from those written")
	}
}

// TestEnd: Close sends a close frame after all written data, which the
// peer reads as io.EOF; a TCP end without one reads as io.EOF too; Close
// unblocks a Read.
func TestEnd(t *testing.T) {
	t.Run("close frame", func(t *testing.T) {
		c, s := pair(t)
		want := bytes.Repeat([]byte("0123456789abcdef"), 20000)
		go func() { c.Write(want); c.Close() }()
		got, err := io.ReadAll(s)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("read %d bytes, %v; want %d bytes, nil", len(got), err, len(want))
		}
	})
	t.Run("TCP end", func(t *testing.T) {
		url, accepted := server(t, 1<<20)
		ws, _, err := websocket.Dial(context.Background(), url, nil)
		if err != nil {
			t.Fatal(err)
		}
		s := <-accepted
		defer s.Close()
		ws.Write(context.Background(), websocket.MessageBinary, []byte("x"))
		ws.CloseNow() // no close frame
		got, err := io.ReadAll(s)
		if err != nil || string(got) != "x" {
			t.Fatalf("read %q, %v; want \"x\", nil", got, err)
		}
	})
	t.Run("Close unblocks Write", func(t *testing.T) {
		c, _ := pair(t) // the server never reads
		time.AfterFunc(100*time.Millisecond, func() { c.Close() })
		buf := make([]byte, 1<<20)
		var err error
		for err == nil {
			_, err = c.Write(buf)
		}
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Write during Close = %v, want net.ErrClosed", err)
		}
	})
	t.Run("Close after a write timeout", func(t *testing.T) {
		c, s := pair(t)
		c.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
		sent := 0
		for {
			n, err := c.Write(make([]byte, 1<<20))
			sent += n
			if err != nil {
				break
			}
		}
		c.Close() // the rest of a message cut short, then the close frame
		got, err := io.Copy(io.Discard, s)
		if err != nil || got != int64(sent) {
			t.Fatalf("read %d bytes, %v; want %d bytes, nil", got, err, sent)
		}
	})
	t.Run("Close unblocks Read", func(t *testing.T) {
		c, _ := pair(t)
		time.AfterFunc(50*time.Millisecond, func() { c.Close() })
		if _, err := c.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Read during Close = %v, want net.ErrClosed", err)
		}
	})
}

// TestRefused: a text message fails the WebSocket with status 1003, one
// over the limit with status 1009.
func TestRefused(t *testing.T) {
	for _, tt := range []struct {
		name string
		typ  websocket.MessageType
		size int
		code websocket.StatusCode
	}{
		{"text", websocket.MessageText, 5, websocket.StatusUnsupportedData},
		{"too big", websocket.MessageBinary, 1025, websocket.StatusMessageTooBig},
	} {
		t.Run(tt.name, func(t *testing.T) {
			url, accepted := server(t, 1024)
			ws, _, err := websocket.Dial(context.Background(), url, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer ws.CloseNow()
			s := <-accepted
			defer s.Close()
			closed := make(chan error, 1)
			go func() { _, _, err := ws.Read(context.Background()); closed <- err }()
			ws.Write(context.Background(), tt.typ, make([]byte, tt.size))
			if n, err := io.ReadAll(s); err == nil {
				t.Fatalf("read %d bytes and no error", len(n))
			}
			if err := <-closed; websocket.CloseStatus(err) != tt.code {
				t.Fatalf("the sender read %v, want status %d", err, tt.code)
			}
		})
	}
}

// writeCounter counts the writes to a conn.
type writeCounter struct {
	net.Conn
	writes atomic.Int64
}

func (w *writeCounter) Write(p []byte) (int, error) {
	w.writes.Add(1)
	return w.Conn.Write(p)
}

// TestOneWritePerMessage: a client's message, which coder/websocket masks
// and writes in 4 KiB pieces, reaches the TCP conn in one write, so the
// kernel sends full segments without TCP_CORK; and so do two messages
// that fit in the queue together, as a noise transform's 64 KiB Write
// (two frames, 64 KiB and 36 bytes over) makes.
func TestOneWritePerMessage(t *testing.T) {
	url, accepted := server(t, 1<<20)
	var counter *writeCounter
	c := dialVia(t, url, 1<<20, func(c net.Conn) net.Conn { counter = &writeCounter{Conn: c}; return counter })
	s := <-accepted
	t.Cleanup(func() { c.Close(); s.Close() })
	go io.Copy(io.Discard, s)
	for _, tt := range []struct {
		size   int
		writes int64
	}{
		{3 * wsconn.MaxMessage, 3},
		{wsconn.MaxMessage + 36, 1},
		{2*wsconn.MaxMessage + 36, 2},
		{100, 1},
	} {
		before := counter.writes.Load()
		if _, err := c.Write(make([]byte, tt.size)); err != nil {
			t.Fatal(err)
		}
		if got := counter.writes.Load() - before; got != tt.writes {
			t.Errorf("a Write of %d bytes made %d writes to the TCP conn, want %d", tt.size, got, tt.writes)
		}
	}
}
