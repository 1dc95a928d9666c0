package wsconn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/coder/websocket"
)

// IdleRead is the size of the array a reader waits for data in.
const IdleRead = 512

// Buffers holds buffers of MaxMessage bytes for readers that take one
// only while data flows and wait in an IdleRead array while idle: a
// Conn's reader, and the ws plug's pumps where a Conn cannot be had.
var Buffers = sync.Pool{New: func() any { return new([MaxMessage]byte) }}

// A chunk is data the reader read and Read has not returned yet.
type chunk struct {
	b      []byte
	pooled *[MaxMessage]byte // to give back to Buffers once read, or nil
}

// inbox is where the reader goroutine leaves what it reads for Read.
type inbox struct {
	mu        sync.Mutex
	chunks    []chunk // at most maxChunks
	err       error   // why reading ended, once chunks are read
	running   bool    // the reader goroutine was started
	smallBusy bool    // the reader's small array is in chunks
	avail     chan struct{}
	space     chan struct{}
}

// maxChunks bounds what the reader reads ahead: two reads, so that it
// reads the next while Read copies out the last.
const maxChunks = 2

func (in *inbox) init() {
	in.avail = make(chan struct{}, 1)
	in.space = make(chan struct{}, 1)
}

// take copies what the reader has left into p. If it has left nothing,
// it starts the reader (the first time) and returns a channel to wait on
// before trying again.
func (in *inbox) take(p []byte, c *Conn) (int, error, chan struct{}) {
	in.mu.Lock()
	defer in.mu.Unlock()
	n := 0
	for len(in.chunks) > 0 && n < len(p) {
		ch := &in.chunks[0]
		k := copy(p[n:], ch.b)
		n += k
		ch.b = ch.b[k:]
		if len(ch.b) > 0 {
			break
		}
		if ch.pooled != nil {
			Buffers.Put(ch.pooled)
		} else {
			in.smallBusy = false
		}
		in.chunks = append(in.chunks[:0], in.chunks[1:]...)
		signal(in.space)
	}
	switch {
	case n > 0 || len(p) == 0:
		return n, nil, nil
	case in.err != nil:
		return 0, in.err, nil
	case !in.running:
		in.running = true
		go c.readLoop()
	}
	return 0, nil, in.avail
}

// put leaves data (b, read into pooled or into the small array) or the
// end of reading for Read. It reports whether the reader must wait for
// space before reading again.
func (in *inbox) put(b []byte, pooled *[MaxMessage]byte, err error) (full bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(b) > 0 {
		in.chunks = append(in.chunks, chunk{b, pooled})
		if pooled == nil {
			in.smallBusy = true
		}
	} else if pooled != nil {
		Buffers.Put(pooled)
	}
	if err != nil {
		in.err = err
	}
	signal(in.avail)
	return len(in.chunks) >= maxChunks
}

// full reports whether the reader has read as far ahead as it may.
func (in *inbox) full() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return len(in.chunks) >= maxChunks
}

// buffer returns what the reader reads into next: the small array while
// the conn is idle, a pooled buffer while data flows (the last read
// filled its buffer) or while the small array waits to be read.
func (in *inbox) buffer(small []byte, flowing bool) ([]byte, *[MaxMessage]byte) {
	in.mu.Lock()
	busy := in.smallBusy
	in.mu.Unlock()
	if flowing || busy {
		b := Buffers.Get().(*[MaxMessage]byte)
		return b[:], b
	}
	return small, nil
}

// readLoop reads the WebSocket's messages into the inbox until reading
// ends. It runs from the first Read that waits.
func (c *Conn) readLoop() {
	small := make([]byte, IdleRead)
	var msg io.Reader // the message being read
	flowing := false
	for {
		if msg == nil {
			typ, r, err := c.ws.Reader(context.Background())
			if err != nil {
				c.in.put(nil, nil, readEnd(err))
				return
			}
			if typ != websocket.MessageBinary {
				// The reason websocket.NetConn gives, for the same bytes
				// on the wire.
				reason := fmt.Sprintf("unexpected frame type read (expected %v): %v", websocket.MessageBinary, typ)
				c.ws.Close(websocket.StatusUnsupportedData, reason)
				c.in.put(nil, nil, errors.New("websocket: read: "+reason))
				return
			}
			msg = r
		}
		buf, pooled := c.in.buffer(small, flowing)
		n, err := msg.Read(buf)
		if err == io.EOF {
			msg, err = nil, nil
		}
		flowing = n == len(buf)
		if err != nil {
			err = readEnd(err)
		}
		for full := c.in.put(buf[:n], pooled, err); full && err == nil; full = c.in.full() {
			select {
			case <-c.in.space:
			case <-c.done:
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// signal wakes one waiter on ch, a channel of capacity 1.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
