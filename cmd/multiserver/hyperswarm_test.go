package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/f7d52a8e/multiserver/address"
	"github.com/f7d52a8e/multiserver/interop/hstest"
	"github.com/f7d52a8e/multiserver/keys"
)

// TestDialHyperswarm: dial --dht-relay reaches the echo peer of net.js by
// the address addr from-hex makes of its hex key, netcat-style: stdin
// goes to the peer, the echo comes back on stdout, and stdin's end
// half-closes.
func TestDialHyperswarm(t *testing.T) {
	hs := hstest.StartT(t)
	r := runCLI(t, nil, "addr", "from-hex", hex.EncodeToString(hs.PublicKey))
	want := "hyperswarm:" + address.EncodeKey(hs.PublicKey)
	if r.code != 0 || strings.TrimSpace(string(r.stdout)) != want {
		t.Fatalf("addr from-hex: exit %d, stdout %q, stderr %q; want %q", r.code, r.stdout, r.stderr, want)
	}
	data := make([]byte, 256<<10)
	rand.Read(data)
	r = runCLI(t, data, "dial", "--dht-relay", hs.Relay, want)
	if r.code != 0 || !bytes.Equal(r.stdout, data) {
		t.Fatalf("dial %s: exit %d, %d bytes echoed of %d, stderr %q", want, r.code, len(r.stdout), len(data), r.stderr)
	}

	unknown := "hyperswarm:" + address.EncodeKey(keys.Generate()[32:])
	r = runCLI(t, []byte("x"), "dial", "--dht-relay", hs.Relay, unknown)
	if r.code == 0 {
		t.Fatalf("dial of an unknown key: exit 0")
	}
	wantOneLine(t, "dial of an unknown key", r.stderr, "peer not found")
}

func TestDialHyperswarmErrors(t *testing.T) {
	t.Parallel()
	key := address.EncodeKey(make([]byte, 32))
	r := runCLI(t, nil, "dial", "hyperswarm:"+key)
	if r.code == 0 {
		t.Fatal("dial hyperswarm without --dht-relay: exit 0")
	}
	wantOneLine(t, "dial hyperswarm without --dht-relay", r.stderr, "--dht-relay")
	r = runCLI(t, nil, "dial", "--dht-relay", "ws://127.0.0.1:1", "hyperswarm:"+key)
	if r.code == 0 {
		t.Fatal("dial through a closed port: exit 0")
	}
	wantOneLine(t, "dial through a closed port", r.stderr, "relay unreachable")
	for _, bad := range []string{"abc", strings.Repeat("0", 63), strings.Repeat("g", 64)} {
		r := runCLI(t, nil, "addr", "from-hex", bad)
		if r.code == 0 {
			t.Errorf("addr from-hex %s: exit 0", bad)
		}
	}
}
