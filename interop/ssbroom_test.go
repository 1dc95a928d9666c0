package interop_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
	"github.com/f7d52a8e/multiserver/interop/roomtest"
	"github.com/f7d52a8e/multiserver/keys"
	"github.com/f7d52a8e/multiserver/plugs/tcp"
	"github.com/f7d52a8e/multiserver/plugs/tunnel"
	"github.com/f7d52a8e/multiserver/transforms/shs"
)

// ssbAppKey is the SSB main network's app key, that of the rooms.
var ssbAppKey = mustB64("1KHLiKZvAvjbY1ziZEHMXawbCEIM6qwjCDm3VYRan/s=")

func mustB64(s string) []byte {
	b, err := address.DecodeKey(s)
	if err != nil {
		panic(err)
	}
	return b
}

// requireSSBRoom returns node's path, or skips (fails under
// MULTISERVER_INTEROP=1) when node or ssbroom/node_modules is missing.
func requireSSBRoom(t testing.TB) string {
	t.Helper()
	return requireNPM(t, "ssbroom", "the JavaScript room", "ssb-room", "ssb-room-client", "secret-stack", "ssb-conn")
}

// A line is what room.js and member.js print.
type line struct {
	Ready    string `json:"ready"`
	Remote   string `json:"remote"`
	Bytes    int    `json:"bytes"`
	Sent     string `json:"sent"`
	Received string `json:"received"`
	Error    string `json:"error"`
}

// A nodeProc is a running node script of ssbroom/.
type nodeProc struct {
	cmd    *exec.Cmd
	lines  chan string
	stderr *bytes.Buffer
	done   chan struct{}
}

func startNode(t testing.TB, script string, args ...string) *nodeProc {
	t.Helper()
	node := requireSSBRoom(t)
	// The scripts keep their state (secret-stack's path) in --dir.
	args = append([]string{"ssbroom/" + script, "--dir=" + t.TempDir()}, args...)
	cmd := exec.Command(node, args...)
	p := &nodeProc{cmd: cmd, lines: make(chan string, 100), stderr: new(bytes.Buffer), done: make(chan struct{})}
	cmd.Stderr = p.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", script, err)
	}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		io.Copy(io.Discard, out)
		cmd.Wait()
	}()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() && p.stderr.Len() > 0 {
			t.Logf("%s stderr:\n%s", script, p.stderr)
		}
	})
	return p
}

// stop ends the process with SIGKILL and waits for it.
func (p *nodeProc) stop() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

func (p *nodeProc) next(t testing.TB, timeout time.Duration) string {
	t.Helper()
	select {
	case l := <-p.lines:
		return l
	case <-p.done:
		// It may have printed its last line before exiting.
		select {
		case l := <-p.lines:
			return l
		default:
		}
		t.Fatalf("%s exited: %s", p.cmd.Args[1], p.stderr)
	case <-time.After(timeout):
		t.Fatalf("%s printed nothing within %v", p.cmd.Args[1], timeout)
	}
	return ""
}

func (p *nodeProc) nextLine(t testing.TB, timeout time.Duration) line {
	t.Helper()
	s := p.next(t, timeout)
	var l line
	if err := json.Unmarshal([]byte(s), &l); err != nil {
		t.Fatalf("%s printed %q", p.cmd.Args[1], s)
	}
	return l
}

// A jsRoom is a running room.js.
type jsRoom struct {
	proc *nodeProc
	addr string // net:127.0.0.1:PORT~shs:KEY
	id   string
	seed string
}

func startJSRoom(t testing.TB, seed string, args ...string) *jsRoom {
	t.Helper()
	p := startNode(t, "room.js", append([]string{"--seed=" + seed}, args...)...)
	addr := p.next(t, 30*time.Second)
	a, err := address.ParseAddr(addr)
	if err != nil {
		t.Fatalf("room.js printed %q: %v", addr, err)
	}
	return &jsRoom{proc: p, addr: addr, id: "@" + a.PeerKey() + ".ed25519", seed: seed}
}

func newSeed(t testing.TB) string {
	b := make([]byte, 32)
	rand.Read(b)
	return b64(b)
}

// A goMember is a Go Network with net, tunnel and shs on the SSB network.
type goMember struct {
	id   *keys.Identity
	plug *tunnel.Plug
	n    *multiserver.Network
}

func newGoMember(t testing.TB, room string, edit func(*tunnel.Plug)) *goMember {
	t.Helper()
	id, err := keys.NewIdentity(keys.Generate(), ssbAppKey)
	if err != nil {
		t.Fatal(err)
	}
	st, err := shs.New(shs.Config{Identity: id})
	if err != nil {
		t.Fatal(err)
	}
	p := &tunnel.Plug{Identity: id, Rooms: []string{room}, RetryMin: 100 * time.Millisecond, RetryMax: time.Second}
	if edit != nil {
		edit(p)
	}
	n, err := multiserver.New(multiserver.Config{Plugs: []multiserver.Plug{&tcp.Plug{}, p}, Transforms: []multiserver.Transform{st}})
	if err != nil {
		t.Fatal(err)
	}
	p.Dialer = n
	return &goMember{id: id, plug: p, n: n}
}

func (m *goMember) feedID() string { return tunnel.ID(m.id.Public()) }

func (m *goMember) tunnelAddr(room *jsRoom) string {
	return "tunnel:" + room.id + ":" + m.feedID() + "~shs:" + address.EncodeKey(m.id.Public())
}

func (m *goMember) listen(t testing.TB, room *jsRoom) *multiserver.Listener {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ln, err := m.n.Listen(ctx, "tunnel:"+room.id+"~shs")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	roomtest.WaitAddress(t, ln, 60*time.Second)
	return ln
}

// goExchange sends n random bytes while it reads n, and returns the
// sha256 sums of both.
func goExchange(c net.Conn, n int) (sent, received string, err error) {
	out := make([]byte, n)
	rand.Read(out)
	werr := make(chan error, 1)
	go func() { _, err := c.Write(out); werr <- err }()
	in := make([]byte, n)
	if _, err := io.ReadFull(c, in); err != nil {
		c.Close()
		<-werr
		return "", "", err
	}
	if err := <-werr; err != nil {
		return "", "", err
	}
	return sum(out), sum(in), nil
}

func acceptWithin(t testing.TB, ln net.Listener, d time.Duration) net.Conn {
	t.Helper()
	ch := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(ch)
			return
		}
		ch <- c
	}()
	select {
	case c, ok := <-ch:
		if !ok {
			t.Fatal("Accept failed")
		}
		t.Cleanup(func() { c.Close() })
		return c
	case <-time.After(d):
		t.Fatal("Accept timed out")
	}
	return nil
}

// dialRetry dials addr until the room knows the target (a member that
// just joined may not be listed yet).
func dialRetry(t testing.TB, n *multiserver.Network, addr string) net.Conn {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		c, err := n.Dial(ctx, addr)
		cancel()
		if err == nil {
			t.Cleanup(func() { c.Close() })
			return c
		}
		var re *tunnel.RoomError
		if !errors.As(err, &re) || time.Now().After(deadline) {
			t.Fatalf("Dial %s: %v", addr, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestSSBRoomJSToGo: a JavaScript member dials a Go member through the
// JavaScript room; 1 MiB each way, checksummed on both sides.
func TestSSBRoomJSToGo(t *testing.T) {
	room := startJSRoom(t, newSeed(t))
	g := newGoMember(t, room.addr, nil)
	ln := g.listen(t, room)
	js := startNode(t, "member.js", "--seed="+newSeed(t), "--room="+room.addr, "--dial="+g.feedID(), "--bytes="+itoa(size))
	c := acceptWithin(t, ln, 60*time.Second)
	sent, received, err := goExchange(c, size)
	if err != nil {
		t.Fatal(err)
	}
	r := js.nextLine(t, 60*time.Second)
	if r.Error != "" || r.Bytes != size || r.Sent != received || r.Received != sent {
		t.Fatalf("JS member reported %+v; Go sent %s, received %s", r, sent, received)
	}
	if k, _ := multiserver.RemoteKey(c); tunnel.ID(k) == g.feedID() || !strings.Contains(c.RemoteAddr().String(), tunnel.ID(k)) {
		t.Errorf("RemoteKey %s, RemoteAddr %s", tunnel.ID(k), c.RemoteAddr())
	}
}

// TestSSBRoomGoToJS: a Go member dials a JavaScript member through the
// JavaScript room.
func TestSSBRoomGoToJS(t *testing.T) {
	room := startJSRoom(t, newSeed(t))
	js := startNode(t, "member.js", "--seed="+newSeed(t), "--room="+room.addr, "--bytes="+itoa(size))
	ready := js.nextLine(t, 60*time.Second)
	if ready.Ready == "" {
		t.Fatalf("member.js printed %+v", ready)
	}
	g := newGoMember(t, room.addr, nil)
	key := strings.TrimSuffix(strings.TrimPrefix(ready.Ready, "@"), ".ed25519")
	c := dialRetry(t, g.n, "tunnel:"+room.id+":"+ready.Ready+"~shs:"+key)
	sent, received, err := goExchange(c, size)
	if err != nil {
		t.Fatal(err)
	}
	r := js.nextLine(t, 60*time.Second)
	if r.Error != "" || r.Bytes != size || r.Sent != received || r.Received != sent || r.Remote != g.feedID() {
		t.Fatalf("JS member reported %+v; Go %s sent %s, received %s", r, g.feedID(), sent, received)
	}
	if k, _ := multiserver.RemoteKey(c); tunnel.ID(k) != ready.Ready {
		t.Errorf("RemoteKey %s, want %s", tunnel.ID(k), ready.Ready)
	}
}

// TestSSBRoomGoToGo: two Go members through the JavaScript room.
func TestSSBRoomGoToGo(t *testing.T) {
	room := startJSRoom(t, newSeed(t))
	a, b := newGoMember(t, room.addr, nil), newGoMember(t, room.addr, nil)
	ln := b.listen(t, room)
	c := dialRetry(t, a.n, ln.Address(multiserver.ScopePublic))
	s := acceptWithin(t, ln, 30*time.Second)
	both(t, c, s, size)
}

// TestSSBRoomUnknownTarget: a target that is not in the room fails the
// dial with the room's words.
func TestSSBRoomUnknownTarget(t *testing.T) {
	room := startJSRoom(t, newSeed(t))
	a, nobody := newGoMember(t, room.addr, nil), newGoMember(t, room.addr, nil)
	_, err := a.n.Dial(ctx10(t), nobody.tunnelAddr(room))
	var re *tunnel.RoomError
	if !errors.As(err, &re) || re.Msg != "could not connect to: "+nobody.feedID() || !errors.Is(err, multiserver.ErrHandshake) {
		t.Fatalf("Dial error %v, want the room's \"could not connect to: %s\"", err, nobody.feedID())
	}
}

// TestSSBRoomRestart: the room is killed and started again on its port;
// Go listeners join again by themselves and are dialed again.
func TestSSBRoomRestart(t *testing.T) {
	room := startJSRoom(t, newSeed(t))
	a, b := newGoMember(t, room.addr, nil), newGoMember(t, room.addr, nil)
	ln := b.listen(t, room)
	c := dialRetry(t, a.n, ln.Address(multiserver.ScopePublic))
	both(t, c, acceptWithin(t, ln, 30*time.Second), 64<<10)
	c.Close()

	room.proc.stop()
	deadline := time.Now().Add(30 * time.Second)
	for ln.Address(multiserver.ScopePublic) != "" {
		if time.Now().After(deadline) {
			t.Fatal("the listener still advertises after the room died")
		}
		time.Sleep(20 * time.Millisecond)
	}
	_, port, _ := address.HostPort(address.Addr(mustAddr(t, room.addr)).Plug())
	startJSRoom(t, room.seed, "--port="+itoa(port))
	roomtest.WaitAddress(t, ln, 60*time.Second)
	c = dialRetry(t, a.n, ln.Address(multiserver.ScopePublic))
	both(t, c, acceptWithin(t, ln, 30*time.Second), 64<<10)
}

func mustAddr(t *testing.T, s string) address.Addr {
	a, err := address.ParseAddr(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestSSBRoomKeepAlive: a room that cuts sessions idle for 1.5 s keeps a
// Go member whose keepalive is faster.
func TestSSBRoomKeepAlive(t *testing.T) {
	room := startJSRoom(t, newSeed(t), "--inactivity-ms=1500")
	var joins atomic.Int64
	g := newGoMember(t, room.addr, func(p *tunnel.Plug) {
		p.KeepAlive = 300 * time.Millisecond
		p.Logger = slog.New(countHandler{msg: "tunnel: joined room", n: &joins})
	})
	g.listen(t, room)
	time.Sleep(4 * time.Second)
	if n := joins.Load(); n != 1 {
		t.Fatalf("joined %d times in 4 s, want once", n)
	}
}

type countHandler struct {
	msg string
	n   *atomic.Int64
}

func (h countHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h countHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h countHandler) WithGroup(string) slog.Handler            { return h }
func (h countHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.msg {
		h.n.Add(1)
	}
	return nil
}

// TestSSBRoomVectors: ssbroom/vectors.js still prints
// spec/vectors/muxrpc.json.
func TestSSBRoomVectors(t *testing.T) {
	node := requireSSBRoom(t)
	out, err := exec.Command(node, "ssbroom/vectors.js").Output()
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../spec/vectors/muxrpc.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, want) {
		t.Fatal("spec/vectors/muxrpc.json differs from what ssbroom/vectors.js prints: run node interop/ssbroom/vectors.js > spec/vectors/muxrpc.json")
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// BenchmarkSSBRoom measures, through the JavaScript room, Dial up to a
// finished shs handshake (the room session already open) and 1 MiB
// moved one way per op with a 1-byte acknowledgement (muxrpc has no
// flow control, so the sender keeps a window); and the same over direct
// net~shs between the same Go Networks.
func BenchmarkSSBRoom(b *testing.B) {
	room := startJSRoom(b, newSeed(b))
	a, l := newGoMember(b, room.addr, nil), newGoMember(b, room.addr, nil)
	tln := l.listen(b, room)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dln, err := l.n.Listen(ctx, "net:127.0.0.1:0~shs")
	if err != nil {
		b.Fatal(err)
	}
	defer dln.Close()
	for _, ln := range []*multiserver.Listener{tln, dln} {
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() {
					buf := make([]byte, 1<<20)
					for {
						if _, err := io.ReadFull(c, buf); err != nil {
							break
						}
						if _, err := c.Write([]byte{1}); err != nil {
							break
						}
					}
					c.Close()
				}()
			}
		}()
	}
	targets := map[string]string{"tunnel": tln.Address(multiserver.ScopePublic), "direct": dln.Address(multiserver.ScopeDevice)}
	// A tunnel left open keeps the dialer's room session.
	keep := dialRetry(b, a.n, targets["tunnel"])
	defer keep.Close()
	for _, via := range []string{"direct", "tunnel"} {
		b.Run("setup/"+via, func(b *testing.B) {
			for range b.N {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				c, err := a.n.Dial(ctx, targets[via])
				cancel()
				if err != nil {
					b.Fatal(err)
				}
				c.Close()
			}
		})
	}
	for _, via := range []string{"direct", "tunnel"} {
		b.Run("throughput/"+via, func(b *testing.B) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			c, err := a.n.Dial(ctx, targets[via])
			cancel()
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			buf, ack := make([]byte, 1<<20), make([]byte, 1)
			b.SetBytes(1 << 20)
			b.ResetTimer()
			for range b.N {
				if _, err := c.Write(buf); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(c, ack); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
