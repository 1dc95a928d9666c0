package tunnel_test

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/f7d52a8e/multiserver/address"
	"github.com/f7d52a8e/multiserver/plugs/tunnel"
	"github.com/f7d52a8e/multiserver/transforms/shs"
)

type tunnelVectors struct {
	IDs struct {
		RoomKey   string `json:"room_key"`
		Room      string `json:"room"`
		TargetKey string `json:"target_key"`
		Target    string `json:"target"`
	} `json:"ids"`
	Valid []struct {
		Addr   string  `json:"addr"`
		Room   string  `json:"room"`
		Target *string `json:"target"`
		Port   *string `json:"port"`
	} `json:"valid"`
	Invalid []struct {
		Addr string `json:"addr"`
		Why  string `json:"why"`
	} `json:"invalid"`
	ConnectRequest struct {
		JSON string `json:"json"`
	} `json:"connect_request"`
}

func loadTunnelVectors(t testing.TB) tunnelVectors {
	t.Helper()
	b, err := os.ReadFile("../../spec/vectors/tunnel.json")
	if err != nil {
		t.Fatal(err)
	}
	var v tunnelVectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestKindVectors(t *testing.T) {
	v := loadTunnelVectors(t)
	p := &address.Parser{Kinds: []address.Kind{tunnel.Kind(), shs.Kind()}}
	for _, tt := range v.Valid {
		l, err := p.Parse(tt.Addr)
		if err != nil {
			t.Errorf("%s: %v", tt.Addr, err)
			continue
		}
		if l.String() != tt.Addr {
			t.Errorf("%s: String() = %s", tt.Addr, l)
		}
		seg, err := tunnel.ParseSegment(l[0].Plug())
		if err != nil {
			t.Fatal(err)
		}
		if tunnel.ID(seg.Room) != tt.Room {
			t.Errorf("%s: room %s", tt.Addr, tunnel.ID(seg.Room))
		}
		if (tt.Target == nil) != (seg.Target == nil) || tt.Target != nil && tunnel.ID(seg.Target) != *tt.Target {
			t.Errorf("%s: target %v", tt.Addr, seg.Target)
		}
		if tt.Port != nil && seg.Port != *tt.Port || tt.Port == nil && seg.Port != "" {
			t.Errorf("%s: port %q", tt.Addr, seg.Port)
		}
		if got := seg.Segment(); !got.Equal(l[0].Plug()) {
			t.Errorf("%s: Segment() = %s", tt.Addr, got)
		}
	}
	for _, tt := range v.Invalid {
		if _, err := p.Parse(tt.Addr); err == nil {
			t.Errorf("%s (%s): parsed", tt.Addr, tt.Why)
		}
	}
}

func FuzzParseSegment(f *testing.F) {
	v := loadTunnelVectors(f)
	for _, tt := range v.Valid {
		f.Add(tt.Addr)
	}
	for _, tt := range v.Invalid {
		f.Add(tt.Addr)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := address.ParseAddr(s)
		if err != nil || a.Plug().Name != "tunnel" {
			return
		}
		seg, err := tunnel.ParseSegment(a.Plug())
		if err != nil {
			return
		}
		again, err := tunnel.ParseSegment(seg.Segment())
		if err != nil || !again.Room.Equal(seg.Room) || !again.Target.Equal(seg.Target) || again.Port != seg.Port {
			t.Fatalf("%q: round trip %+v, %v", s, again, err)
		}
		if !seg.Segment().Equal(a.Plug()) {
			t.Fatalf("%q: Segment() = %s, want %s", s, seg.Segment(), a.Plug())
		}
	})
}
