package main

import (
	"encoding/json"
	"fmt"
	"io"

	ma "github.com/multiformats/go-multiaddr"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
)

func addr(args []string, stdout io.Writer) error {
	if len(args) != 2 {
		return fmt.Errorf("%w: addr parse|explain|to-multiaddr|from-multiaddr ARG", errUsage)
	}
	verb, arg := args[0], args[1]
	switch verb {
	case "parse", "explain", "to-multiaddr", "from-multiaddr":
	default:
		return fmt.Errorf("%w: unknown addr command %q", errUsage, verb)
	}
	if verb == "from-multiaddr" {
		m, err := ma.NewMultiaddr(arg)
		if err != nil {
			return err
		}
		s, err := address.FromMultiaddr(m)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, address.Addr{s})
		return nil
	}
	list, err := address.Parse(arg)
	if err != nil {
		return err
	}
	switch verb {
	case "parse":
		return parseJSON(list, stdout)
	case "explain":
		explain(list, stdout)
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

// parseJSON prints the canonical form and the layers of each address.
func parseJSON(list address.List, w io.Writer) error {
	type layer struct {
		Name   string   `json:"name"`
		Fields []string `json:"fields"`
	}
	type entry struct {
		Address string  `json:"address"`
		Layers  []layer `json:"layers"`
	}
	var out []entry
	for _, a := range list {
		e := entry{Address: a.String()}
		for _, s := range a {
			e.Layers = append(e.Layers, layer{s.Name, append([]string{}, s.Fields...)})
		}
		out = append(out, e)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// explain prints each address in words.
func explain(list address.List, w io.Writer) {
	for i, a := range list {
		fmt.Fprintf(w, "address %d: %s\n", i+1, a)
		for j, s := range a {
			role := "transform"
			if j == 0 {
				role = "plug"
			}
			fmt.Fprintf(w, "  %-9s %-6s %s\n", role, s.Name, describe(s))
		}
	}
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
