package quic

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
)

// ALPN is the TLS application protocol that client and server offer: the
// name of this protocol and its version. A peer offering anything else
// fails the handshake. A new version would be served under a new address
// name beside this one, not negotiated here.
const ALPN = "multiserver-quic/1"

// certSubject is the common name of every certificate: the name says
// nothing about the node; the key does.
const certSubject = "multiserver-quic"

// The validity of every certificate. Peers do not check it (the key in
// the address is the trust anchor, and clocks may be wrong), so it is
// fixed: the start of Unix time to RFC 5280's "no expiration" date.
// Fixed fields make a node's certificate a function of its keys alone.
var (
	certNotBefore = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	certNotAfter  = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
)

// appKeyTag returns what a certificate for pub carries in its subject
// key identifier: HMAC-SHA256 under the app key of the Ed25519 public
// key. Only holders of the app key can compute or check it, and it
// travels inside TLS 1.3's encrypted handshake, so it shows nothing.
func appKeyTag(appKey []byte, pub ed25519.PublicKey) []byte {
	m := hmac.New(sha256.New, appKey)
	m.Write(pub)
	return m.Sum(nil)
}

// newCertificate returns the self-signed certificate of id on the
// network of appKey, as spec/quic.md describes it byte for byte.
func newCertificate(id ed25519.PrivateKey, appKey []byte) (tls.Certificate, error) {
	pub := id.Public().(ed25519.PublicKey)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: certSubject},
		NotBefore:    certNotBefore,
		NotAfter:     certNotAfter,
		SubjectKeyId: appKeyTag(appKey, pub),
	}
	// Ed25519 signatures are deterministic: no randomness is read.
	der, err := x509.CreateCertificate(nil, tmpl, tmpl, pub, id)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("quic: making the certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("quic: reading back the certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: id, Leaf: leaf}, nil
}

// peerKey checks the certificate chain a peer presented and returns the
// peer's Ed25519 key: one certificate, an Ed25519 key, a valid signature
// by that key, and the app key's tag over that key. TLS 1.3 itself has
// already checked that the peer holds the private key (CertificateVerify).
// Validity dates, names and other extensions are ignored.
func peerKey(raw [][]byte, appKey []byte) (ed25519.PublicKey, error) {
	if len(raw) != 1 {
		return nil, fmt.Errorf("quic: peer presented %d certificates, want 1: %w", len(raw), ErrCertificate)
	}
	cert, err := x509.ParseCertificate(raw[0])
	if err != nil {
		return nil, fmt.Errorf("quic: %w: %w", ErrCertificate, err)
	}
	pub, ok := cert.PublicKey.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("quic: peer's certificate key is %s, want Ed25519: %w", cert.PublicKeyAlgorithm, ErrCertificate)
	}
	if cert.SignatureAlgorithm != x509.PureEd25519 {
		return nil, fmt.Errorf("quic: peer's certificate is signed with %s, want Ed25519: %w", cert.SignatureAlgorithm, ErrCertificate)
	}
	if err := cert.CheckSignature(x509.PureEd25519, cert.RawTBSCertificate, cert.Signature); err != nil {
		return nil, fmt.Errorf("quic: peer's certificate is not signed by its own key: %w", ErrCertificate)
	}
	if !hmac.Equal(cert.SubjectKeyId, appKeyTag(appKey, pub)) {
		return nil, &appKeyError{pub}
	}
	return pub, nil
}

// tlsConfig returns the TLS configuration both sides share: TLS 1.3, our
// certificate, our ALPN, no session resumption (a resumed session would
// skip the certificates, which carry the identities).
func (p *Plug) tlsConfig() *tls.Config {
	return &tls.Config{
		MinVersion:             tls.VersionTLS13,
		Certificates:           []tls.Certificate{p.cert},
		NextProtos:             []string{ALPN},
		SessionTicketsDisabled: true,
	}
}

// serverTLS returns the listener's TLS configuration: it requires a
// client certificate and checks it as peerKey does; the connection then
// knows the client's key from the certificate.
func (p *Plug) serverTLS() *tls.Config {
	c := p.tlsConfig()
	c.ClientAuth = tls.RequireAnyClientCert
	c.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
		_, err := peerKey(raw, p.appKey)
		if err != nil {
			p.log.Debug("refused a client", "err", err)
		}
		return err
	}
	return c
}

// clientTLS returns a dial's TLS configuration, which accepts only the
// key want. There is no CA: verification is peerKey plus the comparison
// with want. The first error is also kept in refusal, since quic-go
// reports it to the dialer only as a TLS alert number.
func (p *Plug) clientTLS(want ed25519.PublicKey, refusal *refusal) *tls.Config {
	c := p.tlsConfig()
	c.InsecureSkipVerify = true // VerifyPeerCertificate below is the verification
	c.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
		got, err := peerKey(raw, p.appKey)
		if err == nil && !got.Equal(want) {
			err = fmt.Errorf("quic: server presented key %s, want %s: %w",
				address.EncodeKey(got), address.EncodeKey(want), multiserver.ErrWrongKey)
		}
		if err != nil {
			refusal.set(err)
		}
		return err
	}
	return c
}

// A refusal keeps why a dial refused the server's certificate. quic-go
// checks the certificate on its own goroutine.
type refusal struct {
	mu  sync.Mutex
	err error
}

func (r *refusal) set(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil {
		r.err = err
	}
}

func (r *refusal) get() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}
