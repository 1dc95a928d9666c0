package resume

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// vectorsPath holds the frames that spec/resume.md shows byte by byte.
const vectorsPath = "../../spec/vectors/resume.json"

var update = flag.Bool("update", false, "rewrite "+vectorsPath+" from the code")

// vector is one frame of spec/vectors/resume.json: its fields, as the
// spec names them, and its bytes in hex.
type vector struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	ConnID   string `json:"conn_id,omitempty"`
	Received uint64 `json:"received,omitempty"`
	Window   uint32 `json:"window,omitempty"`
	Offset   uint64 `json:"offset,omitempty"`
	Payload  string `json:"payload,omitempty"`
	Code     byte   `json:"code,omitempty"`
	Reason   string `json:"reason,omitempty"`
	Wire     string `json:"wire"`
}

type vectorFile struct {
	Comment []string `json:"comment"`
	Frames  []vector `json:"frames"`
}

var typeNames = map[byte]string{
	typeResume: "RESUME", typeData: "DATA", typeAck: "ACK", typeFin: "FIN", typeReset: "RESET", typePing: "PING", typeSignal: "SIGNAL",
}

// testFrames are the vectors' frames.
func testFrames() []struct {
	name string
	wire []byte
} {
	id := [8]byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}
	return []struct {
		name string
		wire []byte
	}{
		{"first RESUME, default window", appendResume(nil, id, 0, DefaultWindow)},
		{"RESUME after 70000 bytes", appendResume(nil, id, 70000, 256<<10)},
		{"DATA hello at 0", appendData(nil, 0, []byte("hello"))},
		{"DATA at 2^32", appendData(nil, 1<<32, []byte{0xff})},
		{"ACK", appendOffset(nil, typeAck, 65536)},
		{"FIN", appendOffset(nil, typeFin, 5)},
		{"RESET closed", appendReset(nil, codeClosed, "closed")},
		{"RESET protocol error", appendReset(nil, codeProtocol, "")},
		{"PING", []byte{typePing}},
		{"SIGNAL", appendSignal(nil, []byte("sealed"))},
	}
}

func toVector(name string, wire []byte) vector {
	f, _, _ := decode(wire)
	v := vector{Name: name, Type: typeNames[f.typ], Wire: hex.EncodeToString(wire)}
	switch f.typ {
	case typeResume:
		v.ConnID, v.Received, v.Window = hex.EncodeToString(f.id[:]), f.off, f.window
	case typeData:
		v.Offset, v.Payload = f.off, hex.EncodeToString(f.payload)
	case typeSignal:
		v.Payload = hex.EncodeToString(f.payload)
	case typeAck, typeFin:
		v.Offset = f.off
	case typeReset:
		v.Code, v.Reason = f.code, f.reason
	}
	return v
}

// TestVectors checks spec/vectors/resume.json: each frame encodes to its
// wire bytes and decodes, whole and nothing more, to its fields.
func TestVectors(t *testing.T) {
	var want []vector
	for _, f := range testFrames() {
		want = append(want, toVector(f.name, f.wire))
	}
	if *update {
		b, _ := json.MarshalIndent(vectorFile{
			Comment: []string{
				"Frames of the resumable stream under the transforms; see spec/resume.md. Byte strings are hex.",
				"Regenerate with: go test ./internal/resume -run TestVectors -update",
			},
			Frames: want,
		}, "", "  ")
		if err := os.WriteFile(vectorsPath, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(vectorsPath)
	if err != nil {
		t.Fatal(err)
	}
	var file vectorFile
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatalf("%s: %v", vectorsPath, err)
	}
	if len(file.Frames) != len(want) {
		t.Fatalf("%s has %d frames, want %d", vectorsPath, len(file.Frames), len(want))
	}
	for i, v := range file.Frames {
		if v != want[i] {
			t.Errorf("vector %q = %+v, code says %+v", v.Name, v, want[i])
		}
		wire, _ := hex.DecodeString(v.Wire)
		if got := toVector(v.Name, wire); got != v {
			t.Errorf("vector %q decodes to %+v", v.Name, got)
		}
		if _, n, err := decode(wire); n != len(wire) || err != nil {
			t.Errorf("vector %q: decode = %d bytes, %v; want %d", v.Name, n, err, len(wire))
		}
		if _, n, err := decode(wire[:len(wire)-1]); n != 0 || err != nil {
			t.Errorf("vector %q cut short: decode = %d, %v; want 0, nil", v.Name, n, err)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		wire string
	}{
		{"unknown type", "08"},
		{"SIGNAL empty", "070000"},
		{"SIGNAL over 1200 bytes", "0704b1"},
		{"zero type", "00"},
		{"RESUME bad magic", "01525858"},
		{"RESUME version 2", "01" + hex.EncodeToString([]byte("RSM")) + "02"},
		{"RESUME zero window", "01" + hex.EncodeToString([]byte("RSM")) + "01" + strings.Repeat("00", 16) + "00000000"},
		{"DATA empty", "02" + "0000000000000000" + "0000"},
		{"DATA over 16 KiB", "02" + "0000000000000000" + "4001"},
		{"DATA 64 KiB", "02" + "0000000000000000" + "ffff"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wire, _ := hex.DecodeString(tt.wire)
			if _, _, err := decode(wire); !errors.Is(err, ErrProtocol) {
				t.Errorf("decode(%s) error %v, want ErrProtocol", tt.wire, err)
			}
		})
	}
}

// TestGarbageCarrier feeds a Conn carriers that do not speak the
// protocol, or break it: each must fail it with ErrProtocol, at once,
// and leave no goroutine behind.
func TestGarbageCarrier(t *testing.T) {
	id := [8]byte{9}
	hello := appendResume(nil, id, 0, DefaultWindow)
	tests := []struct {
		name string
		wire []byte
	}{
		{"HTTP", []byte("GET / HTTP/1.1\r\n\r\n")},
		{"wrong version", append([]byte{typeResume, 'R', 'S', 'M', 9}, make([]byte, 20)...)},
		{"DATA before RESUME", appendData(nil, 0, []byte("x"))},
		{"huge DATA", append(hello, typeData, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff)},
		{"gap", appendData(hello, 5, []byte("x"))},
		{"second RESUME", append(hello, hello...)},
		{"ACK of unwritten", appendOffset(hello, typeAck, 1)},
		{"RESUME past written", appendResume(nil, id, 10, DefaultWindow)},
		{"FIN off the end", appendOffset(appendData(hello, 0, []byte("ab")), typeFin, 1)},
		{"DATA past FIN", appendData(appendOffset(hello, typeFin, 0), 0, []byte("x"))},
		{"SIGNAL before RESUME", appendSignal(nil, []byte("x"))},
		{"window overrun", appendData(appendData(appendResume(nil, id, 0, 1), 0, make([]byte, 4096)), 4096, make([]byte, 1))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				x, y := net.Pipe()
				defer y.Close()
				c := New(x, &Config{Window: 4096})
				defer c.Close()
				go io.Copy(io.Discard, y)
				y.Write(tt.wire)
				synctest.Wait() // no time passes
				if _, err := c.Write([]byte("x")); !errors.Is(err, ErrProtocol) {
					t.Fatalf("Write: %v, want ErrProtocol", err)
				}
			})
		})
	}
}

// TestTruncatedCarrier: a carrier that ends in the middle of a frame is
// a broken carrier, to be resumed, not a protocol error.
func TestTruncatedCarrier(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		x, y := net.Pipe()
		c := New(x, &Config{ResumeTimeout: time.Second})
		defer c.Close()
		go io.Copy(io.Discard, y)
		wire := appendData(appendResume(nil, [8]byte{}, 0, DefaultWindow), 0, []byte("hello"))
		y.Write(wire[:len(wire)-2])
		y.Close()
		if _, err := io.ReadAll(c); !errors.Is(err, ErrTimeout) {
			t.Fatalf("Read: %v, want ErrTimeout", err)
		}
	})
}

// FuzzDecode decodes any bytes as a carrier's stream of frames: no
// panic, no frame longer than the input or than the largest frame, and
// what decodes encodes back to the same bytes.
func FuzzDecode(f *testing.F) {
	for _, fr := range testFrames() {
		f.Add(fr.wire)
	}
	f.Add(bytes.Join([][]byte{testFrames()[0].wire, testFrames()[2].wire, testFrames()[4].wire}, nil))
	f.Add(bytes.Join([][]byte{testFrames()[0].wire, testFrames()[9].wire, testFrames()[8].wire}, nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		for len(b) > 0 {
			fr, n, err := decode(b)
			if err != nil || n == 0 {
				return
			}
			if n > len(b) || n > maxFrame {
				t.Fatalf("decode took %d bytes of %d", n, len(b))
			}
			var again []byte
			switch fr.typ {
			case typeResume:
				again = appendResume(nil, fr.id, fr.off, fr.window)
			case typeData:
				again = appendData(nil, fr.off, fr.payload)
			case typeAck, typeFin:
				again = appendOffset(nil, fr.typ, fr.off)
			case typeReset:
				again = appendReset(nil, fr.code, fr.reason)
			case typePing:
				again = []byte{typePing}
			case typeSignal:
				again = appendSignal(nil, fr.payload)
			}
			if !bytes.Equal(again, b[:n]) {
				t.Fatalf("%x decodes to %+v, which encodes to %x", b[:n], fr, again)
			}
			b = b[n:]
		}
	})
}
