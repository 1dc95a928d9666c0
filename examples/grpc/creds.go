package main

import (
	"context"
	"crypto/ed25519"
	"net"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"

	"github.com/f7d52a8e/multiserver"
)

// Credentials are gRPC transport credentials for conns that a
// multiserver Network has already secured: the handshake does nothing
// but read the peer's key with [multiserver.RemoteKey], which an RPC
// handler then finds in peer.FromContext(ctx).AuthInfo (see [PeerKey]).
// Encryption and authentication come from the stack (shs, noise); a
// noauth stack gives an [AuthInfo] with no key and no security.
type Credentials struct{}

var _ credentials.TransportCredentials = Credentials{}

// AuthInfo is the credentials.AuthInfo of a conn from a multiserver
// Network.
type AuthInfo struct {
	credentials.CommonAuthInfo
	// RemoteKey is the peer's Ed25519 key, or nil if the stack
	// authenticates nobody.
	RemoteKey ed25519.PublicKey
}

// AuthType implements credentials.AuthInfo.
func (AuthInfo) AuthType() string { return "multiserver" }

func authInfo(c net.Conn) AuthInfo {
	key, ok := multiserver.RemoteKey(c)
	if !ok {
		return AuthInfo{CommonAuthInfo: credentials.CommonAuthInfo{SecurityLevel: credentials.NoSecurity}}
	}
	return AuthInfo{
		CommonAuthInfo: credentials.CommonAuthInfo{SecurityLevel: credentials.PrivacyAndIntegrity},
		RemoteKey:      key,
	}
}

// ClientHandshake returns c and the server's key.
func (Credentials) ClientHandshake(_ context.Context, _ string, c net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return c, authInfo(c), nil
}

// ServerHandshake returns c and the client's key.
func (Credentials) ServerHandshake(c net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return c, authInfo(c), nil
}

// Info names the protocol.
func (Credentials) Info() credentials.ProtocolInfo {
	return credentials.ProtocolInfo{SecurityProtocol: "multiserver"}
}

// Clone returns the credentials, which hold no state.
func (c Credentials) Clone() credentials.TransportCredentials { return c }

// OverrideServerName does nothing: the multiserver address names the
// server's key.
func (Credentials) OverrideServerName(string) error { return nil }

// PeerKey returns the Ed25519 key of the peer of the RPC whose context
// is ctx, if its conn came through [Credentials] and a stack that
// authenticates.
func PeerKey(ctx context.Context) (ed25519.PublicKey, bool) {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return nil, false
	}
	info, ok := p.AuthInfo.(AuthInfo)
	if !ok || info.RemoteKey == nil {
		return nil, false
	}
	return info.RemoteKey, true
}
