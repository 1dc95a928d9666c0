package ws

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"

	"github.com/coder/websocket"
	"github.com/f7d52a8e/multiserver"
)

const (
	// DefaultReadLimit is the largest message accepted when
	// [Plug.ReadLimit] is zero: 1 MiB.
	DefaultReadLimit = 1 << 20
	// maxMessage is the largest message a conn sends: 64 KiB.
	maxMessage = 64 << 10
)

// Plug is the "ws" or "wss" plug. Its zero value is a ready "ws" plug.
// A Plug must not be copied after first use.
type Plug struct {
	// Scheme is "ws" or "wss", the name the plug serves. If empty, "ws".
	Scheme string
	// TLSConfig configures TLS. A wss listener requires it, with
	// certificates. A wss dialer with nil uses the system roots; see the
	// package doc to pin a certificate. Dial ignores it when HTTPClient
	// is set.
	TLSConfig *tls.Config
	// ReadLimit is the largest message, in bytes, that a conn accepts. If
	// zero, 1 MiB ([DefaultReadLimit]); if negative, no limit.
	ReadLimit int64
	// Proxy returns the HTTP CONNECT proxy to dial addr (host:port)
	// through for a URL of the given scheme ("ws" or "wss"), or nil to
	// dial directly; see [ProxyURL] for a fixed choice. The proxy is asked
	// for addr, port included, for ws and wss alike, and TLS runs inside
	// the tunnel. If Proxy is nil, the environment decides as net/http
	// does: HTTP_PROXY for ws, HTTPS_PROXY for wss, unless NO_PROXY
	// excludes addr, and never for localhost or loopback addresses.
	// Proxy is not used when HTTPClient is set.
	Proxy func(scheme, addr string) (*url.URL, error)
	// HTTPClient dials, if set; its transport then chooses proxies and
	// TLS settings. If nil, the plug uses a transport of its own with
	// TLSConfig and Proxy.
	HTTPClient *http.Client
	// External lists hosts (names or addresses) that peers in
	// ScopePublic use instead of the listener's own, such as a NAT's
	// public address or a reverse proxy's name. If empty, the
	// listener's public addresses are used.
	External []string

	mu        sync.Mutex
	transport *http.Transport
	servers   map[string]*server // shared HTTP servers by host:port
	mounts    map[string]*mount  // URLs served by the user's servers
}

var _ multiserver.Plug = (*Plug)(nil)

// Name returns [Plug.Scheme], "ws" if it is empty.
func (p *Plug) Name() string {
	if p.Scheme == "" {
		return "ws"
	}
	return p.Scheme
}

func (p *Plug) readLimit() int64 {
	switch {
	case p.ReadLimit == 0:
		return DefaultReadLimit
	case p.ReadLimit < 0:
		return -1
	}
	return p.ReadLimit
}

// conn is the user's end of a net.Pipe whose other end two goroutines
// pump to and from a websocket.NetConn. The pipe gives the net.Conn
// deadline semantics that NetConn lacks (there, an expired deadline closes
// the connection).
type conn struct {
	net.Conn
	local, remote net.Addr
	readErr       atomic.Pointer[error] // why the WebSocket stopped, unless a clean close
}

// newConn wraps c. Its lifetime is its own: only Close, the peer or an
// error end it. remote, if not nil, replaces the NetConn's address.
func newConn(c *websocket.Conn, limit int64, remote net.Addr, cork func(on bool)) *conn {
	ws := websocket.NetConn(context.Background(), c, websocket.MessageBinary)
	c.SetReadLimit(limit) // after NetConn, which disables the limit
	user, pipe := net.Pipe()
	if remote == nil {
		remote = ws.RemoteAddr()
	}
	nc := &conn{Conn: user, local: ws.LocalAddr(), remote: remote}
	go func() { // WebSocket to user
		// A TCP end without a close frame reads as io.EOF, as on TCP.
		if err := pump(pipe, ws); err != nil && !errors.Is(err, io.ErrClosedPipe) && !errors.Is(err, io.EOF) && !peerClosed(err) {
			nc.readErr.Store(&err)
		}
		pipe.Close()
	}()
	go func() { // user to WebSocket, a message per read of at most maxMessage
		var dst io.Writer = ws
		if cork != nil {
			dst = corkedWriter{ws, cork}
		}
		pump(dst, pipe)
		ws.Close() // a close frame after all written data
		pipe.Close()
	}()
	return nc
}

// corkedWriter writes each message larger than corkMin with the TCP conn
// corked. A dialer masks what it sends, and coder/websocket masks in its
// 4 KiB write buffer, so a 64 KiB message would otherwise take sixteen
// writes, each pushed through the TCP stack on its own; corked, the
// kernel queues them and sends full segments, and the rest at the end.
type corkedWriter struct {
	w    io.Writer
	cork func(on bool)
}

// corkMin is coder/websocket's write buffer: a message no larger leaves
// in one write anyway.
const corkMin = 4 << 10

func (c corkedWriter) Write(p []byte) (int, error) {
	if len(p) <= corkMin {
		return c.w.Write(p)
	}
	c.cork(true)
	defer c.cork(false)
	return c.w.Write(p)
}

// idleRead is the size of the array each pump waits for data in.
const idleRead = 512

// bufs holds the pumps' buffers of maxMessage bytes, which they take only
// while data flows.
var bufs = sync.Pool{New: func() any { return new([maxMessage]byte) }}

// pump copies src to dst until src ends or either fails, and returns the
// error (nil at the end of src). A pump waits for data in a small array;
// only when a read fills it does it take a buffer from bufs, and it gives
// the buffer back after the first read that does not fill it. So an idle
// conn's two pumps hold 1 KiB between them rather than a buffer each,
// and a bulk transfer still moves up to maxMessage bytes per read. Each
// read is written before the next: a read that fills the array may be all
// the peer has to say until it hears back.
func pump(dst io.Writer, src io.Reader) error {
	var small [idleRead]byte
	for {
		full, err := copyOnce(dst, src, small[:])
		if full && err == nil {
			buf := bufs.Get().(*[maxMessage]byte)
			for full && err == nil {
				full, err = copyOnce(dst, src, buf[:])
			}
			bufs.Put(buf)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// copyOnce reads once from src into buf and writes what it read to dst.
// It reports whether the read filled buf.
func copyOnce(dst io.Writer, src io.Reader, buf []byte) (full bool, err error) {
	n, err := src.Read(buf)
	if n > 0 {
		if _, werr := dst.Write(buf[:n]); werr != nil {
			return false, werr
		}
	}
	return n == len(buf), err
}

// Read reads from the WebSocket; once it has ended, it returns io.EOF for
// a close frame and the error that ended it otherwise.
func (c *conn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err == io.EOF {
		if e := c.readErr.Load(); e != nil {
			err = *e
		}
	}
	return n, err
}

// LocalAddr returns the local TCP address, or for a dialed conn (whose
// socket coder/websocket does not expose) a placeholder.
func (c *conn) LocalAddr() net.Addr { return c.local }

// RemoteAddr returns the peer's address: the dialed URL for a dialed
// conn, the TCP peer for an accepted one.
func (c *conn) RemoteAddr() net.Addr { return c.remote }

// urlAddr is a net.Addr that is a WebSocket URL.
type urlAddr string

func (a urlAddr) Network() string { return "websocket" }
func (a urlAddr) String() string  { return string(a) }

// DialStack is [Plug.Dial]: a WebSocket dial needs only its own segment.
func (p *Plug) DialStack(ctx context.Context, o multiserver.DialOptions) (net.Conn, error) {
	return p.Dial(ctx, o.Addr.Plug())
}
