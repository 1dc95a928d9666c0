package stun

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"net/netip"
	"os"
	"testing"
)

const vectorsPath = "../../spec/vectors/stun.json"

var update = flag.Bool("update", false, "rewrite the encoded vectors of "+vectorsPath)

type vectors struct {
	Comment string      `json:"comment"`
	RFC5769 []rfcVector `json:"rfc5769"`
	Encoded []encVector `json:"encoded"`
}

type rfcVector struct {
	Name             string `json:"name"`
	Type             string `json:"type"`
	TransactionID    string `json:"transaction_id"`
	Software         string `json:"software"`
	XORMappedAddress string `json:"xor_mapped_address,omitempty"`
	Fingerprint      string `json:"fingerprint"`
	Password         string `json:"password"`
	Wire             string `json:"wire"`
}

type encVector struct {
	Name             string `json:"name"`
	Type             string `json:"type"`
	TransactionID    string `json:"transaction_id"`
	XORMappedAddress string `json:"xor_mapped_address,omitempty"`
	Wire             string `json:"wire"`
}

func readVectors(t testing.TB) *vectors {
	t.Helper()
	b, err := os.ReadFile(vectorsPath)
	if err != nil {
		t.Fatal(err)
	}
	v := new(vectors)
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
	return v
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRFC5769 decodes the sample messages of RFC 5769 §2.1–2.3 and
// checks their type, transaction id, SOFTWARE, XOR-MAPPED-ADDRESS and
// FINGERPRINT, and (with HMAC-SHA1 here, not in the package) their
// MESSAGE-INTEGRITY, which also proves the hex was copied right.
func TestRFC5769(t *testing.T) {
	for _, v := range readVectors(t).RFC5769 {
		t.Run(v.Name, func(t *testing.T) {
			wire := unhex(t, v.Wire)
			if !IsMessage(wire) {
				t.Fatal("IsMessage = false")
			}
			m, err := Decode(wire)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if got := hex.EncodeToString(binary.BigEndian.AppendUint16(nil, uint16(m.Type))); got != v.Type {
				t.Errorf("type %s, want %s", got, v.Type)
			}
			if got := hex.EncodeToString(m.ID[:]); got != v.TransactionID {
				t.Errorf("transaction id %s, want %s", got, v.TransactionID)
			}
			if got := m.Software(); got != v.Software {
				t.Errorf("SOFTWARE %q, want %q", got, v.Software)
			}
			if !m.Fingerprint {
				t.Error("FINGERPRINT not seen")
			}
			if got := hex.EncodeToString(wire[len(wire)-4:]); got != v.Fingerprint {
				t.Errorf("FINGERPRINT %s, want %s", got, v.Fingerprint)
			}
			if got := fingerprint(wire[:len(wire)-fingerprintSize]); got != binary.BigEndian.Uint32(unhex(t, v.Fingerprint)) {
				t.Errorf("computed FINGERPRINT %08x, want %s", got, v.Fingerprint)
			}
			addr, err := m.XORMappedAddress()
			if v.XORMappedAddress == "" {
				if err == nil {
					t.Errorf("XOR-MAPPED-ADDRESS %v in a message without one", addr)
				}
			} else if err != nil || addr != netip.MustParseAddrPort(v.XORMappedAddress) {
				t.Errorf("XOR-MAPPED-ADDRESS %v, %v; want %s", addr, err, v.XORMappedAddress)
			} else if enc := XORAddress(addr, m.ID); !bytes.Equal(enc, mustGet(t, m, AttrXORMappedAddress)) {
				t.Errorf("XORAddress(%v) = %x, want the vector's %x", addr, enc, mustGet(t, m, AttrXORMappedAddress))
			}
			checkIntegrity(t, wire, v.Password)
			// Decoding keeps the values as sent: re-encoding them with
			// zero padding gives the same message but for the padding.
			if again, err := Decode(m.Append(nil)); err != nil || again.Software() != v.Software || len(again.Attrs) != len(m.Attrs) {
				t.Errorf("re-encoded: %v", err)
			}
		})
	}
}

func mustGet(t *testing.T, m *Message, typ AttrType) []byte {
	t.Helper()
	v, ok := m.Get(typ)
	if !ok {
		t.Fatalf("no attribute %#04x", uint16(typ))
	}
	return v
}

// checkIntegrity checks the MESSAGE-INTEGRITY of wire with the
// short-term password (RFC 8489 §14.5).
func checkIntegrity(t *testing.T, wire []byte, password string) {
	t.Helper()
	m, _ := Decode(wire)
	mi := mustGet(t, m, AttrMessageIntegrity)
	off := len(wire) - fingerprintSize - 4 - len(mi)
	head := bytes.Clone(wire[:off])
	binary.BigEndian.PutUint16(head[2:], uint16(off+4+len(mi)-HeaderSize))
	h := hmac.New(sha1.New, []byte(password))
	h.Write(head)
	if !hmac.Equal(h.Sum(nil), mi) {
		t.Errorf("MESSAGE-INTEGRITY does not verify: the vector is not the RFC's")
	}
}

// encodedVectors are the messages of ours the vectors file holds.
func encodedVectors() []encVector {
	id := TransactionID{0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae}
	out := []encVector{{
		Name: "Binding request with FINGERPRINT",
		Wire: hex.EncodeToString((&Message{Type: BindingRequest, ID: id, Fingerprint: true}).Append(nil)),
	}}
	for _, a := range []string{"192.0.2.1:32853", "[2001:db8:1234:5678:11:2233:4455:6677]:32853"} {
		addr := netip.MustParseAddrPort(a)
		m := &Message{Type: BindingSuccess, ID: id, Attrs: []Attr{{AttrXORMappedAddress, XORAddress(addr, id)}}, Fingerprint: true}
		out = append(out, encVector{Name: "Binding success response", XORMappedAddress: a, Wire: hex.EncodeToString(m.Append(nil))})
	}
	for i := range out {
		out[i].TransactionID = hex.EncodeToString(id[:])
		out[i].Type = hex.EncodeToString(unhexWire(out[i].Wire)[:2])
	}
	return out
}

func unhexWire(s string) []byte { b, _ := hex.DecodeString(s); return b }

// TestVectors checks the encoded vectors against the encoder, and that
// they decode to what they say.
func TestVectors(t *testing.T) {
	v := readVectors(t)
	want := encodedVectors()
	if *update {
		v.Encoded = want
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(vectorsPath, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if len(v.Encoded) != len(want) {
		t.Fatalf("%d encoded vectors, want %d (run with -update)", len(v.Encoded), len(want))
	}
	for i, e := range v.Encoded {
		if e != want[i] {
			t.Errorf("vector %d:\n got  %+v\n want %+v", i, e, want[i])
		}
		m, err := Decode(unhex(t, e.Wire))
		if err != nil || !m.Fingerprint || hex.EncodeToString(m.ID[:]) != e.TransactionID {
			t.Errorf("vector %d: %+v, %v", i, m, err)
			continue
		}
		if e.XORMappedAddress != "" {
			if a, err := m.XORMappedAddress(); err != nil || a.String() != e.XORMappedAddress {
				t.Errorf("vector %d: XOR-MAPPED-ADDRESS %v, %v; want %s", i, a, err, e.XORMappedAddress)
			}
		}
	}
}
