package noise

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
)

// Transform is the "noise" transform: [Client] and [Server] behind the
// [multiserver.Transform] interface, with one Config for every conn.
type Transform struct {
	cfg Config
	key *localKey
}

var (
	_ multiserver.Transform  = (*Transform)(nil)
	_ multiserver.Advertiser = (*Transform)(nil)
)

// New returns a Transform for cfg. It fails if cfg has no Identity.
func New(cfg Config) (*Transform, error) {
	key, err := cfg.localKey()
	if err != nil {
		return nil, err
	}
	return &Transform{cfg: cfg, key: key}, nil
}

// Name returns "noise".
func (t *Transform) Name() string { return "noise" }

// Kind returns the grammar of the "noise" layer for an [address.Parser],
// "noise:KEY": the server's key, as [address.DecodeKey] reads it. A listen
// address may leave it out ("noise").
func Kind() address.Kind {
	return address.Kind{Name: "noise", Role: address.Transform, Check: checkSegment}
}

// CheckSegment reports what is wrong with s, a "noise" segment, by the
// rules of [Kind].
func (t *Transform) CheckSegment(s address.Segment) error { return checkSegment(s) }

func checkSegment(s address.Segment) error { return address.CheckKeys(s, 1) }

// Client runs [Client] on c. The segment is "noise:KEY", the server's
// Ed25519 public key in base64, the same key an "shs:KEY" segment holds.
func (t *Transform) Client(ctx context.Context, c net.Conn, s address.Segment) (net.Conn, error) {
	if s.Name != "noise" {
		return nil, fmt.Errorf("noise: segment %q is not noise", s.String())
	}
	if len(s.Fields) == 0 || s.Fields[0] == "" {
		return nil, errors.New("noise: address has no server key")
	}
	if len(s.Fields) > 1 {
		return nil, fmt.Errorf("noise: segment %q has more than a key", s.String())
	}
	server, err := address.DecodeKey(s.Fields[0])
	if err != nil {
		return nil, fmt.Errorf("noise: server key: %w", err)
	}
	return asNetConn(dial(ctx, c, &t.cfg, t.key, server))
}

// Server runs [Server] on c.
func (t *Transform) Server(ctx context.Context, c net.Conn) (net.Conn, error) {
	return asNetConn(accept(ctx, c, &t.cfg, t.key))
}

// asNetConn keeps a nil *Conn from becoming a non-nil net.Conn.
func asNetConn(c *Conn, err error) (net.Conn, error) {
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Advertise returns "noise:KEY", this side's public key, in every scope.
func (t *Transform) Advertise(multiserver.Scope) []address.Segment {
	return []address.Segment{{Name: "noise", Fields: []string{address.EncodeKey(t.key.edPub)}}}
}
