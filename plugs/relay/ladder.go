package relay

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	ibridge "github.com/f7d52a8e/multiserver/internal/bridge"
	"github.com/f7d52a8e/multiserver/plugs/relay/internal/msgconn"
	"github.com/f7d52a8e/multiserver/plugs/relay/internal/wire"
)

// The carriers of the ladder (spec/relay.md §11), best first.
const (
	CarrierWS   = "ws"   // a WebSocket (wss for an https or wss URL)
	CarrierSSE  = "sse"  // the HTTP bridge, downstream by Server-Sent Events
	CarrierPoll = "poll" // the HTTP bridge, downstream by long-polls
)

var defaultCarriers = []string{CarrierWS, CarrierSSE, CarrierPoll}

// Ladder timing.
const (
	// RetryBetter is how long a relay URL stays on a carrier below the
	// first before a fresh call tries the better ones again.
	RetryBetter = 5 * time.Minute
	// rungTimeout bounds a carrier that is not the last one tried: one
	// that neither fails nor reaches HELLO by then (a proxy that holds
	// the request) gives way to the next.
	rungTimeout = 5 * time.Second
	// maxMemos bounds the relay URLs whose carrier is remembered.
	maxMemos = 1024
)

// carriers returns the ladder c climbs down.
func (c *Client) carriers() ([]string, error) {
	if len(c.Carriers) == 0 {
		return defaultCarriers, nil
	}
	for i, k := range c.Carriers {
		if !slices.Contains(defaultCarriers, k) {
			return nil, fmt.Errorf("relay: carrier %q: want ws, sse or poll", k)
		}
		if slices.Contains(c.Carriers[:i], k) {
			return nil, fmt.Errorf("relay: carrier %q listed twice", k)
		}
	}
	return c.Carriers, nil
}

// memo is what a process remembers of a relay URL: the carrier that
// last reached it, and since when it has been the one.
type memo struct {
	carrier string
	since   time.Time
}

// memos remembers the carrier per relay URL: a Plug's Clients share
// one, and the Clients made elsewhere share the process's.
type memos struct {
	mu sync.Mutex
	m  map[string]memo
}

func newMemos() *memos { return &memos{m: map[string]memo{}} }

var processMemos = newMemos()

func (c *Client) memos() *memos {
	if c.ladder != nil {
		return c.ladder
	}
	return processMemos
}

// start returns where a call to u starts on rungs: at the carrier that
// last worked, or at the top when none did, or when fresh and it has
// been below the top for RetryBetter. retry says the latter.
func (ladders *memos) start(u string, rungs []string, fresh bool) (start int, retry bool) {
	ladders.mu.Lock()
	defer ladders.mu.Unlock()
	m, ok := ladders.m[u]
	if !ok {
		return 0, false
	}
	i := slices.Index(rungs, m.carrier)
	switch {
	case i < 0:
		return 0, false
	case i > 0 && fresh && time.Since(m.since) >= RetryBetter:
		return 0, true
	}
	return i, false
}

// settle notes that carrier reached u; renew restarts the wait before
// the better carriers are tried again (they were just tried).
func (ladders *memos) settle(u, carrier string, renew bool) {
	ladders.mu.Lock()
	defer ladders.mu.Unlock()
	m, ok := ladders.m[u]
	if ok && m.carrier == carrier && !renew {
		return
	}
	if !ok && len(ladders.m) >= maxMemos {
		for k := range ladders.m { // forget one, any
			delete(ladders.m, k)
			break
		}
	}
	ladders.m[u] = memo{carrier: carrier, since: time.Now()}
}

// Carrier returns the carrier that last reached the relay at c.URL
// ("ws", "sse", "poll"), as the Clients that share c's memory of it
// remember (a Plug's, or the process's), or "" if none has.
func (c *Client) Carrier() string {
	u, err := wsURL(c.URL)
	if err != nil {
		return ""
	}
	m := c.memos()
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.m[u].carrier
}

// reach opens a carrier to the relay at u (a ws or wss URL) and reads
// HELLO on it, trying the carriers from where the ladder starts, then
// the ones above it.
func (c *Client) reach(ctx context.Context, u, origin string, fresh bool) (*session, error) {
	rungs, err := c.carriers()
	if err != nil {
		return nil, err
	}
	ladders := c.memos()
	start, retry := ladders.start(u, rungs, fresh)
	var errs []error
	for k := range rungs {
		i := (start + k) % len(rungs)
		rctx, cancel := ctx, context.CancelFunc(func() {})
		if k < len(rungs)-1 {
			d := rungTimeout
			if dl, ok := ctx.Deadline(); ok {
				d = min(d, time.Until(dl)/time.Duration(len(rungs)-k))
			}
			rctx, cancel = context.WithTimeout(ctx, d)
		}
		s, err := c.tryRung(rctx, rungs[i], u, origin)
		cancel()
		if err == nil {
			ladders.settle(u, rungs[i], retry || k > 0)
			return s, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", rungs[i], err))
		// The relay's certificate is the same whatever carries the
		// requests: no other carrier will trust it either.
		var cv *tls.CertificateVerificationError
		if ctx.Err() != nil || errors.As(err, &cv) {
			break
		}
	}
	if len(errs) == 1 {
		return nil, fmt.Errorf("%w: %s: %w", ErrUnreachable, u, errors.Unwrap(errs[0]))
	}
	return nil, fmt.Errorf("%w: %s: %w", ErrUnreachable, u, errors.Join(errs...))
}

// tryRung opens one carrier and reads HELLO on it.
func (c *Client) tryRung(ctx context.Context, carrier, u, origin string) (*session, error) {
	s := &session{url: u, origin: origin, carrier: carrier}
	switch carrier {
	case CarrierWS:
		if err := c.dial(ctx, s); err != nil {
			return nil, err
		}
		if s.ws.Subprotocol() != Subprotocol {
			s.ws.CloseNow()
			return nil, fmt.Errorf("%w: %s does not speak %s", ErrProtocol, u, Subprotocol)
		}
		s.mc = msgconn.WS(s.ws)
		if strings.HasPrefix(u, "wss:") {
			s.carrier = "wss"
		}
	default:
		bu, err := httpURL(u)
		if err != nil {
			return nil, err
		}
		nc, err := c.bridgePlug().DialSession(ctx, bu, carrier == CarrierPoll)
		if err != nil {
			return nil, err
		}
		s.mc = msgconn.NewFramed(nc)
	}
	s.mc.SetReadLimit(64 << 10)
	f, err := s.read(ctx)
	if err == nil && f.Type != wire.FrameHello {
		err = fmt.Errorf("%w: first frame %#02x is not HELLO", ErrProtocol, f.Type)
	}
	if err != nil {
		s.mc.CloseNow()
		return nil, err
	}
	s.hello = f
	return s, nil
}

// httpURL returns the ws or wss URL u with the scheme of the bridge's
// requests, http or https.
func httpURL(u string) (*url.URL, error) {
	v, err := url.Parse(u)
	if err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	if v.Scheme == "wss" {
		v.Scheme = "https"
	} else {
		v.Scheme = "http"
	}
	if v.Path == "" {
		v.Path = "/"
	}
	return v, nil
}

// bridgePlug returns the bridge client the carriers sse and poll use:
// the one the Plug shares among its Clients of this relay, or one for
// this call.
func (c *Client) bridgePlug() *ibridge.Client {
	if c.bridge != nil {
		return c.bridge
	}
	return newBridgePlug(c)
}

// newBridgePlug returns a bridge client with c's identity, TLS, proxy
// and HTTP client. The relay Proxy's schemes are ws and wss.
func newBridgePlug(c *Client) *ibridge.Client {
	bp := &ibridge.Client{Identity: c.Identity, TLSConfig: c.TLSConfig, HTTPClient: c.HTTPClient}
	if pick := c.Proxy; pick != nil {
		bp.Proxy = func(scheme, addr string) (*url.URL, error) {
			if scheme == "https" {
				return pick("wss", addr)
			}
			return pick("ws", addr)
		}
	}
	return bp
}
