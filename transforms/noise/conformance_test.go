package noise

import (
	"context"
	"crypto/ed25519"
	"net"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/keys"
	"github.com/f7d52a8e/multiserver/transforms/transformtest"
)

// TestConformance runs the handshake suite every secure transform runs.
func TestConformance(t *testing.T) {
	transformtest.Run(t, transformtest.Transform{
		Name: "noise",
		New: func(id *keys.Identity) (multiserver.Transform, error) {
			return asTransform(New(Config{Identity: id}))
		},
		Client: func(ctx context.Context, c net.Conn, id *keys.Identity, server ed25519.PublicKey) (net.Conn, error) {
			return asNetConn(Client(ctx, c, Config{Identity: id}, server))
		},
		Server: func(ctx context.Context, c net.Conn, id *keys.Identity, first time.Duration) (net.Conn, error) {
			return asNetConn(Server(ctx, c, Config{Identity: id, FirstMessageTimeout: first}))
		},
		DefaultFirstMessageTimeout: DefaultFirstMessageTimeout,
		FirstMessageSize:           lenSize + msg1Size,
		WrongServerKey:             ErrAuthFailed, // msg1 names another static key
		WrongAppKey:                ErrAuthFailed, // msg1 does not decrypt under the prologue
		Garbage:                    ErrInvalidMessage,
		Replay:                     ErrAuthFailed, // the old confirmation does not open under the new keys
	})
}

// asTransform keeps a nil *Transform from becoming a non-nil interface.
func asTransform(t *Transform, err error) (multiserver.Transform, error) {
	if err != nil {
		return nil, err
	}
	return t, nil
}
