package quic_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	quicgo "github.com/quic-go/quic-go"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
	"github.com/f7d52a8e/multiserver/internal/logtest"
	"github.com/f7d52a8e/multiserver/keys"
	"github.com/f7d52a8e/multiserver/plugs/quic"
)

// noStream fails the test if ln hands out a stream: every dial to it
// was refused.
func noStream(t *testing.T, ln net.Listener) {
	t.Helper()
	got := make(chan net.Conn, 1)
	serve(t, ln, func(c net.Conn) { got <- c; c.Close() })
	t.Cleanup(func() {
		select {
		case c := <-got:
			k, _ := multiserver.RemoteKey(c)
			t.Errorf("the listener accepted a stream from %x", k)
		default:
		}
	})
}

func dialErr(t *testing.T, p *quic.Plug, s address.Segment) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := p.Dial(ctx, s)
	if err == nil {
		c.Close()
		t.Fatalf("Dial(%s) succeeded", s)
	}
	return err
}

// TestWrongKey dials a server under another key than its own: the
// dialer refuses it and says which key it found and which it wanted.
func TestWrongKey(t *testing.T) {
	server, client := newPlug(t, quic.Config{}), newPlug(t, quic.Config{})
	ln := listen(t, server, "quic:127.0.0.1:0")
	noStream(t, ln)
	port := ln.Addr().(*net.UDPAddr).Port
	want := newPlug(t, quic.Config{}).PublicKey()
	err := dialErr(t, client, quic.Segment("127.0.0.1", port, want))
	var he *multiserver.HandshakeError
	if !errors.Is(err, multiserver.ErrWrongKey) || !errors.As(err, &he) || he.Transform != "quic" {
		t.Fatalf("Dial under another key = %v, want a quic HandshakeError matching ErrWrongKey", err)
	}
	for _, k := range []ed25519.PublicKey{want, server.PublicKey()} {
		if !strings.Contains(err.Error(), address.EncodeKey(k)) {
			t.Errorf("error %q does not name key %s", err, address.EncodeKey(k))
		}
	}
}

// TestAppKey checks that plugs with different app keys do not connect,
// whichever side lacks the key, and that the same app key does.
func TestAppKey(t *testing.T) {
	k1, k2 := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	for _, tt := range []struct {
		name           string
		server, client []byte
	}{
		{"listener has a key the dialer lacks", k1, keys.OpenNetwork()},
		{"dialer has a key the listener lacks", keys.OpenNetwork(), k1},
		{"different keys", k1, k2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			server := newPlug(t, quic.Config{Identity: newIdentity(t, tt.server)})
			client := newPlug(t, quic.Config{Identity: newIdentity(t, tt.client)})
			ln := listen(t, server, "quic:127.0.0.1:0")
			noStream(t, ln)
			err := dialErr(t, client, advertised(t, ln))
			if !errors.Is(err, quic.ErrAppKey) || !errors.Is(err, multiserver.ErrHandshake) || errors.Is(err, multiserver.ErrWrongKey) {
				t.Fatalf("Dial = %v, want a HandshakeError matching ErrAppKey", err)
			}
		})
	}
	server := newPlug(t, quic.Config{Identity: newIdentity(t, k1)})
	client := newPlug(t, quic.Config{Identity: newIdentity(t, k1)})
	ln := listen(t, server, "quic:127.0.0.1:0")
	serve(t, ln, echo)
	c := dial(t, client, advertised(t, ln))
	roundTrip(t, c, "same network")
	c.Close()
}

// clientCert returns a TLS certificate for a raw quic-go client: the
// protocol's certificate shape, but with the given key and tag.
func clientCert(t *testing.T, id ed25519.PrivateKey, tag []byte) tls.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Unix(0, 0), NotAfter: time.Now().Add(time.Hour), SubjectKeyId: tag}
	der, err := x509.CreateCertificate(nil, tmpl, tmpl, id.Public(), id)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: id}
}

func tag(appKey []byte, pub ed25519.PublicKey) []byte {
	m := hmac.New(sha256.New, appKey)
	m.Write(pub)
	return m.Sum(nil)
}

// TestListenerRefuses dials with a raw quic-go client that accepts the
// server but presents a certificate the listener must refuse. The
// listener drops the client, says so in its log, and serves a proper
// client afterwards.
func TestListenerRefuses(t *testing.T) {
	appKey := bytes.Repeat([]byte{7}, 32)
	var logs logtest.Buffer
	server := newPlug(t, quic.Config{Identity: newIdentity(t, appKey), Logger: logtest.Debug(&logs)})
	ln := listen(t, server, "quic:127.0.0.1:0")
	_, id, _ := ed25519.GenerateKey(rand.Reader)
	pub := id.Public().(ed25519.PublicKey)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Unix(0, 0), NotAfter: time.Now().Add(time.Hour)}
	ecDER, _ := x509.CreateCertificate(rand.Reader, ecTmpl, ecTmpl, &ecKey.PublicKey, ecKey)

	for _, tt := range []struct {
		name  string
		certs []tls.Certificate
		alpn  string
		log   string
	}{
		{"no certificate", nil, quic.ALPN, ""},
		{"another app key", []tls.Certificate{clientCert(t, id, tag(make([]byte, 32), pub))}, quic.ALPN, "another app key"},
		{"no tag", []tls.Certificate{clientCert(t, id, []byte{1, 2, 3})}, quic.ALPN, "another app key"},
		{"ecdsa", []tls.Certificate{{Certificate: [][]byte{ecDER}, PrivateKey: ecKey}}, quic.ALPN, "key is ECDSA"},
		{"other protocol", []tls.Certificate{clientCert(t, id, tag(appKey, pub))}, "h3", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			tc := &tls.Config{
				Certificates:       tt.certs,
				NextProtos:         []string{tt.alpn},
				InsecureSkipVerify: true, // the raw client trusts any server
				MinVersion:         tls.VersionTLS13,
			}
			qc, err := quicgo.DialAddr(ctx, ln.Addr().String(), tc, nil)
			if err == nil {
				// TLS 1.3: the client finishes before the server has
				// checked its certificate; the refusal follows.
				select {
				case <-qc.Context().Done():
					err = context.Cause(qc.Context())
				case <-ctx.Done():
				}
				qc.CloseWithError(0, "")
			}
			var te *quicgo.TransportError
			if !errors.As(err, &te) || !te.Remote || !te.ErrorCode.IsCryptoError() {
				t.Fatalf("raw dial = %v, want the server's TLS alert", err)
			}
			if tt.log != "" && !strings.Contains(logs.String(), tt.log) {
				t.Errorf("log %q lacks %q", logs.String(), tt.log)
			}
		})
	}
	if !strings.Contains(logs.String(), "refused a client") {
		t.Errorf("log %q does not tell of refused clients", logs.String())
	}
	serve(t, ln, echo)
	c := dial(t, newPlug(t, quic.Config{Identity: newIdentity(t, appKey)}), advertised(t, ln))
	roundTrip(t, c, "still serving")
	c.Close()
}

// TestRawStreamHeader opens streams with a raw quic-go client that passes
// the handshake: a stream with a wrong header byte is refused, one with
// the right header is served.
func TestRawStreamHeader(t *testing.T) {
	var logs logtest.Buffer
	server := newPlug(t, quic.Config{Logger: logtest.Debug(&logs)})
	ln := listen(t, server, "quic:127.0.0.1:0")
	serve(t, ln, echo)
	_, id, _ := ed25519.GenerateKey(rand.Reader)
	tc := &tls.Config{
		Certificates:       []tls.Certificate{clientCert(t, id, tag(make([]byte, 32), id.Public().(ed25519.PublicKey)))},
		NextProtos:         []string{quic.ALPN},
		InsecureSkipVerify: true,
		MinVersion:         tls.VersionTLS13,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	qc, err := quicgo.DialAddr(ctx, ln.Addr().String(), tc, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer qc.CloseWithError(0, "")

	bad, err := qc.OpenStreamSync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bad.Write([]byte{0x7f, 'h', 'i'})
	bad.SetReadDeadline(time.Now().Add(10 * time.Second))
	var se *quicgo.StreamError
	if _, err := bad.Read(make([]byte, 1)); !errors.As(err, &se) || !se.Remote || se.ErrorCode != 0x2 {
		t.Errorf("read on a stream with a bad header = %v, want a reset with code 0x2", err)
	}
	if !strings.Contains(logs.String(), "stream header 0x7f") {
		t.Errorf("log %q does not tell of the bad header", logs.String())
	}

	good, err := qc.OpenStreamSync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	good.Write([]byte{0x00, 'h', 'i'})
	good.Close()
	good.SetReadDeadline(time.Now().Add(10 * time.Second))
	if b, err := io.ReadAll(good); err != nil || string(b) != "hi" {
		t.Errorf("echo on a proper stream = %q, %v", b, err)
	}
}
