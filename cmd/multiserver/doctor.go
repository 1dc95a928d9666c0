package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
	"github.com/f7d52a8e/multiserver/internal/httpproxy"
	"github.com/f7d52a8e/multiserver/keys"
)

// doctor explains, for each address, what it is and how a dial of each
// of its alternatives goes, layer by layer; with --relay, what this
// host's NAT does and whether UDP gets through (relay.go's STUN). It
// dials each alternative alone, with a DialTrace, so that one failing
// does not hide behind another that works.
func doctor(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("doctor")
	var (
		id     identity
		relays listFlag
	)
	id.register(fs)
	asJSON := fs.Bool("json", false, "print a JSON report instead of tables")
	fs.Var(&relays, "relay", "relay `URL` (ws://HOST:PORT/relay or wss://…) to check, and to probe the NAT through its STUN (repeatable)")
	stunPort := fs.Int("stun-port", 3478, "the relays' first STUN `PORT` (relay --stun); they answer on it and the next")
	proxy := fs.String("proxy", "", "dial net, ws, wss, relay, sse and poll through the HTTP CONNECT proxy at `URL` instead of the one the environment names")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 && len(relays) == 0 {
		return fmt.Errorf("%w: doctor needs an ADDRESS or a --relay URL", errUsage)
	}
	if *proxy != "" {
		u, err := url.Parse(*proxy)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%w: doctor: --proxy wants an http:// or https:// URL", errUsage)
		}
		id.proxy = u
	}
	n, _, err := id.network(io.Discard)
	if err != nil {
		return err
	}
	rep := doctorReport{Addresses: []addressReport{}, Relays: []relayReport{}}
	for _, arg := range fs.Args() {
		rep.Addresses = append(rep.Addresses, diagnose(ctx, n, arg, id.proxy, id.timeout))
	}
	tlsCfg, err := id.tlsConfig() // network() has checked it
	if err != nil {
		return err
	}
	for _, r := range relays {
		rep.Relays = append(rep.Relays, checkRelay(ctx, r, *stunPort, id.proxy, tlsCfg))
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		printDoctor(stdout, rep)
	}
	failed := 0
	for _, a := range rep.Addresses {
		if !a.OK {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("doctor: %d of %d addresses did not connect", failed, len(rep.Addresses))
	}
	return nil
}

// doctorReport is what doctor found; --json prints it as it is.
type doctorReport struct {
	Addresses []addressReport `json:"addresses"`
	Relays    []relayReport   `json:"relays"`
}

// addressReport is one address given to doctor.
type addressReport struct {
	Input        string      `json:"input"`
	OK           bool        `json:"ok"` // an alternative connected
	Alternatives []altReport `json:"alternatives"`
}

// altReport is one alternative of an address, and its dial.
type altReport struct {
	Address string      `json:"address"`
	Layers  []string    `json:"layers,omitempty"` // as parsed, seeds redacted
	Parse   string      `json:"parse_error,omitempty"`
	Stack   string      `json:"stack,omitempty"`       // the layers this side has for it
	Missing string      `json:"unsupported,omitempty"` // why this side cannot dial it
	Proxy   string      `json:"proxy,omitempty"`
	Steps   []stepJSON  `json:"steps,omitempty"`
	OK      bool        `json:"ok"`
	Layer   string      `json:"failed_layer,omitempty"`
	Cause   string      `json:"cause,omitempty"`
	Path    *pathJSON   `json:"path,omitempty"`
	Peer    string      `json:"peer,omitempty"`
	Elapsed jsonElapsed `json:"ms"`
}

// stepJSON is a layer, or a step within a plug's dial, as it ended.
type stepJSON struct {
	Layer   string      `json:"layer"`
	Step    string      `json:"step,omitempty"`
	Detail  string      `json:"detail,omitempty"`
	At      jsonElapsed `json:"at_ms"` // since the alternative's dial started
	Elapsed jsonElapsed `json:"ms"`
	Error   string      `json:"error,omitempty"`
}

type pathJSON struct {
	Relayed bool   `json:"relayed"`
	Carrier string `json:"carrier"`
}

// jsonElapsed is a duration written as milliseconds.
type jsonElapsed time.Duration

func (d jsonElapsed) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 3, 64)), nil
}

func (d *jsonElapsed) UnmarshalJSON(b []byte) error {
	ms, err := strconv.ParseFloat(string(b), 64)
	*d = jsonElapsed(ms * float64(time.Millisecond))
	return err
}

func (d jsonElapsed) String() string { return fmtDuration(time.Duration(d)) }

// fmtDuration writes d to three significant places, "0.41ms", "12.3ms",
// "1.20s".
func fmtDuration(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case ms < 10:
		return strconv.FormatFloat(ms, 'f', 2, 64) + "ms"
	case ms < 1000:
		return strconv.FormatFloat(ms, 'f', 1, 64) + "ms"
	}
	return strconv.FormatFloat(ms/1000, 'f', 2, 64) + "s"
}

// diagnose dials each alternative of arg alone, tracing it.
func diagnose(ctx context.Context, n *multiserver.Network, arg string, proxy *url.URL, timeout time.Duration) addressReport {
	rep := addressReport{Input: address.Redact(arg)}
	for _, part := range strings.Split(arg, ";") {
		alt := diagnoseOne(ctx, n, part, proxy, timeout)
		rep.OK = rep.OK || alt.OK
		rep.Alternatives = append(rep.Alternatives, alt)
	}
	return rep
}

func diagnoseOne(ctx context.Context, n *multiserver.Network, part string, proxy *url.URL, timeout time.Duration) altReport {
	alt := altReport{Address: address.Redact(part)}
	a, err := grammar.ParseAddr(part)
	if err != nil {
		alt.Parse = err.Error()
		return alt
	}
	for _, s := range a {
		alt.Layers = append(alt.Layers, s.Redacted())
	}
	alt.Proxy = proxyFor(a.Plug(), proxy)
	var (
		mu    sync.Mutex
		start = time.Now()
	)
	trace := &multiserver.DialTrace{
		Skipped: func(_ string, err error) {
			var de *multiserver.DialError
			if errors.As(err, &de) {
				err = de.Err
			}
			alt.Missing = strings.TrimPrefix(err.Error(), "multiserver: ")
		},
		LayerDone: func(l multiserver.LayerTrace) {
			s := stepJSON{Layer: l.Layer, Step: l.Step, Detail: l.Detail, At: jsonElapsed(l.Start.Sub(start)), Elapsed: jsonElapsed(l.Elapsed)}
			if l.Err != nil {
				s.Error = oneLine(l.Err)
			}
			mu.Lock()
			alt.Steps = append(alt.Steps, s)
			mu.Unlock()
		},
	}
	dctx, cancel := context.WithTimeout(multiserver.WithDialTrace(ctx, trace), 2*timeout)
	defer cancel()
	c, err := n.Dial(dctx, part)
	alt.Elapsed = jsonElapsed(time.Since(start))
	// In the order they started; a layer before the steps within it.
	slices.SortStableFunc(alt.Steps, func(a, b stepJSON) int {
		if a.At != b.At {
			return cmp.Compare(a.At, b.At)
		}
		return cmp.Compare(len(a.Step), len(b.Step)) // "" first
	})
	if alt.Missing != "" {
		return alt
	}
	alt.Stack = strings.Join(layerNames(a), "~")
	if err != nil {
		var de *multiserver.DialError
		if errors.As(err, &de) {
			alt.Layer, alt.Cause = de.Layer, oneLine(de.Err)
		} else {
			alt.Cause = oneLine(err)
		}
		return alt
	}
	defer c.Close()
	info := multiserver.Info(c)
	alt.OK = true
	alt.Path = &pathJSON{Relayed: info.Path.Relayed, Carrier: info.Path.Carrier}
	if info.RemoteKey != nil {
		alt.Peer = keys.ID(info.RemoteKey)
	}
	return alt
}

func layerNames(a address.Addr) []string {
	names := make([]string, len(a))
	for i, s := range a {
		names[i] = s.Name
	}
	return names
}

// oneLine writes err on one line.
func oneLine(err error) string {
	return strings.TrimPrefix(strings.ReplaceAll(err.Error(), "\n", "; "), "multiserver: ")
}

// proxyFor says which HTTP proxy a dial of s goes through: forced if
// not nil, else the one the environment names for it, as the plugs ask.
func proxyFor(s address.Segment, forced *url.URL) string {
	var scheme, hostport string
	switch s.Name {
	case "net":
		host, port, err := address.HostPort(s)
		if err != nil {
			return ""
		}
		if host == "" {
			host = "localhost"
		}
		scheme, hostport = "https", net.JoinHostPort(host, strconv.Itoa(port)) // a raw tunnel is https traffic
	case "ws", "wss", "relay", "sse", "poll":
		var (
			u   *url.URL
			err error
		)
		if s.Name == "ws" || s.Name == "wss" {
			u, err = address.URL(s)
		} else {
			u, err = address.InnerURL(s, "ws", "wss", "http", "https")
		}
		if err != nil {
			return ""
		}
		scheme, hostport = u.Scheme, u.Host
		if u.Port() == "" {
			port := "80"
			if scheme == "wss" || scheme == "https" {
				port = "443"
			}
			hostport = net.JoinHostPort(u.Hostname(), port)
		}
	case "quic":
		return "none (UDP)"
	default:
		return "none (local)"
	}
	if forced != nil {
		return forced.Redacted() + " (--proxy)"
	}
	u, err := httpproxy.ForScheme(scheme, hostport)
	switch {
	case err != nil:
		return "error: " + err.Error()
	case u == nil:
		return "none"
	}
	return u.Redacted() + " (environment)"
}

// printDoctor writes the report as tables, one per alternative.
func printDoctor(w io.Writer, rep doctorReport) {
	for i, a := range rep.Addresses {
		if i > 0 {
			fmt.Fprintln(w)
		}
		for j, alt := range a.Alternatives {
			if j > 0 {
				fmt.Fprintln(w)
			}
			printAlt(w, alt)
		}
	}
	for _, r := range rep.Relays {
		fmt.Fprintln(w)
		printRelay(w, r)
	}
}

func printAlt(w io.Writer, alt altReport) {
	fmt.Fprintln(w, alt.Address)
	if alt.Parse != "" {
		fmt.Fprintf(w, "  parse       %s\n  => not an address\n", alt.Parse)
		return
	}
	fmt.Fprintf(w, "  layers      %s\n", strings.Join(alt.Layers, "  ~  "))
	if alt.Missing != "" {
		fmt.Fprintf(w, "  this side   cannot dial it: %s\n", alt.Missing)
		fmt.Fprintln(w, "  => skipped")
		return
	}
	fmt.Fprintf(w, "  this side   %s\n", alt.Stack)
	fmt.Fprintf(w, "  proxy       %s\n", alt.Proxy)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  LAYER\tSTEP\tDETAIL\tAT\tTIME\tRESULT")
	for _, s := range alt.Steps {
		step, result := s.Step, "ok"
		if step == "" {
			step = "-"
		}
		if s.Error != "" {
			result = s.Error
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", s.Layer, step, s.Detail, s.At, s.Elapsed, result)
	}
	tw.Flush()
	switch {
	case alt.OK:
		path := "direct"
		if alt.Path.Relayed {
			path = "relayed"
		}
		fmt.Fprintf(w, "  => connected in %s: %s, over %s, to %s\n", alt.Elapsed, path, alt.Path.Carrier, orNobody(alt.Peer))
	case alt.Layer != "":
		fmt.Fprintf(w, "  => failed at %s after %s: %s\n", alt.Layer, alt.Elapsed, alt.Cause)
	default:
		fmt.Fprintf(w, "  => failed after %s: %s\n", alt.Elapsed, alt.Cause)
	}
}

func orNobody(peer string) string {
	if peer == "" {
		return "an unauthenticated peer"
	}
	return peer
}
