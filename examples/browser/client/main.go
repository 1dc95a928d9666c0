//go:build js && wasm

// Command client is the browser half of examples/browser, built with
// GOOS=js GOARCH=wasm and run by the page the server serves. It reads
// the server's address and keys from the page, dials the advertised
// address and then each stack on its own through the browser's
// WebSocket API (the relay stack through the server's relay, with an
// identity of its own), echoes 1 MiB over each, and shows every result
// and the path it took on the page. It POSTs the whole report to the
// server as JSON.
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
}

// Report and Stack are what the server reads; it has the same types.
type Report struct {
	Pass    bool    `json:"pass"`
	Address string  `json:"address"`
	Stacks  []Stack `json:"stacks"`
	Error   string  `json:"error,omitempty"`
}

type Stack struct {
	Name      string `json:"name"`
	Address   string `json:"address"`
	WantFail  bool   `json:"wantFail,omitempty"`
	OK        bool   `json:"ok"`
	Via       string `json:"via,omitempty"`
	Relayed   bool   `json:"relayed,omitempty"`
	Carrier   string `json:"carrier,omitempty"`
	RemoteKey string `json:"remoteKey,omitempty"`
	Bytes     int    `json:"bytes,omitempty"`
	SHA256    string `json:"sha256,omitempty"`
	Millis    int64  `json:"ms"`
	Error     string `json:"error,omitempty"`
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

	tries := []Stack{{Name: "advertised", Address: cfg.Address}}
	for _, a := range list {
		tries = append(tries, Stack{Name: stackName(a), Address: a.String()})
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
		st = echo(ctx, n, st, want)
		show(st)
		rep.Stacks = append(rep.Stacks, st)
		if st.OK == st.WantFail {
			rep.Pass = false
		}
	}
	return rep
}

// setUp makes a Network with a fresh identity and parses the address.
// The relay plug signs the relay's challenges with that identity too.
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
	n, err := multiserver.New(multiserver.Config{
		Plugs:      []multiserver.Plug{&ws.Plug{}, &relay.Plug{Identity: id}},
		Transforms: []multiserver.Transform{nt, st},
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
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(30 * time.Second))
		st.Via = c.RemoteAddr().String()
		path := multiserver.Info(c).Path
		st.Relayed, st.Carrier = path.Relayed, path.Carrier
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
	for _, text := range []string{st.Name, st.Address, result, fmt.Sprintf("%d ms", st.Millis)} {
		td := document.Call("createElement", "td")
		td.Set("textContent", text)
		tr.Call("appendChild", td)
	}
	byID("stacks").Call("appendChild", tr)
}
