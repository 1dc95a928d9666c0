package relay

import (
	"cmp"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"slices"
	"strings"

	"github.com/f7d52a8e/multiserver/address"
)

// pickDomain separates the weights of [Pick] from every other hash of a
// key (spec/relay.md §9).
const pickDomain = "multiserver-relay.1 pick"

// Pick returns the n relays of urls that serve key, heaviest first, by
// rendezvous hashing: the weight of a URL for a key is the first 8 bytes,
// big-endian, of SHA-256("multiserver-relay.1 pick" ‖ key ‖ URL). Peers
// that share a list of relays pick the same ones for a key without
// asking anybody, and a relay that leaves the list moves only the keys
// it served. A listener registers on Pick(urls, its key, 2); a dialer
// that knows only the key and the list dials the same relays. Duplicate
// URLs count once; n larger than the list returns the whole list.
func Pick(urls []string, key ed25519.PublicKey, n int) []string {
	type weighted struct {
		url string
		w   uint64
	}
	var ws []weighted
	for _, u := range urls {
		if slices.ContainsFunc(ws, func(w weighted) bool { return w.url == u }) {
			continue
		}
		h := sha256.New()
		h.Write([]byte(pickDomain))
		h.Write(key)
		h.Write([]byte(u))
		ws = append(ws, weighted{u, binary.BigEndian.Uint64(h.Sum(nil))})
	}
	slices.SortFunc(ws, func(a, b weighted) int {
		return cmp.Or(cmp.Compare(b.w, a.w), strings.Compare(a.url, b.url))
	})
	var out []string
	for _, w := range ws[:min(max(n, 0), len(ws))] {
		out = append(out, w.url)
	}
	return out
}

// Addresses returns the addresses of key's stack on the n relays of urls
// that Pick chooses, joined by ';' in Pick's order: stack is the layers
// after the plug without keys ("noise", "noise~yamux"), and the key goes
// into its first layer ("relay:URL~noise:KEY"). A dialer that knows a
// peer's key and the relay list dials the result.
func Addresses(urls []string, key ed25519.PublicKey, stack string, n int) string {
	layers := strings.Split(stack, "~")
	layers[0] += ":" + address.EncodeKey(key)
	var out []string
	for _, u := range Pick(urls, key, n) {
		out = append(out, "relay:"+u+"~"+strings.Join(layers, "~"))
	}
	return strings.Join(out, ";")
}
