package msgconn

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"testing"

	"github.com/coder/websocket"
)

// vectorsPath holds the vectors of spec/relay.md §11.
const vectorsPath = "../../../../spec/vectors/relay_framing.json"

type framingVectors struct {
	Messages []struct {
		Name    string `json:"name"`
		Type    int    `json:"type"`
		Payload string `json:"payload"`
		Code    int    `json:"code"`
		Reason  string `json:"reason"`
		Wire    string `json:"wire"`
	} `json:"messages"`
	Invalid []map[string]string `json:"invalid"`
}

// TestVectors writes each message of the vectors and compares the bytes,
// reads each back, and refuses each invalid stream.
func TestVectors(t *testing.T) {
	b, err := os.ReadFile(vectorsPath)
	if err != nil {
		t.Fatal(err)
	}
	var v framingVectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Messages) == 0 || len(v.Invalid) == 0 {
		t.Fatal("no vectors")
	}
	for _, m := range v.Messages {
		wire, _ := hex.DecodeString(m.Wire)
		payload, _ := hex.DecodeString(m.Payload)
		// Write.
		a, bb := net.Pipe()
		got := make(chan []byte)
		go func() { p, _ := io.ReadAll(bb); got <- p }()
		f := NewFramed(a)
		if m.Type == TypeData {
			f.Write(context.Background(), payload)
		} else {
			f.Close(websocket.StatusCode(m.Code), m.Reason)
		}
		a.Close()
		if w := <-got; !bytes.Equal(w, wire) {
			t.Errorf("%s: wrote %x, want %s", m.Name, w, m.Wire)
		}
		// Read.
		r := NewFramed(&bytesConn{Reader: bytes.NewReader(wire)})
		p, err := r.Read(context.Background())
		if m.Type == TypeData {
			if err != nil || !bytes.Equal(p, payload) {
				t.Errorf("%s: read %x, %v", m.Name, p, err)
			}
			continue
		}
		var ce websocket.CloseError
		if !errors.As(err, &ce) || int(ce.Code) != m.Code || ce.Reason != m.Reason {
			t.Errorf("%s: read %v, want a close %d %q", m.Name, err, m.Code, m.Reason)
		}
	}
	for _, in := range v.Invalid {
		wire, _ := hex.DecodeString(in["wire"])
		r := NewFramed(&bytesConn{Reader: bytes.NewReader(wire)})
		var err error
		for err == nil {
			_, err = r.Read(context.Background())
		}
		var ce websocket.CloseError
		if errors.As(err, &ce) || !errors.Is(err, ErrFraming) && !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("invalid %q: read ended with %v, want a framing error or a lost stream", in["why"], err)
		}
	}
}
