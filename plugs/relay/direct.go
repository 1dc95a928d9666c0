//go:build !js

package relay

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/f7d52a8e/multiserver/internal/punch"
	"github.com/f7d52a8e/multiserver/internal/resume"
)

// retryAfter is how long the dialer waits, by default, after an attempt
// failed or its direct path broke, before it punches again; maxRetry
// bounds the wait as failures in a row double it.
const (
	retryAfter = 30 * time.Second
	maxRetry   = 10 * time.Minute
)

// upgrader runs hole punching for one relayed conn.
type upgrader struct {
	c     *relayedConn
	rc    *resume.Conn
	agent *punch.Agent

	mu      sync.Mutex
	retry   *time.Timer
	wait    time.Duration // before the next attempt
	stopped bool
}

func isDirect(carrier net.Conn) bool {
	_, ok := carrier.(*punch.Carrier)
	return ok
}

// upgrade starts hole punching on the dialer's side.
func (c *relayedConn) upgrade() {
	if up := c.upgraderFor(); up != nil {
		up.agent.Start()
	}
}

// signal is resume's OnSignal: a signal of the peer's agent. The
// listener's side makes its agent at the first one.
func (c *relayedConn) signal(p []byte) {
	c.pmu.Lock()
	up := c.up
	c.pmu.Unlock()
	if up == nil && !c.dialer {
		up = c.upgraderFor()
	}
	if up != nil {
		up.agent.Signal(p)
	}
}

// upgraderFor returns c's upgrader, made at the first call; nil once c
// is closed, or before its resumable stream is set (a signal that comes
// so early is dropped; the dialer sends its offer again).
func (c *relayedConn) upgraderFor() *upgrader {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	if c.up != nil || c.closed || c.rc == nil {
		return c.up
	}
	rc := c.rc
	d := c.p.Direct
	if d == nil {
		d = &Direct{}
	}
	up := &upgrader{c: c, rc: rc, wait: d.retry()}
	cfg := punch.Config{
		Identity:       c.p.Identity,
		Peer:           c.remote.Key,
		Dialer:         c.dialer,
		Disabled:       c.p.Direct == nil,
		STUN:           d.stun(c.relay.Hostname()),
		ListenPacket:   d.ListenPacket,
		HostAddrs:      d.HostAddrs,
		Budget:         d.Budget,
		BirthdayBudget: d.BirthdayBudget,
		Logger:         c.p.logger(),
		Send:           rc.Signal,
		Done:           up.done,
	}
	a, err := punch.New(cfg)
	if err != nil {
		c.reason = err.Error()
		return nil
	}
	up.agent = a
	c.up = up
	return up
}

// done takes an attempt's outcome: the direct carrier goes under the
// resumable stream, which moves to it at a byte offset (resumed reports
// the path once the peer's RESUME came over it). After a failure the
// dialer tries again later, unless the peer declined.
func (up *upgrader) done(carrier *punch.Carrier, err error) {
	c := up.c
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return
		}
		c.pmu.Lock()
		if !c.direct {
			c.setPath(false, "no direct path: "+err.Error())
		}
		c.pmu.Unlock()
		if !errors.Is(err, punch.ErrDeclined) {
			up.again(true)
		}
		return
	}
	up.mu.Lock()
	up.wait = up.c.p.Direct.retry()
	up.mu.Unlock()
	if err := up.rc.Attach(carrier); err != nil {
		c.p.logger().Debug("relay: conn ended before the direct path", "err", err)
	}
}

// lost is called when the direct path broke: the dialer tries again.
func (up *upgrader) lost() { up.again(false) }

// again makes the dialer start another attempt after the wait; a failed
// attempt doubles the wait for the one after, up to maxRetry.
func (up *upgrader) again(failed bool) {
	if !up.c.dialer {
		return
	}
	up.mu.Lock()
	defer up.mu.Unlock()
	if up.stopped || up.retry != nil {
		return
	}
	wait := up.wait
	if failed {
		up.wait = min(2*up.wait, maxRetry)
	}
	up.c.p.logger().Debug("relay: next direct attempt", "in", wait)
	up.retry = time.AfterFunc(wait, func() {
		up.mu.Lock()
		up.retry = nil
		stop := up.stopped
		up.mu.Unlock()
		if !stop {
			up.agent.Start()
		}
	})
}

func (up *upgrader) close() {
	up.mu.Lock()
	up.stopped = true
	if up.retry != nil {
		up.retry.Stop()
	}
	up.mu.Unlock()
	up.agent.Close()
}

// retry returns d.Retry, or its default; d may be nil.
func (d *Direct) retry() time.Duration {
	if d == nil || d.Retry <= 0 {
		return retryAfter
	}
	return min(d.Retry, maxRetry)
}

// stun returns the resolver of d's STUN responders: d.STUN, or host on
// ports 3478 and 3479; each name resolves to its first IPv4 and its
// first IPv6 address.
func (d *Direct) stun(host string) func(ctx context.Context) ([]netip.AddrPort, error) {
	servers := d.STUN
	if len(servers) == 0 {
		servers = []string{net.JoinHostPort(host, "3478"), net.JoinHostPort(host, "3479")}
	}
	return func(ctx context.Context) ([]netip.AddrPort, error) {
		var out []netip.AddrPort
		for _, s := range servers {
			h, ps, err := net.SplitHostPort(s)
			if err != nil {
				return nil, fmt.Errorf("relay: STUN server %q: %w", s, err)
			}
			port, err := strconv.ParseUint(ps, 10, 16)
			if err != nil {
				return nil, fmt.Errorf("relay: STUN server %q: bad port", s)
			}
			ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", h)
			if err != nil || len(ips) == 0 {
				return nil, fmt.Errorf("relay: STUN server %q: %w", s, err)
			}
			// The first address of each family: the IPv4 answers tell the
			// NAT's mapping and the IPv4 reflexive address, the IPv6 ones
			// the IPv6 reflexive address.
			var have4, have6 bool
			for _, ip := range ips {
				ip = ip.Unmap()
				if ip.Is4() && !have4 || ip.Is6() && !have6 {
					have4, have6 = have4 || ip.Is4(), have6 || ip.Is6()
					out = append(out, netip.AddrPortFrom(ip, uint16(port)))
				}
			}
		}
		return out, nil
	}
}
