package main

import (
	"context"
	"io"
	"net"

	yamux4 "github.com/libp2p/go-yamux/v4"
	yamux5 "github.com/libp2p/go-yamux/v5"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/mux/yamux"
)

// The go-yamux rows run go-yamux v4 and v5 bare, without mux/yamux's
// wrapper, with the settings mux/yamux gives go-yamux by default, so that
// their ratio in one run compares the two majors and nothing else.
const (
	rowGoYamux4 = "net~noise~go-yamux v4"
	rowGoYamux5 = "net~noise~go-yamux v5"
)

// yamuxMessage is mux/yamux's largest message: one noise frame.
const yamuxMessage = 65535 - 16

// goYamuxMuxers are the muxers "yamux4" and "yamux5" of the go-yamux rows.
var goYamuxMuxers = []multiserver.Muxer{
	goYamux{"yamux4", func(c net.Conn, client bool) (multiserver.Session, error) {
		cfg := yamux4.DefaultConfig()
		cfg.MaxIncomingStreams = 128
		cfg.InitialStreamWindowSize = yamux.InitialStreamWindow
		cfg.MaxStreamWindowSize = 16 << 20
		cfg.MaxMessageSize = yamuxMessage
		cfg.LogOutput = io.Discard
		if client {
			return yamux4.Client(c, cfg, nil)
		}
		return yamux4.Server(c, cfg, nil)
	}},
	goYamux{"yamux5", func(c net.Conn, client bool) (multiserver.Session, error) {
		cfg := yamux5.DefaultConfig()
		cfg.MaxIncomingStreams = 128
		cfg.InitialStreamWindowSize = yamux.InitialStreamWindow
		cfg.MaxStreamWindowSize = 16 << 20
		cfg.MaxMessageSize = yamuxMessage
		cfg.LogOutput = io.Discard
		if client {
			return yamux5.Client(c, cfg, nil)
		}
		return yamux5.Server(c, cfg, nil)
	}},
}

// goYamux is a muxer that hands out go-yamux's own sessions.
type goYamux struct {
	name  string
	start func(c net.Conn, client bool) (multiserver.Session, error)
}

func (m goYamux) Name() string { return m.name }
func (m goYamux) Client(_ context.Context, c net.Conn) (multiserver.Session, error) {
	return m.start(c, true)
}
func (m goYamux) Server(_ context.Context, c net.Conn) (multiserver.Session, error) {
	return m.start(c, false)
}
