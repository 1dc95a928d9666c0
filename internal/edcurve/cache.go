package edcurve

import "sync"

// recent remembers the latest conversions: a node dials the same servers
// and hears from the same clients again and again, and each handshake
// converts the peer's key. It is direct-mapped on the key's first byte,
// uniform for real keys; made-up keys can only evict entries, which costs
// a conversion. Only keys that passed the checks are kept.
//
// A hit is faster than a miss, which tells whoever can time a conversion
// whether the key was converted lately. So a server converts a client's
// key only after comparing it, unchecked, with the key the client proved
// (see UncheckedPublicKey): a client learns nothing about other keys.
var recent cache

type cache [256]struct {
	mu   sync.Mutex
	ed   [32]byte
	u    [32]byte
	used bool
}

func (c *cache) get(ed []byte) (u [32]byte, ok bool) {
	e := &c[ed[0]]
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.used && e.ed == [32]byte(ed) {
		return e.u, true
	}
	return u, false
}

func (c *cache) put(ed []byte, u [32]byte) {
	e := &c[ed[0]]
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ed, e.u, e.used = [32]byte(ed), u, true
}
