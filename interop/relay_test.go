package interop_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/keys"
	"github.com/f7d52a8e/multiserver/plugs/relay"
	"github.com/f7d52a8e/multiserver/transforms/noise"
)

// startJSRelay runs `node js/relay.js` with args and returns the URL it
// prints. The relay gets SIGTERM when the test ends, and is killed if it
// has not exited 5s later.
func startJSRelay(t *testing.T, args ...string) string {
	t.Helper()
	node := requireNode(t)
	cmd := exec.Command(node, append([]string{"js/relay.js"}, args...)...)
	stderr := new(bytes.Buffer)
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start js/relay.js: %v", err)
	}
	url := make(chan string, 1)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			url <- sc.Text()
		}
		close(url)
		io.Copy(io.Discard, out)
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		exited := make(chan struct{})
		go func() {
			select {
			case <-exited:
			case <-time.After(5 * time.Second):
				t.Errorf("js/relay.js did not exit within 5s of SIGTERM")
				cmd.Process.Kill()
			}
		}()
		<-readDone
		err := cmd.Wait()
		close(exited)
		if err != nil {
			t.Errorf("js/relay.js: %v", err)
		}
		if t.Failed() && stderr.Len() > 0 {
			t.Logf("js/relay.js stderr:\n%s", stderr)
		}
	})
	select {
	case u, ok := <-url:
		if !ok {
			t.Fatalf("js/relay.js exited without printing its URL")
		}
		if !strings.HasPrefix(u, "ws://127.0.0.1:") || !strings.HasSuffix(u, "/relay") {
			t.Fatalf("js/relay.js printed %q, want ws://127.0.0.1:PORT/relay", u)
		}
		return u
	case <-time.After(20 * time.Second):
		t.Fatalf("js/relay.js printed no URL within 20s")
		return ""
	}
}

// relayIdentity returns a fresh identity on appKey.
func relayIdentity(t *testing.T, appKey []byte) *keys.Identity {
	t.Helper()
	id, err := keys.NewIdentity(newPeer(t).priv, appKey)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func ctx10(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func streamID(t *testing.T) relay.StreamID {
	var s relay.StreamID
	copy(s[:], random(t, len(s)))
	return s
}

// registerJS registers labels for id at the relay url until the test
// ends.
func registerJS(t *testing.T, url string, id *keys.Identity, labels ...string) *relay.Registration {
	t.Helper()
	reg, err := (&relay.Client{URL: url, Identity: id}).Register(ctx10(t), labels)
	if err != nil {
		t.Fatalf("Register through js/relay.js: %v", err)
	}
	t.Cleanup(func() { reg.Close() })
	return reg
}

// pairJS connects a new dialer to the listener id registered as reg,
// accepts it, and checks what PAIRED and INCOMING told both sides.
func pairJS(t *testing.T, url string, id *keys.Identity, reg *relay.Registration, label string) (dialed, accepted *relay.Conn) {
	t.Helper()
	ctx := ctx10(t)
	dialer := &relay.Client{URL: url, Identity: relayIdentity(t, keys.OpenNetwork())}
	stream := streamID(t)
	type result struct {
		c   *relay.Conn
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := dialer.Connect(ctx, id.Public(), label, stream)
		done <- result{c, err}
	}()
	var in *relay.Incoming
	select {
	case in = <-reg.Incoming():
	case r := <-done:
		t.Fatalf("Connect returned before INCOMING: %v", r.err)
	case <-ctx.Done():
		t.Fatalf("no INCOMING: %v", ctx.Err())
	}
	if in.Label != label || in.StreamID != stream || !bytes.Equal(in.Key, dialer.Identity.Public()) {
		t.Fatalf("INCOMING = %+v, want label %q, stream %x and the dialer's key", in, label, stream)
	}
	a, err := (&relay.Client{URL: url, Identity: id}).Accept(ctx, in)
	if err != nil {
		<-done
		t.Fatalf("Accept: %v", err)
	}
	r := <-done
	if r.err != nil {
		a.Close()
		t.Fatalf("Connect: %v", r.err)
	}
	t.Cleanup(func() { r.c.Close(); a.Close() })
	if !bytes.Equal(r.c.Peer(), id.Public()) || !bytes.Equal(a.Peer(), dialer.Identity.Public()) {
		t.Fatalf("PAIRED told the wrong keys: dialer saw %x, listener saw %x", r.c.Peer(), a.Peer())
	}
	if a.StreamID() != stream || r.c.StreamID() != stream {
		t.Fatalf("PAIRED told streams %x and %x, want %x", r.c.StreamID(), a.StreamID(), stream)
	}
	return r.c, a
}

// both runs an exchange on a and b at once: each sends data(seed, n) and
// reads n bytes. It fails the test unless each read what the other sent.
func both(t *testing.T, a, b net.Conn, n int) {
	t.Helper()
	type result struct {
		sent, received string
		err            error
	}
	run := func(c net.Conn, seed string, ch chan<- result) {
		out := data(seed, n)
		werr := make(chan error, 1)
		go func() { _, err := c.Write(out); werr <- err }()
		in := make([]byte, n)
		_, err := io.ReadFull(c, in)
		if err != nil {
			c.Close()
		}
		if werr := <-werr; err == nil {
			err = werr
		}
		ch <- result{sum(out), sum(in), err}
	}
	ra, rb := make(chan result, 1), make(chan result, 1)
	a.SetDeadline(time.Now().Add(time.Minute))
	b.SetDeadline(time.Now().Add(time.Minute))
	go run(a, "dialer", ra)
	go run(b, "listener", rb)
	x, y := <-ra, <-rb
	if x.err != nil || y.err != nil {
		t.Fatalf("exchange through js/relay.js: dialer %v, listener %v", x.err, y.err)
	}
	if x.sent != y.received || y.sent != x.received {
		t.Fatalf("bytes changed in js/relay.js: dialer sent %s, listener received %s; listener sent %s, dialer received %s",
			x.sent, y.received, y.sent, x.received)
	}
	a.SetDeadline(time.Time{})
	b.SetDeadline(time.Time{})
}

// TestJSRelayPair: a Go listener and a Go dialer pair through js/relay.js,
// move 1 MiB each way at once, and a clean close reaches the other side
// as the end of the stream.
func TestJSRelayPair(t *testing.T) {
	url := startJSRelay(t)
	id := relayIdentity(t, keys.OpenNetwork())
	reg := registerJS(t, url, id, "noise", "noise~yamux")
	want := relay.Limits{MaxFrame: 4096, HandshakeTimeout: 10 * time.Second, PairingTimeout: 10 * time.Second, PingInterval: 15 * time.Second}
	if reg.Limits() != want {
		t.Errorf("HELLO announced %+v, want the defaults %+v", reg.Limits(), want)
	}
	d, a := pairJS(t, url, id, reg, "noise~yamux")
	both(t, d, a, size)

	// A second pairing on the same registration, the other label.
	d2, a2 := pairJS(t, url, id, reg, "noise")
	both(t, a2, d2, 1000)

	d.Close()
	a.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := a.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("after the dialer's Close, the listener read %d, %v; want io.EOF", n, err)
	}
}

// TestJSRelayNoise runs transforms/noise end to end over a pairing
// through js/relay.js: each side proves its key to the other, which the
// relay cannot fake.
func TestJSRelayNoise(t *testing.T) {
	url := startJSRelay(t)
	appKey := random(t, keys.AppKeySize)
	server := relayIdentity(t, appKey)
	reg := registerJS(t, url, server, "noise")
	d, a := pairJS(t, url, server, reg, "noise")
	client, err := keys.NewIdentity(newPeer(t).priv, appKey)
	if err != nil {
		t.Fatal(err)
	}

	ctx := ctx10(t)
	type result struct {
		c   *noise.Conn
		err error
	}
	accepted := make(chan result, 1)
	go func() {
		c, err := noise.Server(ctx, a, noise.Config{Identity: server})
		accepted <- result{c, err}
	}()
	nc, err := noise.Client(ctx, d, noise.Config{Identity: client}, server.Public())
	s := <-accepted
	if err != nil || s.err != nil {
		t.Fatalf("noise over js/relay.js: client %v, server %v", err, s.err)
	}
	defer nc.Close()
	defer s.c.Close()
	if !nc.RemoteKey().Equal(server.Public()) {
		t.Errorf("noise client: RemoteKey = %x, want the listener's %x", nc.RemoteKey(), server.Public())
	}
	if !s.c.RemoteKey().Equal(client.Public()) {
		t.Errorf("noise server: RemoteKey = %x, want the dialer's %x", s.c.RemoteKey(), client.Public())
	}
	if !bytes.Equal(nc.HandshakeHash(), s.c.HandshakeHash()) {
		t.Errorf("the two sides' handshake hashes differ")
	}
	both(t, nc, s.c, size)
}

// TestJSRelayNoPeer: a CONNECT for a topic nobody registered is DENIED
// NO_PEER at once.
func TestJSRelayNoPeer(t *testing.T) {
	url := startJSRelay(t)
	c := &relay.Client{URL: url, Identity: relayIdentity(t, keys.OpenNetwork())}
	start := time.Now()
	_, err := c.Connect(ctx10(t), newPeer(t).pub, "noise", streamID(t))
	if !errors.Is(err, relay.ErrNoPeer) || !errors.Is(err, relay.ErrDenied) {
		t.Fatalf("Connect to nobody = %v, want relay.ErrNoPeer", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("NO_PEER took %v, want it at once", d)
	}
	// Registered under another label: still nobody.
	id := relayIdentity(t, keys.OpenNetwork())
	registerJS(t, url, id, "shs")
	if _, err := c.Connect(ctx10(t), id.Public(), "noise", streamID(t)); !errors.Is(err, relay.ErrNoPeer) {
		t.Fatalf("Connect to an unregistered label = %v, want relay.ErrNoPeer", err)
	}
}

// TestJSRelayReplaced: the newest registration of a key wins; the older
// one ends with relay.ErrReplaced and the newer one gets the dialers.
func TestJSRelayReplaced(t *testing.T) {
	url := startJSRelay(t)
	id := relayIdentity(t, keys.OpenNetwork())
	old := registerJS(t, url, id, "noise")
	reg := registerJS(t, url, id, "noise")
	select {
	case <-old.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the older registration did not end")
	}
	if !errors.Is(old.Err(), relay.ErrReplaced) {
		t.Fatalf("the older registration's Err = %v, want relay.ErrReplaced", old.Err())
	}
	d, a := pairJS(t, url, id, reg, "noise")
	both(t, d, a, 1000)
}

// rawJS opens a WebSocket to the relay without the client and reads
// HELLO's challenge.
func rawJS(t *testing.T, url string) (*websocket.Conn, []byte) {
	t.Helper()
	ws, _, err := websocket.Dial(ctx10(t), url, &websocket.DialOptions{Subprotocols: []string{relay.Subprotocol}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	if ws.Subprotocol() != relay.Subprotocol {
		t.Fatalf("js/relay.js chose subprotocol %q, want %q", ws.Subprotocol(), relay.Subprotocol)
	}
	_, hello, err := ws.Read(ctx10(t))
	if err != nil || len(hello) < 54 || hello[0] != 0x01 || string(hello[1:5]) != "MSRL" || hello[5] != 1 {
		t.Fatalf("first message %x, %v; want HELLO", hello, err)
	}
	return ws, hello[6:38]
}

// authFrame is AUTH with key, signer's signature over the origin signed,
// and the origin sent.
func authFrame(key ed25519.PublicKey, signer *keys.Identity, challenge []byte, signed, sent string) []byte {
	msg := append([]byte("multiserver-relay.1 auth"), challenge...)
	f := append([]byte{0x02}, key...)
	f = append(f, signer.Sign(append(msg, signed...))...)
	return append(f, sent...)
}

// readDenied reads a frame and returns its DENIED code, or 0 for OK.
func readDenied(t *testing.T, ws *websocket.Conn) relay.DenyCode {
	t.Helper()
	_, msg, err := ws.Read(ctx10(t))
	switch {
	case err != nil:
		t.Fatalf("reading a frame: %v", err)
	case len(msg) == 1 && msg[0] == 0x03:
		return 0
	case len(msg) < 3 || msg[0] != 0x04:
		t.Fatalf("got %x, want OK or DENIED", msg)
	}
	code := relay.DenyCode(binary.BigEndian.Uint16(msg[1:]))
	if _, _, err := ws.Read(ctx10(t)); websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Errorf("after DENIED %v: %v, want the close with status 1000", code, err)
	}
	return code
}

// TestJSRelayAuth: a signature by another key or over another origin is
// DENIED BAD_SIGNATURE; an origin that is not the relay's, BAD_ORIGIN;
// an upgrade without the subprotocol, 400; plain HTTP, 426.
func TestJSRelayAuth(t *testing.T) {
	url := startJSRelay(t)
	origin, err := relay.Origin(url)
	if err != nil {
		t.Fatal(err)
	}
	id, other := relayIdentity(t, keys.OpenNetwork()), relayIdentity(t, keys.OpenNetwork())
	for _, tt := range []struct {
		name         string
		signer       *keys.Identity
		sign, origin string // signed origin, sent origin
		code         relay.DenyCode
	}{
		{"good", id, origin, origin, 0},
		{"another key's signature", other, origin, origin, relay.CodeBadSignature},
		{"signed for another relay", id, "wss://other.example", origin, relay.CodeBadSignature},
		{"another relay's origin", id, "wss://other.example", "wss://other.example", relay.CodeBadOrigin},
		{"wss for ws", id, "wss" + strings.TrimPrefix(origin, "ws"), "wss" + strings.TrimPrefix(origin, "ws"), relay.CodeBadOrigin},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ws, challenge := rawJS(t, url)
			f := authFrame(id.Public(), tt.signer, challenge, tt.sign, tt.origin)
			if err := ws.Write(ctx10(t), websocket.MessageBinary, f); err != nil {
				t.Fatal(err)
			}
			if code := readDenied(t, ws); code != tt.code {
				t.Fatalf("AUTH answered with code %v, want %v", code, tt.code)
			}
		})
	}

	t.Run("configured origin", func(t *testing.T) {
		url := startJSRelay(t, "--origin=wss://relay.example/relay")
		_, err := (&relay.Client{URL: url, Identity: id}).Register(ctx10(t), []string{"noise"})
		var de *relay.DeniedError
		if !errors.As(err, &de) || de.Code != relay.CodeBadOrigin {
			t.Fatalf("Register through an origin js/relay.js does not have = %v, want BAD_ORIGIN", err)
		}
	})
	t.Run("origin from Host", func(t *testing.T) {
		url := startJSRelay(t, "--origin=host")
		registerJS(t, url, id, "noise")
		host := strings.TrimSuffix(strings.TrimPrefix(url, "ws://"), "/relay")
		for origin, want := range map[string]relay.DenyCode{
			"ws://" + host:        0,
			"wss://" + host:       0,
			"wss://relay.example": relay.CodeBadOrigin,
		} {
			ws, challenge := rawJS(t, url)
			ws.Write(ctx10(t), websocket.MessageBinary, authFrame(id.Public(), id, challenge, origin, origin))
			if code := readDenied(t, ws); code != want {
				t.Errorf("AUTH for %s answered with code %v, want %v", origin, code, want)
			}
		}
	})

	t.Run("HTTP", func(t *testing.T) {
		_, resp, err := websocket.Dial(ctx10(t), url, nil)
		if err == nil || resp == nil || resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("upgrade without the subprotocol: %v, %v; want 400", resp, err)
		}
		resp, err = http.Get("http" + strings.TrimPrefix(url, "ws"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUpgradeRequired {
			t.Fatalf("plain GET: %v, want 426", resp.Status)
		}
	})
}

// TestJSRelayLimits: the limits js/relay.js announces in HELLO and keeps:
// the pairing timeout, pending CONNECTs per topic, the handshake timeout,
// the largest frame before pairing, the ping interval, a listener that
// leaves (NO_PEER at once) and a token used too late (BAD_TOKEN).
func TestJSRelayLimits(t *testing.T) {
	url := startJSRelay(t, "--pairing-timeout-ms=500", "--handshake-timeout-ms=300", "--max-pending=1", "--max-frame=2000")
	id := relayIdentity(t, keys.OpenNetwork())
	reg := registerJS(t, url, id, "noise")
	want := relay.Limits{MaxFrame: 2000, HandshakeTimeout: 300 * time.Millisecond, PairingTimeout: 500 * time.Millisecond, PingInterval: 15 * time.Second}
	if reg.Limits() != want {
		t.Errorf("HELLO announced %+v, want %+v", reg.Limits(), want)
	}

	c := &relay.Client{URL: url, Identity: relayIdentity(t, keys.OpenNetwork())}
	timedOut := make(chan error, 1)
	start := time.Now()
	go func() {
		_, err := c.Connect(context.Background(), id.Public(), "noise", streamID(t))
		timedOut <- err
	}()
	var in *relay.Incoming
	select {
	case in = <-reg.Incoming():
	case err := <-timedOut:
		t.Fatalf("Connect returned before INCOMING: %v", err)
	}
	_, err := c.Connect(ctx10(t), id.Public(), "noise", streamID(t))
	var de *relay.DeniedError
	if !errors.As(err, &de) || de.Code != relay.CodeLimit {
		t.Errorf("a second pending CONNECT over --max-pending=1 = %v, want LIMIT", err)
	}
	err = <-timedOut
	if !errors.As(err, &de) || de.Code != relay.CodeTimeout || !de.Timeout() {
		t.Fatalf("Connect to a listener that ignores it = %v, want TIMEOUT", err)
	}
	if d := time.Since(start); d < 400*time.Millisecond || d > 5*time.Second {
		t.Errorf("TIMEOUT after %v, want about 500ms", d)
	}
	_, err = (&relay.Client{URL: url, Identity: id}).Accept(ctx10(t), in)
	if !errors.As(err, &de) || de.Code != relay.CodeBadToken {
		t.Errorf("Accept after the pairing timeout = %v, want BAD_TOKEN", err)
	}
	if reg.Err() != nil {
		t.Fatalf("the registration ended: %v", reg.Err())
	}

	t.Run("handshake timeout", func(t *testing.T) {
		ws, _ := rawJS(t, url)
		if code := readDenied(t, ws); code != relay.CodeHandshakeTimeout {
			t.Fatalf("a WebSocket that sends nothing got code %v, want HANDSHAKE_TIMEOUT", code)
		}
	})
	t.Run("frame too big", func(t *testing.T) {
		ws, _ := rawJS(t, url)
		ws.Write(ctx10(t), websocket.MessageBinary, make([]byte, 2001))
		if _, _, err := ws.Read(ctx10(t)); websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
			t.Fatalf("after a frame over --max-frame: %v, want status 1009", err)
		}
	})
	t.Run("listener leaves", func(t *testing.T) {
		url := startJSRelay(t) // pairing timeout 10s
		id := relayIdentity(t, keys.OpenNetwork())
		reg := registerJS(t, url, id, "noise")
		go func() {
			<-reg.Incoming()
			reg.Close()
		}()
		start := time.Now()
		_, err := (&relay.Client{URL: url, Identity: relayIdentity(t, keys.OpenNetwork())}).Connect(ctx10(t), id.Public(), "noise", streamID(t))
		if !errors.Is(err, relay.ErrNoPeer) {
			t.Fatalf("Connect whose listener left = %v, want relay.ErrNoPeer", err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("NO_PEER after %v: the relay waited for the pairing timeout", d)
		}
	})
}

// TestJSRelayPing: js/relay.js answers PING before the request and on a
// control connection, pings a control connection every interval, and
// closes one that has been silent for three intervals. It uses a raw
// WebSocket rather than relay.Registration, which counts its three
// intervals of silence from the start of a read that the PINGs it
// answers do not end: on an idle control connection it gives up after
// three intervals although the relay pings it every one.
func TestJSRelayPing(t *testing.T) {
	const interval = 100 * time.Millisecond
	url := startJSRelay(t, "--ping-interval-ms=100")
	id := relayIdentity(t, keys.OpenNetwork())
	ws, challenge := rawJS(t, url)
	write := func(f []byte) {
		t.Helper()
		if err := ws.Write(ctx10(t), websocket.MessageBinary, f); err != nil {
			t.Fatal(err)
		}
	}
	read := func() []byte {
		t.Helper()
		_, msg, err := ws.Read(ctx10(t))
		if err != nil {
			t.Fatalf("reading a frame: %v", err)
		}
		return msg
	}
	ping := append([]byte{0x0a}, random(t, 8)...)
	write(ping)
	if msg := read(); !bytes.Equal(msg, append([]byte{0x0b}, ping[1:]...)) {
		t.Fatalf("PING before AUTH answered with %x, want its PONG", msg)
	}
	origin, _ := relay.Origin(url)
	write(authFrame(id.Public(), id, challenge, origin, origin))
	write(append([]byte{0x05, 1, 5}, "noise"...)) // LISTEN noise
	if a, b := read(), read(); !bytes.Equal(a, []byte{0x03}) || !bytes.Equal(b, []byte{0x03}) {
		t.Fatalf("AUTH and LISTEN answered with %x and %x, want OK and OK", a, b)
	}

	// Answered, the relay's PINGs go on for as long as we like.
	start := time.Now()
	pings, pongs := 0, 0
	for time.Since(start) < 6*interval {
		msg := read()
		switch {
		case len(msg) == 9 && msg[0] == 0x0a:
			pings++
			write(append([]byte{0x0b}, msg[1:]...))
			if pings == 2 {
				write(ping)
			}
		case bytes.Equal(msg, append([]byte{0x0b}, ping[1:]...)):
			pongs++
		default:
			t.Fatalf("control connection got %x, want PING or PONG", msg)
		}
	}
	if pings < 3 || pongs != 1 {
		t.Fatalf("in %v: %d PINGs from the relay and %d PONGs to ours, want about 6 and 1", 6*interval, pings, pongs)
	}

	// Unanswered, they end the control connection after three intervals.
	start = time.Now()
	for {
		_, msg, err := ws.Read(ctx10(t))
		if err != nil {
			break
		}
		if msg[0] != 0x0a {
			t.Fatalf("control connection got %x, want PING", msg)
		}
	}
	if d := time.Since(start); d < 2*interval || d > 3*time.Second {
		t.Errorf("a silent control connection closed after %v, want about %v", d, 3*interval)
	}
}

// TestJSRelayCut: a side whose TCP connection dies without a close frame
// ends the other with status 4001.
func TestJSRelayCut(t *testing.T) {
	url := startJSRelay(t)
	id := relayIdentity(t, keys.OpenNetwork())
	reg := registerJS(t, url, id, "noise")
	tcp := make(chan net.Conn, 1)
	dialer := &relay.Client{URL: url, Identity: relayIdentity(t, keys.OpenNetwork()), HTTPClient: &http.Client{Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err == nil {
				tcp <- c
			}
			return c, err
		},
	}}}
	accepted := make(chan *relay.Conn, 1)
	go func() {
		in, ok := <-reg.Incoming()
		if !ok {
			accepted <- nil
			return
		}
		a, err := (&relay.Client{URL: url, Identity: id}).Accept(context.Background(), in)
		if err != nil {
			t.Errorf("Accept: %v", err)
		}
		accepted <- a
	}()
	d, err := dialer.Connect(ctx10(t), id.Public(), "noise", streamID(t))
	a := <-accepted
	if err != nil || a == nil {
		t.Fatalf("Connect: %v", err)
	}
	defer d.Close()
	defer a.Close()
	both(t, d, a, 1000)
	(<-tcp).Close() // no close frame
	a.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err = io.ReadAll(a)
	if websocket.CloseStatus(err) != 4001 {
		t.Fatalf("the listener's read after the dialer's cut = %v, want status 4001", err)
	}
}

// TestJSRelayIdle: a pairing that carries nothing for the idle pairing
// timeout is closed on both sides with status 4002, one that carries
// data now and then is not.
func TestJSRelayIdle(t *testing.T) {
	const timeout = 400 * time.Millisecond
	url := startJSRelay(t, fmt.Sprintf("--idle-pairing-timeout-ms=%d", timeout.Milliseconds()))
	id := relayIdentity(t, keys.OpenNetwork())
	reg := registerJS(t, url, id, "noise")
	d, a := pairJS(t, url, id, reg, "noise")
	start := time.Now()
	for range 6 { // twice the timeout, busy
		time.Sleep(timeout / 3)
		both(t, d, a, 10)
	}
	for _, c := range []*relay.Conn{d, a} {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.ReadAll(c); websocket.CloseStatus(err) != 4002 {
			t.Fatalf("read on an idle pairing = %v, want status 4002", err)
		}
	}
	if d := time.Since(start); d < 2*timeout || d > 2*timeout+5*time.Second {
		t.Errorf("the pairing closed after %v, want about %v", d, 3*timeout)
	}
}

// TestJSRelayVectors: js/relay-vectors.js finds relay.js's frames,
// topics, origins and AUTH check as spec/vectors/relay.json has them.
func TestJSRelayVectors(t *testing.T) {
	node := requireNode(t)
	out, err := exec.Command(node, "js/relay-vectors.js", "../spec/vectors/relay.json").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "ok ") {
		t.Fatalf("node js/relay-vectors.js: %v\n%s", err, out)
	}
	t.Logf("%s", bytes.TrimSpace(out))
}

// relayNet is a Network with the relay plug and noise for a new identity.
func relayNet(t *testing.T) (*multiserver.Network, *keys.Identity) {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(nil)
	id, err := keys.NewIdentity(priv, keys.OpenNetwork())
	if err != nil {
		t.Fatal(err)
	}
	nz, err := noise.New(noise.Config{Identity: id})
	if err != nil {
		t.Fatal(err)
	}
	n, err := multiserver.New(multiserver.Config{
		Plugs:      []multiserver.Plug{&relay.Plug{Identity: id}},
		Transforms: []multiserver.Transform{nz},
	})
	if err != nil {
		t.Fatal(err)
	}
	return n, id
}

// TestJSRelayPlug runs the whole Go stack through the JavaScript relay:
// a Listener on relay:URL~noise, a Dial of its advertised address, 1 MiB
// echoed; then the relay is killed (SIGKILL) and started again on the
// same port, and the conn goes on where it was.
func TestJSRelayPlug(t *testing.T) {
	hold, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strings.TrimPrefix(hold.Addr().String(), "127.0.0.1:")
	hold.Close()
	node := requireNode(t)
	start := func() (*exec.Cmd, string) {
		cmd := exec.Command(node, "js/relay.js", "--port="+port)
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(out).ReadString('\n')
		if err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("js/relay.js printed no URL: %v", err)
		}
		return cmd, strings.TrimSpace(line)
	}
	cmd, url := start()
	defer func() { cmd.Process.Kill(); cmd.Wait() }()

	srv, srvID := relayNet(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ln, err := srv.Listen(ctx, "relay:"+url+"~noise")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		accepted <- c
		io.Copy(c, c)
	}()
	cli, _ := relayNet(t)
	c, err := cli.Dial(ctx, ln.Address(multiserver.ScopeDevice))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s := <-accepted
	defer s.Close()
	if info := multiserver.Info(c); !info.Path.Relayed || !info.RemoteKey.Equal(srvID.Public()) {
		t.Fatalf("conn info %+v", info)
	}
	c.SetDeadline(time.Now().Add(25 * time.Second))
	echo := func(size int) {
		t.Helper()
		data := make([]byte, size)
		rand.Read(data)
		go c.Write(data)
		got := make([]byte, size)
		if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("echo of %d bytes: %v", size, err)
		}
	}
	echo(1 << 20)

	cmd.Process.Kill()
	cmd.Wait()
	time.Sleep(500 * time.Millisecond)
	cmd, _ = start()
	echo(1 << 20)
}
