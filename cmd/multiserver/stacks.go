package main

import (
	"crypto/tls"
	"log/slog"
	"net/url"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
	"github.com/f7d52a8e/multiserver/keys"
	"github.com/f7d52a8e/multiserver/mux/yamux"
	"github.com/f7d52a8e/multiserver/plugs/bridge"
	"github.com/f7d52a8e/multiserver/plugs/holepunch"
	"github.com/f7d52a8e/multiserver/plugs/hyperswarm"
	"github.com/f7d52a8e/multiserver/plugs/mem"
	"github.com/f7d52a8e/multiserver/plugs/onion"
	"github.com/f7d52a8e/multiserver/plugs/quic"
	"github.com/f7d52a8e/multiserver/plugs/relay"
	"github.com/f7d52a8e/multiserver/plugs/tcp"
	"github.com/f7d52a8e/multiserver/plugs/tunnel"
	"github.com/f7d52a8e/multiserver/plugs/unix"
	"github.com/f7d52a8e/multiserver/plugs/ws"
	"github.com/f7d52a8e/multiserver/transforms/noauth"
	"github.com/f7d52a8e/multiserver/transforms/noise"
	"github.com/f7d52a8e/multiserver/transforms/shs"
)

// grammar reads addresses with every layer the command offers, and
// JavaScript's onion and the in-process mem, which it parses but does
// not serve, each by the rules its own package gives.
var grammar = &address.Parser{Kinds: []address.Kind{
	tcp.Kind(), unix.Kind(), ws.Kind("ws"), ws.Kind("wss"), quic.Kind(), relay.Kind(), holepunch.Kind(), bridge.Kind("sse"), bridge.Kind("poll"), tunnel.Kind(), hyperswarm.Kind(), onion.Kind(), mem.Kind(),
	shs.Kind(), noise.Kind(), noauth.Kind(),
	yamux.Kind(),
}}

// stackConfig is what the command's Networks are made of.
type stackConfig struct {
	identity *keys.Identity // the key and app key of shs, noise, quic, relay, sse and poll
	timeout  time.Duration
	noauth   multiserver.Scope // the widest scope noauth is served in
	logger   *slog.Logger      // nil: silent
	// wssTLS serves wss, relay and https sse and poll listeners and pins
	// what their dials trust; nil: they only dial, trusting the system.
	wssTLS *tls.Config
	stats  *multiserver.Stats // nil: not counting
	proxy  *url.URL           // dial net, ws, wss, relay, sse and poll through it; nil: as the environment says
	// rooms are the addresses of the SSB rooms tunnel addresses may name.
	rooms []string
	// dhtRelays are the dht-relays hyperswarm addresses are dialed
	// through; without any, the Network has no hyperswarm plug.
	dhtRelays []string
	// direct moves relayed conns to a punched direct path when it can.
	direct bool
}

// newNetwork returns a Network with every plug, transform and muxer the
// command offers: net, unix, ws, wss, quic, relay, holepunch, sse, poll
// and tunnel; shs, noise and noauth; yamux. Its logger, if any, also gets
// the debug records of the quic, relay, bridge and tunnel plugs. The
// tunnel plug reaches its rooms through the Network itself.
func newNetwork(c stackConfig) (*multiserver.Network, error) {
	secret, err := shs.New(shs.Config{Identity: c.identity})
	if err != nil {
		return nil, err
	}
	nz, err := noise.New(noise.Config{Identity: c.identity})
	if err != nil {
		return nil, err
	}
	q, err := quic.New(quic.Config{Identity: c.identity, Logger: c.logger})
	if err != nil {
		return nil, err
	}
	var (
		netProxy func(string) (*url.URL, error)         // nil: the environment's
		urlProxy func(string, string) (*url.URL, error) // nil: the environment's
	)
	if c.proxy != nil {
		netProxy, urlProxy = tcp.ProxyURL(c.proxy), ws.ProxyURL(c.proxy)
	}
	var direct *relay.Direct
	if c.direct {
		direct = &relay.Direct{}
	}
	// holepunch: direct or nothing, the relay for the signalling only.
	hp, err := holepunch.New(holepunch.Config{
		Rendezvous: &relay.Plug{Identity: c.identity, TLSConfig: c.wssTLS, Logger: c.logger, Proxy: urlProxy, Direct: &relay.Direct{}},
		Logger:     c.logger,
	})
	if err != nil {
		return nil, err
	}
	tun := &tunnel.Plug{Identity: c.identity, Rooms: c.rooms, Logger: c.logger}
	var extra []multiserver.Plug
	if len(c.dhtRelays) > 0 {
		hs, err := hyperswarm.New(hyperswarm.Config{Relays: c.dhtRelays, Identity: c.identity, Logger: c.logger})
		if err != nil {
			return nil, err
		}
		extra = append(extra, hs)
	}
	n, err := multiserver.New(multiserver.Config{
		Plugs: append([]multiserver.Plug{
			&tcp.Plug{Proxy: netProxy}, &unix.Plug{},
			&ws.Plug{Proxy: urlProxy}, &ws.Plug{Scheme: "wss", TLSConfig: c.wssTLS, Proxy: urlProxy},
			q,
			&relay.Plug{Identity: c.identity, TLSConfig: c.wssTLS, Logger: c.logger, Proxy: urlProxy, Direct: direct},
			hp,
			&bridge.Plug{Scheme: "sse", Identity: c.identity, TLSConfig: c.wssTLS, Logger: c.logger, Proxy: urlProxy},
			&bridge.Plug{Scheme: "poll", Identity: c.identity, TLSConfig: c.wssTLS, Logger: c.logger, Proxy: urlProxy},
			tun,
		}, extra...),
		Transforms:       []multiserver.Transform{secret, nz, noauth.Transform{Scope: c.noauth}},
		Muxers:           []multiserver.Muxer{&yamux.Muxer{}},
		HandshakeTimeout: c.timeout,
		Logger:           c.logger,
		Stats:            c.stats,
	})
	if err != nil {
		return nil, err
	}
	tun.Dialer = n
	return n, nil
}
