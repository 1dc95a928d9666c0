package yamux

import (
	"context"
	"fmt"
	"net"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
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

// Kind returns the grammar of the "yamux" layer for an [address.Parser]:
// a muxer, the last layer, without fields.
func Kind() address.Kind {
	return address.Kind{Name: "yamux", Role: address.Muxer, Check: checkSegment}
}

// CheckSegment reports what is wrong with s, a "yamux" segment, by the
// rules of [Kind].
func (*Muxer) CheckSegment(s address.Segment) error { return checkSegment(s) }

func checkSegment(s address.Segment) error {
	if s.Fields != nil {
		return fmt.Errorf("takes no fields, got %q", s.Value())
	}
	return nil
}

// Client starts the dialing side of a session over c, as [Client] does.
// Starting needs no round trip, so ctx only stops a start it finds
// ended.
func (m *Muxer) Client(ctx context.Context, c net.Conn) (multiserver.Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s, err := Client(c, &m.Config)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Server starts the accepting side of a session over c, as [Server] does.
func (m *Muxer) Server(ctx context.Context, c net.Conn) (multiserver.Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s, err := Server(c, &m.Config)
	if err != nil {
		return nil, err
	}
	return s, nil
}
