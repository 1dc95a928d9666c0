package quic

import (
	"context"
	"net"
	"sync"
	"time"

	quicgo "github.com/quic-go/quic-go"
)

// dialSockets holds the UDP sockets a plug dials from: one per address
// family, shared by every connection the plug dials in that family, as
// raw quic-go clients and go-libp2p share theirs (quic-go tells the
// connections on a socket apart by connection ID). A socket opens with
// the first dial that needs it and closes once the last connection on it
// has ended and dialSocketLinger has passed with no new dial, so an idle
// plug soon holds none. Sharing saves, per connection, a socket, the
// receive batch of quic-go's read loop (about 12 KiB) and two
// goroutines; the linger saves opening and closing a socket for each of
// a series of short connections, one after the other.
type dialSockets struct {
	mu      sync.Mutex
	sockets map[string]*dialSocket // by network, "udp4" or "udp6"
}

// dialSocketLinger is how long a dial socket stays open after its last
// connection has ended, for the next dial.
const dialSocketLinger = 100 * time.Millisecond

// A dialSocket is one shared socket and the quic-go Transport on it.
type dialSocket struct {
	pc   net.PacketConn
	tr   *quicgo.Transport
	refs int         // dials in progress and connections not yet ended
	idle *time.Timer // set while refs is 0: closes the socket
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
	if s.idle != nil {
		s.idle.Stop() // if it already fired, closeIdle sees refs > 0
		s.idle = nil
	}
	s.refs++
	var once sync.Once
	return s.tr, func() { once.Do(func() { d.release(network, s) }) }, nil
}

// release drops one reference to s, and after the last sets it to
// close once it has been idle for dialSocketLinger.
func (d *dialSockets) release(network string, s *dialSocket) {
	d.mu.Lock()
	defer d.mu.Unlock()
	s.refs--
	if s.refs == 0 {
		s.idle = time.AfterFunc(dialSocketLinger, func() { d.closeIdle(network, s) })
	}
}

// closeIdle closes s unless a dial has taken it up again.
func (d *dialSockets) closeIdle(network string, s *dialSocket) {
	d.mu.Lock()
	if s.refs > 0 || d.sockets[network] != s {
		d.mu.Unlock()
		return
	}
	delete(d.sockets, network)
	d.mu.Unlock()
	s.tr.Close()
	s.pc.Close()
}
