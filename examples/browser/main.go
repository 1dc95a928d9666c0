// Command browser runs multiserver in a web browser. It serves a page
// that loads a Go client compiled to WebAssembly (./client), a relay
// (spec/relay.md) at /relay on the page's port, the HTTP bridge
// (spec/bridge.md) at /sse and /poll on that port too, and a
// multiserver Listener that echoes over ws~noise, ws~shs,
// sse~noise, poll~noise and, registered with that relay, relay~noise.
// The page's client dials the advertised address, then the ladder
// ws~noise;sse~noise;poll~noise taken from it, then each stack on its
// own (the relay stack through the relay, as a peer that cannot be
// reached directly would be), sends 1 MiB and checks the echo and the
// server's key, shows what happened and the path it took (the carrier:
// ws, sse or poll), and POSTs it back as JSON, which this command
// prints.
//
// From the examples directory:
//
//	go run ./browser              # then open the URL it prints
//	go run ./browser -host 0.0.0.0 -port 8080 -ws-port 8989
//	go run ./browser -nows        # WebSocket upgrades refused
//
// Add ?wrongkey=1 to the URL and the client also dials each stack with a
// wrong server key, which must fail: the direct and bridge stacks in the
// handshake, the relay stack at the relay, where nobody is registered
// for that key (NO_PEER).
//
// With -nows the WebSocket stacks and the relay answer every upgrade 403
// Forbidden, as behind a proxy that drops WebSocket: the client must then
// settle on SSE, both for the advertised address and for the ladder,
// dialed on their own the ws stacks must fail, and the relay stack must
// reach the relay by its HTTP bridge, over SSE (spec/relay.md §11).
//
// The bridge goes through the browser's fetch, so it is bound by the
// same-origin policy, as WebSockets are not: a page loaded from another
// origin than the advertised one (http://localhost:PORT/ while the
// address says 127.0.0.1, or with -host 0.0.0.0 the page at 127.0.0.1
// and the bridge at a LAN address) fails its sse and poll stacks, since
// the bridge answers no CORS preflight. Open the URL this command prints.
//
// The command builds the client at start (GOOS=js GOARCH=wasm go build),
// so it needs the go command; -wasm serves a client built beforehand:
//
//	GOOS=js GOARCH=wasm go build -o client.wasm ./browser/client
//	go run ./browser -wasm client.wasm
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	var opts Options
	flag.StringVar(&opts.Host, "host", "127.0.0.1", "`address` to serve the page, the relay, the bridge and the WebSocket stacks on")
	flag.IntVar(&opts.Port, "port", 0, "`port` of the page, the relay (path /relay) and the bridge (/sse, /poll); 0 picks one")
	flag.IntVar(&opts.WSPort, "ws-port", 0, "`port` of both WebSocket stacks (paths /noise and /shs); 0 picks one per stack")
	flag.StringVar(&opts.WASM, "wasm", "", "serve this `file` as the client instead of building it")
	flag.BoolVar(&opts.NoWS, "nows", false, "refuse WebSocket upgrades (403) to the ws stacks, served then on -port, and to the relay; the client must settle on SSE")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, opts, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// run serves until ctx ends, printing every report a page sends.
func run(ctx context.Context, opts Options, out io.Writer) error {
	s, err := Start(ctx, opts)
	if err != nil {
		return err
	}
	defer s.Close()
	fmt.Fprintf(out, "advertised  %s\nrelay       %s\nopen        %s\n", s.Address, s.RelayURL, s.URL)
	for {
		select {
		case <-ctx.Done():
			return nil
		case rep := <-s.Reports():
			b, _ := json.MarshalIndent(rep, "", "  ")
			fmt.Fprintf(out, "%s\n", b)
		}
	}
}
