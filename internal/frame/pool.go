package frame

import "sync"

// A conn gives its buffers back whenever it holds nothing in them, and
// takes them again for its next read or write: a thousand idle conns
// would otherwise keep a thousand 16 to 64 KiB buffers each way. A busy
// conn pays a pool Get and Put per call, which is small next to sealing
// kilobytes.
var pools sync.Map // buffer size -> *sync.Pool of *[]byte

// getBuf returns a buffer of len size.
func getBuf(size int) []byte {
	if p, ok := pools.Load(size); ok {
		if b, ok := p.(*sync.Pool).Get().(*[]byte); ok {
			return (*b)[:size]
		}
	}
	return make([]byte, size)
}

// putBuf gives b back for another getBuf of its capacity. The caller must
// keep no reference into it.
func putBuf(b []byte) {
	if cap(b) == 0 {
		return
	}
	b = b[:cap(b)]
	p, ok := pools.Load(len(b))
	if !ok {
		p, _ = pools.LoadOrStore(len(b), new(sync.Pool))
	}
	p.(*sync.Pool).Put(&b)
}
