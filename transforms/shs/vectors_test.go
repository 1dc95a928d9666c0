package shs

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"testing"
	"testing/iotest"
	"time"

	"github.com/f7d52a8e/multiserver/internal/frametest"

	"golang.org/x/crypto/curve25519"

	"github.com/f7d52a8e/multiserver/internal/edcurve"
	"github.com/f7d52a8e/multiserver/internal/frame"
)

// vectorsPath is the vectors file generated from the JavaScript
// implementation; see spec/shs.md.
const vectorsPath = "../../spec/vectors/shs1.json"

// hexBytes is a hex string in the vectors file.
type hexBytes []byte

func (h *hexBytes) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := hex.DecodeString(s)
	*h = v
	return err
}

type sideVector struct {
	EncryptKey   hexBytes `json:"encrypt_key"`
	EncryptNonce hexBytes `json:"encrypt_nonce"`
	DecryptKey   hexBytes `json:"decrypt_key"`
	DecryptNonce hexBytes `json:"decrypt_nonce"`
}

type shsVector struct {
	Name          string
	AppKey        hexBytes `json:"app_key"`
	ServerSeed    hexBytes `json:"server_seed"`
	ServerPK      hexBytes `json:"server_pk"`
	ClientSeed    hexBytes `json:"client_seed"`
	ClientPK      hexBytes `json:"client_pk"`
	ClientEphSeed hexBytes `json:"client_eph_seed"`
	ClientEphPK   hexBytes `json:"client_eph_pk"`
	ClientEphSK   hexBytes `json:"client_eph_sk"`
	ServerEphSeed hexBytes `json:"server_eph_seed"`
	ServerEphPK   hexBytes `json:"server_eph_pk"`
	ServerEphSK   hexBytes `json:"server_eph_sk"`
	// The shared secrets' JSON keys differ only in case: ab, aB, Ab.
	SharedEphEph    hexBytes `json:"shared_ab"`
	SharedEphServer hexBytes `json:"shared_aB"`
	SharedClientEph hexBytes `json:"shared_Ab"`
	Msg1            hexBytes
	Msg2            hexBytes
	Msg3            hexBytes
	Msg4            hexBytes
	Client          sideVector
	Server          sideVector
}

type boxVector struct {
	Name            string
	Key             hexBytes
	Nonce           hexBytes
	PlaintextWrites []hexBytes `json:"plaintext_writes"`
	WireSegments    []hexBytes `json:"wire_segments"`
	Wire            hexBytes
}

type vectors struct {
	SHS       []shsVector
	Boxstream []boxVector
}

func loadVectors(t testing.TB) *vectors {
	t.Helper()
	b, err := os.ReadFile(vectorsPath)
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.SHS) == 0 || len(v.Boxstream) == 0 {
		t.Fatal("no vectors")
	}
	return &v
}

func (v *shsVector) configs(t *testing.T) (client, server Config) {
	client = Config{Identity: mustIdentity(ed25519.NewKeyFromSeed(v.ClientSeed), v.AppKey), Rand: bytes.NewReader(v.ClientEphSeed)}
	server = Config{Identity: mustIdentity(ed25519.NewKeyFromSeed(v.ServerSeed), v.AppKey), Rand: bytes.NewReader(v.ServerEphSeed)}
	if !bytes.Equal(client.Identity.Public(), v.ClientPK) || !bytes.Equal(server.Identity.Public(), v.ServerPK) {
		t.Fatal("long-term keys from the seeds differ from the vector's")
	}
	return client, server
}

func TestVectorsHandshake(t *testing.T) {
	for _, v := range loadVectors(t).SHS {
		t.Run(v.Name, func(t *testing.T) {
			ccfg, scfg := v.configs(t)
			c, s := frametest.MemPipe(t)
			rc, rs := &frametest.RecordConn{Conn: c}, &frametest.RecordConn{Conn: s}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			cr, sr := runHandshake(ctx, rc, rs, ccfg, scfg, ed25519.PublicKey(v.ServerPK))
			if cr.err != nil || sr.err != nil {
				t.Fatalf("handshake: client %v, server %v", cr.err, sr.err)
			}
			checkBytes(t, "client wire (msg1||msg3)", rc.Written(), append(bytes.Clone(v.Msg1), v.Msg3...))
			checkBytes(t, "server wire (msg2||msg4)", rs.Written(), append(bytes.Clone(v.Msg2), v.Msg4...))
			checkSide(t, "client", cr.conn, v.Client)
			checkSide(t, "server", sr.conn, v.Server)
			if !bytes.Equal(cr.conn.RemoteKey(), v.ServerPK) || !bytes.Equal(sr.conn.RemoteKey(), v.ClientPK) {
				t.Error("RemoteKey differs from the vector's long-term keys")
			}
		})
	}
}

// TestVectorsEphemeral checks the ephemeral key derivation and the shared
// secrets on their own, to tell a wrong step from a wrong message.
func TestVectorsEphemeral(t *testing.T) {
	for _, v := range loadVectors(t).SHS {
		t.Run(v.Name, func(t *testing.T) {
			ccfg, scfg := v.configs(t)
			ch, err := newHandshake(&ccfg, mustLocalKey(t, ccfg))
			if err != nil {
				t.Fatal(err)
			}
			sh, err := newHandshake(&scfg, mustLocalKey(t, scfg))
			if err != nil {
				t.Fatal(err)
			}
			checkBytes(t, "client eph sk", ch.ephPriv, v.ClientEphSK)
			checkBytes(t, "client eph pk", ch.ephPub, v.ClientEphPK)
			checkBytes(t, "server eph sk", sh.ephPriv, v.ServerEphSK)
			checkBytes(t, "server eph pk", sh.ephPub, v.ServerEphPK)
			checkBytes(t, "msg1", ch.challenge(), v.Msg1)
			checkBytes(t, "msg2", sh.challenge(), v.Msg2)
			ab, _ := curve25519.X25519(ch.ephPriv, sh.ephPub)
			checkBytes(t, "ab", ab, v.SharedEphEph)
			serverCurve, err := edcurve.PublicKey(v.ServerPK)
			if err != nil {
				t.Fatal(err)
			}
			aB, _ := curve25519.X25519(ch.ephPriv, serverCurve)
			checkBytes(t, "aB", aB, v.SharedEphServer)
			clientCurve, err := edcurve.PublicKey(v.ClientPK)
			if err != nil {
				t.Fatal(err)
			}
			Ab, _ := curve25519.X25519(sh.ephPriv, clientCurve)
			checkBytes(t, "Ab", Ab, v.SharedClientEph)
		})
	}
}

func mustLocalKey(t *testing.T, cfg Config) *localKey {
	t.Helper()
	k, err := cfg.localKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func checkSide(t *testing.T, side string, c *Conn, want sideVector) {
	t.Helper()
	checkBytes(t, side+" encrypt key", c.send.key[:], want.EncryptKey)
	checkBytes(t, side+" encrypt nonce", c.send.nonce[:], want.EncryptNonce)
	checkBytes(t, side+" decrypt key", c.recv.key[:], want.DecryptKey)
	checkBytes(t, side+" decrypt nonce", c.recv.nonce[:], want.DecryptNonce)
}

func checkBytes(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Errorf("%s = %x, want %x", what, got, want)
	}
}

func TestVectorsBoxStreamEncode(t *testing.T) {
	for _, v := range loadVectors(t).Boxstream {
		t.Run(v.Name, func(t *testing.T) {
			w := newTestWriter(v.Key, v.Nonce)
			var rec frametest.CallRecorder
			for _, p := range v.PlaintextWrites {
				if n, err := w.write(&rec, p); n != len(p) || err != nil {
					t.Fatalf("write = %d, %v", n, err)
				}
			}
			if err := w.goodbye(&rec); err != nil {
				t.Fatal(err)
			}
			checkBytes(t, "wire", bytes.Join(rec.Calls, nil), v.Wire)
			// One Write per write: the headers and bodies of its frames
			// together (up to 64 KiB), then the goodbye.
			var want [][]byte
			seg := v.WireSegments
			for _, p := range v.PlaintextWrites {
				var call []byte
				for range (len(p) + MaxFrameBody - 1) / MaxFrameBody {
					call = append(append(call, seg[0]...), seg[1]...)
					seg = seg[2:]
				}
				want = append(want, call)
			}
			want = append(want, toSlices(seg)...)
			if len(rec.Calls) != len(want) {
				t.Fatalf("%d Write calls, want %d", len(rec.Calls), len(want))
			}
			for i := range want {
				checkBytes(t, "write call", rec.Calls[i], want[i])
			}
		})
	}
}

func TestVectorsBoxStreamDecode(t *testing.T) {
	for _, v := range loadVectors(t).Boxstream {
		want := bytes.Join(toSlices(v.PlaintextWrites), nil)
		t.Run(v.Name+"/whole", func(t *testing.T) {
			r := newTestReader(v.Key, v.Nonce)
			src := bytes.NewReader(v.Wire)
			got, err := io.ReadAll(frametest.ReaderFunc(func(p []byte) (int, error) { return r.read(src, p) }))
			if err != nil {
				t.Fatal(err)
			}
			checkBytes(t, "plaintext", got, want)
		})
		t.Run(v.Name+"/bytewise", func(t *testing.T) {
			r := newTestReader(v.Key, v.Nonce)
			src := iotest.OneByteReader(bytes.NewReader(v.Wire))
			var got []byte
			p := make([]byte, 7)
			for {
				n, err := r.read(src, p)
				got = append(got, p[:n]...)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			checkBytes(t, "plaintext", got, want)
		})
	}
}

func toSlices(h []hexBytes) [][]byte {
	s := make([][]byte, len(h))
	for i := range h {
		s[i] = h[i]
	}
	return s
}

// testWriter is the sending half of a Conn, for writing frames to any
// io.Writer.
type testWriter struct {
	frame.Writer
	s sealer
}

func newTestWriter(key, nonce []byte) *testWriter {
	w := new(testWriter)
	w.s.key, w.s.nonce = [32]byte(key), [24]byte(nonce)
	w.Init(&format, &w.s)
	return w
}

func (w *testWriter) write(c io.Writer, p []byte) (int, error) { return w.Write(c, p) }
func (w *testWriter) goodbye(c io.Writer) error                { return w.End(c) }

// testReader is the receiving half of a Conn, for reading frames from any
// io.Reader.
type testReader struct {
	frame.Reader
	o opener
}

func newTestReader(key, nonce []byte) *testReader {
	r := new(testReader)
	r.o.key, r.o.nonce = [32]byte(key), [24]byte(nonce)
	r.Init(&format, &r.o)
	return r
}

func (r *testReader) read(c io.Reader, p []byte) (int, error) { return r.Read(c, p) }
