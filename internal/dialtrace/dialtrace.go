package dialtrace

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
)

// A Hook is told that a step starts, with what it works on (a host
// name, an address); it returns the function to call when the step
// ends, with what it found (the addresses a name resolved to) and its
// error.
type Hook func(step, detail string) (done func(result string, err error))

type key struct{}

// With returns ctx carrying h.
func With(ctx context.Context, h Hook) context.Context { return context.WithValue(ctx, key{}, h) }

// Enabled reports whether ctx carries a hook.
func Enabled(ctx context.Context) bool {
	_, ok := ctx.Value(key{}).(Hook)
	return ok
}

// Start reports the start of step to ctx's hook and returns the function
// that reports its end; without a hook, a function that does nothing.
func Start(ctx context.Context, step, detail string) func(result string, err error) {
	h, ok := ctx.Value(key{}).(Hook)
	if !ok {
		return func(string, error) {}
	}
	return h(step, detail)
}

// A Dialer dials as net.Dialer does.
type Dialer interface {
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)
}

// Dial connects to addr (host:port) with d. With a hook in ctx it
// resolves the host first, as the step "resolve", with d's Resolver if d
// is a *net.Dialer that has one and in the family network names ("tcp4"
// resolves IPv4 addresses alone), and then connects to each address in
// turn until one answers, each as the step "connect"; so a trace tells a
// name that does not resolve from a port that refuses. Without a hook it
// is d.DialContext, racing the addresses as net.Dialer does.
func Dial(ctx context.Context, d Dialer, network, addr string) (net.Conn, error) {
	if !Enabled(ctx) {
		return d.DialContext(ctx, network, addr)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return d.DialContext(ctx, network, addr)
	}
	ips := []netip.Addr{}
	if ip, err := netip.ParseAddr(host); err == nil {
		ips = append(ips, ip)
	} else {
		done := Start(ctx, "resolve", host)
		ips, err = resolver(d).LookupNetIP(ctx, family(network), host)
		if err == nil && len(ips) == 0 {
			err = &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
		}
		done(joinAddrs(ips), err)
		if err != nil {
			return nil, err
		}
	}
	var errs []error
	for _, ip := range ips {
		target := net.JoinHostPort(ip.Unmap().String(), port)
		done := Start(ctx, "connect", target)
		c, err := d.DialContext(ctx, network, target)
		done("", err)
		if err == nil {
			return c, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	if len(errs) == 1 {
		return nil, errs[0]
	}
	return nil, errors.Join(errs...)
}

// resolver returns the resolver d dials with.
func resolver(d Dialer) *net.Resolver {
	if nd, ok := d.(*net.Dialer); ok && nd.Resolver != nil {
		return nd.Resolver
	}
	return net.DefaultResolver
}

// family returns the address family network dials: "ip4", "ip6" or "ip".
func family(network string) string {
	switch {
	case strings.HasSuffix(network, "4"):
		return "ip4"
	case strings.HasSuffix(network, "6"):
		return "ip6"
	}
	return "ip"
}

func joinAddrs(ips []netip.Addr) string {
	s := make([]string, len(ips))
	for i, ip := range ips {
		s[i] = ip.Unmap().String()
	}
	return strings.Join(s, " ")
}
