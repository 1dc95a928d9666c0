package dhtrelay

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"testing"
)

const vectorsPath = "../../spec/vectors/dhtrelay.json"

type vectorFile struct {
	RemoteOpen string `json:"remoteOpen"`
	Open       string `json:"open"`
	Messages   []struct {
		Type  string          `json:"type"`
		Value json.RawMessage `json:"value"`
		Frame string          `json:"frame"`
	} `json:"messages"`
}

func loadVectors(t testing.TB) vectorFile {
	t.Helper()
	b, err := os.ReadFile(vectorsPath)
	if err != nil {
		t.Fatal(err)
	}
	var v vectorFile
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Messages) == 0 {
		t.Fatalf("%s: no messages", vectorsPath)
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

func key(n byte) (k [32]byte) {
	for i := range k {
		k[i] = n
	}
	return k
}

// want is what relay-vectors.js sent, in the order of its cases.
var want = []Message{
	Handshake{PublicKey: key(1)},
	Ping{},
	Pong{},
	Connect{Alias: 7, PublicKey: key(1), RemotePublicKey: key(2)},
	Connect{Alias: 300, PublicKey: key(1), RemotePublicKey: key(2)},
	Destroy{Alias: 7, HasError: true, Error: "PEER_NOT_FOUND: Peer not found"},
	Destroy{Paired: true, Alias: 70000},
	Open{Alias: 9, RemoteAlias: 7, HandshakeID: 3},
	End{Alias: 9},
	Data{Alias: 9, Chunks: [][]byte{[]byte("hello"), {}, bytes.Repeat([]byte{3}, 300)}},
	NoiseSend{Initiator: true, ID: 3, RemoteStreamAlias: 7, Payload: []byte("opaque payload")},
	NoiseReceive{Initiator: true, ID: 3, Payload: bytes.Repeat([]byte{4}, 80)},
	NoiseReply{Initiator: true, ID: 3, Payload: bytes.Repeat([]byte{5}, 100)},
	NoiseReply{Initiator: true, Complete: true, ID: 3, Payload: bytes.Repeat([]byte{6}, 20), RemoteID: key(7), HolepunchSecret: key(8)},
}

func TestVectors(t *testing.T) {
	v := loadVectors(t)
	if len(v.Messages) != len(want) {
		t.Fatalf("%d vectors, want %d", len(v.Messages), len(want))
	}
	if got := AppendOpenChannel(nil, 1, Protocol); !bytes.Equal(got, unhex(t, v.Open)) || !bytes.Equal(got, unhex(t, v.RemoteOpen)) {
		t.Errorf("AppendOpenChannel = %x, want %x", got, v.Open)
	}
	f, err := ParseFrame(unhex(t, v.Open))
	if err != nil || f.Channel != 0 || f.Control != OpenChannel || f.ID != 1 || f.Protocol != Protocol {
		t.Errorf("ParseFrame(open) = %+v, %v", f, err)
	}
	for i, m := range v.Messages {
		frame := unhex(t, m.Frame)
		if got := AppendFrame(nil, 1, want[i]); !bytes.Equal(got, frame) {
			t.Errorf("%d %s: AppendFrame = %x, want %x", i, m.Type, got, frame)
		}
		f, err := ParseFrame(frame)
		if err != nil || f.Channel != 1 || !reflect.DeepEqual(f.Message, want[i]) {
			t.Errorf("%d %s: ParseFrame = %+v, %v; want %+v", i, m.Type, f.Message, err, want[i])
		}
	}
}

func TestUint(t *testing.T) {
	for _, v := range []uint64{0, 0xfc, 0xfd, 0xffff, 0x10000, 0xffffffff, 0x100000000, 1<<64 - 1} {
		r := &reader{b: AppendUint(nil, v)}
		if got := r.uint(); got != v || r.err != nil || len(r.b) != 0 {
			t.Errorf("uint %d: got %d, %v, %d left", v, got, r.err, len(r.b))
		}
	}
}

func TestRefusals(t *testing.T) {
	for name, b := range map[string][]byte{
		"empty":             nil,
		"truncated uint":    {0xfd, 1},
		"unknown type":      {1, 5},
		"unknown control":   {0, 9},
		"truncated connect": AppendFrame(nil, 1, Connect{})[:20],
		"truncated data":    AppendFrame(nil, 1, Data{Chunks: [][]byte{[]byte("abc")}})[:8],
		"batch in batch":    {0, 0, 0, 2, 0, 0},
		"control in batch":  {0, 0, 0, 2, 3, 1},
	} {
		if _, err := ParseFrame(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: ParseFrame(%x) = %v, want ErrMalformed", name, b, err)
		}
	}
	custodial := AppendFrame(nil, 1, Handshake{})
	custodial[2] = 1
	if _, err := ParseFrame(custodial); !errors.Is(err, ErrCustodial) {
		t.Errorf("custodial handshake: %v, want ErrCustodial", err)
	}
}

func TestBatch(t *testing.T) {
	// protomux batch: channel 0, type 0, the first channel id, then
	// length-prefixed (type ‖ payload) items; a zero length switches channel.
	m1 := AppendFrame(nil, 1, Ping{})[1:]
	m2 := AppendFrame(nil, 1, End{Alias: 4})[1:]
	b := []byte{0, 0, 1}
	b = append(AppendUint(b, uint64(len(m1))), m1...)
	b = append(b, 0, 2)
	b = append(AppendUint(b, uint64(len(m2))), m2...)
	f, err := ParseFrame(b)
	if err != nil || f.Control != Batch || len(f.Batch) != 2 {
		t.Fatalf("ParseFrame(batch) = %+v, %v", f, err)
	}
	if f.Batch[0].Channel != 1 || f.Batch[0].Message != (Ping{}) || f.Batch[1].Channel != 2 || f.Batch[1].Message != (End{Alias: 4}) {
		t.Fatalf("batch = %+v", f.Batch)
	}
}

// FuzzParseFrame: no panic; what parses, alone or in a batch, re-encodes
// to bytes that parse to the same message.
func FuzzParseFrame(f *testing.F) {
	v := loadVectors(f)
	f.Add(unhex(f, v.Open))
	for _, m := range v.Messages {
		f.Add(unhex(f, m.Frame))
	}
	f.Add([]byte{0, 0, 1, 1, 1})
	m1 := AppendFrame(nil, 1, Ping{})[1:]
	m2 := AppendFrame(nil, 1, End{Alias: 4})[1:]
	batch := append(AppendUint([]byte{0, 0, 1}, uint64(len(m1))), m1...)
	batch = append(AppendUint(append(batch, 0, 2), uint64(len(m2))), m2...)
	f.Add(batch)
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := ParseFrame(b)
		if err != nil {
			return
		}
		for _, m := range append([]Frame{fr}, fr.Batch...) {
			if m.Message == nil {
				continue
			}
			again, err := ParseFrame(AppendFrame(nil, m.Channel, m.Message))
			if err != nil || !reflect.DeepEqual(again.Message, m.Message) {
				t.Fatalf("%x: %+v re-encoded parses to %+v, %v", b, m.Message, again.Message, err)
			}
		}
	})
}
