package muxrpc

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"testing"
)

type vectorFile struct {
	Goodbye string `json:"goodbye"`
	Packets []struct {
		Name   string `json:"name"`
		Wire   string `json:"wire"`
		Stream bool   `json:"stream"`
		End    bool   `json:"end"`
		Type   string `json:"type"`
		Req    int32  `json:"req"`
		Body   string `json:"body"`
	} `json:"packets"`
	Invalid []struct {
		Name  string `json:"name"`
		Wire  string `json:"wire"`
		Error string `json:"error"`
	} `json:"invalid"`
}

func loadVectors(t testing.TB) vectorFile {
	t.Helper()
	b, err := os.ReadFile("../../spec/vectors/muxrpc.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectorFile
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Packets) == 0 {
		t.Fatal("no vectors")
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

var typeNames = map[string]BodyType{"buffer": Buffer, "string": String, "json": JSON}

// TestVectors decodes and encodes the packets of the JavaScript codec.
func TestVectors(t *testing.T) {
	v := loadVectors(t)
	for _, tt := range v.Packets {
		t.Run(tt.Name, func(t *testing.T) {
			wire := unhex(t, tt.Wire)
			want := Packet{Stream: tt.Stream, End: tt.End, Type: typeNames[tt.Type], Req: tt.Req, Body: unhex(t, tt.Body)}
			got, err := ReadPacket(bytes.NewReader(wire), DefaultMaxBody)
			if err != nil {
				t.Fatalf("ReadPacket: %v", err)
			}
			if got.Stream != want.Stream || got.End != want.End || got.Type != want.Type || got.Req != want.Req || !bytes.Equal(got.Body, want.Body) {
				t.Fatalf("ReadPacket = %+v, want %+v", got, want)
			}
			enc, err := AppendPacket(nil, want)
			if err != nil || !bytes.Equal(enc, wire) {
				t.Fatalf("AppendPacket = %x, %v; want %x", enc, err, wire)
			}
		})
	}
	if g := unhex(t, v.Goodbye); !bytes.Equal(g, Goodbye[:]) {
		t.Errorf("goodbye = %x, want %x", Goodbye, g)
	}
	for _, tt := range v.Invalid {
		t.Run(tt.Name, func(t *testing.T) {
			p, err := ReadPacket(bytes.NewReader(unhex(t, tt.Wire)), DefaultMaxBody)
			switch tt.Error {
			case "goodbye":
				if !errors.Is(err, ErrGoodbye) {
					t.Fatalf("ReadPacket error %v, want ErrGoodbye", err)
				}
			case "unknown message type":
				if !errors.Is(err, ErrBadType) {
					t.Fatalf("ReadPacket error %v, want ErrBadType", err)
				}
			case "invalid JSON":
				// The codec hands bodies on; the session refuses them.
				if err != nil || p.Type != JSON || json.Valid(p.Body) {
					t.Fatalf("ReadPacket = %+v, %v; want an invalid JSON body", p, err)
				}
			default:
				t.Fatalf("unexpected vector error %q", tt.Error)
			}
		})
	}
}

func TestReadPacketErrors(t *testing.T) {
	full, _ := AppendPacket(nil, Packet{Type: Buffer, Req: 1, Body: []byte("abcdef")})
	tests := []struct {
		name string
		in   []byte
		max  int
		want error
	}{
		{"empty", nil, 10, io.EOF},
		{"short header", full[:5], 10, io.ErrUnexpectedEOF},
		{"short body", full[:12], 10, io.ErrUnexpectedEOF},
		{"header only", full[:9], 10, io.ErrUnexpectedEOF},
		{"too large", full, 5, ErrTooLarge},
		{"huge length", []byte{0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1}, DefaultMaxBody, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadPacket(bytes.NewReader(tt.in), tt.max)
			if !errors.Is(err, tt.want) {
				t.Fatalf("ReadPacket error %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := AppendPacket(nil, Packet{Type: JSON}); !errors.Is(err, ErrEmptyBody) {
		t.Errorf("AppendPacket(empty) error %v, want ErrEmptyBody", err)
	}
}

// FuzzReadPacket checks that a decoded packet encodes back to the bytes
// it came from (with the flags' unused bits cleared) and that nothing
// panics.
func FuzzReadPacket(f *testing.F) {
	v := loadVectors(f)
	for _, p := range v.Packets {
		f.Add(unhex(f, p.Wire))
	}
	for _, p := range v.Invalid {
		f.Add(unhex(f, p.Wire))
	}
	f.Add(Goodbye[:])
	f.Fuzz(func(t *testing.T, in []byte) {
		p, err := ReadPacket(bytes.NewReader(in), 1<<16)
		if err != nil {
			return
		}
		enc, err := AppendPacket(nil, p)
		if err != nil {
			t.Fatalf("AppendPacket of a decoded packet: %v", err)
		}
		want := append([]byte{in[0] & 0x0f}, in[1:len(enc)]...)
		if !bytes.Equal(enc, want) {
			t.Fatalf("round trip %x, want %x", enc, want)
		}
	})
}
