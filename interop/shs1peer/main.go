// Command shs1peer runs one side of a secret-handshake v1 over stdin and
// stdout with transforms/shs, for the shs1-test suite (npm shs1-test):
//
//	shs1peer NETID SERVER_SK SERVER_PK   server role (all hex)
//	shs1peer NETID SERVER_PK             client role, with a fresh client key
//
// After a successful handshake it writes the outcome
// enc_key(32) ‖ enc_nonce(24) ‖ dec_key(32) ‖ dec_nonce(24) and exits 0.
// On a failed handshake it writes nothing more and exits 1.
package main

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/f7d52a8e/multiserver/keys"
	"github.com/f7d52a8e/multiserver/transforms/shs"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "shs1peer:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) != 2 && len(args) != 3 {
		return fmt.Errorf("usage: shs1peer NETID [SERVER_SK] SERVER_PK (hex)")
	}
	var b [][]byte
	for _, a := range args {
		v, err := hex.DecodeString(a)
		if err != nil {
			return err
		}
		b = append(b, v)
	}
	priv := keys.Generate()
	if len(b) == 3 {
		priv = ed25519.PrivateKey(b[1])
	}
	id, err := keys.NewIdentity(priv, b[0])
	if err != nil {
		return err
	}
	cfg := shs.Config{Identity: id}
	var c *shs.Conn
	if len(b) == 3 {
		c, err = shs.Server(context.Background(), stdio{}, cfg)
	} else {
		c, err = shs.Client(context.Background(), stdio{}, cfg, ed25519.PublicKey(b[1]))
	}
	if err != nil {
		return err
	}
	k := c.SessionKeys()
	out := append(k.EncryptKey[:], k.EncryptNonce[:]...)
	out = append(out, k.DecryptKey[:]...)
	out = append(out, k.DecryptNonce[:]...)
	_, err = os.Stdout.Write(out)
	return err
}

// stdio is a net.Conn over stdin and stdout.
type stdio struct{}

func (stdio) Read(p []byte) (int, error)       { return os.Stdin.Read(p) }
func (stdio) Write(p []byte) (int, error)      { return os.Stdout.Write(p) }
func (stdio) Close() error                     { return nil }
func (stdio) LocalAddr() net.Addr              { return addr{} }
func (stdio) RemoteAddr() net.Addr             { return addr{} }
func (stdio) SetDeadline(time.Time) error      { return nil }
func (stdio) SetReadDeadline(time.Time) error  { return nil }
func (stdio) SetWriteDeadline(time.Time) error { return nil }

type addr struct{}

func (addr) Network() string { return "stdio" }
func (addr) String() string  { return "stdio" }

var _ net.Conn = stdio{}
