package bridge

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
)

// Writing events (spec/bridge.md §4). Each returns the bytes of one
// event, blank line included.

// ssePreamble is the comment of padding that opens an SSE answer.
var ssePreamble = append(append([]byte{':'}, bytes.Repeat([]byte{' '}, ssePadding-2)...), '\n')

func appendStart(b []byte, cursor uint64) []byte {
	c := strconv.FormatUint(cursor, 10)
	return append(b, "event: start\nid: "+c+"\ndata: "+c+"\n\n"...)
}

func appendFin(b []byte, end uint64) []byte {
	f := strconv.FormatUint(end, 10)
	return append(b, "event: fin\nid: "+f+"\ndata: "+f+"\n\n"...)
}

func appendData(b []byte, end uint64, payload []byte) []byte {
	b = append(b, "id: "...)
	b = strconv.AppendUint(b, end, 10)
	b = append(b, "\ndata: "...)
	b = appendBase64(b, payload)
	return append(b, "\n\n"...)
}

var heartbeat = []byte(":\n\n")

// event is one dispatched Server-Sent Event.
type event struct {
	name, id string
	data     []byte
}

// maxLine bounds an event-stream line, and the data of an event: a data
// line of the biggest event with room to spare.
const maxLine = 128 << 10

// readBufSize is the reader's buffer while events come: a line as long
// as maxLine and a read of 64 KiB after it.
const readBufSize = maxLine + 64<<10

var (
	readBufs  = sync.Pool{New: func() any { return new([readBufSize]byte) }}
	eventData = sync.Pool{New: func() any { return new([maxLine]byte) }}
)

var errLineTooLong = errors.New("bridge: event-stream line too long")

// sseReader parses an event stream by the WHATWG rules: lines end with
// CR, LF or CRLF; "name: value" fields, the space optional; comments
// start with ":"; a blank line dispatches the event.
//
// It reads into a buffer of its own and returns lines in place. Its
// buffers come from pools while bytes are under way, and go back when it
// has used all it read and must wait for more (a stream between bursts
// waits there most of its life): it then reads into a small array, and
// takes a buffer again once bytes come.
type sseReader struct {
	r       io.Reader
	buf     *[readBufSize]byte // nil while nothing is held
	rd, wr  int                // the bytes of buf not yet used
	scanned int                // of them, how many hold no line end
	cr      bool               // the last line ended with a CR that may precede an LF
	err     error              // the read error after the bytes held
	small   [256]byte

	ev      event
	data    *[maxLine]byte // ev.data's array, while the event has data
	hasData bool
}

func newSSEReader(r io.Reader) *sseReader { return &sseReader{r: r} }

// line returns the next line, without its end; it is valid until the
// next call. A line the stream ends inside is lost, as the standard says.
func (s *sseReader) line() ([]byte, error) {
	for {
		if s.rd < s.wr {
			b := s.buf[s.rd:s.wr]
			if s.cr { // the last line ended with a CR: skip the LF of a CRLF
				s.cr = false
				if b[0] == '\n' {
					s.rd++
					continue
				}
			}
			end := -1
			if i := bytes.IndexByte(b[s.scanned:], '\n'); i >= 0 {
				end = s.scanned + i
			}
			lim := len(b)
			if end >= 0 {
				lim = end
			}
			if i := bytes.IndexByte(b[s.scanned:lim], '\r'); i >= 0 {
				end = s.scanned + i
			}
			if end >= 0 {
				s.cr = b[end] == '\r'
				s.rd += end + 1
				s.scanned = 0
				if end > maxLine {
					return nil, errLineTooLong
				}
				return b[:end], nil
			}
			if len(b) > maxLine {
				return nil, errLineTooLong
			}
			s.scanned = len(b)
		}
		if err := s.fill(); err != nil {
			return nil, err
		}
	}
}

// fill reads more bytes after those held.
func (s *sseReader) fill() error {
	if s.err != nil {
		return s.err
	}
	if s.rd == s.wr {
		// All used: the stream may wait here long. Hold no buffer while
		// it does.
		s.rd, s.wr, s.scanned = 0, 0, 0
		s.release()
		n, err := s.r.Read(s.small[:])
		if n > 0 {
			s.buf = readBufs.Get().(*[readBufSize]byte)
			s.wr = copy(s.buf[:], s.small[:n])
		}
		if err != nil && n == 0 {
			return err
		}
		s.err = err
		return nil
	}
	if s.rd > 0 && readBufSize-s.wr < 64<<10 { // move the line begun to the front
		s.wr = copy(s.buf[:], s.buf[s.rd:s.wr])
		s.rd = 0
	}
	n, err := s.r.Read(s.buf[s.wr:])
	s.wr += n
	if err != nil && n == 0 {
		return err
	}
	s.err = err
	return nil
}

// release gives back the buffers that hold nothing needed: the read
// buffer once used up, the event data's once dispatched.
func (s *sseReader) release() {
	if s.buf != nil && s.rd == s.wr {
		readBufs.Put(s.buf)
		s.buf, s.rd, s.wr, s.scanned = nil, 0, 0, 0
	}
	if s.data != nil && !s.hasData {
		eventData.Put(s.data)
		s.data, s.ev.data = nil, nil
	}
}

// close gives back the reader's buffers; it must not be used after.
func (s *sseReader) close() {
	s.rd, s.wr, s.hasData = 0, 0, false
	s.release()
}

// next returns the next event; its data is valid until the next call.
func (s *sseReader) next() (event, error) {
	if !s.hasData {
		s.ev.data = s.ev.data[:0]
	}
	for {
		l, err := s.line()
		if err != nil {
			return event{}, err
		}
		if len(l) == 0 {
			if s.hasData || s.ev.name != "" {
				ev := s.ev
				s.ev, s.hasData = event{id: ev.id, data: ev.data[:0]}, false
				return ev, nil
			}
			continue
		}
		if l[0] == ':' {
			continue
		}
		name, value, _ := bytes.Cut(l, []byte{':'})
		value = bytes.TrimPrefix(value, []byte{' '})
		switch string(name) {
		case "event":
			s.ev.name = string(value)
		case "data":
			if s.data == nil {
				s.data = eventData.Get().(*[maxLine]byte)
				s.ev.data = s.data[:0]
			}
			n := len(value)
			if s.hasData {
				n++
			}
			if len(s.ev.data)+n > maxLine {
				return event{}, errors.New("bridge: event data too long")
			}
			if s.hasData {
				s.ev.data = append(s.ev.data, '\n')
			}
			s.ev.data = append(s.ev.data, value...)
			s.hasData = true
		case "id":
			if !bytes.Contains(value, []byte{0}) {
				s.ev.id = string(value)
			}
		}
	}
}

// A bridge event, decoded.
type frame struct {
	kind    string // "start", "data", "fin", or "" for an event to ignore
	offset  uint64 // start: the cursor; data: the end of payload; fin: the end
	payload []byte
}

// decodeEvent reads a bridge event from ev, a data event's payload into
// dst's array if it fits.
func decodeEvent(ev event, dst []byte) (frame, error) {
	switch ev.name {
	case "", "message":
		off, err := parseOffset(ev.id)
		if err != nil {
			return frame{}, fmt.Errorf("bridge: event id %q is not an offset", ev.id)
		}
		p, err := appendBase64Decode(dst[:0], ev.data)
		if err != nil {
			return frame{}, errors.New("bridge: event data is not base64")
		}
		if len(p) == 0 || uint64(len(p)) > off {
			return frame{}, fmt.Errorf("bridge: event of %d bytes ends at %d", len(p), off)
		}
		return frame{kind: "data", offset: off, payload: p}, nil
	case "start", "fin":
		off, err := parseOffset(ev.id)
		if err != nil || string(ev.data) != ev.id {
			return frame{}, fmt.Errorf("bridge: %s event with id %q and data %q", ev.name, ev.id, ev.data)
		}
		return frame{kind: ev.name, offset: off}, nil
	}
	return frame{}, nil
}
