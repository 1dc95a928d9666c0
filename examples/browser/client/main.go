//go:build js && wasm

// Command client is the browser half of examples/browser, built with
// GOOS=js GOARCH=wasm and run by the page the server serves. It reads
// the server's address and keys from the page, dials the advertised
// address, the ladder ws~noise;sse~noise;poll~noise taken from it, and
// then each stack on its own: ws through the browser's WebSocket API
// (the relay stack through the server's relay, with an identity of its
// own), sse and poll through its fetch (the HTTP bridge, each carrier
// signing with an identity of its own). It echoes 1 MiB over each, and
// shows every result and the path it took on the page. It POSTs the
// whole report to the server as JSON.
//
// The advertised address and the ladder settle on ws, or on sse when
// the server refuses WebSocket upgrades (its config says so); the ws
// stacks dialed on their own must then fail, and the relay stack reaches
// the relay by its HTTP bridge (fetch), over SSE.
//
// With ?wrongkey=1 in the page's URL it also dials each stack with a
// wrong server key, which must fail: in the handshake, or at the relay,
// which has nobody registered for that key (NO_PEER).
package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"syscall/js"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
	"github.com/f7d52a8e/multiserver/keys"
	"github.com/f7d52a8e/multiserver/plugs/bridge"
	"github.com/f7d52a8e/multiserver/plugs/relay"
	"github.com/f7d52a8e/multiserver/plugs/ws"
	"github.com/f7d52a8e/multiserver/transforms/noise"
	"github.com/f7d52a8e/multiserver/transforms/shs"
)

// size is how much each stack echoes.
const size = 1 << 20

// Config is what the page holds, as the server wrote it.
type Config struct {
	Address string `json:"address"`
	Key     string `json:"key"`
	AppKey  string `json:"appKey"`
	NoWS    bool   `json:"noWS,omitempty"`
}

// Report and Stack are what the server reads; it has the same types.
type Report struct {
	Pass    bool    `json:"pass"`
	Address string  `json:"address"`
	Stacks  []Stack `json:"stacks"`
	Error   string  `json:"error,omitempty"`
}

type Stack struct {
	Name        string `json:"name"`
	Address     string `json:"address"`
	WantFail    bool   `json:"wantFail,omitempty"`
	WantCarrier string `json:"wantCarrier,omitempty"`
	OK          bool   `json:"ok"`
	Via         string `json:"via,omitempty"`
	Relayed     bool   `json:"relayed,omitempty"`
	Carrier     string `json:"carrier,omitempty"`
	RemoteKey   string `json:"remoteKey,omitempty"`
	Bytes       int    `json:"bytes,omitempty"`
	SHA256      string `json:"sha256,omitempty"`
	DialMillis  int64  `json:"dialMs"`
	Millis      int64  `json:"ms"`
	Error       string `json:"error,omitempty"`

	// own: dial with a Network of its own, which remembers no address
	// that worked before.
	own bool
}

var document = js.Global().Get("document")

func main() {
	rep := run(context.Background())
	b, _ := json.MarshalIndent(rep, "", "  ")
	byID("result").Set("textContent", string(b))
	if rep.Pass {
		status("pass: every stack did what it should", "pass")
	} else {
		status("FAIL", "fail")
	}
	if err := post(b); err != nil {
		status("could not send the result to the server: "+err.Error(), "fail")
	}
}

// run dials every stack and returns what happened: each stack's
// outcome, or in Report.Error why the client could not start.
func run(ctx context.Context) Report {
	var (
		cfg Config
		rep Report
	)
	err := json.Unmarshal([]byte(byID("config").Get("textContent").String()), &cfg)
	if err != nil {
		rep.Error = "reading the page's config: " + err.Error()
		return rep
	}
	rep.Address = cfg.Address
	n, want, list, err := setUp(cfg)
	if err != nil {
		rep.Error = err.Error()
		return rep
	}

	// Where WebSocket works, the advertised address and the ladder settle
	// on it; where it is refused, on SSE, the first fallback: a refused
	// upgrade fails at once, and the next address starts then.
	settle := "ws"
	if cfg.NoWS {
		settle = "sse"
	}
	tries := []Stack{{Name: "advertised", Address: cfg.Address, WantCarrier: settle}}
	if l := ladder(list); l != "" {
		tries = append(tries, Stack{Name: "ladder", Address: l, WantCarrier: settle, own: true})
	}
	for _, a := range list {
		st := Stack{Name: stackName(a), Address: a.String()}
		st.WantFail = cfg.NoWS && a.Plug().Name == "ws"
		if cfg.NoWS && a.Plug().Name == "relay" {
			st.WantCarrier = "sse" // the relay's WebSocket refused: its bridge
		}
		tries = append(tries, st)
	}
	q, _ := url.ParseQuery(strings.TrimPrefix(js.Global().Get("location").Get("search").String(), "?"))
	if q.Get("wrongkey") != "" {
		for _, a := range list {
			tries = append(tries, Stack{Name: stackName(a) + " wrong key", Address: withWrongKey(a).String(), WantFail: true})
		}
	}

	rep.Pass = true
	for _, st := range tries {
		status("dialing "+st.Name+"…", "")
		dialer := n
		if st.own {
			if dialer, _, _, err = setUp(cfg); err != nil {
				rep.Error = err.Error()
				return rep
			}
		}
		st = echo(ctx, dialer, st, want)
		show(st)
		rep.Stacks = append(rep.Stacks, st)
		if st.OK == st.WantFail {
			rep.Pass = false
		}
	}
	return rep
}

// ladder returns the advertised ws~noise, sse~noise and poll~noise
// addresses as one, in that order: how a client behind a proxy that may
// break WebSocket would dial. Empty if any is missing.
func ladder(list address.List) string {
	var parts []string
	for _, name := range []string{"ws~noise", "sse~noise", "poll~noise"} {
		for _, a := range list {
			if stackName(a) == name {
				parts = append(parts, a.String())
				break
			}
		}
	}
	if len(parts) != 3 {
		return ""
	}
	return strings.Join(parts, ";")
}

// setUp makes a Network with a fresh identity and parses the address.
// The relay plug signs the relay's challenges with that identity too;
// each bridge carrier signs its requests with an identity of its own.
func setUp(cfg Config) (*multiserver.Network, ed25519.PublicKey, address.List, error) {
	app, err := address.DecodeKey(cfg.AppKey)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("app key: %w", err)
	}
	want, err := address.DecodeKey(cfg.Key)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("server key: %w", err)
	}
	list, err := address.Parse(cfg.Address)
	if err != nil {
		return nil, nil, nil, err
	}
	id, err := keys.NewIdentity(keys.Generate(), app)
	if err != nil {
		return nil, nil, nil, err
	}
	nt, err := noise.New(noise.Config{Identity: id})
	if err != nil {
		return nil, nil, nil, err
	}
	st, err := shs.New(shs.Config{Identity: id})
	if err != nil {
		return nil, nil, nil, err
	}
	var plugs []multiserver.Plug
	for _, scheme := range []string{"sse", "poll"} {
		bid, err := keys.NewIdentity(keys.Generate(), app)
		if err != nil {
			return nil, nil, nil, err
		}
		plugs = append(plugs, &bridge.Plug{Scheme: scheme, Identity: bid})
	}
	n, err := multiserver.New(multiserver.Config{
		Plugs:      append([]multiserver.Plug{&ws.Plug{}, &relay.Plug{Identity: id}}, plugs...),
		Transforms: []multiserver.Transform{nt, st},
		// The page checks where an address settles, so the order must
		// decide it, not the race: no attempt here takes a second unless
		// it is broken, and one that fails (a refused WebSocket) starts
		// the next at once. With the default 250ms, a slow SSE dial would
		// race a long-poll one, and either may win.
		DialStagger: 2 * time.Second,
	})
	return n, want, list, err
}

// stackName names an address by its layers: "ws~noise", "relay~noise".
func stackName(a address.Addr) string {
	names := make([]string, len(a))
	for i, s := range a {
		names[i] = s.Name
	}
	return strings.Join(names, "~")
}

// withWrongKey returns a with every transform's key replaced by a key
// nobody holds.
func withWrongKey(a address.Addr) address.Addr {
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	out := append(address.Addr(nil), a...)
	for i := 1; i < len(out); i++ {
		out[i].Fields = []string{address.EncodeKey(pub)}
	}
	return out
}

// echo dials st.Address, sends size bytes, reads them back and checks
// them and the server's key.
func echo(ctx context.Context, n *multiserver.Network, st Stack, want ed25519.PublicKey) Stack {
	start := time.Now()
	err := func() error {
		ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		c, err := n.Dial(ctx, st.Address)
		st.DialMillis = time.Since(start).Milliseconds()
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(30 * time.Second))
		st.Via = c.RemoteAddr().String()
		path := multiserver.Info(c).Path
		st.Relayed, st.Carrier = path.Relayed, path.Carrier
		if st.WantCarrier != "" && st.Carrier != st.WantCarrier {
			return fmt.Errorf("settled on %s, want %s", st.Carrier, st.WantCarrier)
		}
		key, ok := multiserver.RemoteKey(c)
		if !ok {
			return errors.New("the conn has no remote key")
		}
		st.RemoteKey = address.EncodeKey(key)
		if !key.Equal(want) {
			return fmt.Errorf("remote key %s, want %s", st.RemoteKey, address.EncodeKey(want))
		}
		sent := data(size)
		wrote := make(chan error, 1)
		go func() { // the echo comes back while we write
			_, err := c.Write(sent)
			wrote <- err
		}()
		got := make([]byte, len(sent))
		n, err := io.ReadFull(c, got)
		st.Bytes = n
		sum := sha256.Sum256(got[:n])
		st.SHA256 = hex.EncodeToString(sum[:])
		if err != nil {
			return fmt.Errorf("reading the echo after %d bytes: %w", n, err)
		}
		if err := <-wrote; err != nil {
			return fmt.Errorf("writing: %w", err)
		}
		if !bytes.Equal(got, sent) {
			return errors.New("the echo differs from what was sent")
		}
		return nil
	}()
	st.Millis = time.Since(start).Milliseconds()
	st.OK = err == nil
	if err != nil {
		st.Error = err.Error()
	}
	return st
}

// data returns n pseudo-random bytes, the same on every run, so that
// the server's test can check the echo's hash on its own.
func data(n int) []byte {
	b := make([]byte, n)
	mrand.NewChaCha8(sha256.Sum256([]byte("multiserver examples/browser"))).Read(b)
	return b
}

// post sends the report to the page's server.
func post(report []byte) error {
	origin := js.Global().Get("location").Get("origin").String()
	resp, err := http.Post(origin+"/result", "application/json", bytes.NewReader(report))
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return errors.New(resp.Status)
	}
	return nil
}

func byID(id string) js.Value { return document.Call("getElementById", id) }

// status sets the line above the table, with a CSS class.
func status(text, class string) {
	el := byID("status")
	el.Set("textContent", text)
	el.Set("className", class)
}

// show adds a row for st to the table.
func show(st Stack) {
	how := "direct"
	if st.Relayed {
		how = "relayed"
	}
	result := fmt.Sprintf("ok: %d bytes echoed, sha256 %.16s…, key verified, %s over %s", st.Bytes, st.SHA256, how, st.Carrier)
	if !st.OK {
		result = "failed: " + st.Error
	}
	class := "pass"
	if st.OK == st.WantFail {
		class = "fail"
	}
	if st.WantFail {
		result = "expected to fail; " + result
	}
	tr := document.Call("createElement", "tr")
	tr.Set("className", class)
	for _, text := range []string{st.Name, st.Address, result, fmt.Sprintf("%d ms (dial %d ms)", st.Millis, st.DialMillis)} {
		td := document.Call("createElement", "td")
		td.Set("textContent", text)
		tr.Call("appendChild", td)
	}
	byID("stacks").Call("appendChild", tr)
}
