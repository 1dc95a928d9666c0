package punch

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"testing"

	"github.com/f7d52a8e/multiserver/keys"
)

const vectorsPath = "../../spec/vectors/holepunch.json"

var update = flag.Bool("update", false, "rewrite "+vectorsPath+" from the code")

type vectorFile struct {
	Comment      []string        `json:"comment"`
	DialerSeed   string          `json:"dialer_seed"`
	ListenerSeed string          `json:"listener_seed"`
	Nonce        string          `json:"nonce"`
	Messages     []messageVector `json:"messages"`
	Probes       []probeVector   `json:"probes"`
}

type messageVector struct {
	Name   string `json:"name"`
	Plain  string `json:"plain"`
	Sealed string `json:"sealed"` // by the dialer's key to the listener's, with nonce
}

type probeVector struct {
	Name   string `json:"name"`
	Secret string `json:"secret"`
	Wire   string `json:"wire"`
}

func seedIdentity(t *testing.T, b byte) *keys.Identity {
	seed := bytes.Repeat([]byte{b}, ed25519.SeedSize)
	id, err := keys.NewIdentity(ed25519.NewKeyFromSeed(seed), keys.OpenNetwork())
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestVectors checks spec/vectors/holepunch.json: each message encodes
// to its bytes and seals to its sealed form, which the listener opens;
// each probe encodes to its wire bytes and decodes back.
func TestVectors(t *testing.T) {
	d, l := seedIdentity(t, 1), seedIdentity(t, 2)
	var nonce [nonceSize]byte
	for i := range nonce {
		nonce[i] = byte(i)
	}
	dl, _ := newSealer(d.Private(), l.Public())
	ld, _ := newSealer(l.Private(), d.Public())
	names := []string{"OFFER, cone, host v4 + reflexive v4 + host v6", "ANSWER, symmetric", "ANSWER, UDP blocked", "DECLINE, busy"}
	want := vectorFile{
		Comment: []string{
			"Signals and probes of hole punching; see spec/holepunch.md. Byte strings are hex.",
			"Keys: Ed25519 seeds of 32 bytes 0x01 (dialer) and 0x02 (listener); sealed = nonce || NaCl box(dialer -> listener).",
			"Regenerate with: go test ./internal/punch -run TestVectors -update",
		},
		DialerSeed:   hex.EncodeToString(bytes.Repeat([]byte{1}, 32)),
		ListenerSeed: hex.EncodeToString(bytes.Repeat([]byte{2}, 32)),
		Nonce:        hex.EncodeToString(nonce[:]),
	}
	for i, m := range testMessages() {
		want.Messages = append(want.Messages, messageVector{names[i], hex.EncodeToString(m.append(nil)), hex.EncodeToString(dl.sealWith(&nonce, m))})
	}
	names6 := []string{"ANSWER, IPv6 only: host unique-local + reflexive v6", "OFFER, eight candidates: 3 host v4, 3 host v6, reflexive v4, reflexive v6"}
	for i, m := range ipv6Messages() {
		want.Messages = append(want.Messages, messageVector{names6[i], hex.EncodeToString(m.append(nil)), hex.EncodeToString(dl.sealWith(&nonce, m))})
	}
	for _, p := range []struct {
		name string
		p    probe
	}{
		{"PROBE from the dialer", probe{kind: kindProbeDialer, session: [8]byte{1, 2, 3, 4, 5, 6, 7, 8}, seq: 1}},
		{"ACK from the listener", probe{kind: kindAckListener, session: [8]byte{1, 2, 3, 4, 5, 6, 7, 8}, seq: 1}},
	} {
		secret := bytes.Repeat([]byte{9}, secretSize)
		want.Probes = append(want.Probes, probeVector{p.name, hex.EncodeToString(secret), hex.EncodeToString(appendProbe(nil, secret, p.p))})
	}
	if *update {
		b, _ := json.MarshalIndent(want, "", "  ")
		if err := os.WriteFile(vectorsPath, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(vectorsPath)
	if err != nil {
		t.Fatal(err)
	}
	var got vectorFile
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	wb, _ := json.Marshal(want)
	gb, _ := json.Marshal(got)
	if !bytes.Equal(wb, gb) {
		t.Fatalf("%s differs from what the code makes; run with -update and review the diff", vectorsPath)
	}
	for _, v := range got.Messages {
		sealed, _ := hex.DecodeString(v.Sealed)
		m, err := ld.open(sealed)
		if err != nil {
			t.Fatalf("%s: %v", v.Name, err)
		}
		if hex.EncodeToString(m.append(nil)) != v.Plain {
			t.Errorf("%s opens to %x", v.Name, m.append(nil))
		}
	}
	for _, v := range got.Probes {
		wire, _ := hex.DecodeString(v.Wire)
		secret, _ := hex.DecodeString(v.Secret)
		if _, ok := decodeProbe(wire, secret); !ok {
			t.Errorf("%s does not decode", v.Name)
		}
	}
}
