package httpproxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/f7d52a8e/multiserver/internal/dialtrace"
)

// A Dialer opens the connection to the proxy. *net.Dialer is one.
type Dialer interface {
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)
}

// ProxyError is the error of a [Dial] that reached no tunnel: the proxy
// could not be reached, or it answered CONNECT with a status other than
// 2xx (then Status and StatusCode are set and Err is nil).
type ProxyError struct {
	Proxy      string // the proxy's host:port, without credentials
	Addr       string // the host:port asked for
	Status     string // the proxy's status line, e.g. "403 Access violation"
	StatusCode int    // e.g. 403, 407
	Err        error  // the cause, if the proxy gave no status
}

func (e *ProxyError) Error() string {
	if e.Err == nil {
		return "httpproxy: proxy " + e.Proxy + " refused CONNECT to " + e.Addr + ": " + e.Status
	}
	return "httpproxy: proxy " + e.Proxy + ": CONNECT to " + e.Addr + ": " + e.Err.Error()
}

// Unwrap returns e.Err.
func (e *ProxyError) Unwrap() error { return e.Err }

const (
	// exchangeTimeout bounds the CONNECT exchange when ctx has no
	// deadline, so that a proxy that accepts and never answers cannot
	// hold a dial forever.
	exchangeTimeout = 30 * time.Second
	// maxResponseHeader bounds the proxy's response headers.
	maxResponseHeader = 64 << 10
)

// rootCAs verifies https:// proxies; nil means the system's roots. Tests
// set it.
var rootCAs *x509.CertPool

// Dial connects to addr (host:port) through the proxy at proxyURL with an
// HTTP CONNECT request for exactly addr, port included. If proxyURL has a
// user, Dial sends its name and password as Proxy-Authorization Basic. d
// dials the proxy; if nil, a zero net.Dialer.
//
// ctx bounds reaching the proxy and the CONNECT exchange, which without a
// ctx deadline gets 30s; once Dial returns, ctx no longer matters to the
// connection. Response headers over 64 KiB are refused. Bytes the proxy relays
// right after its response are kept for the first reads of the conn.
// Errors are *[ProxyError], except for an unusable proxyURL.
func Dial(ctx context.Context, d Dialer, proxyURL *url.URL, addr string) (net.Conn, error) {
	proxy, err := proxyAddr(proxyURL)
	if err != nil {
		return nil, err
	}
	if d == nil {
		d = &net.Dialer{}
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, exchangeTimeout)
		defer cancel()
	}
	fail := func(err error) error {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return &ProxyError{Proxy: proxy, Addr: addr, Err: err}
	}
	c, err := dialtrace.Dial(ctx, d, "tcp", proxy)
	if err != nil {
		return nil, fail(err)
	}
	if proxyURL.Scheme == "https" {
		done := dialtrace.Start(ctx, "tls", proxy)
		tc := tls.Client(c, &tls.Config{ServerName: proxyURL.Hostname(), RootCAs: rootCAs})
		err := tc.HandshakeContext(ctx)
		done("", err)
		if err != nil {
			c.Close()
			return nil, fail(err)
		}
		c = tc
	}
	done := dialtrace.Start(ctx, "proxy", "CONNECT "+addr+" via "+proxy)
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	resp, br, err := connect(c, proxyURL, addr)
	if !stop() || err != nil {
		c.Close()
		if err == nil {
			err = ctx.Err()
		}
		err = fail(err)
		done("", err)
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		c.Close()
		err := &ProxyError{Proxy: proxy, Addr: addr, Status: resp.Status, StatusCode: resp.StatusCode}
		done("", err)
		return nil, err
	}
	done(resp.Status, nil)
	if n := br.Buffered(); n > 0 {
		pending, _ := br.Peek(n)
		return &conn{Conn: c, pending: append([]byte(nil), pending...)}, nil
	}
	return c, nil
}

// connect sends CONNECT addr on c and reads the proxy's response headers,
// leaving whatever follows them in the returned reader.
func connect(c net.Conn, proxyURL *url.URL, addr string) (*http.Response, *bufio.Reader, error) {
	req := &http.Request{
		Method: http.MethodConnect,
		URL:    &url.URL{Opaque: addr},
		Host:   addr,
		Header: http.Header{},
	}
	if u := proxyURL.User; u != nil {
		pass, _ := u.Password()
		req.Header.Set("Proxy-Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(u.Username()+":"+pass)))
	}
	if err := req.Write(c); err != nil {
		return nil, nil, err
	}
	// Only the headers are read through the limit; what follows them
	// stays in br for the caller.
	lr := &io.LimitedReader{R: c, N: maxResponseHeader}
	br := bufio.NewReader(lr)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		if lr.N == 0 {
			err = fmt.Errorf("response headers exceed %d bytes", maxResponseHeader)
		}
		return nil, nil, err
	}
	return resp, br, nil
}

// proxyAddr returns the host:port to dial for proxyURL, with the scheme's
// default port if it names none.
func proxyAddr(u *url.URL) (string, error) {
	if u == nil {
		return "", errors.New("httpproxy: no proxy URL")
	}
	port := map[string]string{"http": "80", "https": "443"}[u.Scheme]
	if port == "" {
		return "", fmt.Errorf("httpproxy: unsupported proxy scheme %q in %s (want http or https)", u.Scheme, u.Redacted())
	}
	if u.Hostname() == "" {
		return "", fmt.Errorf("httpproxy: proxy URL %s has no host", u.Redacted())
	}
	if u.Port() != "" {
		port = u.Port()
	}
	return net.JoinHostPort(u.Hostname(), port), nil
}

// conn is a tunnel whose first bytes arrived with the proxy's response.
type conn struct {
	net.Conn
	mu      sync.Mutex
	pending []byte
}

func (c *conn) Read(p []byte) (int, error) {
	c.mu.Lock()
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		c.mu.Unlock()
		return n, nil
	}
	c.mu.Unlock()
	return c.Conn.Read(p)
}

// NetConn returns the connection to the proxy.
func (c *conn) NetConn() net.Conn { return c.Conn }
