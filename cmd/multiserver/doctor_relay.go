package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/f7d52a8e/multiserver/internal/stun"
)

// stunTimeout bounds doctor's STUN probe: past a few retransmissions
// (500ms, then 1s, then 2s) no answer means none will come.
const stunTimeout = 4 * time.Second

// relayReport is what doctor found of one relay.
type relayReport struct {
	URL     string      `json:"url"`
	Error   string      `json:"error,omitempty"` // the URL is unusable
	Healthz *probeJSON  `json:"healthz,omitempty"`
	STUN    *stunReport `json:"stun,omitempty"`
}

// probeJSON is one request and how it went.
type probeJSON struct {
	Target  string      `json:"target"`
	Status  string      `json:"status,omitempty"`
	Elapsed jsonElapsed `json:"ms"`
	Error   string      `json:"error,omitempty"`
}

// stunReport is what the relay's STUN said of this host's NAT.
type stunReport struct {
	Servers    []string     `json:"servers"`
	Answers    []answerJSON `json:"answers,omitempty"`
	Reflexive  string       `json:"reflexive,omitempty"`
	Mapping    string       `json:"mapping,omitempty"`
	NAT        string       `json:"nat"`
	UDPBlocked bool         `json:"udp_blocked"`
	Error      string       `json:"error,omitempty"`
}

type answerJSON struct {
	Server string      `json:"server"`
	Mapped string      `json:"mapped"`
	RTT    jsonElapsed `json:"ms"`
}

// checkRelay asks the relay at raw for its health, and its STUN ports
// for this host's reflexive address and NAT mapping. tlsCfg, if not nil,
// is what an https request trusts (--tls-ca).
func checkRelay(ctx context.Context, raw string, stunPort int, proxy *url.URL, tlsCfg *tls.Config) relayReport {
	rep := relayReport{URL: raw}
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		rep.Error = "not a URL with a host"
		return rep
	}
	if u.User != nil {
		rep.URL = u.Redacted()
	}
	var scheme string
	switch u.Scheme {
	case "ws", "http":
		scheme = "http"
	case "wss", "https":
		scheme = "https"
	default:
		rep.Error = fmt.Sprintf("scheme %q: want ws, wss, http or https", u.Scheme)
		return rep
	}
	health := &url.URL{Scheme: scheme, Host: u.Host, Path: "/healthz"}
	rep.Healthz = getHealthz(ctx, health.String(), proxy, tlsCfg)
	rep.STUN = probeSTUN(ctx, u.Hostname(), stunPort)
	return rep
}

func getHealthz(ctx context.Context, target string, proxy *url.URL, tlsCfg *tls.Config) *probeJSON {
	p := &probeJSON{Target: target}
	tr := &http.Transport{Proxy: http.ProxyFromEnvironment, DisableKeepAlives: true, TLSClientConfig: tlsCfg.Clone()}
	if proxy != nil {
		tr.Proxy = http.ProxyURL(proxy)
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err == nil {
		var resp *http.Response
		if resp, err = client.Do(req); err == nil {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			p.Status = resp.Status
			if resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("answered %s", resp.Status)
			}
		}
	}
	p.Elapsed = jsonElapsed(time.Since(start))
	if err != nil {
		p.Error = oneLine(err)
	}
	return p
}

// probeSTUN sends Binding requests to port and port+1 of host, from one
// UDP socket, and says what the NAT does.
func probeSTUN(ctx context.Context, host string, port int) *stunReport {
	rep := &stunReport{NAT: "unknown"}
	ctx, cancel := context.WithTimeout(ctx, stunTimeout)
	defer cancel()
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil || len(ips) == 0 {
		rep.Error = fmt.Sprintf("resolve %s: %v", host, err)
		return rep
	}
	ip := ips[0].Unmap()
	servers := []netip.AddrPort{netip.AddrPortFrom(ip, uint16(port)), netip.AddrPortFrom(ip, uint16(port+1))}
	for _, s := range servers {
		rep.Servers = append(rep.Servers, s.String())
	}
	network := "udp4"
	if ip.Is6() {
		network = "udp6"
	}
	pc, err := net.ListenPacket(network, ":0")
	if err != nil {
		rep.Error = err.Error()
		return rep
	}
	defer pc.Close()
	res, err := stun.Probe(ctx, pc, servers)
	for _, a := range res.Answers {
		if a.Mapped.IsValid() {
			rep.Answers = append(rep.Answers, answerJSON{Server: a.Server.String(), Mapped: a.Mapped.String(), RTT: jsonElapsed(a.RTT)})
		}
	}
	if err != nil {
		rep.UDPBlocked = errors.Is(err, stun.ErrUDPBlocked)
		rep.NAT = "no UDP: blocked, or the relay's STUN is down; peers here can be reached only relayed, over TCP"
		rep.Error = oneLine(err)
		return rep
	}
	refl := res.Reflexive()
	rep.Reflexive, rep.Mapping = refl.String(), res.Mapping.String()
	local := pc.LocalAddr().(*net.UDPAddr).AddrPort().Port()
	switch {
	case isLocalAddr(refl.Addr()) && refl.Port() == local:
		rep.NAT = "none: this host's own address is what peers see"
	case res.Mapping == stun.MappingEndpointIndependent:
		rep.NAT = "endpoint-independent mapping (a cone NAT): hole punching can work"
	case res.Mapping == stun.MappingEndpointDependent:
		rep.NAT = "endpoint-dependent mapping (a symmetric NAT): hole punching rarely works; expect relayed paths"
	default:
		rep.NAT = "unknown: only one STUN port answered"
	}
	return rep
}

// isLocalAddr reports whether ip is an address of this host's interfaces.
func isLocalAddr(ip netip.Addr) bool {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().Unmap() == ip.Unmap() {
			return true
		}
	}
	return false
}

func printRelay(w io.Writer, r relayReport) {
	fmt.Fprintf(w, "relay %s\n", r.URL)
	if r.Error != "" {
		fmt.Fprintf(w, "  => %s\n", r.Error)
		return
	}
	if h := r.Healthz; h != nil {
		result := h.Status
		if h.Error != "" {
			result = h.Error
		}
		fmt.Fprintf(w, "  healthz     GET %s in %s: %s\n", h.Target, h.Elapsed, result)
	}
	if s := r.STUN; s != nil {
		fmt.Fprintf(w, "  stun        %s\n", strings.Join(s.Servers, ", "))
		for _, a := range s.Answers {
			fmt.Fprintf(w, "  answer      %s saw %s in %s\n", a.Server, a.Mapped, a.RTT)
		}
		if s.Error != "" {
			fmt.Fprintf(w, "  error       %s\n", s.Error)
		}
		fmt.Fprintf(w, "  => NAT: %s\n", s.NAT)
	}
}
