package main

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	ma "github.com/multiformats/go-multiaddr"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
)

func addr(args []string, stdout io.Writer) error {
	if len(args) != 2 {
		return fmt.Errorf("%w: addr parse|explain|to-multiaddr|from-multiaddr|from-hex ARG", errUsage)
	}
	verb, arg := args[0], args[1]
	switch verb {
	case "parse", "explain", "to-multiaddr", "from-multiaddr", "from-hex":
	default:
		return fmt.Errorf("%w: unknown addr command %q", errUsage, verb)
	}
	if verb == "from-hex" {
		// A Hyperswarm key as its tools print it: 64 hex digits.
		k, err := hex.DecodeString(strings.TrimPrefix(arg, "hyperswarm:"))
		if err != nil || len(k) != address.KeySize {
			return fmt.Errorf("%w: from-hex wants a key of 64 hex digits, such as Hyperswarm tools print", errUsage)
		}
		fmt.Fprintln(stdout, address.Addr{{Name: "hyperswarm", Fields: []string{address.EncodeKey(k)}}})
		return nil
	}
	if verb == "from-multiaddr" {
		m, err := ma.NewMultiaddr(arg)
		if err != nil {
			return fmt.Errorf("%w: %w", errUsage, err)
		}
		s, err := address.FromMultiaddr(m)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, address.Addr{s})
		return nil
	}
	// Alternatives with layers we do not know are skipped by a dialer, as
	// in JavaScript; show them as such rather than refuse the whole list.
	list, unknown, err := grammar.ParseKnown(arg)
	if err != nil {
		return fmt.Errorf("%w: %w", errUsage, err) // not an address at all
	}
	if len(list) == 0 {
		return unknown[0].Err
	}
	switch verb {
	case "parse":
		return parseJSON(list, unknown, stdout)
	case "explain":
		explain(list, unknown, stdout)
		return nil
	case "to-multiaddr":
		for _, a := range list {
			m, err := address.ToMultiaddr(a.Plug())
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout, m)
		}
	}
	return nil
}

// parseJSON prints the canonical form and the layers of each address,
// in order. An address with a layer this program does not know also has
// "unknown", saying which layer; its layers are as written, unchecked.
func parseJSON(list address.List, unknown []address.Unknown, w io.Writer) error {
	type layer struct {
		Name   string   `json:"name"`
		Fields []string `json:"fields"`
	}
	type entry struct {
		Address string  `json:"address"`
		Layers  []layer `json:"layers"`
		Unknown string  `json:"unknown,omitempty"`
	}
	var out []entry
	add := func(a address.Addr, note string) {
		e := entry{Address: a.String(), Unknown: note}
		for _, s := range a {
			e.Layers = append(e.Layers, layer{s.Name, append([]string{}, s.Fields...)})
		}
		out = append(out, e)
	}
	each(list, unknown, func(_ int, a address.Addr) { add(a, "") }, func(u address.Unknown) {
		add(u.Addr, u.Err.Msg+"; a dialer skips this address")
	})
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// each calls known or unknown for every alternative, in the order of the
// input; known gets the alternative's position from 0.
func each(list address.List, unknown []address.Unknown, known func(int, address.Addr), other func(address.Unknown)) {
	k, n := 0, len(list)+len(unknown)
	for i := 0; i < n; i++ {
		if len(unknown) > 0 && unknown[0].Index == i {
			other(unknown[0])
			unknown = unknown[1:]
			continue
		}
		known(i, list[k])
		k++
	}
}

// explain prints each address in words, seeds redacted.
func explain(list address.List, unknown []address.Unknown, w io.Writer) {
	each(list, unknown, func(i int, a address.Addr) {
		fmt.Fprintf(w, "address %d: %s\n", i+1, a.Redacted())
		for j, s := range a {
			role := "transform"
			if j == 0 {
				role = "plug"
			}
			fmt.Fprintf(w, "  %-9s %-6s %s\n", role, s.Name, describe(s))
		}
	}, func(u address.Unknown) {
		fmt.Fprintf(w, "address %d: %s\n", u.Index+1, u.Addr.Redacted())
		fmt.Fprintf(w, "  not known here (%s); a dialer skips it\n", u.Err.Msg)
	})
}

func describe(s address.Segment) string {
	switch s.Name {
	case "net", "onion":
		host, port, _ := address.HostPort(s)
		return fmt.Sprintf("TCP to host %s, port %d", orLocalhost(host), port)
	case "unix":
		return "Unix socket at " + s.Value()
	case "ws", "wss":
		u, _ := address.URL(s)
		return "WebSocket to " + u.String()
	case "relay":
		return "through the relay at " + s.Value() + " (to the key of the next layer)"
	case "tunnel":
		if len(s.Fields) < 2 {
			return "through the SSB room " + s.Fields[0] + " (listening: this peer, once the room lists it)"
		}
		return "through the SSB room " + s.Fields[0] + " to the member " + s.Fields[1]
	case "sse":
		return "HTTP bridge to " + s.Value() + ": Server-Sent Events down, POSTs up"
	case "poll":
		return "HTTP bridge to " + s.Value() + ": long-polls down, POSTs up"
	case "mem":
		return "in-process listener " + s.Value()
	case "shs", "noise":
		name := map[string]string{"shs": "secret-handshake v1 + box stream", "noise": "Noise IK"}[s.Name]
		if len(s.Fields) == 0 {
			return name + " (key filled in when advertised)"
		}
		desc := name + ", peer key " + s.Fields[0]
		if len(s.Fields) > 1 {
			desc += ", one-time client identity from a seed (invite)"
		}
		return desc
	case "noauth":
		return "no authentication, no encryption (device and local scopes only)"
	case "yamux":
		return "yamux streams over the connection"
	}
	return s.Value()
}

func orLocalhost(h string) string {
	if h == "" {
		return "localhost"
	}
	return h
}

func parseScope(s string) (multiserver.Scope, error) {
	sc, err := multiserver.ParseScope(s)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", errUsage, err)
	}
	return sc, nil
}
