// Command multiserver serves, dials and explains multiserver addresses.
//
// Usage:
//
//	multiserver keygen [-o FILE]
//	multiserver serve --key FILE [--app-key B64] [--room ADDR ...] --listen ADDR [--listen ADDR ...] [--echo | --exec CMD | --forward HOST:PORT]
//	multiserver dial [--key FILE] [--app-key B64] [--room ADDR ...] [--dht-relay URL ...] ADDRESS
//	multiserver addr parse|explain|to-multiaddr|from-multiaddr|from-hex ARG
//	multiserver relay --listen HOST:PORT [--tls-cert FILE --tls-key FILE | --acme DOMAIN [--acme-directory URL] [--acme-email ADDR] [--acme-cache DIR]]
//	multiserver demo
//	multiserver doctor [--json] [--key FILE] [--app-key B64] [--proxy URL] [--relay URL ...] ADDRESS ...
//	multiserver ping [-c N] [-i D] [-W D] [--key FILE] [--app-key B64] ADDRESS
//	multiserver stacks [--json] [--drain ADDR [--grace D] | --drop ADDR] HOST:PORT
//
// Addresses may use the plugs net, unix, ws, wss, quic, relay, sse, poll
// tunnel and hyperswarm, the transforms shs, noise and noauth, and the yamux muxer. wss
// listeners need --tls-cert and --tls-key; --tls-ca pins the certificate
// a wss dial, or a dial to a wss relay, accepts. A relay stack
// ("relay:ws://HOST:PORT/relay~noise") registers the key of --key with
// the relay in the background and is advertised while registered; dial
// -v says which address won and whether its path is direct or relayed.
// A tunnel stack reaches SSB peers through a room given by --room
// (repeatable; spec/tunnel.md): serve --room ADDR --listen
// 'tunnel:ROOM_ID~shs' joins the room and prints its tunnel address once
// the room lists it; dial --room ADDR 'tunnel:ROOM_ID:TARGET_ID~shs:KEY'.
// A hyperswarm address names a peer on the Hyperswarm DHT by its key
// (spec/hyperswarm.md): dial --dht-relay URL 'hyperswarm:KEY' reaches it
// through a @hyperswarm/dht-relay (repeatable, tried in order), which
// never gets the secret key; addr from-hex converts the 64 hex digits
// Hyperswarm tools print into such an address.
//
// relay runs a relay server (spec/relay.md): it prints the relay's URL,
// ws://HOST:PORT/relay or wss://…, as the first line of stdout, serves
// the relay at /relay and /healthz, /readyz and /metrics (Prometheus) on
// the same port, and drains on SIGINT or SIGTERM. --idle-timeout closes
// pairings idle that long (5m); --pairing-rate bounds each direction of a
// pairing, in bytes per second (unlimited). With --acme DOMAIN it gets
// its certificate by ACME's TLS-ALPN-01 challenge, keeps it in
// --acme-cache and renews it: the CA connects to DOMAIN:443, which must
// be the --listen port or be forwarded to it. --acme-directory picks the
// CA (Let's Encrypt by default; its staging, step-ca, Pebble), whose
// HTTPS certificate is checked against the system roots (on Linux,
// SSL_CERT_FILE and SSL_CERT_DIR name others); --acme-email gives it a
// contact.
//
// serve --metrics HOST:PORT serves Prometheus metrics of its stacks and
// dials at /metrics; with --admin, also /stacks, which stacks reads: how
// much each stack is used (last connection, connections in the last hour
// and day, peers that connect over it alone), and where stacks --drain
// stops advertising one at once and drops it after --grace.
//
// doctor explains addresses: for each alternative, its layers, whether
// this side speaks them, the proxy it would go through, then a dial with
// each layer and step (name resolution, TCP connect, proxy CONNECT, TLS,
// WebSocket upgrade, each handshake, the muxer) timed, and the layer
// that failed and why. With --relay URL it checks the relay's health and,
// through its STUN ports (--stun-port, 3478 and 3479), what this host's
// NAT does and whether UDP gets out. --json prints the same as JSON.
// It exits 1 when an address has no alternative that connects.
//
// ping dials an address once and times round trips of 24-byte messages
// over its whole stack, a line each saying whether the path is direct or
// relayed at that moment; the far side must echo (serve --echo, the
// default), and ping says so when it does not.
//
// --app-key defaults to the Secure Scuttlebutt main network key, so the
// command talks to SSB peers out of the box. Logs go to stderr; -v shows
// debug records. COMMAND --help (or help COMMAND) prints a command's
// flags. Exit status: 0 on success, 1 when the work failed, 2 on a usage
// error, such as an address that does not parse.
package main

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/keys"
)

// SSBAppKey is the app key of the Secure Scuttlebutt main network, the
// default of --app-key.
const SSBAppKey = "1KHLiKZvAvjbY1ziZEHMXawbCEIM6qwjCDm3VYRan/s="

// commands lists each command with its one-line synopsis, in the order
// the usage shows them, and for commands without flags what their
// arguments are.
var commands = []struct{ name, synopsis, args string }{
	{"keygen", "multiserver keygen [-o FILE]", ""},
	{"serve", "multiserver serve --key FILE [--app-key B64] [--room ADDR ...] --listen ADDR [--listen ADDR ...] [--echo | --exec CMD | --forward HOST:PORT]", ""},
	{"dial", "multiserver dial [--key FILE] [--app-key B64] [--room ADDR ...] [--dht-relay URL ...] ADDRESS", ""},
	{"addr", "multiserver addr parse|explain|to-multiaddr|from-multiaddr|from-hex ARG", `  parse           print the canonical form and layers of each address as JSON
  explain         describe each layer of each address in words
  to-multiaddr    print the plug of each address as a multiaddr
  from-multiaddr  print the multiserver address of a multiaddr
  from-hex        print the hyperswarm address of a 64-hex Hyperswarm key
`},
	{"relay", "multiserver relay --listen HOST:PORT [--tls-cert FILE --tls-key FILE | --acme DOMAIN [--acme-directory URL] [--acme-email ADDR] [--acme-cache DIR]]", ""},
	{"demo", "multiserver demo", "  serves every stack on loopback, dials each and prints a table\n"},
	{"doctor", "multiserver doctor [--json] [--key FILE] [--app-key B64] [--proxy URL] [--relay URL ...] ADDRESS ...", "  ADDRESS  dials each alternative alone and shows each layer, its time and its error\n"},
	{"ping", "multiserver ping [-c N] [-i D] [-W D] [--key FILE] [--app-key B64] ADDRESS", "  ADDRESS  a peer that echoes (multiserver serve, whose default is --echo)\n"},
	{"stacks", "multiserver stacks [--json] [--drain ADDR [--grace D] | --drop ADDR] HOST:PORT", "  HOST:PORT  the --metrics address of a serve run with --admin\n"},
}

const stacks = `stacks: plugs net, unix, ws, wss, quic, relay, sse, poll, tunnel, hyperswarm (dial only, with --dht-relay); transforms shs, noise, noauth; muxer yamux
(wss listeners need --tls-cert and --tls-key; --tls-ca pins a wss dial's certificate)
`

// usage is the synopsis of every command.
var usage = func() string {
	var b strings.Builder
	b.WriteString("usage:\n")
	for _, c := range commands {
		b.WriteString("  " + c.synopsis + "\n")
	}
	return b.String() + "\n" + stacks + "\nrun multiserver COMMAND --help for its flags\n"
}()

// errUsage marks errors that exit with status 2.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		// Errors from the library start with "multiserver: " already.
		fmt.Fprintln(os.Stderr, "multiserver:", strings.TrimPrefix(err.Error(), "multiserver: "))
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	err := command(ctx, args, stdin, stdout, stderr)
	var h *helpRequest
	if errors.As(err, &h) {
		return printHelp(stdout, h.name, h.flags)
	}
	return err
}

func command(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%w: no command", errUsage)
	}
	cmd, args := args[0], args[1:]
	switch cmd {
	case "keygen":
		return keygen(args, stdout)
	case "serve":
		return serve(ctx, args, stdout, stderr)
	case "dial":
		return dial(ctx, args, stdin, stdout, stderr)
	case "addr":
		// addr takes no flags: any help flag among its arguments asks
		// for help.
		if slices.ContainsFunc(args, isHelpFlag) {
			return &helpRequest{name: "addr"}
		}
		return addr(args, stdout)
	case "relay":
		return relayCmd(ctx, args, stdout, stderr)
	case "demo":
		return demo(ctx, args, stdout)
	case "stacks":
		return stacksCmd(ctx, args, stdout)
	case "doctor":
		return doctor(ctx, args, stdout, stderr)
	case "ping":
		return ping(ctx, args, stdout, stderr)
	case "help", "-h", "-help", "--help":
		if len(args) == 1 && args[0] != "help" {
			// "multiserver help serve" is "multiserver serve --help".
			return command(ctx, []string{args[0], "--help"}, stdin, stdout, stderr)
		}
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("%w: unknown command %q", errUsage, cmd)
}

func isHelpFlag(arg string) bool {
	switch arg {
	case "-h", "-help", "--h", "--help":
		return true
	}
	return false
}

// helpRequest is returned by a command asked for --help; run prints the
// command's help to stdout and succeeds.
type helpRequest struct {
	name  string
	flags *flag.FlagSet // nil for a command without flags
}

func (h *helpRequest) Error() string { return h.name + ": help requested" }

// printHelp writes a command's synopsis and every flag with its default.
func printHelp(w io.Writer, name string, fs *flag.FlagSet) error {
	for _, c := range commands {
		if c.name != name {
			continue
		}
		fmt.Fprintf(w, "usage: %s\n", c.synopsis)
		if c.args != "" {
			fmt.Fprintf(w, "\n%s", c.args)
		}
	}
	if fs != nil {
		fmt.Fprint(w, "\nflags:\n")
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	if name == "serve" || name == "dial" {
		fmt.Fprint(w, "\n"+stacks)
	}
	return nil
}

func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseFlags parses args and turns flag errors into usage errors.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return &helpRequest{name: fs.Name(), flags: fs}
		}
		return fmt.Errorf("%w: %s: %v", errUsage, fs.Name(), err)
	}
	return nil
}

// badAddress returns a usage error if the command's grammar refuses
// addrs, the address given on the command line that the Network failed
// on with err: the address is wrong, not the network. For dial it must
// refuse every alternative (Dial skips those it cannot use), for serve
// any (Listen serves all or none). Otherwise it returns err. An address
// the grammar reads (onion:…) is not wrong, even if the Network has no
// layer of its name.
func badAddress(cmd, addrs string, err error) error {
	var bad error
	if cmd == "serve" {
		_, bad = grammar.Parse(addrs)
	} else {
		for _, part := range strings.Split(addrs, ";") {
			_, perr := grammar.ParseAddr(part)
			if perr == nil {
				return err
			}
			if bad == nil {
				bad = perr
			}
		}
	}
	if bad == nil {
		return err
	}
	return fmt.Errorf("%w: %s: bad address: %w", errUsage, cmd, bad)
}

func keygen(args []string, stdout io.Writer) error {
	fs := newFlags("keygen")
	out := fs.String("o", "", "write the key file to `FILE` instead of stdout")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: keygen takes no arguments", errUsage)
	}
	priv := keys.Generate()
	if *out == "" {
		_, err := stdout.Write(keys.Marshal(priv))
		return err
	}
	return keys.Save(*out, priv)
}

// identity holds the flags every networked command shares.
type identity struct {
	keyFile   string
	appKey    string
	verbose   bool
	timeout   time.Duration
	tlsCert   string
	tlsKey    string
	tlsCA     string
	noauth    string             // the widest scope noauth stacks are served in
	stats     *multiserver.Stats // counts what the Network does (serve --metrics); nil: nothing
	proxy     *url.URL           // every dial through this HTTP proxy (doctor --proxy); nil: the environment's
	rooms     listFlag
	dhtRelays listFlag
	relayed   bool // no hole punching: relayed conns stay relayed
}

func (id *identity) register(fs *flag.FlagSet) {
	fs.StringVar(&id.keyFile, "key", "", "ssb-keys key `FILE`")
	fs.StringVar(&id.appKey, "app-key", SSBAppKey, "base64 app (network) key; default: the SSB main network")
	fs.BoolVar(&id.verbose, "v", false, "log debug records to stderr")
	fs.DurationVar(&id.timeout, "timeout", 10*time.Second, "handshake timeout")
	fs.StringVar(&id.tlsCert, "tls-cert", "", "PEM certificate `FILE` for wss listeners (with --tls-key)")
	fs.StringVar(&id.tlsKey, "tls-key", "", "PEM private key `FILE` for wss listeners")
	fs.StringVar(&id.tlsCA, "tls-ca", "", "trust only the PEM certificates in `FILE` when dialing wss (to pin a self-signed one)")
	fs.Var(&id.dhtRelays, "dht-relay", "ws:// or wss:// `URL` of a @hyperswarm/dht-relay that hyperswarm addresses are dialed through (repeatable, tried in order)")
	fs.Var(&id.rooms, "room", "address of an SSB room that tunnel addresses may name, such as net:room.example:8008~shs:KEY (repeatable)")
	fs.BoolVar(&id.relayed, "relay-only", false, "keep relayed conns on the relay; without it they move to a direct UDP path when the NATs allow (hole punching, with the STUN of the relay's host on ports 3478 and 3479)")
	fs.StringVar(&id.noauth, "noauth-scope", "device", "widest `SCOPE` noauth and transform-less stacks are served in: device (loopback, unix), local (the LAN too) or public; they are plaintext")
}

// tlsConfig returns the wss plug's TLS settings from the flags, or nil.
func (id *identity) tlsConfig() (*tls.Config, error) {
	if id.tlsCert == "" && id.tlsKey == "" && id.tlsCA == "" {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if id.tlsCert != "" || id.tlsKey != "" {
		cert, err := tls.LoadX509KeyPair(id.tlsCert, id.tlsKey)
		if err != nil {
			return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if id.tlsCA != "" {
		pem, err := os.ReadFile(id.tlsCA)
		if err != nil {
			return nil, fmt.Errorf("--tls-ca: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--tls-ca: no PEM certificate in %s", id.tlsCA)
		}
	}
	return cfg, nil
}

// logger returns the command's logger: text to stderr, debug records
// only with -v.
func (id *identity) logger(stderr io.Writer) *slog.Logger {
	level := slog.LevelInfo
	if id.verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
}

// network builds the Network the flags describe. Without a key file it
// uses a fresh identity.
func (id *identity) network(stderr io.Writer) (*multiserver.Network, ed25519.PrivateKey, error) {
	var priv ed25519.PrivateKey
	if id.keyFile == "" {
		priv = keys.Generate()
	} else {
		var err error
		if priv, err = keys.Load(id.keyFile); err != nil {
			return nil, nil, err
		}
	}
	app, err := base64.StdEncoding.DecodeString(id.appKey)
	if err != nil || len(app) != keys.AppKeySize {
		return nil, nil, fmt.Errorf("%w: --app-key must be 32 bytes of base64", errUsage)
	}
	ident, err := keys.NewIdentity(priv, app)
	if err != nil {
		return nil, nil, err
	}
	tlsCfg, err := id.tlsConfig()
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", errUsage, err)
	}
	noauthScope, err := multiserver.ParseScope(id.noauth)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: --noauth-scope: %w", errUsage, err)
	}
	n, err := newNetwork(stackConfig{
		noauth:    noauthScope,
		identity:  ident,
		timeout:   id.timeout,
		logger:    id.logger(stderr),
		wssTLS:    tlsCfg,
		stats:     id.stats,
		proxy:     id.proxy,
		rooms:     id.rooms,
		dhtRelays: id.dhtRelays,
		direct:    !id.relayed,
	})
	return n, priv, err
}
