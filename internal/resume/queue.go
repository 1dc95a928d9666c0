package resume

import "sync"

// chunkSize is the unit in which queues hold bytes. Queues take chunks
// from a pool as bytes come and give them back as bytes go, so an idle
// Conn, all of whose bytes are acknowledged and read, holds none.
const chunkSize = 16 << 10

var chunks = sync.Pool{New: func() any { return new([chunkSize]byte) }}

// queue holds the bytes of a stream from offset start to start+n.
type queue struct {
	start  uint64
	n      int
	head   int // where start is in chunks[0]
	chunks []*[chunkSize]byte
}

// end returns the offset just past the last byte held.
func (q *queue) end() uint64 { return q.start + uint64(q.n) }

// push appends p.
func (q *queue) push(p []byte) {
	for len(p) > 0 {
		pos := q.head + q.n
		i, j := pos/chunkSize, pos%chunkSize
		if i == len(q.chunks) {
			q.chunks = append(q.chunks, chunks.Get().(*[chunkSize]byte))
		}
		m := copy(q.chunks[i][j:], p)
		q.n += m
		p = p[m:]
	}
}

// peek returns up to max bytes from offset off, which is within the
// queue, without copying: they end at a chunk's end at the latest.
func (q *queue) peek(off uint64, max int) []byte {
	skip := int(off - q.start)
	pos := q.head + skip
	i, j := pos/chunkSize, pos%chunkSize
	if skip >= q.n {
		return nil
	}
	return q.chunks[i][j:min(chunkSize, j+q.n-skip, j+max)]
}

// discard drops the bytes before offset off.
func (q *queue) discard(off uint64) {
	if off <= q.start {
		return
	}
	d := int(min(off-q.start, uint64(q.n)))
	q.start += uint64(d)
	q.n -= d
	q.head += d
	for len(q.chunks) > 0 && (q.head >= chunkSize || q.n == 0) {
		chunks.Put(q.chunks[0])
		q.chunks[0] = nil
		q.chunks = q.chunks[1:]
		q.head = max(q.head-chunkSize, 0)
	}
	if q.n == 0 {
		q.head, q.chunks = 0, nil
	}
}

// read moves bytes from the front of the queue to p.
func (q *queue) read(p []byte) int {
	n := 0
	for n < len(p) && q.n > 0 {
		m := copy(p[n:], q.peek(q.start, len(p)-n))
		q.discard(q.start + uint64(m))
		n += m
	}
	return n
}
