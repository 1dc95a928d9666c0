// Command relay-pool shows peers that share a list of relays finding each
// other through them with nothing but a key: three relays run on
// loopback, a listener registers its noise stack on the two relays that
// relay.Pick chooses for its key, and a dialer that knows only that key
// and the list dials relay.Addresses, the same two relays in the same
// order. Then the first chosen relay stops, and the dialer, which still
// knows nothing more, goes through the second.
//
// Pick uses rendezvous hashing: every relay URL gets a weight for a key,
// a hash of the key and the URL, and the key's relays are the heaviest
// ones, so everybody with the same list agrees on them without asking
// anybody. Removing a relay from the list moves only the keys it served,
// each to its next heaviest relay.
//
// The output looks like this (the ports and the key, and so the relays
// chosen, change from run to run):
//
//	relays: A ws://127.0.0.1:41231/relay, B ws://127.0.0.1:38675/relay, C ws://127.0.0.1:44019/relay
//	listener 0RnV…: Pick chooses C, then A; registered on 2 of them
//	dialer: Addresses gives C, then A
//	dial 1: through C (ws://127.0.0.1:44019/relay), path relayed over ws
//	relay C stopped
//	dial 2: through A (ws://127.0.0.1:41231/relay), path relayed over ws
package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
	"github.com/f7d52a8e/multiserver/keys"
	"github.com/f7d52a8e/multiserver/plugs/relay"
	"github.com/f7d52a8e/multiserver/plugs/relay/relayserver"
	"github.com/f7d52a8e/multiserver/transforms/noise"
)

func main() {
	if _, err := run(context.Background(), os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// A Relay is a relay server on loopback.
type Relay struct {
	URL  string // ws://127.0.0.1:PORT/relay
	srv  *relayserver.Server
	http *http.Server
	done chan struct{}
}

// StartRelay serves a relay at /relay on a loopback port.
func StartRelay() (*Relay, error) {
	srv, err := relayserver.NewServer(relayserver.Config{})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/relay", srv)
	r := &Relay{URL: "ws://" + ln.Addr().String() + "/relay", srv: srv, http: &http.Server{Handler: mux}, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.http.Serve(ln)
	}()
	return r, nil
}

// Stop closes the relay: its registrations and pairings end, and its
// port refuses connections.
func (r *Relay) Stop() {
	r.srv.Close()
	r.http.Close()
	<-r.done
}

// NewPeer returns a Network with the relay plug and noise, for a new key.
func NewPeer() (*multiserver.Network, ed25519.PublicKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	id, err := keys.NewIdentity(priv, keys.OpenNetwork())
	if err != nil {
		return nil, nil, err
	}
	nt, err := noise.New(noise.Config{Identity: id})
	if err != nil {
		return nil, nil, err
	}
	n, err := multiserver.New(multiserver.Config{
		Plugs:      []multiserver.Plug{&relay.Plug{Identity: id}},
		Transforms: []multiserver.Transform{nt},
		// Try the relays one after another, in Pick's order, the next
		// only when one fails: by default a slow first attempt would
		// have the second start after 250ms and maybe win.
		DialStagger: 10 * time.Second,
	})
	return n, id.Public(), err
}

// Result is what run saw: the relays Pick chose for the listener, and
// the relay each of the two dials went through.
type Result struct {
	Chosen []string
	Via    []string
}

func run(ctx context.Context, out io.Writer) (*Result, error) {
	// Three relays, and the list every peer knows.
	var relays []*Relay
	defer func() {
		for _, r := range relays {
			r.Stop()
		}
	}()
	var urls []string
	for range 3 {
		r, err := StartRelay()
		if err != nil {
			return nil, err
		}
		relays = append(relays, r)
		urls = append(urls, r.URL)
	}
	name := func(url string) string { return string(rune('A' + slices.Index(urls, url))) }
	var list []string
	for _, u := range urls {
		list = append(list, name(u)+" "+u)
	}
	fmt.Fprintf(out, "relays: %s\n", strings.Join(list, ", "))

	// The listener registers its noise stack on the two relays Pick
	// chooses for its key, and echoes what comes.
	server, key, err := NewPeer()
	if err != nil {
		return nil, err
	}
	res := &Result{Chosen: relay.Pick(urls, key, 2)}
	var listen []string
	for _, u := range res.Chosen {
		listen = append(listen, "relay:"+u+"~noise")
	}
	ln, err := server.Listen(ctx, strings.Join(listen, ";"))
	if err != nil {
		return nil, err
	}
	defer serveEcho(ln).Close()
	registered := len(ln.Addresses(multiserver.ScopeDevice)) // a relay stack is advertised while registered
	fmt.Fprintf(out, "listener %s…: Pick chooses %s, then %s; registered on %d of them\n",
		address.EncodeKey(key)[:4], name(res.Chosen[0]), name(res.Chosen[1]), registered)

	// The dialer knows the key and the list, nothing else.
	client, _, err := NewPeer()
	if err != nil {
		return nil, err
	}
	addrs := relay.Addresses(urls, key, "noise", 2)
	var order []string
	for _, a := range strings.Split(addrs, ";") {
		for _, u := range urls {
			if strings.HasPrefix(a, "relay:"+u+"~") {
				order = append(order, name(u))
			}
		}
	}
	fmt.Fprintf(out, "dialer: Addresses gives %s\n", strings.Join(order, ", then "))
	dial := func(n int) error {
		c, err := client.Dial(ctx, addrs)
		if err != nil {
			return err
		}
		defer c.Close()
		if err := ping(c); err != nil {
			return err
		}
		info := multiserver.Info(c)
		via := info.Stack.Plug().Value() // the relay's URL

		res.Via = append(res.Via, via)
		path := "direct"
		if info.Path.Relayed {
			path = "relayed"
		}
		fmt.Fprintf(out, "dial %d: through %s (%s), path %s over %s\n", n, name(via), via, path, info.Path.Carrier)
		return nil
	}
	if err := dial(1); err != nil {
		return nil, err
	}

	// The first chosen relay goes away; the same addresses still work.
	first := relays[slices.Index(urls, res.Chosen[0])]
	first.Stop()
	relays = slices.DeleteFunc(relays, func(r *Relay) bool { return r == first })
	fmt.Fprintf(out, "relay %s stopped\n", name(first.URL))
	if err := dial(2); err != nil {
		return nil, err
	}
	return res, nil
}

// echoServer echoes every conn a listener accepts.
type echoServer struct {
	ln     net.Listener
	mu     sync.Mutex
	conns  map[net.Conn]bool
	closed bool
	wg     sync.WaitGroup
}

// serveEcho serves ln until it closes.
func serveEcho(ln net.Listener) *echoServer {
	s := &echoServer{ln: ln, conns: map[net.Conn]bool{}}
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			if s.closed {
				s.mu.Unlock()
				c.Close()
				continue
			}
			s.conns[c] = true
			s.mu.Unlock()
			s.wg.Go(func() {
				io.Copy(c, c)
				c.Close()
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
			})
		}
	})
	return s
}

// Close closes the listener and the conns still open, and waits for
// them. A relayed conn whose dialer closed it just as its
// relay stopped never hears of it: it waits for its dialer to resume it
// through the relay, up to the relay plug's ResumeTimeout (10s), unless
// closed.
func (s *echoServer) Close() {
	s.ln.Close()
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// ping writes a message to c and reads it back.
func ping(c net.Conn) error {
	msg := "hello through a relay"
	if _, err := io.WriteString(c, msg); err != nil {
		return err
	}
	b := make([]byte, len(msg))
	if _, err := io.ReadFull(c, b); err != nil {
		return err
	}
	if string(b) != msg {
		return fmt.Errorf("echo %q, want %q", b, msg)
	}
	return nil
}
