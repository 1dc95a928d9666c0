// Command browser runs multiserver in a web browser. It serves a page
// that loads a Go client compiled to WebAssembly (./client), a relay
// (spec/relay.md) at /relay on the page's port, and a multiserver
// Listener that echoes over ws~noise, ws~shs and, registered with that
// relay, relay~noise. The page's client dials the advertised address,
// then each stack on its own (the relay stack through the relay, as a
// peer that cannot be reached directly would be), sends 1 MiB and
// checks the echo and the server's key, shows what happened and the
// path it took, and POSTs it back as JSON, which this command prints.
//
// From the examples directory:
//
//	go run ./browser              # then open the URL it prints
//	go run ./browser -host 0.0.0.0 -port 8080 -ws-port 8989
//
// Add ?wrongkey=1 to the URL and the client also dials each stack with a
// wrong server key, which must fail: the direct stacks in the handshake,
// the relay stack at the relay, where nobody is registered for that key
// (NO_PEER).
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
	flag.StringVar(&opts.Host, "host", "127.0.0.1", "`address` to serve the page, the relay and the WebSocket stacks on")
	flag.IntVar(&opts.Port, "port", 0, "`port` of the page and the relay (path /relay); 0 picks one")
	flag.IntVar(&opts.WSPort, "ws-port", 0, "`port` of both WebSocket stacks (paths /noise and /shs); 0 picks one per stack")
	flag.StringVar(&opts.WASM, "wasm", "", "serve this `file` as the client instead of building it")
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
