package bridge

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
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
	b = base64.StdEncoding.AppendEncode(b, payload)
	return append(b, "\n\n"...)
}

var heartbeat = []byte(":\n\n")

// event is one dispatched Server-Sent Event.
type event struct {
	name, id string
	data     []byte
}

// maxLine bounds an event-stream line: a data line of the biggest event
// with room to spare.
const maxLine = 128 << 10

// sseReader parses an event stream by the WHATWG rules: lines end with
// CR, LF or CRLF; "name: value" fields, the space optional; comments
// start with ":"; a blank line dispatches the event.
type sseReader struct {
	r       *bufio.Reader
	buf     []byte // the line being read
	cr      bool   // the last line ended with a CR that may precede an LF
	ev      event
	hasData bool
}

func newSSEReader(r io.Reader) *sseReader {
	return &sseReader{r: bufio.NewReaderSize(r, 64<<10)}
}

// line returns the next line, without its end; it is valid until the
// next call. A line the stream ends inside is lost, as the standard says.
// It scans what the reader has buffered for the line's end rather than
// reading byte by byte.
func (s *sseReader) line() ([]byte, error) {
	s.buf = s.buf[:0]
	if s.cr { // the last line ended with a CR: skip the LF of a CRLF
		c, err := s.r.Peek(1)
		if err != nil {
			return nil, err
		}
		if c[0] == '\n' {
			s.r.Discard(1)
		}
		s.cr = false
	}
	for {
		if s.r.Buffered() == 0 {
			if _, err := s.r.Peek(1); err != nil {
				return nil, err
			}
		}
		b, _ := s.r.Peek(s.r.Buffered())
		end := len(b)
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			end = i
		}
		if i := bytes.IndexByte(b[:end], '\r'); i >= 0 {
			end = i
		}
		if len(s.buf)+end > maxLine {
			return nil, errors.New("bridge: event-stream line too long")
		}
		s.buf = append(s.buf, b[:end]...)
		if end == len(b) {
			s.r.Discard(end)
			continue
		}
		s.cr = b[end] == '\r'
		s.r.Discard(end + 1)
		return s.buf, nil
	}
}

// next returns the next event.
func (s *sseReader) next() (event, error) {
	for {
		l, err := s.line()
		if err != nil {
			return event{}, err
		}
		if len(l) == 0 {
			if s.hasData || s.ev.name != "" {
				ev := s.ev
				s.ev, s.hasData = event{id: ev.id}, false
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

// decodeEvent reads a bridge event from ev.
func decodeEvent(ev event) (frame, error) {
	switch ev.name {
	case "", "message":
		off, err := parseOffset(ev.id)
		if err != nil {
			return frame{}, fmt.Errorf("bridge: event id %q is not an offset", ev.id)
		}
		p, err := base64.StdEncoding.Strict().AppendDecode(nil, ev.data)
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
