package punch

import (
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"time"

	quicgo "github.com/quic-go/quic-go"
)

// ALPN is the TLS application protocol of the punched QUIC connection.
const ALPN = "multiserver-punch/1"

// ErrPeerKey is the error of a punched QUIC handshake with a peer that
// does not hold the expected key.
var ErrPeerKey = errors.New("punch: the direct path's peer does not hold the expected key")

// certificate returns a self-signed Ed25519 certificate for priv, with
// fixed fields: the key is all it says.
func certificate(priv ed25519.PrivateKey) (tls.Certificate, error) {
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "multiserver-punch"},
		NotBefore:    time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
	}
	der, err := x509.CreateCertificate(nil, tmpl, tmpl, priv.Public(), priv)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("punch: certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: priv}, nil
}

// checkPeer accepts exactly one self-signed Ed25519 certificate of key
// want. TLS 1.3's CertificateVerify has proved that the peer holds its
// private key.
func checkPeer(raw [][]byte, want ed25519.PublicKey) error {
	if len(raw) != 1 {
		return fmt.Errorf("%w: %d certificates", ErrPeerKey, len(raw))
	}
	cert, err := x509.ParseCertificate(raw[0])
	if err != nil {
		return fmt.Errorf("%w: %w", ErrPeerKey, err)
	}
	pub, ok := cert.PublicKey.(ed25519.PublicKey)
	if !ok || cert.SignatureAlgorithm != x509.PureEd25519 {
		return fmt.Errorf("%w: not an Ed25519 certificate", ErrPeerKey)
	}
	if err := cert.CheckSignature(x509.PureEd25519, cert.RawTBSCertificate, cert.Signature); err != nil {
		return fmt.Errorf("%w: not self-signed", ErrPeerKey)
	}
	if !pub.Equal(want) {
		return ErrPeerKey
	}
	return nil
}

// tlsConfig returns the TLS configuration of one side of a punched QUIC
// connection: TLS 1.3, our certificate, both sides authenticated by the
// key the other expects (mutual TLS, no CA), no resumption.
func tlsConfig(cert tls.Certificate, peer ed25519.PublicKey, server bool) *tls.Config {
	c := &tls.Config{
		MinVersion:             tls.VersionTLS13,
		Certificates:           []tls.Certificate{cert},
		NextProtos:             []string{ALPN},
		SessionTicketsDisabled: true,
		InsecureSkipVerify:     true, // VerifyPeerCertificate is the verification
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			return checkPeer(raw, peer)
		},
	}
	if server {
		c.ClientAuth = tls.RequireAnyClientCert
	}
	return c
}

// IdleTimeout is how long a direct path may stay silent, nothing at all
// received over it, before it counts as dead and the conn above goes
// back to the relay: QUIC's idle timeout (RFC 9000 §10.1), which each
// side advertises and the two take the smaller of. KeepAlive is how long
// a side waits, nothing received, before it sends a QUIC PING, which
// the peer acknowledges: on an idle path a packet each way about every
// second, far below the 30 s a NAT keeps an unanswered UDP mapping.
//
// The timer counts from the last packet received, or, if later, from
// the first ack-eliciting packet sent after it: a path that dies while
// data flows is given up IdleTimeout after its last packet. Loss alone
// does not end it: both sides send PINGs, and a PING or data that got no
// acknowledgement goes again at every probe timeout (RFC 9002 §6.2, a
// few tens of milliseconds on a short path, doubling), so at 10 % loss
// every one of several packets of each side would have to be lost.
const (
	IdleTimeout = 4 * time.Second
	KeepAlive   = time.Second
)

// quicConfig: version 1, IdleTimeout and KeepAlive.
func quicConfig() *quicgo.Config {
	return &quicgo.Config{
		Versions:             []quicgo.Version{quicgo.Version1},
		HandshakeIdleTimeout: 5 * time.Second,
		MaxIdleTimeout:       IdleTimeout,
		KeepAlivePeriod:      KeepAlive,
		MaxIncomingStreams:   1,
		// One stream per connection: its windows are the connection's.
		MaxStreamReceiveWindow:     16 << 20,
		MaxConnectionReceiveWindow: 16 << 20,
	}
}
