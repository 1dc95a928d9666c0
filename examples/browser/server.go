package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
	"github.com/f7d52a8e/multiserver/keys"
	"github.com/f7d52a8e/multiserver/plugs/bridge"
	"github.com/f7d52a8e/multiserver/plugs/relay"
	"github.com/f7d52a8e/multiserver/plugs/relay/relayserver"
	"github.com/f7d52a8e/multiserver/plugs/ws"
	"github.com/f7d52a8e/multiserver/transforms/noise"
	"github.com/f7d52a8e/multiserver/transforms/shs"
)

// clientPkg is the wasm client, built by import path so that the build
// works from any directory of the examples module.
const clientPkg = "github.com/f7d52a8e/multiserver/examples/browser/client"

//go:embed index.html
var indexHTML string

var page = template.Must(template.New("index").Parse(indexHTML))

// Paths on the page's server: the relay, the bridge's two carriers,
// and (with [Options.NoWS]) the WebSocket stacks.
const (
	relayPath = "/relay"
	ssePath   = "/sse"
	pollPath  = "/poll"
	noisePath = "/noise"
	shsPath   = "/shs"
)

// Options configure [Start]. The zero value serves on loopback ports the
// system picks and builds the client.
type Options struct {
	// Host is where the page, the relay and the WebSocket stacks listen.
	// If empty, 127.0.0.1.
	Host string
	// Port is the port of the page and of the relay (path /relay). If
	// zero, one the system picks.
	Port int
	// WSPort is the port of both WebSocket stacks, told apart by path
	// (/noise, /shs). If zero, each stack gets a port the system picks.
	WSPort int
	// WASM is a built client (see [BuildClient]). If empty, Start builds
	// one, which needs the go command and the examples module's sources.
	WASM string
	// NoWS makes the WebSocket stacks and the relay refuse every
	// upgrade with 403 Forbidden, as a proxy that drops WebSocket would:
	// the stacks are served from the page's port (WSPort is not used)
	// behind a gate that refuses, and the client must settle on the
	// bridge (sse); the relay's clients, the page's and the server's
	// own registration, reach it by its bridge, SSE too.
	NoWS bool
}

// Config is what the page tells the client, as JSON in the page.
type Config struct {
	Address string `json:"address"`        // the advertised address, every stack
	Key     string `json:"key"`            // the server's Ed25519 public key, base64
	AppKey  string `json:"appKey"`         // the network key both transforms use, base64
	NoWS    bool   `json:"noWS,omitempty"` // the WebSocket stacks refuse upgrades (Options.NoWS)
}

// Report is what the client POSTs to /result when it is done. It mirrors
// the client's type of the same name.
type Report struct {
	Pass    bool    `json:"pass"`            // every stack did what it should
	Address string  `json:"address"`         // what the client dialed
	Stacks  []Stack `json:"stacks"`          // one dial each
	Error   string  `json:"error,omitempty"` // why the client could not run at all
}

// Stack is the outcome of one dial from the browser.
type Stack struct {
	Name        string `json:"name"`                  // "advertised", "ladder", "ws~noise", "sse~noise", "ws~shs wrong key", …
	Address     string `json:"address"`               // what was dialed
	WantFail    bool   `json:"wantFail,omitempty"`    // a wrong key or a refused WebSocket: failing is the pass
	WantCarrier string `json:"wantCarrier,omitempty"` // the carrier the dial must settle on, if it matters
	OK          bool   `json:"ok"`                    // connected, right key, echo intact, the carrier wanted
	Via         string `json:"via,omitempty"`         // the URL the dial used; relayed, KEY@RELAY-URL
	Relayed     bool   `json:"relayed,omitempty"`     // the path went through the relay
	Carrier     string `json:"carrier,omitempty"`     // what carried the bytes: "ws", "sse", "poll"
	RemoteKey   string `json:"remoteKey,omitempty"`
	Bytes       int    `json:"bytes,omitempty"`  // echoed
	SHA256      string `json:"sha256,omitempty"` // of the echo, hex
	DialMillis  int64  `json:"dialMs"`           // of the dial alone, the race of a ladder included
	Millis      int64  `json:"ms"`               // of the dial and the echo
	Error       string `json:"error,omitempty"`
}

// Server serves the page with a relay and the HTTP bridge beside it,
// and a multiserver Listener that echoes over ws~noise, ws~shs,
// sse~noise, poll~noise (the bridge) and relay~noise (through that
// relay).
type Server struct {
	URL      string // the page
	RelayURL string // the relay, on the page's server
	Address  string // what the Listener advertises
	Config   Config // what the page hands the client

	page         *http.Server
	pageEnded    chan struct{}
	mux          *http.ServeMux
	pageHostPort string // the page's server as listened on: Options.Host and its port
	relay        *relayserver.Server
	ln           *multiserver.Listener
	execJS       string // wasm_exec.js
	wasm         string // client.wasm
	tmp          string // holds a client built by Start; removed by Close
	reports      chan Report

	wg     sync.WaitGroup // echo loops
	mu     sync.Mutex
	conns  map[net.Conn]struct{} // open echo conns, closed by Close
	closed bool
}

// Start starts the page's HTTP server, with the relay at /relay and
// the bridge at /sse and /poll, and the echo Listener. ctx bounds the
// start only; Close stops them.
func Start(ctx context.Context, opts Options) (_ *Server, err error) {
	if opts.Host == "" {
		opts.Host = "127.0.0.1"
	}
	s := &Server{wasm: opts.WASM, reports: make(chan Report, 1), conns: map[net.Conn]struct{}{}}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if s.execJS, err = wasmExec(ctx); err != nil {
		return nil, err
	}
	if s.wasm == "" {
		if s.tmp, err = os.MkdirTemp("", "multiserver-browser-"); err != nil {
			return nil, err
		}
		if s.wasm, err = BuildClient(ctx, s.tmp); err != nil {
			return nil, err
		}
	}
	// The relay serves before the Listener registers with it; the page,
	// which needs the Listener's address, comes last (a mux takes routes
	// while it serves; until then, / is not found).
	if err := s.servePage(ctx, opts); err != nil {
		return nil, err
	}
	if err := s.listen(ctx, opts); err != nil {
		return nil, err
	}
	cfg := s.Config
	s.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		page.Execute(w, cfg)
	})
	return s, nil
}

// listen starts the echo Listener on its five stacks, with a fresh
// identity and app key: the relay plug registers relay~noise with the
// relay under the same key as noise's, and the bridge's carriers are
// mounted on the page's server.
func (s *Server) listen(ctx context.Context, opts Options) error {
	_, id, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	app := make([]byte, shs.AppKeySize)
	rand.Read(app)
	ident, err := keys.NewIdentity(id, app)
	if err != nil {
		return err
	}
	nt, err := noise.New(noise.Config{Identity: ident})
	if err != nil {
		return err
	}
	st, err := shs.New(shs.Config{Identity: ident})
	if err != nil {
		return err
	}
	wsPlug := &ws.Plug{}
	// The bridge, mounted on the page's server: one plug per carrier, each
	// on a path of its own (a URL is mounted on one plug).
	ssePlug := &bridge.Plug{Scheme: "sse", Identity: ident}
	pollPlug := &bridge.Plug{Scheme: "poll", Identity: ident}
	n, err := multiserver.New(multiserver.Config{
		Plugs:      []multiserver.Plug{wsPlug, ssePlug, pollPlug, &relay.Plug{Identity: ident}},
		Transforms: []multiserver.Transform{nt, st},
	})
	if err != nil {
		return err
	}
	page := "http://" + s.pageHostPort
	sseURL, pollURL := page+ssePath, page+pollPath
	for _, m := range []struct {
		plug *bridge.Plug
		url  string
		path string
	}{{ssePlug, sseURL, ssePath}, {pollPlug, pollURL, pollPath}} {
		h, err := m.plug.Mount(m.url)
		if err != nil {
			return err
		}
		s.mux.Handle(m.path, h)
	}
	// The WebSocket stacks listen on a port of their own, or with NoWS on
	// the page's, behind a gate that refuses every upgrade.
	hp := net.JoinHostPort(opts.Host, strconv.Itoa(opts.WSPort))
	if opts.NoWS {
		hp = s.pageHostPort
		for _, path := range []string{noisePath, shsPath} {
			h, err := wsPlug.Mount("ws://" + hp + path)
			if err != nil {
				return err
			}
			s.mux.Handle(path, refuseUpgrades(h))
		}
	}
	// Direct stacks first, then the fallbacks in the order a client tries
	// them: the bridge's SSE, its long-poll, the relay.
	stacks := strings.Join([]string{
		"ws://" + hp + noisePath + "~noise",
		"ws://" + hp + shsPath + "~shs",
		"sse:" + sseURL + "~noise",
		"poll:" + pollURL + "~noise",
		"relay:" + s.RelayURL + "~noise",
	}, ";")
	if s.ln, err = n.Listen(ctx, stacks); err != nil {
		return err
	}
	s.Address = s.ln.Address(scopeOf(opts.Host))
	if s.Address == "" {
		return fmt.Errorf("nothing to advertise for host %s", opts.Host)
	}
	s.Config = Config{
		Address: s.Address,
		Key:     address.EncodeKey(id.Public().(ed25519.PublicKey)),
		AppKey:  address.EncodeKey(app),
		NoWS:    opts.NoWS,
	}
	s.wg.Add(1)
	go s.acceptLoop()
	return nil
}

// refuseUpgrades answers every WebSocket upgrade 403 Forbidden, as a
// proxy that drops WebSocket does, and passes other requests to h.
func refuseUpgrades(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			http.Error(w, "WebSocket upgrades are refused here", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// scopeOf returns the scope to advertise for a browser that reaches host:
// the device for loopback and names, the host's own scope for an address,
// the local network for an unspecified one.
func scopeOf(host string) multiserver.Scope {
	ip, err := netip.ParseAddr(host)
	switch {
	case err != nil:
		return multiserver.ScopeDevice
	case ip.IsUnspecified():
		return multiserver.ScopeLocal
	}
	return multiserver.ScopeOf(ip)
}

// acceptLoop echoes every conn until the Listener closes.
func (s *Server) acceptLoop() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return // closed: Accept only returns conns whose handshake worked
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			continue
		}
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			// WebSockets have no half-close: the client closes once it has
			// read its bytes back, which ends the copy.
			io.Copy(c, c)
			c.Close()
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

// servePage starts the HTTP server of the page and the relay. The page
// itself is added by Start once the Listener's address is known.
//
// The relay is mounted on the page's server, as a relay is mounted on
// any mux: one port serves both, and the relay's URL is the page's
// host and port with /relay.
func (s *Server) servePage(ctx context.Context, opts Options) error {
	var lc net.ListenConfig
	pl, err := lc.Listen(ctx, "tcp", net.JoinHostPort(opts.Host, strconv.Itoa(opts.Port)))
	if err != nil {
		return err
	}
	port := strconv.Itoa(pl.Addr().(*net.TCPAddr).Port)
	host, relayHost := opts.Host, opts.Host
	if ip, err := netip.ParseAddr(host); err == nil && ip.IsUnspecified() {
		host = "127.0.0.1" // browsers refuse 0.0.0.0
		// The relay's URL is in the address the local network gets, so it
		// names an address of this machine there, if there is one.
		relayHost = host
		if hs := multiserver.AdvertiseHosts(multiserver.ScopeLocal, opts.Host, nil); len(hs) > 0 {
			relayHost = hs[0]
		}
	}
	s.URL = "http://" + net.JoinHostPort(host, port) + "/"
	s.pageHostPort = net.JoinHostPort(opts.Host, port)
	s.RelayURL = "ws://" + net.JoinHostPort(relayHost, port) + relayPath
	// No URLs: the relay takes its origin from each request's Host
	// header, which is right for a relay reached by any of the machine's
	// addresses, and for this example.
	if s.relay, err = relayserver.NewServer(relayserver.Config{}); err != nil {
		pl.Close()
		return err
	}

	s.mux = http.NewServeMux()
	mux := s.mux
	if opts.NoWS {
		// Clients reach the relay by its HTTP bridge, at the same path.
		mux.Handle(relayPath, refuseUpgrades(s.relay))
	} else {
		mux.Handle(relayPath, s.relay)
	}
	mux.HandleFunc("GET /wasm_exec.js", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, s.execJS)
	})
	mux.HandleFunc("GET /client.wasm", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, s.wasm) // as application/wasm, which instantiateStreaming needs
	})
	mux.HandleFunc("POST /result", s.receive)
	s.page = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	s.pageEnded = make(chan struct{})
	go func() {
		defer close(s.pageEnded)
		s.page.Serve(pl)
	}()
	return nil
}

// receive takes the client's report. Only the first of a page's reports
// is kept until it is read; a reload sends another.
func (s *Server) receive(w http.ResponseWriter, r *http.Request) {
	var rep Report
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&rep); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	select {
	case s.reports <- rep:
	default:
	}
	w.WriteHeader(http.StatusNoContent)
}

// Reports returns the reports pages send, as they arrive.
func (s *Server) Reports() <-chan Report { return s.reports }

// Close stops the Listener, the relay and the page, ends open echo
// conns and removes a client that Start built.
func (s *Server) Close() error {
	if s.ln != nil {
		s.ln.Close() // and its registration with the relay
	}
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	if s.relay != nil {
		s.relay.Close() // its WebSockets, which the page's server no longer holds
	}
	if s.page != nil {
		s.page.Close()
		<-s.pageEnded
	}
	if s.tmp != "" {
		return os.RemoveAll(s.tmp)
	}
	return nil
}

// BuildClient builds the wasm client into dir and returns its path. It
// runs the go command from the current directory, which must be inside
// the examples module.
func BuildClient(ctx context.Context, dir string) (string, error) {
	out := filepath.Join(dir, "client.wasm")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, clientPkg)
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("GOOS=js GOARCH=wasm go build %s: %v\n%s", clientPkg, err, msg)
	}
	return out, nil
}

// wasmExec finds wasm_exec.js, the JavaScript half of Go's wasm runtime,
// in the GOROOT of the go command that builds the client: the two must
// come from the same Go release.
func wasmExec(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOROOT").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOROOT: %w", err)
	}
	root := strings.TrimSpace(string(out))
	for _, dir := range []string{"lib/wasm", "misc/wasm"} { // misc/wasm before Go 1.24
		p := filepath.Join(root, dir, "wasm_exec.js")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no wasm_exec.js in " + root)
}
