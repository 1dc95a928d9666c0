package relay

import (
	"context"
	"crypto/ed25519"
	crand "crypto/rand"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
	"github.com/f7d52a8e/multiserver/internal/resume"
)

// DialStack dials the key of o.Addr's transform through the relay its
// plug segment names, asking for the stack of its layers. The errors of
// a relay that is down match [ErrUnreachable]; of a relay where nobody
// is registered for that key and stack, [ErrNoPeer], at once.
func (p *Plug) DialStack(ctx context.Context, o multiserver.DialOptions) (net.Conn, error) {
	u, label, err := stackOf(o.Addr, o.Authenticated)
	if err != nil {
		return nil, err
	}
	key, err := peerKey(o.Addr)
	if err != nil {
		return nil, err
	}
	cl, err := p.client(u)
	if err != nil {
		return nil, err
	}
	var id StreamID
	crand.Read(id[:])
	first, err := cl.Connect(ctx, key, label, id)
	if err != nil {
		return nil, err
	}
	log := p.logger().With("relay", u.String(), "stream", fmt.Sprintf("%x", id[:4]))
	carrier := newCarrierVar(first)
	var c *relayedConn
	redial := func(ctx context.Context) (net.Conn, error) {
		if c.directOnly() {
			return nil, errDirectOnly
		}
		rc, err := reconnect(ctx, cl, key, label, id, log)
		if err == nil {
			carrier.set(rc)
		}
		return rc, err
	}
	c = newRelayedConn(p, u, true, Addr{URL: u.String(), Key: p.Identity.Public()}, Addr{URL: u.String(), Key: key}, carrier)
	c.setStream(resume.New(first, p.resumeConfig(c, redial)))
	if p.Direct != nil {
		c.upgrade()
	}
	return c, nil
}

// errDirectOnly is why a direct-only conn does not pair again.
var errDirectOnly = errors.New("relay: the conn is direct only: it does not go back to the relay")

// reconnect pairs stream id again until it succeeds or ctx ends. It
// tries at once, then every 150ms to 450ms, with jitter, rather than
// backing off further: the resume timeout bounds the whole, and a relay
// that restarted should find both ends again within a second.
func reconnect(ctx context.Context, cl *Client, key ed25519.PublicKey, label string, id StreamID, log interface {
	Debug(string, ...any)
}) (*Conn, error) {
	wait := 200 * time.Millisecond
	for {
		c, err := cl.connect(ctx, key, label, id, false)
		if err == nil {
			log.Debug("relay: stream paired again")
			return c, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		log.Debug("relay: pairing again failed", "err", err)
		var re *RestartingError
		d := wait/2 + rand.N(wait)
		if errors.As(err, &re) && re.ReconnectIn > d {
			d = re.ReconnectIn
		}
		wait = min(2*wait, resumeBackoff)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// peerKey returns the key a relay address dials: its transform's.
func peerKey(a address.Addr) (ed25519.PublicKey, error) {
	for _, s := range a.Transforms() {
		if len(s.Fields) > 0 && s.Fields[0] != "" {
			k, err := address.DecodeKey(s.Fields[0])
			if err != nil {
				return nil, fmt.Errorf("relay: %w", err)
			}
			return ed25519.PublicKey(k), nil
		}
	}
	return nil, fmt.Errorf("relay: %s names no key to dial: want relay:URL~noise:KEY", a)
}
