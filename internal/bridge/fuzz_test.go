package bridge

import (
	"bytes"
	"io"
	"net/url"
	"testing"
)

// FuzzSSE feeds the event-stream parser and the event decoder.
func FuzzSSE(f *testing.F) {
	var b []byte
	b = append(b, ssePreamble...)
	b = appendStart(b, 0)
	b = appendData(b, 5, []byte("hello"))
	b = append(b, heartbeat...)
	b = appendFin(b, 5)
	f.Add(b)
	f.Add([]byte("id: 3\r\ndata: YWJj\r\n\r\n"))
	f.Add([]byte("event: start\rid: 0\rdata: 0\r\r"))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := newSSEReader(bytes.NewReader(in))
		for range 1000 {
			ev, err := r.next()
			if err != nil {
				return
			}
			fr, err := decodeEvent(ev, nil)
			if err == nil && fr.kind == "data" && uint64(len(fr.payload)) > fr.offset {
				t.Fatalf("data event of %d bytes ends at %d", len(fr.payload), fr.offset)
			}
		}
	})
}

// FuzzRequest feeds the query parser; what parses writes back the same.
func FuzzRequest(f *testing.F) {
	r := request{Kind: kindOpen, Offset: 0, Time: 1700000000, Key: make([]byte, 32), Sig: make([]byte, 64)}
	f.Add(r.query().Encode())
	r.Kind, r.Offset, r.Ack = kindSend, 12345, 99
	f.Add(r.query().Encode())
	f.Add("k=poll&s=AAAAAAAAAAAAAAAAAAAAAA&o=01&a=0&t=1&sig=x")
	f.Fuzz(func(t *testing.T, in string) {
		q, err := url.ParseQuery(in)
		if err != nil {
			return
		}
		r, err := parseRequest(q)
		if err != nil {
			return
		}
		r2, err := parseRequest(r.query())
		if err != nil || r2.Kind != r.Kind || r2.Offset != r.Offset || r2.Ack != r.Ack || r2.Time != r.Time || !bytes.Equal(r2.Sig, r.Sig) || r2.Session != r.Session {
			t.Fatalf("round trip of %q: %+v, %v", in, r2, err)
		}
		r.verify(make([]byte, 32), r.timeOf()) // must not panic
	})
}

// FuzzOffset feeds the offset headers' parser (Bridge-Offset,
// Bridge-Fin, Last-Event-ID).
func FuzzOffset(f *testing.F) {
	for _, s := range []string{"0", "18446744073709551615", "18446744073709551616", "01", "-1", "+1", " 1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseOffset(s)
		if err == nil && formatUint(n) != s {
			t.Fatalf("parseOffset(%q) = %d", s, n)
		}
	})
}

// TestSSEReaderSplits reads streams of big events, with LF and CRLF line
// ends, through reads of every size from one byte up: the reader's
// buffer, which it gives back when it has used all it read, must join
// lines and line ends across them.
func TestSSEReaderSplits(t *testing.T) {
	var payloads [][]byte
	b := append([]byte(nil), ssePreamble...)
	b = appendStart(b, 0)
	end := uint64(0)
	for i, n := range []int{1, maxEventData, 1000, maxEventData, 3} {
		p := bytes.Repeat([]byte{byte(i + 1)}, n)
		payloads = append(payloads, p)
		end += uint64(n)
		b = appendData(b, end, p)
		b = append(b, heartbeat...)
	}
	b = appendFin(b, end)
	crlf := bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n"))
	for _, stream := range [][]byte{b, crlf} {
		for _, size := range []int{1, 7, 255, 256, 4096, 65 << 10, 1 << 20} {
			r := newSSEReader(&splitReader{b: stream, size: size})
			var got [][]byte
			for {
				ev, err := r.next()
				if err != nil {
					t.Fatalf("reads of %d: %v", size, err)
				}
				f, err := decodeEvent(ev, nil)
				if err != nil {
					t.Fatalf("reads of %d: %v", size, err)
				}
				if f.kind == "data" {
					got = append(got, f.payload)
				}
				if f.kind == "fin" {
					break
				}
			}
			r.close()
			if len(got) != len(payloads) {
				t.Fatalf("reads of %d: %d events, want %d", size, len(got), len(payloads))
			}
			for i := range got {
				if !bytes.Equal(got[i], payloads[i]) {
					t.Fatalf("reads of %d: event %d differs", size, i)
				}
			}
		}
	}
}

// splitReader returns b in reads of at most size bytes.
type splitReader struct {
	b    []byte
	size int
}

func (r *splitReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), r.size)], r.b)
	r.b = r.b[n:]
	return n, nil
}
