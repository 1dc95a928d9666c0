package httpproxy

import (
	"context"
	"io"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"
)

// pipeDialer hands Dial one end of a pipe whose other end plays a proxy
// that answers with reply, whatever it was asked.
type pipeDialer struct{ reply []byte }

func (d pipeDialer) DialContext(context.Context, string, string) (net.Conn, error) {
	client, proxy := net.Pipe()
	go func() {
		defer proxy.Close()
		proxy.SetDeadline(time.Now().Add(time.Second))
		go io.Copy(io.Discard, proxy) // the CONNECT request
		proxy.Write(d.reply)
	}()
	return client, nil
}

// FuzzConnectResponse feeds arbitrary proxy replies to Dial: it must not
// panic, must fail on anything but a well-formed 2xx response, and must
// keep what follows a 2xx response's headers.
func FuzzConnectResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 Connection established\r\n\r\n",
		"HTTP/1.1 200 OK\r\n\r\nhello",
		"HTTP/1.0 403 Access violation\r\nContent-Length: 3\r\n\r\nno!",
		"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n",
		"HTTP/1.1 200\r\nX: " + strings.Repeat("a", 100) + "\r\n\r\n",
		"garbage\r\n\r\n",
		"",
	} {
		f.Add([]byte(s))
	}
	proxy, _ := url.Parse("http://proxy.test:3128")
	f.Fuzz(func(t *testing.T, reply []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		c, err := Dial(ctx, pipeDialer{reply}, proxy, "example.org:8008")
		if err != nil {
			if _, ok := err.(*ProxyError); !ok {
				t.Fatalf("Dial error %T %v, want *ProxyError", err, err)
			}
			return
		}
		defer c.Close()
		if !strings.HasPrefix(string(reply), "HTTP/") {
			t.Fatalf("Dial accepted a reply that is not HTTP: %q", reply)
		}
	})
}

func TestDialRefusesHugeHeaders(t *testing.T) {
	proxy, _ := url.Parse("http://proxy.test:3128")
	reply := "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", maxResponseHeader) + "\r\n\r\n"
	_, err := Dial(context.Background(), pipeDialer{[]byte(reply)}, proxy, "example.org:8008")
	if err == nil || !strings.Contains(err.Error(), "response headers exceed") {
		t.Fatalf("Dial = %v, want the header limit named", err)
	}
}
