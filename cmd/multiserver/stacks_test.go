package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/f7d52a8e/multiserver/internal/testcert"
)

// writeCert writes a self-signed certificate for 127.0.0.1 and its key
// as PEM files in dir.
func writeCert(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	c := testcert.New(t)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, c.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, c.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// TestServeEveryStack serves noise, yamux, ws and wss stacks from the
// binary and dials each advertised address with it; a wss dial without
// the pinned certificate fails.
func TestServeEveryStack(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	serverKey, _ := writeKey(t, dir, "server.json")
	clientKey, _ := writeKey(t, dir, "client.json")
	cert, key := writeCert(t, dir)
	p := startServe(t, "--key", serverKey, "--tls-cert", cert, "--tls-key", key,
		"--listen", "net:127.0.0.1:0~noise", "--listen", "net:127.0.0.1:0~noise~yamux",
		"--listen", "ws://127.0.0.1:0~shs", "--listen", "wss://127.0.0.1:0/ms~noise", "--listen", "quic:127.0.0.1:0", "--echo")
	list, err := grammar.Parse(p.addr)
	if err != nil || len(list) != 5 {
		t.Fatalf("serve advertised %q (%v), want 5 addresses", p.addr, err)
	}
	data := randomBytes(128 << 10)
	for _, a := range list {
		t.Run(stackName(a), func(t *testing.T) {
			r := runCLI(t, data, "dial", "--key", clientKey, "--tls-ca", cert, a.String())
			if r.code != 0 || !bytes.Equal(r.stdout, data) {
				t.Fatalf("dial %s: exit %d, %d bytes back of %d, stderr %q", a, r.code, len(r.stdout), len(data), r.stderr)
			}
		})
	}
	r := runCLI(t, data, "dial", "--key", clientKey, list[3].String())
	if r.code != 1 {
		t.Fatalf("wss dial without --tls-ca: exit %d, want 1", r.code)
	}
	wantOneLine(t, "wss dial without --tls-ca", r.stderr, "certificate")

	r = runCLI(t, nil, "serve", "--key", serverKey, "--listen", "wss://127.0.0.1:0~noise")
	if r.code != 1 {
		t.Fatalf("wss serve without a certificate: exit %d, want 1", r.code)
	}
	wantOneLine(t, "wss serve without a certificate", r.stderr, "TLSConfig")
	if code := p.stop(t); code != 0 {
		t.Errorf("serve after SIGTERM: exit %d, want 0; stderr:\n%s", code, p.stderr)
	}
}
