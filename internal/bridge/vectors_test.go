package bridge

import (
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"flag"
	"net/url"
	"os"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite spec/vectors/bridge.json")

const vectorsPath = "../../spec/vectors/bridge.json"

type vectors struct {
	Comment  string          `json:"comment"`
	Seed     string          `json:"seed"`
	Public   string          `json:"public"`
	Session  string          `json:"session"`
	Requests []requestVector `json:"requests"`
	Events   []eventVector   `json:"events"`
}

type requestVector struct {
	Kind    string `json:"kind"`
	Offset  uint64 `json:"o"`
	Ack     uint64 `json:"a"`
	Time    int64  `json:"t"`
	Message string `json:"message"`
	Sig     string `json:"sig"`
	Query   string `json:"query"`
}

type eventVector struct {
	Stream string `json:"stream"` // after the padding comment
	Start  uint64 `json:"start"`
	Bytes  string `json:"bytes"` // hex of the payload it carries
	Fin    bool   `json:"fin"`
}

func makeVectors() vectors {
	seed := make([]byte, 32)
	for i := range seed {
		seed[i] = byte(i + 1)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	var s sessionID
	for i := range s {
		s[i] = byte(0xa0 + i)
	}
	v := vectors{
		Comment: "spec/bridge.md: signed requests (message = domain 0 kind 0 session o a t) and SSE streams",
		Seed:    hex.EncodeToString(seed),
		Public:  hex.EncodeToString(priv.Public().(ed25519.PublicKey)),
		Session: s.String(),
	}
	for _, r := range []request{
		{Kind: kindOpen},
		{Kind: kindSSE, Offset: 4096, Ack: 1024},
		{Kind: kindPoll, Offset: 4096, Ack: 1024},
		{Kind: kindSend, Offset: 70000, Ack: 4096},
		{Kind: kindClose, Offset: 70010, Ack: 8192},
	} {
		r.Session, r.Time = s, 1700000000
		r.sign(priv)
		v.Requests = append(v.Requests, requestVector{
			Kind: r.Kind, Offset: r.Offset, Ack: r.Ack, Time: r.Time,
			Message: hex.EncodeToString(r.message()), Sig: hex.EncodeToString(r.Sig), Query: r.query().Encode(),
		})
	}
	st := appendStart(nil, 0)
	st = appendData(st, 5, []byte("hello"))
	st = appendData(st, 11, []byte(" world"))
	st = append(st, heartbeat...)
	st = appendFin(st, 11)
	v.Events = append(v.Events, eventVector{Stream: string(st), Start: 0, Bytes: hex.EncodeToString([]byte("hello world")), Fin: true})
	v.Events = append(v.Events, eventVector{Stream: "event: start\r\nid: 7\r\ndata: 7\r\n\r\n:\r\nid: 10\rdata: AAEC\r\r", Start: 7, Bytes: "000102"})
	return v
}

// TestVectors checks spec/vectors/bridge.json against the code, both
// ways: the code makes the same requests, and parses the streams.
func TestVectors(t *testing.T) {
	v := makeVectors()
	if *update {
		b, _ := json.MarshalIndent(v, "", "  ")
		if err := os.WriteFile(vectorsPath, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(vectorsPath)
	if err != nil {
		t.Fatal(err)
	}
	var file vectors
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(file, v) {
		t.Fatal("spec/vectors/bridge.json differs from what the code makes")
	}
	pub, _ := hex.DecodeString(file.Public)
	for _, rv := range file.Requests {
		q, _ := parseQuery(rv.Query)
		r, err := parseRequest(q)
		if err != nil {
			t.Fatalf("%s: %v", rv.Kind, err)
		}
		if err := r.verify(pub, r.timeOf()); err != nil {
			t.Fatalf("%s: %v", rv.Kind, err)
		}
	}
	for _, ev := range file.Events {
		c := &clientConn{}
		c.init(1 << 20)
		c.in = buffer{start: ev.Start}
		r := newSSEReader(stringReader(ev.Stream))
		fin := false
		for {
			e, err := r.next()
			if err != nil {
				break
			}
			f, err := decodeEvent(e, nil)
			if err != nil {
				t.Fatal(err)
			}
			switch f.kind {
			case "start":
				if f.offset != ev.Start {
					t.Fatalf("start %d, want %d", f.offset, ev.Start)
				}
			case "data":
				if _, err := c.deliver(f.offset-uint64(len(f.payload)), f.payload, false, 0); err != nil {
					t.Fatal(err)
				}
			case "fin":
				fin = true
			}
		}
		if got := hex.EncodeToString(c.in.bytes()); got != ev.Bytes || fin != ev.Fin {
			t.Fatalf("stream %q gave %s (fin %v), want %s (fin %v)", ev.Stream, got, fin, ev.Bytes, ev.Fin)
		}
	}
}

func parseQuery(s string) (map[string][]string, error) { return url.ParseQuery(s) }

func stringReader(s string) *strings.Reader { return strings.NewReader(s) }
