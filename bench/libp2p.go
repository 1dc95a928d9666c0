package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/protocol"
	p2pyamux "github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	p2pnoise "github.com/libp2p/go-libp2p/p2p/security/noise"
	p2pquic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	p2ptcp "github.com/libp2p/go-libp2p/p2p/transport/tcp"
)

// benchProtocol is the libp2p protocol of the suite's stream protocol.
const benchProtocol = protocol.ID("/multiserver-bench/1.0.0")

// p2p is a go-libp2p server host and client hosts. Each client host keeps
// at most one connection to the server (libp2p reuses a connection to a
// peer), so parallel dials use one client host each.
type p2p struct {
	server  host.Host
	clients []host.Host
}

// libp2pOptions are the options of every host: only the transport asked
// for, no relay, no ping, no metrics, and no resource or connection
// manager limits, so that nothing throttles or trims connections.
func libp2pOptions(quic bool, listen bool) libp2p.Option {
	opts := []libp2p.Option{
		libp2p.ResourceManager(&network.NullResourceManager{}),
		libp2p.ConnectionManager(&connmgr.NullConnMgr{}),
		libp2p.DisableRelay(),
		libp2p.Ping(false),
		libp2p.DisableMetrics(),
		libp2p.DisableIdentifyAddressDiscovery(),
	}
	if quic {
		// QUIC clients listen too, so that their UDP socket exists when
		// the host does, as a server's does.
		opts = append(opts,
			libp2p.Transport(p2pquic.NewTransport),
			libp2p.ListenAddrStrings("/ip4/127.0.0.1/udp/0/quic-v1"))
		return libp2p.ChainOptions(opts...)
	}
	opts = append(opts,
		libp2p.Transport(p2ptcp.NewTCPTransport),
		libp2p.Security(p2pnoise.ID, p2pnoise.New),
		libp2p.Muxer(p2pyamux.ID, p2pyamux.DefaultTransport))
	if listen {
		opts = append(opts, libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	} else {
		opts = append(opts, libp2p.NoListenAddrs)
	}
	return libp2p.ChainOptions(opts...)
}

// startLibp2p starts a server host (TCP + Noise + Yamux, or QUIC) and
// clients client hosts that know its address.
func startLibp2p(_ context.Context, quic bool, clients int) (system, error) {
	server, err := libp2p.New(libp2pOptions(quic, true))
	if err != nil {
		return nil, err
	}
	server.SetStreamHandler(benchProtocol, func(s network.Stream) { serve(s) })
	p := &p2p{server: server}
	for range max(clients, 1) {
		c, err := libp2p.New(libp2pOptions(quic, false))
		if err != nil {
			p.close()
			return nil, err
		}
		c.Peerstore().AddAddrs(server.ID(), server.Addrs(), peerstore.PermanentAddrTTL)
		p.clients = append(p.clients, c)
	}
	if len(server.Addrs()) == 0 {
		p.close()
		return nil, errors.New("libp2p: the server host listens nowhere")
	}
	return p, nil
}

// dial connects client host i to the server and opens a stream. If the
// client is already connected (a conn not closed yet), libp2p reuses that
// connection; the measures close each conn before dialing again.
func (p *p2p) dial(ctx context.Context, i int) (conn, error) {
	h := p.clients[i%len(p.clients)]
	s, err := h.NewStream(ctx, p.server.ID(), benchProtocol)
	if err != nil {
		return nil, fmt.Errorf("libp2p: %w", err)
	}
	return &p2pConn{Stream: s, h: h, p: p}, nil
}

func (p *p2p) close() error {
	var wg sync.WaitGroup
	errs := make([]error, len(p.clients)+1)
	for i, c := range p.clients {
		wg.Go(func() { errs[i] = c.Close() })
	}
	wg.Wait()
	errs[len(p.clients)] = p.server.Close()
	return errors.Join(errs...)
}

// p2pConn is a client host's connection to the server and a stream on it.
type p2pConn struct {
	network.Stream
	h host.Host
	p *p2p
}

func (c *p2pConn) open(ctx context.Context) (io.ReadWriteCloser, error) {
	return c.h.NewStream(ctx, c.p.server.ID(), benchProtocol)
}

// close closes the stream and every connection to the server, as the
// issue's measure says: host.Network().ClosePeer.
func (c *p2pConn) close() error {
	c.Stream.Close()
	return c.h.Network().ClosePeer(c.p.server.ID())
}
