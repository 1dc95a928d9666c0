package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"math/big"
	"net"
	"sync"
	"time"

	quicgo "github.com/quic-go/quic-go"
)

// rawTCP is a plain TCP server and client: the floor under every net row.
type rawTCP struct {
	ln net.Listener
	wg sync.WaitGroup
}

func startTCP(context.Context) (system, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &rawTCP{ln: ln}
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

func (s *rawTCP) dial(ctx context.Context, _ int) (conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", s.ln.Addr().String())
	if err != nil {
		return nil, err
	}
	return plainConn{c}, nil
}

func (s *rawTCP) close() error {
	err := s.ln.Close()
	s.wg.Wait()
	return err
}

// rawQUIC is quic-go on its own: a server with a self-signed Ed25519
// certificate (TLS 1.3) and one client transport, one UDP socket, for
// every dial. The client pins the server's certificate. Both use the
// flow-control windows and stream limit that plugs/quic defaults to, so
// that the quic row's ratio to this one shows what the plug adds.
//
// With mutual TLS (the "quic-go mutual TLS" row) it does the crypto that
// spec/quic.md asks of a handshake, without the plug's code: the server
// requires a client certificate, the client has a self-signed Ed25519
// certificate of its own, and each side checks the peer's certificate as
// the spec's steps 1 to 3 and 5 say (one certificate, an Ed25519 key, a
// valid self-signature; the client also compares the server's key with
// the one it dialed). So a handshake signs twice (each CertificateVerify)
// and verifies four times (each certificate's self-signature, each
// CertificateVerify), where the server-only handshake signs once and
// verifies once. Session tickets are off, as in the plug.
type rawQUIC struct {
	ln     *quicgo.Listener
	tr     *quicgo.Transport
	client *tls.Config
	wg     sync.WaitGroup
}

const quicALPN = "multiserver-bench"

// quicConfig mirrors the defaults of plugs/quic's Config.
var quicConfig = &quicgo.Config{
	Versions:                       []quicgo.Version{quicgo.Version1},
	MaxIdleTimeout:                 30 * time.Second,
	KeepAlivePeriod:                15 * time.Second,
	MaxIncomingStreams:             128,
	InitialStreamReceiveWindow:     512 << 10,
	MaxStreamReceiveWindow:         16 << 20,
	InitialConnectionReceiveWindow: 512 << 10,
	MaxConnectionReceiveWindow:     32 << 20,
}

func startQUICGo(_ context.Context, mutual bool) (system, error) {
	cert, err := selfSigned()
	if err != nil {
		return nil, err
	}
	server := &tls.Config{
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{quicALPN},
		MinVersion:   tls.VersionTLS13,
	}
	client := &tls.Config{
		NextProtos:         []string{quicALPN},
		MinVersion:         tls.VersionTLS13,
		InsecureSkipVerify: true, // replaced by VerifyPeerCertificate below
	}
	if mutual {
		clientCert, err := selfSigned()
		if err != nil {
			return nil, err
		}
		server.ClientAuth = tls.RequireAnyClientCert
		server.SessionTicketsDisabled = true
		server.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
			_, err := selfSignedKey(raw)
			return err
		}
		client.Certificates = []tls.Certificate{clientCert}
		client.SessionTicketsDisabled = true
		want := cert.PrivateKey.(ed25519.PrivateKey).Public().(ed25519.PublicKey)
		client.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
			got, err := selfSignedKey(raw)
			if err == nil && !got.Equal(want) {
				err = errors.New("quic-go: not the key dialed")
			}
			return err
		}
	} else {
		pinned := cert.Certificate[0]
		client.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 || !bytes.Equal(raw[0], pinned) {
				return errors.New("quic-go: not the pinned certificate")
			}
			return nil
		}
	}
	ln, err := quicgo.ListenAddr("127.0.0.1:0", server, quicConfig)
	if err != nil {
		return nil, err
	}
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		ln.Close()
		return nil, err
	}
	s := &rawQUIC{ln: ln, tr: &quicgo.Transport{Conn: udp}, client: client}
	s.wg.Go(func() {
		for {
			c, err := ln.Accept(context.Background())
			if err != nil {
				return
			}
			go serveQUIC(c)
		}
	})
	return s, nil
}

// selfSignedKey checks a peer's certificates as spec/quic.md's steps 1
// to 3 do, the crypto of the check, and returns the peer's key: exactly
// one certificate, an Ed25519 key, and an Ed25519 signature by that key.
// (Step 4, an HMAC-SHA256 tag, costs about a microsecond and is left out.)
func selfSignedKey(raw [][]byte) (ed25519.PublicKey, error) {
	if len(raw) != 1 {
		return nil, errors.New("quic-go: not exactly one certificate")
	}
	cert, err := x509.ParseCertificate(raw[0])
	if err != nil {
		return nil, err
	}
	pub, ok := cert.PublicKey.(ed25519.PublicKey)
	if !ok || cert.SignatureAlgorithm != x509.PureEd25519 {
		return nil, errors.New("quic-go: not an Ed25519 certificate")
	}
	if err := cert.CheckSignature(x509.PureEd25519, cert.RawTBSCertificate, cert.Signature); err != nil {
		return nil, err
	}
	return pub, nil
}

// serveQUIC serves every stream the peer opens on c.
func serveQUIC(c *quicgo.Conn) {
	for {
		st, err := c.AcceptStream(context.Background())
		if err != nil {
			return
		}
		go serve(st)
	}
}

func (s *rawQUIC) dial(ctx context.Context, _ int) (conn, error) {
	c, err := s.tr.Dial(ctx, s.ln.Addr(), s.client, quicConfig)
	if err != nil {
		return nil, err
	}
	st, err := c.OpenStreamSync(ctx)
	if err != nil {
		c.CloseWithError(0, "")
		return nil, err
	}
	return &quicConn{Stream: st, c: c}, nil
}

func (s *rawQUIC) close() error {
	err := errors.Join(s.ln.Close(), s.tr.Close())
	s.wg.Wait()
	return err
}

// quicConn is a quic-go connection and its first stream.
type quicConn struct {
	*quicgo.Stream
	c *quicgo.Conn
}

func (q *quicConn) open(ctx context.Context) (io.ReadWriteCloser, error) {
	return q.c.OpenStreamSync(ctx)
}

func (q *quicConn) close() error { return q.c.CloseWithError(0, "") }

// selfSigned makes a TLS certificate for a fresh Ed25519 key.
func selfSigned() (tls.Certificate, error) {
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: priv}, nil
}
