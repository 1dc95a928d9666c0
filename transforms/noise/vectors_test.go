package noise

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"io"
	"os"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver/internal/frametest"

	fnoise "github.com/flynn/noise"
	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/curve25519"

	"github.com/f7d52a8e/multiserver/internal/edcurve"
)

// vectorsPath holds the transcripts that spec/noise.md describes.
const vectorsPath = "../../spec/vectors/noise.json"

var update = flag.Bool("update", false, "rewrite "+vectorsPath+" from the code")

// hexBytes is a hex string in the vectors file.
type hexBytes []byte

func (h hexBytes) MarshalJSON() ([]byte, error) { return json.Marshal(hex.EncodeToString(h)) }

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
	Seed         hexBytes `json:"seed"`          // Ed25519 seed
	Ed25519PK    hexBytes `json:"ed25519_pk"`    // what addresses carry
	StaticSK     hexBytes `json:"static_sk"`     // X25519 form of the seed
	StaticPK     hexBytes `json:"static_pk"`     // X25519 form of ed25519_pk
	EphemeralSK  hexBytes `json:"ephemeral_sk"`  // what Config.Rand yields
	EphemeralPK  hexBytes `json:"ephemeral_pk"`  // X25519(ephemeral_sk, 9)
	TransportKey hexBytes `json:"transport_key"` // this side's sending key
}

type frameVector struct {
	From      string   `json:"from"` // "initiator" or "responder"
	Nonce     uint64   `json:"nonce"`
	Plaintext hexBytes `json:"plaintext"` // empty: end of stream
	Wire      hexBytes `json:"wire"`
}

type noiseVector struct {
	Name          string        `json:"name"`
	Protocol      string        `json:"protocol"`
	AppKey        hexBytes      `json:"app_key"`
	Prologue      hexBytes      `json:"prologue"`
	Initiator     sideVector    `json:"initiator"`
	Responder     sideVector    `json:"responder"`
	Msg1          hexBytes      `json:"msg1"` // as sent: 2-byte length first
	Msg2          hexBytes      `json:"msg2"`
	Msg3          hexBytes      `json:"msg3"`
	HandshakeHash hexBytes      `json:"handshake_hash"`
	Frames        []frameVector `json:"frames"`
}

type vectorFile struct {
	Comment string        `json:"comment"`
	Vectors []noiseVector `json:"vectors"`
}

// vectorInput is what a vector is made from; the rest is computed.
type vectorInput struct {
	name                 string
	appKey               []byte
	initSeed, respSeed   []byte
	initEphSK, respEphSK []byte
	frames               []frameVector // From and Plaintext only
}

func seq(start byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}

var vectorInputs = []vectorInput{
	{
		name:      "basic",
		appKey:    seq(0x00, 32),
		initSeed:  seq(0x20, 32),
		respSeed:  seq(0x40, 32),
		initEphSK: seq(0x60, 32),
		respEphSK: seq(0x80, 32),
		frames: []frameVector{
			{From: "initiator", Plaintext: []byte("hello, responder")},
			{From: "responder", Plaintext: []byte("hello, initiator")},
			{From: "initiator", Plaintext: []byte("x")},
			{From: "initiator"},
			{From: "responder", Plaintext: bytes.Repeat([]byte("0123456789abcdef"), 16)},
			{From: "responder"},
		},
	},
	{
		// The SSB main network's app key, as an shs network would use.
		name:      "ssb-appkey",
		appKey:    mustHex("d4a1cb88a66f02f8db635ce26441cc5dac1b08420ceaac230839b755845a9ffb"),
		initSeed:  bytes.Repeat([]byte{0x01}, 32),
		respSeed:  bytes.Repeat([]byte{0x02}, 32),
		initEphSK: bytes.Repeat([]byte{0x03}, 32),
		respEphSK: bytes.Repeat([]byte{0x04}, 32),
		frames: []frameVector{
			{From: "responder", Plaintext: []byte("server speaks first")},
			{From: "initiator", Plaintext: []byte("ok")},
			{From: "responder"},
			{From: "initiator"},
		},
	},
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// generate runs the handshake and the frames of in through Client and
// Server over a pipe, recording the wire.
func generate(t *testing.T, in vectorInput) noiseVector {
	t.Helper()
	ccfg := Config{Identity: mustIdentity(ed25519.NewKeyFromSeed(in.initSeed), in.appKey), Rand: bytes.NewReader(in.initEphSK)}
	scfg := Config{Identity: mustIdentity(ed25519.NewKeyFromSeed(in.respSeed), in.appKey), Rand: bytes.NewReader(in.respEphSK)}
	c, s := frametest.MemPipe(t)
	rc, rs := &frametest.RecordConn{Conn: c}, &frametest.RecordConn{Conn: s}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cr, sr := runHandshake(ctx, rc, rs, ccfg, scfg, scfg.Identity.Public())
	if cr.err != nil || sr.err != nil {
		t.Fatalf("handshake: client %v, server %v", cr.err, sr.err)
	}
	cw, sw := rc.Written(), rs.Written()
	n1 := lenSize + msg1Size
	v := noiseVector{
		Name: in.name, Protocol: Protocol, AppKey: in.appKey, Prologue: ccfg.prologue(),
		Initiator:     side(in.initSeed, in.initEphSK, cr.conn),
		Responder:     side(in.respSeed, in.respEphSK, sr.conn),
		Msg1:          cw[:n1],
		Msg2:          sw,
		Msg3:          cw[n1:],
		HandshakeHash: cr.conn.HandshakeHash(),
	}
	for _, f := range in.frames {
		from, to, rec := cr.conn, sr.conn, rc
		if f.From == "responder" {
			from, to, rec = sr.conn, cr.conn, rs
		}
		f.Nonce = from.send.n
		before := len(rec.Written())
		errc := make(chan error, 1)
		go func() {
			if len(f.Plaintext) == 0 {
				errc <- from.CloseWrite()
				return
			}
			_, err := from.Write(f.Plaintext)
			errc <- err
		}()
		got := make([]byte, len(f.Plaintext))
		if _, err := io.ReadFull(to, got); err != nil || !bytes.Equal(got, f.Plaintext) {
			t.Fatalf("frame %q: read %q, %v", f.Plaintext, got, err)
		}
		if len(f.Plaintext) == 0 {
			if n, err := to.Read(make([]byte, 1)); n != 0 || err != io.EOF {
				t.Fatalf("end of stream read as %d, %v", n, err)
			}
		}
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		f.Wire = rec.Written()[before:]
		v.Frames = append(v.Frames, f)
	}
	return v
}

func side(seed, ephSK []byte, c *Conn) sideVector {
	id := ed25519.NewKeyFromSeed(seed)
	sk := edcurve.PrivateKey(id)
	pk, _ := curve25519.X25519(sk, curve25519.Basepoint)
	epk, _ := curve25519.X25519(ephSK, curve25519.Basepoint)
	return sideVector{
		Seed: seed, Ed25519PK: hexBytes(pub(id)), StaticSK: sk, StaticPK: pk,
		EphemeralSK: ephSK, EphemeralPK: epk, TransportKey: keyOf(c.send.cipherState),
	}
}

func keyOf(cs cipherState) []byte { return bytes.Clone(cs.key[:]) }

func loadVectors(t testing.TB) *vectorFile {
	t.Helper()
	b, err := os.ReadFile(vectorsPath)
	if err != nil {
		t.Fatal(err)
	}
	var f vectorFile
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Vectors) == 0 {
		t.Fatal("no vectors")
	}
	return &f
}

// TestVectors regenerates the vectors from the code and compares them
// with the file; with -update it rewrites the file instead.
func TestVectors(t *testing.T) {
	f := vectorFile{Comment: "Test vectors for the multiserver \"noise\" transform; see spec/noise.md. " +
		"Byte strings are hex. Regenerate with: go test ./transforms/noise -run TestVectors -update"}
	for _, in := range vectorInputs {
		f.Vectors = append(f.Vectors, generate(t, in))
	}
	got, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	if *update {
		if err := os.WriteFile(vectorsPath, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(vectorsPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("the code's transcripts differ from %s; run with -update if the change is intended, and then the name \"noise\" must change too", vectorsPath)
	}
}

// TestVectorsIndependent checks the file against spec/noise.md using only
// the standard primitives and flynn/noise, not this package's code paths.
func TestVectorsIndependent(t *testing.T) {
	for _, v := range loadVectors(t).Vectors {
		t.Run(v.Name, func(t *testing.T) {
			checkBytes(t, "prologue", v.Prologue, append([]byte("multiserver-noise"), v.AppKey...))
			if v.Protocol != "Noise_IK_25519_ChaChaPoly_BLAKE2s" {
				t.Errorf("protocol %q", v.Protocol)
			}
			for name, s := range map[string]sideVector{"initiator": v.Initiator, "responder": v.Responder} {
				checkKeys(t, name, s)
			}
			// Replay the responder with flynn/noise from the file's values.
			hs, err := fnoise.NewHandshakeState(fnoise.Config{
				CipherSuite: fnoise.NewCipherSuite(fnoise.DH25519, fnoise.CipherChaChaPoly, fnoise.HashBLAKE2s),
				Random:      bytes.NewReader(v.Responder.EphemeralSK),
				Pattern:     fnoise.HandshakeIK, Prologue: v.Prologue,
				StaticKeypair: fnoise.DHKey{Private: v.Responder.StaticSK, Public: v.Responder.StaticPK},
			})
			if err != nil {
				t.Fatal(err)
			}
			payload, _, _, err := hs.ReadMessage(nil, unframe(t, "msg1", v.Msg1, 128))
			if err != nil {
				t.Fatal(err)
			}
			checkBytes(t, "msg1 payload", payload, v.Initiator.Ed25519PK)
			checkBytes(t, "initiator static", hs.PeerStatic(), v.Initiator.StaticPK)
			msg2, i2r, r2i, err := hs.WriteMessage(nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			checkBytes(t, "msg2", msg2, unframe(t, "msg2", v.Msg2, 48))
			checkBytes(t, "handshake hash", hs.ChannelBinding(), v.HandshakeHash)
			k1, k2 := i2r.UnsafeKey(), r2i.UnsafeKey()
			checkBytes(t, "initiator transport key", k1[:], v.Initiator.TransportKey)
			checkBytes(t, "responder transport key", k2[:], v.Responder.TransportKey)
			checkBytes(t, "msg3", v.Msg3, sealFrame(t, v.Initiator.TransportKey, 0, nil))
			next := map[string]uint64{"initiator": 1, "responder": 0}
			for _, f := range v.Frames {
				key := v.Initiator.TransportKey
				if f.From == "responder" {
					key = v.Responder.TransportKey
				}
				if f.Nonce != next[f.From] {
					t.Errorf("frame nonce %d, want %d", f.Nonce, next[f.From])
				}
				next[f.From]++
				checkBytes(t, "frame", f.Wire, sealFrame(t, key, f.Nonce, f.Plaintext))
			}
		})
	}
}

// checkKeys derives a side's keys from its seeds as spec/noise.md says.
func checkKeys(t *testing.T, name string, s sideVector) {
	t.Helper()
	checkBytes(t, name+" ed25519 pk", pub(ed25519.NewKeyFromSeed(s.Seed)), s.Ed25519PK)
	h := sha512.Sum512(s.Seed)
	h[0] &= 248
	h[31] &= 127
	h[31] |= 64
	checkBytes(t, name+" static sk", h[:32], s.StaticSK)
	pk, _ := curve25519.X25519(s.StaticSK, curve25519.Basepoint)
	checkBytes(t, name+" static pk", pk, s.StaticPK)
	conv, err := edcurve.PublicKey(s.Ed25519PK)
	if err != nil {
		t.Fatal(err)
	}
	checkBytes(t, name+" converted ed25519 pk", conv, s.StaticPK)
	epk, _ := curve25519.X25519(s.EphemeralSK, curve25519.Basepoint)
	checkBytes(t, name+" ephemeral pk", epk, s.EphemeralPK)
}

func unframe(t *testing.T, name string, b []byte, size int) []byte {
	t.Helper()
	if len(b) != 2+size || int(binary.BigEndian.Uint16(b)) != size {
		t.Fatalf("%s: %d bytes with length %x, want %d", name, len(b), b[:2], size)
	}
	return b[2:]
}

// sealFrame frames ChaChaPoly(key, nonce, ad="", plaintext) as the spec
// says: 4 zero bytes then the little-endian nonce, and a 2-byte length.
func sealFrame(t *testing.T, key []byte, n uint64, plaintext []byte) []byte {
	t.Helper()
	aead, err := chacha20poly1305.New(key)
	if err != nil {
		t.Fatal(err)
	}
	var nonce [12]byte
	binary.LittleEndian.PutUint64(nonce[4:], n)
	ct := aead.Seal(nil, nonce[:], plaintext, nil)
	return append(binary.BigEndian.AppendUint16(nil, uint16(len(ct))), ct...)
}

func checkBytes(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Errorf("%s = %x, want %x", what, got, want)
	}
}
