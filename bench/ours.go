package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/keys"
	"github.com/f7d52a8e/multiserver/mux/yamux"
	"github.com/f7d52a8e/multiserver/plugs/bridge"
	"github.com/f7d52a8e/multiserver/plugs/tcp"
	"github.com/f7d52a8e/multiserver/plugs/ws"
	"github.com/f7d52a8e/multiserver/transforms/noauth"
	"github.com/f7d52a8e/multiserver/transforms/noise"
	"github.com/f7d52a8e/multiserver/transforms/shs"
)

// appKey is the network key of every multiserver peer in the suite.
var appKey = make([]byte, 32)

// extraPlugs are plugs beyond net and ws that some rows need (quic.go);
// each entry makes a fresh plug for a node's identity.
var extraPlugs []func(identity *keys.Identity) (multiserver.Plug, error)

// newNetwork returns a multiserver Network with every plug, transform and
// muxer the suite uses, and a fresh identity; each adjust, if any, is
// called on every plug before the Network takes them.
func newNetwork(adjust ...func(multiserver.Plug)) (*multiserver.Network, error) {
	id, err := keys.NewIdentity(keys.Generate(), appKey)
	if err != nil {
		return nil, err
	}
	st, err := shs.New(shs.Config{Identity: id})
	if err != nil {
		return nil, err
	}
	nt, err := noise.New(noise.Config{Identity: id})
	if err != nil {
		return nil, err
	}
	plugs := []multiserver.Plug{&tcp.Plug{}, &ws.Plug{}, bridgePlug("sse", id), bridgePlug("poll", id)}
	for _, newPlug := range extraPlugs {
		p, err := newPlug(id)
		if err != nil {
			return nil, err
		}
		plugs = append(plugs, p)
	}
	for _, p := range plugs {
		for _, f := range adjust {
			f(p)
		}
	}
	return multiserver.New(multiserver.Config{
		Plugs:      plugs,
		Transforms: []multiserver.Transform{st, nt, noauth.Transform{}},
		Muxers:     append([]multiserver.Muxer{&yamux.Muxer{}}, goYamuxMuxers...),
	})
}

// bridgePlug is the HTTP bridge plug named scheme, with the defaults but
// for the session limits: every client is on loopback, and the memory
// measure keeps a thousand sessions open.
func bridgePlug(scheme string, id *keys.Identity) *bridge.Plug {
	return &bridge.Plug{Scheme: scheme, Identity: id, MaxSessions: 1 << 16, MaxSessionsPerSource: 1 << 16}
}

// ours is a multiserver Listener on one stack and a client Network.
type ours struct {
	ln      *multiserver.Listener
	addr    string // advertised, with keys and the real port
	client  *multiserver.Network
	session bool // dial sessions: the stack carries streams
	wg      sync.WaitGroup
}

// startOurs listens on listen (an address with port 0) in one Network and
// dials it from another. With session set, dials return sessions (the
// address ends in a muxer, or its plug carries streams natively). adjust
// is newNetwork's, for both Networks.
func startOurs(ctx context.Context, listen string, session bool, adjust ...func(multiserver.Plug)) (system, error) {
	server, err := newNetwork(adjust...)
	if err != nil {
		return nil, err
	}
	client, err := newNetwork(adjust...)
	if err != nil {
		return nil, err
	}
	ln, err := server.Listen(ctx, listen)
	if err != nil {
		return nil, err
	}
	s := &ours{ln: ln, addr: ln.Address(multiserver.ScopeDevice), client: client, session: session}
	if s.addr == "" || strings.Contains(s.addr, ";") {
		ln.Close()
		return nil, fmt.Errorf("listening on %s advertises %q, want one address", listen, s.addr)
	}
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serve(c)
		}
	})
	return s, nil
}

func (s *ours) dial(ctx context.Context, _ int) (conn, error) {
	if !s.session {
		c, err := s.client.Dial(ctx, s.addr)
		if err != nil {
			return nil, err
		}
		return plainConn{c}, nil
	}
	sess, err := s.client.DialSession(ctx, s.addr)
	if err != nil {
		return nil, err
	}
	st, err := sess.Open(ctx)
	if err != nil {
		sess.Close()
		return nil, err
	}
	return &sessionConn{Conn: st, sess: sess}, nil
}

func (s *ours) close() error {
	err := s.ln.Close()
	s.wg.Wait()
	return err
}

// plainConn is a connection that is its only stream.
type plainConn struct{ net.Conn }

func (plainConn) open(context.Context) (io.ReadWriteCloser, error) { return nil, errOneStream }
func (c plainConn) close() error                                   { return c.Conn.Close() }

// sessionConn is a session and its first stream.
type sessionConn struct {
	net.Conn
	sess multiserver.Session
}

func (c *sessionConn) open(ctx context.Context) (io.ReadWriteCloser, error) { return c.sess.Open(ctx) }

func (c *sessionConn) close() error {
	return errors.Join(c.Conn.Close(), c.sess.Close())
}
