package shs

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
)

// Transform is the "shs" transform: [Client] and [Server] behind the
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

// Name returns "shs".
func (t *Transform) Name() string { return "shs" }

// Kind returns the grammar of the "shs" layer for an [address.Parser],
// "shs:KEY:SEED": the server's key and, when dialing, the seed of a
// one-time client identity (an invite), each a key as
// [address.DecodeKey] reads it. A listen address may leave both out
// ("shs").
func Kind() address.Kind {
	return address.Kind{Name: "shs", Role: address.Transform, Check: checkSegment}
}

// CheckSegment reports what is wrong with s, a "shs" segment, by the
// rules of [Kind].
func (t *Transform) CheckSegment(s address.Segment) error { return checkSegment(s) }

func checkSegment(s address.Segment) error { return address.CheckKeys(s, 2) }

// Client runs [Client] on c. The segment is "shs:KEY", the server's
// public key, or "shs:KEY:SEED", where SEED is the Ed25519 seed of a
// one-time identity to use instead of Config.Identity's key, on the same
// network (SSB invites).
func (t *Transform) Client(ctx context.Context, c net.Conn, s address.Segment) (net.Conn, error) {
	if s.Name != "shs" {
		return nil, fmt.Errorf("shs: segment %q is not shs", s.Redacted())
	}
	if len(s.Fields) == 0 || s.Fields[0] == "" {
		return nil, errors.New("shs: address has no server key")
	}
	if len(s.Fields) > 2 {
		return nil, fmt.Errorf("shs: segment %q has more than key and seed", s.Redacted())
	}
	server, err := address.DecodeKey(s.Fields[0])
	if err != nil {
		return nil, fmt.Errorf("shs: server key: %w", err)
	}
	cfg, key := t.cfg, t.key
	if len(s.Fields) == 2 {
		seed, err := address.DecodeKey(s.Fields[1])
		if err != nil {
			// DecodeKey's error quotes the text, and a seed is secret.
			return nil, fmt.Errorf("shs: seed is not %d bytes of base64", address.KeySize)
		}
		if key, err = newLocalKey(ed25519.NewKeyFromSeed(seed), t.key.appKey); err != nil {
			return nil, err
		}
	}
	return asNetConn(dial(ctx, c, &cfg, key, server))
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

// Advertise returns "shs:KEY", this side's public key, in every scope.
func (t *Transform) Advertise(multiserver.Scope) []address.Segment {
	return []address.Segment{{Name: "shs", Fields: []string{address.EncodeKey(t.key.pub)}}}
}
