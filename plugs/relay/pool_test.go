package relay

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"testing"
)

func TestPickIsStableAndSpread(t *testing.T) {
	urls := []string{"wss://r1.example/relay", "wss://r2.example/relay", "wss://r3.example/relay", "wss://r4.example/relay"}
	first := map[string]int{}
	moved := 0
	for i := range 4000 {
		key := ed25519.NewKeyFromSeed(fmt.Appendf(make([]byte, 0, 32), "%032d", i)).Public().(ed25519.PublicKey)
		got := Pick(urls, key, 2)
		if len(got) != 2 || got[0] == got[1] {
			t.Fatalf("Pick: %v", got)
		}
		shuffled := []string{urls[2], urls[0], urls[3], urls[1], urls[0]}
		if again := Pick(shuffled, key, 2); !slices.Equal(again, got) {
			t.Fatalf("order or duplicates of the list changed the pick: %v, %v", got, again)
		}
		first[got[0]]++
		// Without r4, only the keys that had r4 move.
		without := Pick(urls[:3], key, 2)
		if !slices.Contains(got, urls[3]) && !slices.Equal(without, got) {
			t.Fatalf("removing r4 moved a key that did not use it: %v → %v", got, without)
		}
		if slices.Contains(got, urls[3]) {
			moved++
		}
	}
	for _, u := range urls {
		if n := first[u]; n < 800 || n > 1200 {
			t.Errorf("%s is first for %d of 4000 keys, want about 1000", u, n)
		}
	}
	if moved < 1700 || moved > 2300 { // 2 of 4 relays: about half the keys
		t.Errorf("r4 served %d of 4000 keys, want about 2000", moved)
	}
	if got := Pick(urls, make(ed25519.PublicKey, 32), 9); len(got) != 4 {
		t.Errorf("Pick of 9 from 4: %v", got)
	}
	if got := Pick(urls, make(ed25519.PublicKey, 32), 0); len(got) != 0 {
		t.Errorf("Pick of 0: %v", got)
	}
}

func TestAddresses(t *testing.T) {
	key := make(ed25519.PublicKey, 32)
	urls := []string{"ws://a:1/relay", "ws://b:2/relay"}
	got := Addresses(urls, key, "noise~yamux", 2)
	p := Pick(urls, key, 2)
	want := "relay:" + p[0] + "~noise:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=~yamux;relay:" + p[1] + "~noise:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=~yamux"
	if got != want {
		t.Errorf("Addresses:\n got %s\nwant %s", got, want)
	}
}

// TestPickVectors checks spec/vectors/relay_pick.json, which a Python
// one-liner over hashlib reproduces too.
func TestPickVectors(t *testing.T) {
	b, err := os.ReadFile("../../spec/vectors/relay_pick.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Key   string
		URLs  []struct{ URL, Weight string }
		Pick2 []string
		Order []string
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	key, _ := hex.DecodeString(v.Key)
	var urls []string
	for _, u := range v.URLs {
		urls = append(urls, u.URL)
		h := sha256.Sum256(append(append([]byte(pickDomain), key...), u.URL...))
		if got := hex.EncodeToString(h[:8]); got != u.Weight {
			t.Errorf("weight of %s: %s, vector %s", u.URL, got, u.Weight)
		}
	}
	if got := Pick(urls, key, 2); !slices.Equal(got, v.Pick2) {
		t.Errorf("Pick 2: %v, vector %v", got, v.Pick2)
	}
	if got := Pick(urls, key, len(urls)); !slices.Equal(got, v.Order) {
		t.Errorf("Pick all: %v, vector %v", got, v.Order)
	}
}
