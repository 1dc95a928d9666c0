package wire

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"testing"
	"time"
)

// vectorsPath holds the vectors that spec/relay.md §8 describes.
const vectorsPath = "../../../../spec/vectors/relay.json"

var update = flag.Bool("update", false, "rewrite "+vectorsPath+" from the code")

type frameVector struct {
	Name   string         `json:"name"`
	Fields map[string]any `json:"fields"`
	Wire   string         `json:"wire"`
}

type authVector struct {
	Seed      string `json:"seed"`
	PublicKey string `json:"public_key"`
	Challenge string `json:"challenge"`
	Origin    string `json:"origin"`
	Message   string `json:"message"`
	Signature string `json:"signature"`
	Frame     string `json:"frame"`
}

type vectors struct {
	Comment string              `json:"comment"`
	Frames  []frameVector       `json:"frames"`
	Auth    authVector          `json:"auth"`
	Topics  []map[string]string `json:"topics"`
	Origins []map[string]string `json:"origins"`
	Invalid []map[string]string `json:"invalid"`
}

// seq returns n bytes counting up from start.
func seq(start byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}

// vectorFrames are the frames of the vectors file, with their fields.
func vectorFrames() ([]*Frame, []frameVector) {
	h := hex.EncodeToString
	key := seq(0x20, 32)
	var tok [16]byte
	copy(tok[:], seq(0xa0, 16))
	var stream [16]byte
	copy(stream[:], seq(0xc0, 16))
	topic := TopicOf(key, "noise")
	hello := &Frame{Type: FrameHello, Limits: Limits{MaxFrame: 4096, HandshakeTimeout: 10 * time.Second, PairingTimeout: 10 * time.Second, PingInterval: 15 * time.Second}}
	copy(hello.Challenge[:], seq(0, 32))
	ping := &Frame{Type: FramePing}
	copy(ping.Ping[:], seq(1, 8))
	pong := &Frame{Type: FramePong, Ping: ping.Ping}
	fs := []*Frame{
		hello,
		{Type: FrameOK},
		{Type: FrameDenied, Code: 5 /* NO_PEER */, Text: "nobody is registered for the topic"},
		{Type: FrameListen, Labels: []string{"noise", "noise~yamux"}},
		{Type: FrameConnect, Topic: topic, Stream: stream},
		{Type: FrameIncoming, Token: tok, Topic: topic, Key: key, Stream: stream},
		{Type: FrameAccept, Token: tok},
		{Type: FramePaired, Key: key, Stream: stream},
		ping, pong,
		{Type: FrameRestarting, RestartIn: 2 * time.Second, TryFor: time.Minute},
	}
	vs := []frameVector{
		{"HELLO", map[string]any{"challenge": h(hello.Challenge[:]), "max_frame": 4096, "handshake_timeout_ms": 10000, "pairing_timeout_ms": 10000, "ping_interval_ms": 15000}, ""},
		{"OK", map[string]any{}, ""},
		{"DENIED", map[string]any{"code": 5, "text": "nobody is registered for the topic"}, ""},
		{"LISTEN", map[string]any{"labels": []string{"noise", "noise~yamux"}}, ""},
		{"CONNECT", map[string]any{"topic": h(topic[:]), "stream_id": h(stream[:])}, ""},
		{"INCOMING", map[string]any{"token": h(tok[:]), "topic": h(topic[:]), "key": h(key), "stream_id": h(stream[:])}, ""},
		{"ACCEPT", map[string]any{"token": h(tok[:])}, ""},
		{"PAIRED", map[string]any{"key": h(key), "stream_id": h(stream[:])}, ""},
		{"PING", map[string]any{"payload": h(ping.Ping[:])}, ""},
		{"PONG", map[string]any{"payload": h(ping.Ping[:])}, ""},
		{"RESTARTING", map[string]any{"reconnect_in_ms": 2000, "try_for_ms": 60000}, ""},
	}
	for i, f := range fs {
		vs[i].Wire = h(f.Encode())
	}
	return fs, vs
}

func makeVectors() vectors {
	h := hex.EncodeToString
	_, fv := vectorFrames()
	seed := seq(0x40, 32)
	priv := ed25519.NewKeyFromSeed(seed)
	challenge := seq(0x60, 32)
	const origin = "wss://relay.example"
	msg := AuthMessage(challenge, origin)
	sig := ed25519.Sign(priv, msg)
	auth := &Frame{Type: FrameAuth, Key: priv.Public().(ed25519.PublicKey), Sig: sig, Origin: origin}
	v := vectors{
		Comment: "Vectors for the multiserver relay protocol, version 1; see spec/relay.md. Byte strings are hex; wire is a whole WebSocket message. Regenerate with: go test ./plugs/relay/internal/wire -run TestVectors -update",
		Frames:  fv,
		Auth: authVector{
			Seed: h(seed), PublicKey: h(auth.Key), Challenge: h(challenge), Origin: origin,
			Message: h(msg), Signature: h(sig), Frame: h(auth.Encode()),
		},
	}
	for _, t := range []struct {
		key   []byte
		label string
	}{
		{seq(0x20, 32), "noise"}, {seq(0x20, 32), "noise~yamux"}, {auth.Key, "shs"},
	} {
		topic := TopicOf(t.key, t.label)
		v.Topics = append(v.Topics, map[string]string{"key": h(t.key), "label": t.label, "topic": h(topic[:])})
	}
	for _, u := range []string{"wss://relay.example/ms", "WSS://Relay.Example:443/", "https://relay.example:8443/x?y", "ws://127.0.0.1:80", "http://[::1]:9000/relay"} {
		o, _ := Origin(u)
		v.Origins = append(v.Origins, map[string]string{"url": u, "origin": o})
	}
	v.Invalid = []map[string]string{
		{"why": "empty message", "wire": ""},
		{"why": "unknown frame type", "wire": "ff"},
		{"why": "OK with a body", "wire": "0300"},
		{"why": "HELLO with a wrong magic", "wire": "01" + h([]byte("XXXX")) + "01" + h(seq(0, 48))},
		{"why": "HELLO of version 2", "wire": "01" + h([]byte(magic)) + "02" + h(seq(0, 48))},
		{"why": "HELLO too short", "wire": "01" + h([]byte(magic)) + "01" + h(seq(0, 40))},
		{"why": "AUTH without an origin", "wire": "02" + h(seq(0, 96))},
		{"why": "CONNECT one byte short", "wire": "06" + h(seq(0, 47))},
		{"why": "LISTEN without labels", "wire": "0500"},
		{"why": "LISTEN with an empty label", "wire": "050100"},
		{"why": "LISTEN with a label past the end", "wire": "05010561"},
		{"why": "LISTEN with a label twice", "wire": "0502016101" + "61"},
		{"why": "LISTEN with a space in a label", "wire": "0501026120"},
		{"why": "LISTEN with bytes after the labels", "wire": "050101" + "6100"},
		{"why": "DENIED text not UTF-8", "wire": "040005ff"},
	}
	return v
}

// TestVectors checks spec/vectors/relay.json against the codec: each
// frame encodes to its wire bytes and decodes back to them, the AUTH
// signature verifies, the topics and origins match, and every invalid
// message is refused.
func TestVectors(t *testing.T) {
	v := makeVectors()
	want, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, '\n')
	if *update {
		if err := os.WriteFile(vectorsPath, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(vectorsPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs from what the code makes; run go test ./plugs/relay/internal/wire -run TestVectors -update and review the diff", vectorsPath)
	}
	var file vectors
	if err := json.Unmarshal(got, &file); err != nil {
		t.Fatal(err)
	}
	for _, fv := range file.Frames {
		wire, _ := hex.DecodeString(fv.Wire)
		f, err := Decode(wire)
		if err != nil {
			t.Errorf("%s: decode(%s) = %v", fv.Name, fv.Wire, err)
			continue
		}
		if again := f.Encode(); !bytes.Equal(again, wire) {
			t.Errorf("%s: decode then encode = %x, want %s", fv.Name, again, fv.Wire)
		}
	}
	a := file.Auth
	pub, _ := hex.DecodeString(a.PublicKey)
	msg, _ := hex.DecodeString(a.Message)
	sig, _ := hex.DecodeString(a.Signature)
	if !ed25519.Verify(pub, msg, sig) {
		t.Error("auth: the signature does not verify")
	}
	wire, _ := hex.DecodeString(a.Frame)
	if f, err := Decode(wire); err != nil || f.Origin != a.Origin || !bytes.Equal(f.Sig, sig) {
		t.Errorf("auth: decode(frame) = %+v, %v", f, err)
	}
	for _, in := range file.Invalid {
		wire, _ := hex.DecodeString(in["wire"])
		if _, err := Decode(wire); err == nil {
			t.Errorf("invalid %q (%s): decode succeeded", in["why"], in["wire"])
		}
	}
}
