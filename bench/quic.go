package main

import (
	"context"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/keys"
	msquic "github.com/f7d52a8e/multiserver/plugs/quic"
)

// The quic row: multiserver's quic plug, dialed as a session (one QUIC
// connection, its streams), compared with raw quic-go and go-libp2p's
// QUIC, and, like those, sealing with the AES-GCM TLS 1.3 picks here.
func init() {
	extraPlugs = append(extraPlugs, func(id *keys.Identity) (multiserver.Plug, error) {
		return msquic.New(msquic.Config{Identity: id})
	})
	quicRow = row{
		name: rowQUIC, group: "ours", streams: true, crypto: rowAESGCM,
		start: func(ctx context.Context, _ int) (system, error) { return startOurs(ctx, "quic:127.0.0.1:0", true) },
	}
}
