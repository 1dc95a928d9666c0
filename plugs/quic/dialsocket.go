package quic

import (
	"context"
	"net"
	"sync"

	quicgo "github.com/quic-go/quic-go"
)

// dialSockets holds the UDP sockets a plug dials from: one per address
// family, shared by every connection the plug dials in that family, as
// raw quic-go clients and go-libp2p share theirs (quic-go tells the
// connections on a socket apart by connection ID). A socket opens with
// the first dial that needs it and closes once the last connection on it
// has ended, so an idle plug holds none. Sharing saves, per connection,
// a socket, the receive batch of quic-go's read loop (about 12 KiB) and
// two goroutines.
type dialSockets struct {
	mu      sync.Mutex
	sockets map[string]*dialSocket // by network, "udp4" or "udp6"
}

// A dialSocket is one shared socket and the quic-go Transport on it.
type dialSocket struct {
	pc   net.PacketConn
	tr   *quicgo.Transport
	refs int // dials in progress and connections not yet ended
}

// acquire returns the transport for network, opening its socket with
// listen if no connection uses one, and a func that lets go of it, to
// be called once, when the dial fails or its connection has ended.
func (d *dialSockets) acquire(ctx context.Context, network string,
	listen func(ctx context.Context, network, address string) (net.PacketConn, error)) (*quicgo.Transport, func(), error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.sockets[network]
	if s == nil {
		local := "0.0.0.0:0"
		if network == "udp6" {
			local = "[::]:0"
		}
		pc, err := listen(ctx, network, local)
		if err != nil {
			return nil, nil, err
		}
		s = &dialSocket{pc: pc, tr: &quicgo.Transport{Conn: pc}}
		if d.sockets == nil {
			d.sockets = make(map[string]*dialSocket)
		}
		d.sockets[network] = s
	}
	s.refs++
	var once sync.Once
	return s.tr, func() { once.Do(func() { d.release(network, s) }) }, nil
}

// release drops one reference to s, and closes it after the last.
func (d *dialSockets) release(network string, s *dialSocket) {
	d.mu.Lock()
	s.refs--
	last := s.refs == 0
	if last && d.sockets[network] == s {
		delete(d.sockets, network)
	}
	d.mu.Unlock()
	if last {
		s.tr.Close()
		s.pc.Close()
	}
}
