//go:build !js

package relay_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/f7d52a8e/multiserver/keys"
	"github.com/f7d52a8e/multiserver/plugs/relay"
	"github.com/f7d52a8e/multiserver/plugs/relay/internal/relaytest"
	"github.com/f7d52a8e/multiserver/plugs/relay/relayserver"
	"golang.org/x/net/nettest"
)

// closeLost is the status a side gets when the other's connection ended
// without a close frame (spec/relay.md §3.5).
const closeLost websocket.StatusCode = 4001

// TestPair registers, connects, accepts, and sends bytes both ways; the
// close of one side reads as the end on the other.
func TestPair(t *testing.T) {
	r := relaytest.Start(t, relayserver.Config{})
	id := relaytest.NewIdentity(t)
	reg := relaytest.Register(t, r.URL, id, "noise", "noise~yamux")
	d, a := relaytest.Pair(t, r.URL, id, reg, "noise~yamux")

	big := make([]byte, 300<<10) // several messages, one over the copy buffer
	rand.Read(big)
	go func() { d.Write(big); d.Write([]byte("end")) }()
	got := make([]byte, len(big)+3)
	if _, err := io.ReadFull(a, got); err != nil || !bytes.Equal(got[:len(big)], big) || string(got[len(big):]) != "end" {
		t.Fatalf("listener read %v, or other bytes than the dialer wrote", err)
	}
	if _, err := a.Write([]byte("back")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(d, buf); err != nil || string(buf) != "back" {
		t.Fatalf("dialer read %q, %v", buf, err)
	}
	a.Close()
	if n, err := d.Read(buf); err != io.EOF {
		t.Fatalf("after the listener's Close, dialer Read = %d, %v; want io.EOF", n, err)
	}
	if st := r.Stats(); st.Paired != 1 {
		t.Errorf("Stats().Paired = %d, want 1", st.Paired)
	}
}

// TestConnConformance runs x/net/nettest on paired conns.
func TestConnConformance(t *testing.T) {
	r := relaytest.Start(t, relayserver.Config{})
	id := relaytest.NewIdentity(t)
	reg := relaytest.Register(t, r.URL, id, "noise")
	nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
		d, a := relaytest.Pair(t, r.URL, id, reg, "noise")
		return d, a, func() { d.Close(); a.Close() }, nil
	})
}

// TestCutPropagates: a side whose TCP conn dies without a close frame
// ends the other with status 4001, an error, not io.EOF.
func TestCutPropagates(t *testing.T) {
	r := relaytest.Start(t, relayserver.Config{})
	id := relaytest.NewIdentity(t)
	reg := relaytest.Register(t, r.URL, id, "noise")
	var tcp net.Conn
	dialer := &relay.Client{URL: r.URL, Identity: relaytest.NewIdentity(t), HTTPClient: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			tcp = c
			return c, err
		},
	}}}
	listened := make(chan struct{})
	defer func() { <-listened }() // before the relay's cleanup closes everything
	go func() {
		defer close(listened)
		in := <-reg.Incoming()
		a, err := (&relay.Client{URL: r.URL, Identity: id}).Accept(context.Background(), in)
		if err != nil {
			t.Error(err)
			return
		}
		defer a.Close()
		a.Write([]byte("hi"))
		_, err = io.ReadAll(a)
		if websocket.CloseStatus(err) != closeLost {
			t.Errorf("read after the peer's cut = %v, want status %d", err, closeLost)
		}
	}()
	d, err := dialer.Connect(relaytest.Context(t), id.Public(), "noise", relaytest.RandomStream())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	buf := make([]byte, 2)
	if _, err := io.ReadFull(d, buf); err != nil {
		t.Fatal(err)
	}
	tcp.Close() // no close frame
	io.ReadAll(d)
}

// TestNoPeer: a CONNECT nobody registered for fails at once.
func TestNoPeer(t *testing.T) {
	r := relaytest.Start(t, relayserver.Config{})
	c := &relay.Client{URL: r.URL, Identity: relaytest.NewIdentity(t)}
	start := time.Now()
	_, err := c.Connect(relaytest.Context(t), relaytest.NewIdentity(t).Public(), "noise", relaytest.RandomStream())
	if !errors.Is(err, relay.ErrNoPeer) || !errors.Is(err, relay.ErrDenied) {
		t.Fatalf("Connect to nobody = %v, want ErrNoPeer", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("ErrNoPeer took %v", d)
	}
	// Registered under another label: still nobody.
	id := relaytest.NewIdentity(t)
	relaytest.Register(t, r.URL, id, "shs")
	if _, err := c.Connect(relaytest.Context(t), id.Public(), "noise", relaytest.RandomStream()); !errors.Is(err, relay.ErrNoPeer) {
		t.Fatalf("Connect to an unregistered label = %v, want ErrNoPeer", err)
	}
}

// TestReplaced: the newest registration of a key wins; the older one
// ends with ErrReplaced.
func TestReplaced(t *testing.T) {
	r := relaytest.Start(t, relayserver.Config{})
	id := relaytest.NewIdentity(t)
	old := relaytest.Register(t, r.URL, id, "noise")
	reg := relaytest.Register(t, r.URL, id, "noise")
	select {
	case <-old.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the older registration did not end")
	}
	if !errors.Is(old.Err(), relay.ErrReplaced) {
		t.Fatalf("older registration's Err = %v, want ErrReplaced", old.Err())
	}
	if _, ok := <-old.Incoming(); ok {
		t.Fatal("the older registration's Incoming is not closed")
	}
	relaytest.Pair(t, r.URL, id, reg, "noise")
}

// TestPairingTimeout: a listener that never accepts makes the dialer
// fail with TIMEOUT after the pairing timeout; one whose control conn
// ends makes it fail with NO_PEER at once, well before the timeout.
func TestPairingTimeout(t *testing.T) {
	r := relaytest.Start(t, relayserver.Config{PairingTimeout: 300 * time.Millisecond})
	id := relaytest.NewIdentity(t)
	reg := relaytest.Register(t, r.URL, id, "noise")
	c := &relay.Client{URL: r.URL, Identity: relaytest.NewIdentity(t)}
	start := time.Now()
	_, err := c.Connect(relaytest.Context(t), id.Public(), "noise", relaytest.RandomStream())
	var de *relay.DeniedError
	if !errors.As(err, &de) || de.Code != relay.CodeTimeout || !de.Timeout() {
		t.Fatalf("Connect to a listener that ignores it = %v, want DENIED TIMEOUT", err)
	}
	if d := time.Since(start); d < 250*time.Millisecond || d > 3*time.Second {
		t.Errorf("TIMEOUT after %v, want about 300ms", d)
	}
	<-reg.Incoming()

	// The listener leaves. On a relay whose pairing timeout is as short
	// as the one above, the chain from CONNECT to the relay seeing the
	// control conn end (a WebSocket dial, a handshake, INCOMING, Close)
	// can take longer than the timeout on a loaded machine, and the
	// dialer then rightly gets TIMEOUT; so this part runs on a relay
	// with the default 10s and asks for NO_PEER within a few seconds.
	r = relaytest.Start(t, relayserver.Config{})
	reg = relaytest.Register(t, r.URL, id, "noise")
	c = &relay.Client{URL: r.URL, Identity: relaytest.NewIdentity(t)}
	// An INCOMING whose token is used too late is refused.
	accepted := make(chan struct{})
	defer func() { <-accepted }()
	go func() {
		defer close(accepted)
		in := <-reg.Incoming()
		reg.Close()
		for r.Stats().Registrations > 0 { // the relay has seen the listener leave
			time.Sleep(time.Millisecond)
		}
		_, err := (&relay.Client{URL: r.URL, Identity: id}).Accept(context.Background(), in)
		if !errors.As(err, &de) || de.Code != relay.CodeBadToken {
			t.Errorf("Accept after the dialer gave up = %v, want BAD_TOKEN", err)
		}
	}()
	start = time.Now()
	_, err = c.Connect(relaytest.Context(t), id.Public(), "noise", relaytest.RandomStream())
	if !errors.Is(err, relay.ErrNoPeer) {
		t.Fatalf("Connect whose listener left = %v, want ErrNoPeer", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("NO_PEER after %v: the relay waited for the pairing timeout", d)
	}
}

// TestRace runs registrations, connects, accepts, closes and
// replacements at once, at random.
func TestRace(t *testing.T) {
	r := relaytest.Start(t, relayserver.Config{PairingTimeout: 500 * time.Millisecond})
	ids := []*keys.Identity{relaytest.NewIdentity(t), relaytest.NewIdentity(t), relaytest.NewIdentity(t)}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for i := range 6 { // listeners, two per key: they replace each other
		id := ids[i%len(ids)]
		wg.Go(func() {
			c := &relay.Client{URL: r.URL, Identity: id}
			for ctx.Err() == nil {
				reg, err := c.Register(ctx, []string{"noise"})
				if err != nil {
					continue
				}
				stop := context.AfterFunc(ctx, func() { reg.Close() })
				for in := range reg.Incoming() {
					if randBit() {
						continue // ignore it: the dialer times out
					}
					go func() {
						conn, err := c.Accept(ctx, in)
						if err == nil {
							io.Copy(conn, conn)
							conn.Close()
						}
					}()
					if randBit() && randBit() {
						break
					}
				}
				stop()
				reg.Close()
			}
		})
	}
	for range 12 { // dialers
		wg.Go(func() {
			c := &relay.Client{URL: r.URL, Identity: relaytest.NewIdentity(t)}
			for ctx.Err() == nil {
				conn, err := c.Connect(ctx, ids[randN(len(ids))].Public(), "noise", relaytest.RandomStream())
				if err != nil {
					continue
				}
				if randBit() {
					conn.Write([]byte("x"))
					conn.Read(make([]byte, 1))
				}
				conn.Close()
			}
		})
	}
	wg.Wait()
	t.Logf("%+v", r.Stats())
	if r.Stats().Paired == 0 {
		t.Error("no pairing in the race")
	}
}

func randBit() bool {
	var b [1]byte
	rand.Read(b[:])
	return b[0]&1 == 0
}

func randN(n int) int {
	var b [1]byte
	rand.Read(b[:])
	return int(b[0]) % n
}
