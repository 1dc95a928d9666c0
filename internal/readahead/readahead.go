// Package readahead reads an io.Reader from a goroutine of its own, so
// that a Read can give up at a deadline, or at a close, and lose nothing:
// the read under it goes on, and what it brings waits for the next Read.
//
// It is for readers whose own way of giving up costs something: a
// WebSocket read cut by a deadline fails the WebSocket for good, and a
// go-yamux stream whose read deadline passes just as data comes in drops
// the window update that data is owed, which stalls the stream once the
// window is spent.
//
// The goroutine starts at the first Read that has to wait and reads at
// most two reads ahead. While the source is idle it waits in one of two
// arrays of [Idle] bytes (the other may hold data not yet read); a pooled
// buffer of [Size] bytes is taken only while data flows (a read filled
// its buffer), so an idle Reader costs a goroutine and a kilobyte.
package readahead

import (
	"io"
	"net"
	"os"
	"sync"
)

// Size is the size of the pooled buffers a Reader reads into while data
// flows.
const Size = 64 << 10

// Idle is the size of the array a Reader's goroutine waits for data in.
const Idle = 512

// Buffers holds buffers of Size bytes, for Readers and for any other
// loop that reads into a small array while idle and a pooled buffer
// while data flows.
var Buffers = sync.Pool{New: func() any { return new([Size]byte) }}

// maxChunks bounds what the goroutine reads ahead: two reads, so that it
// reads the next while Read copies out the last.
const maxChunks = 2

// A chunk is data the goroutine read and Read has not returned yet.
type chunk struct {
	b      []byte
	pooled *[Size]byte // to give back to Buffers once read, or nil
	small  int         // else which small array b is in
}

// A Reader reads its source ahead of its Reads: see the package doc.
// One Read at a time.
type Reader struct {
	src io.Reader

	mu        sync.Mutex
	chunks    []chunk // at most maxChunks
	err       error   // why reading ended, once chunks are read
	running   bool    // the goroutine was started
	smallBusy [2]bool // which of the goroutine's small arrays are in chunks
	avail     chan struct{}
	space     chan struct{}
	stop      chan struct{}
	stopOnce  sync.Once
}

// New returns a Reader of src. Only the Reader's goroutine reads src
// from now on; it ends when src returns an error, or after Stop once its
// read under way returns.
func New(src io.Reader) *Reader {
	return &Reader{
		src:   src,
		avail: make(chan struct{}, 1),
		space: make(chan struct{}, 1),
		stop:  make(chan struct{}),
	}
}

// Read copies into p what was read ahead, waiting for it if there is
// none. It returns the source's error once all that came before it is
// read. If deadline is closed first, it returns os.ErrDeadlineExceeded;
// if done is closed first, net.ErrClosed; either channel may be nil.
// Data read ahead stays for the next Read.
func (r *Reader) Read(p []byte, deadline, done <-chan struct{}) (int, error) {
	for {
		n, wait, err := r.take(p)
		if wait == nil {
			return n, err
		}
		select {
		case <-wait:
		case <-deadline:
			return 0, os.ErrDeadlineExceeded
		case <-done:
			return 0, net.ErrClosed
		}
	}
}

// Buffered reports whether a Read would return without waiting.
func (r *Reader) Buffered() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.chunks) > 0 || r.err != nil
}

// Stop ends the goroutine once its read under way returns (the caller
// ends that read, by closing the source) and drops what was read ahead.
// It is for a closed owner, whose Reads return net.ErrClosed through
// their done channel from then on.
func (r *Reader) Stop() {
	r.stopOnce.Do(func() { close(r.stop) })
}

// take copies what was read ahead into p. If there is nothing, it starts
// the goroutine (the first time) and returns a channel to wait on before
// trying again.
func (r *Reader) take(p []byte) (int, chan struct{}, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for len(r.chunks) > 0 && n < len(p) {
		ch := &r.chunks[0]
		k := copy(p[n:], ch.b)
		n += k
		ch.b = ch.b[k:]
		if len(ch.b) > 0 {
			break
		}
		r.release(ch)
		r.chunks = append(r.chunks[:0], r.chunks[1:]...)
		signal(r.space)
	}
	switch {
	case n > 0 || len(p) == 0:
		return n, nil, nil
	case r.err != nil:
		return 0, nil, r.err
	case !r.running:
		r.running = true
		go r.loop()
	}
	return 0, r.avail, nil
}

// release gives back ch's buffer. r.mu is held.
func (r *Reader) release(ch *chunk) {
	if ch.pooled != nil {
		Buffers.Put(ch.pooled)
	} else {
		r.smallBusy[ch.small] = false
	}
}

// loop reads the source until it fails or the Reader is stopped.
func (r *Reader) loop() {
	var small [2][Idle]byte
	flowing := false
	for {
		buf, pooled, i := r.buffer(&small, flowing)
		n, err := r.src.Read(buf)
		flowing = n == len(buf)
		if n == 0 && err == nil {
			if pooled != nil {
				Buffers.Put(pooled)
			}
			continue
		}
		for full := r.put(chunk{buf[:n], pooled, i}, err); full && err == nil; full = r.full() {
			select {
			case <-r.space:
			case <-r.stop:
				r.drop()
				return
			}
		}
		if err != nil {
			return
		}
		select {
		case <-r.stop:
			r.drop()
			return
		default:
		}
	}
}

// buffer returns what the goroutine reads into next: a small array that
// holds no unread data while the source is idle (one always does: the
// goroutine reads only while at most one chunk waits), a pooled buffer
// while data flows.
func (r *Reader) buffer(small *[2][Idle]byte, flowing bool) ([]byte, *[Size]byte, int) {
	if !flowing {
		r.mu.Lock()
		busy := r.smallBusy
		r.mu.Unlock()
		for i := range small {
			if !busy[i] {
				return small[i][:], nil, i
			}
		}
	}
	b := Buffers.Get().(*[Size]byte)
	return b[:], b, 0
}

// put leaves data (ch, read into a pooled buffer or a small array) and
// the error that came with it, if any, for Read. It reports whether the
// goroutine must wait for space before reading again.
func (r *Reader) put(ch chunk, err error) (full bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(ch.b) > 0 {
		r.chunks = append(r.chunks, ch)
		if ch.pooled == nil {
			r.smallBusy[ch.small] = true
		}
	} else if ch.pooled != nil {
		Buffers.Put(ch.pooled)
	}
	if err != nil {
		r.err = err
	}
	signal(r.avail)
	return len(r.chunks) >= maxChunks
}

// full reports whether the goroutine has read as far ahead as it may.
func (r *Reader) full() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.chunks) >= maxChunks
}

// drop gives back the buffers of a stopped Reader.
func (r *Reader) drop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.chunks {
		r.release(&r.chunks[i])
	}
	r.chunks = nil
}

// signal wakes one waiter on ch, a channel of capacity 1.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
