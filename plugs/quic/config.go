package quic

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	quicgo "github.com/quic-go/quic-go"

	"github.com/f7d52a8e/multiserver/keys"
)

// AppKeySize is the size of an app key, [keys.AppKeySize], the same as
// shs's and noise's, so that one network key serves every stack.
const AppKeySize = keys.AppKeySize

// Defaults of [Config], as its field comments state.
const (
	defaultIdleTimeout        = 30 * time.Second
	defaultKeepAlivePeriod    = 15 * time.Second
	defaultMaxIncomingStreams = 128
	defaultStreamWindow       = 16 << 20
	defaultConnectionWindow   = 32 << 20
	defaultCloseTimeout       = 5 * time.Second

	// initialWindow is where quic-go's flow-control windows start before
	// they grow, for streams and connections alike.
	initialWindow = 512 << 10
)

// Config configures a [Plug]. The zero value of every field but Identity
// means its documented default. [New] copies the Config; the package
// never modifies it, and one Config may serve any number of plugs.
type Config struct {
	// Identity is this node's Ed25519 key and app key, the one shs and
	// noise take. The plug's TLS certificate carries the public key, and
	// the TLS handshake proves the private one. Only peers with the same
	// app key connect: each certificate carries an HMAC of the node's key
	// under it (see spec/quic.md). An open network is the app key
	// [keys.OpenNetwork], given explicitly. Required.
	Identity *keys.Identity

	// IdleTimeout closes a connection that has heard nothing from the
	// peer for this long. QUIC uses the smaller of the two sides' values.
	// If zero, 30s. It may not be negative.
	IdleTimeout time.Duration

	// KeepAlivePeriod is how often a connection with nothing else to send
	// sends a packet, so that neither side's IdleTimeout (nor a NAT's
	// mapping) ends a quiet but live connection. quic-go sends it at most
	// every half IdleTimeout. If zero, 15s; if negative, no keepalives.
	KeepAlivePeriod time.Duration

	// MaxIncomingStreams is how many streams the peer may have open at
	// once on a connection; the peer's further Opens wait. If zero, 128;
	// if negative, the peer may open none.
	MaxIncomingStreams int

	// MaxStreamReceiveWindow is the most, in bytes, that one stream
	// buffers for a reader that has not read it yet: the peer may send
	// no further ahead. The window starts at 512 KiB and grows while the
	// reader keeps up. If zero, 16 MiB. It may not be negative.
	MaxStreamReceiveWindow int

	// MaxConnectionReceiveWindow is the same bound for all the streams of
	// a connection together, and so bounds the memory one peer can make
	// a connection hold. If zero, 32 MiB. It may not be negative.
	MaxConnectionReceiveWindow int

	// CloseTimeout bounds how long closing a connection waits for the
	// peer to finish reading what was sent (see the package doc, #
	// Closing). If zero, 5s; if negative, connections close at once and
	// data in flight may be lost.
	CloseTimeout time.Duration

	// External lists hosts (names or addresses) that peers in
	// ScopePublic use instead of the listener's own, such as a NAT's
	// public address. If empty, the listener's public addresses are used.
	External []string

	// ListenPacket opens the UDP sockets: for a listener with network
	// "udp" and its host:port, and for dials with "udp4" or "udp6" and
	// an unspecified address with port 0 (the dials of a family share
	// one socket, which closes 100ms after their last connection ends).
	// Set it to choose socket options, a device, or a network namespace.
	// If nil, net.ListenConfig{}.ListenPacket.
	ListenPacket func(ctx context.Context, network, address string) (net.PacketConn, error)

	// Logger receives debug records of what callers cannot see: peers
	// refused during the handshake, streams refused for a bad header,
	// broken control streams; at most about one a second after a burst
	// of ten. If nil, nothing is logged.
	Logger *slog.Logger
}

// withDefaults validates c and returns a copy with every zero field set
// to its default.
func (c *Config) withDefaults() (Config, error) {
	d := *c
	if d.Identity == nil || d.Identity.Public() == nil {
		return d, errors.New("quic: Config.Identity is nil or empty; make one with keys.NewIdentity")
	}
	switch {
	case d.IdleTimeout < 0:
		return d, fmt.Errorf("quic: Config.IdleTimeout %v is negative", d.IdleTimeout)
	case d.MaxStreamReceiveWindow < 0:
		return d, fmt.Errorf("quic: Config.MaxStreamReceiveWindow %d is negative", d.MaxStreamReceiveWindow)
	case d.MaxConnectionReceiveWindow < 0:
		return d, fmt.Errorf("quic: Config.MaxConnectionReceiveWindow %d is negative", d.MaxConnectionReceiveWindow)
	}
	d.External = append([]string(nil), d.External...)
	if d.IdleTimeout == 0 {
		d.IdleTimeout = defaultIdleTimeout
	}
	if d.KeepAlivePeriod == 0 {
		d.KeepAlivePeriod = defaultKeepAlivePeriod
	}
	if d.MaxIncomingStreams == 0 {
		d.MaxIncomingStreams = defaultMaxIncomingStreams
	}
	if d.MaxStreamReceiveWindow == 0 {
		d.MaxStreamReceiveWindow = defaultStreamWindow
	}
	if d.MaxConnectionReceiveWindow == 0 {
		d.MaxConnectionReceiveWindow = defaultConnectionWindow
	}
	if d.CloseTimeout == 0 {
		d.CloseTimeout = defaultCloseTimeout
	}
	if d.ListenPacket == nil {
		d.ListenPacket = (&net.ListenConfig{}).ListenPacket
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	return d, nil
}

// quicConfig returns the quic-go configuration for c, which
// withDefaults has filled in.
func (c *Config) quicConfig() *quicgo.Config {
	keepAlive := c.KeepAlivePeriod
	if keepAlive < 0 {
		keepAlive = 0 // quic-go's "none"
	}
	streams := int64(c.MaxIncomingStreams)
	if streams < 0 {
		streams = -1 // quic-go's "none"
	}
	return &quicgo.Config{
		// Version 1 (RFC 9000) only: the address names it, and another
		// version would be another address, not a negotiation.
		Versions:                       []quicgo.Version{quicgo.Version1},
		MaxIdleTimeout:                 c.IdleTimeout,
		KeepAlivePeriod:                keepAlive,
		MaxIncomingStreams:             streams,
		MaxIncomingUniStreams:          maxControlStreams,
		InitialStreamReceiveWindow:     uint64(min(initialWindow, c.MaxStreamReceiveWindow)),
		MaxStreamReceiveWindow:         uint64(c.MaxStreamReceiveWindow),
		InitialConnectionReceiveWindow: uint64(min(initialWindow, c.MaxConnectionReceiveWindow)),
		MaxConnectionReceiveWindow:     uint64(c.MaxConnectionReceiveWindow),
	}
}
