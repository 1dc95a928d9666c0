package yamux

import (
	"net"

	"github.com/f7d52a8e/multiserver"
)

// Muxer is the "yamux" muxer of a multiserver.Network: an address ending
// in "~yamux" runs a [Session] over the secured conn. Its zero value uses
// the default [Config].
type Muxer struct {
	Config Config
}

var _ multiserver.Muxer = (*Muxer)(nil)

// Name returns "yamux".
func (*Muxer) Name() string { return "yamux" }

// Client starts the dialing side of a session over c, as [Client] does.
func (m *Muxer) Client(c net.Conn) (multiserver.Session, error) {
	s, err := Client(c, &m.Config)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Server starts the accepting side of a session over c, as [Server] does.
func (m *Muxer) Server(c net.Conn) (multiserver.Session, error) {
	s, err := Server(c, &m.Config)
	if err != nil {
		return nil, err
	}
	return s, nil
}
