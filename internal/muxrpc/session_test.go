package muxrpc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver/internal/frametest"
	"github.com/f7d52a8e/multiserver/internal/logtest"
)

// pair returns two sessions joined by a TCP connection.
func pair(t *testing.T, a, b Config) (*Session, *Session) {
	t.Helper()
	ca, cb := frametest.TCPPipe(t)
	sa, sb := New(ca, a), New(cb, b)
	t.Cleanup(func() { sa.Close(); sb.Close() })
	return sa, sb
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func echoHandlers() map[string]Handler {
	return map[string]Handler{
		"echo.async": func(ctx context.Context, r *Request) (any, error) {
			var v any
			if len(r.Args) > 0 {
				json.Unmarshal(r.Args[0], &v)
			}
			return v, nil
		},
		"fail.async": func(ctx context.Context, r *Request) (any, error) {
			return nil, errors.New("it failed on purpose")
		},
		"count.source": func(ctx context.Context, r *Request) (any, error) {
			var n int
			json.Unmarshal(r.Args[0], &n)
			go func() {
				for i := range n {
					if err := r.Stream.WriteJSON(ctx, i); err != nil {
						return
					}
				}
				r.Stream.CloseWithError(nil)
			}()
			return nil, nil
		},
		"echo.duplex": func(ctx context.Context, r *Request) (any, error) {
			go func() {
				for {
					p, err := r.Stream.Read(ctx)
					if err != nil {
						r.Stream.CloseWithError(nil)
						return
					}
					if r.Stream.Write(ctx, p.Type, p.Body) != nil {
						return
					}
				}
			}()
			return nil, nil
		},
		"hold.duplex": func(ctx context.Context, r *Request) (any, error) {
			return nil, nil // never read: what comes in stays buffered
		},
		"refuse.duplex": func(ctx context.Context, r *Request) (any, error) {
			return nil, errors.New("could not connect to: nobody")
		},
	}
}

func TestAsync(t *testing.T) {
	a, b := pair(t, Config{Handlers: echoHandlers()}, Config{Handlers: echoHandlers()})
	ctx := ctxT(t)
	for _, s := range []*Session{a, b} {
		got, err := s.Async(ctx, []string{"echo", "async"}, map[string]int{"x": 1})
		if err != nil || string(got) != `{"x":1}` {
			t.Fatalf("Async(echo) = %s, %v", got, err)
		}
		_, err = s.Async(ctx, []string{"fail", "async"})
		var re *Error
		if !errors.As(err, &re) || re.Message != "it failed on purpose" {
			t.Fatalf("Async(fail) error %v, want the handler's", err)
		}
		_, err = s.Async(ctx, []string{"no", "such"})
		if !errors.As(err, &re) || !strings.Contains(re.Message, ErrNoMethod.Error()) {
			t.Fatalf("Async(no.such) error %v, want %v", err, ErrNoMethod)
		}
	}
}

func TestSource(t *testing.T) {
	a, b := pair(t, Config{Handlers: echoHandlers()}, Config{Handlers: echoHandlers()})
	ctx := ctxT(t)
	for _, s := range []*Session{a, b} {
		st, err := s.Open(ctx, "source", []string{"count", "source"}, 100)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 100 {
			p, err := st.Read(ctx)
			if err != nil || string(p.Body) != fmt.Sprint(i) || p.Type != JSON {
				t.Fatalf("read %d: %+v, %v", i, p, err)
			}
		}
		if _, err := st.Read(ctx); err != io.EOF {
			t.Fatalf("read after the end: %v, want io.EOF", err)
		}
	}
	waitStreams(t, a, b)
}

func TestDuplex(t *testing.T) {
	a, b := pair(t, Config{Handlers: echoHandlers()}, Config{Handlers: echoHandlers()})
	ctx := ctxT(t)
	for _, s := range []*Session{a, b} {
		st, err := s.Open(ctx, "duplex", []string{"echo", "duplex"})
		if err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		go func() {
			for i := range 200 {
				msg := bytes.Repeat([]byte{byte(i)}, 1000+i)
				st.Write(ctx, Buffer, msg)
			}
		}()
		for i := range 200 {
			want.Write(bytes.Repeat([]byte{byte(i)}, 1000+i))
		}
		// muxrpc has no half-close: an end stops both directions, so the
		// caller ends only once it has read everything.
		var got bytes.Buffer
		for got.Len() < want.Len() {
			p, err := st.Read(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got.Write(p.Body)
		}
		st.CloseWithError(nil)
		if _, err := st.Read(ctx); err != io.EOF {
			t.Fatalf("Read after the end: %v, want io.EOF", err)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Fatalf("echoed %d bytes, want %d", got.Len(), want.Len())
		}
	}
	waitStreams(t, a, b)
}

// waitStreams waits until the sessions have forgotten every stream.
func waitStreams(t *testing.T, ss ...*Session) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, s := range ss {
		for {
			s.mu.Lock()
			n := len(s.in) + len(s.out) + s.incoming
			s.mu.Unlock()
			if n == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d streams or calls still open", n)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func TestStreamRefused(t *testing.T) {
	a, b := pair(t, Config{}, Config{Handlers: echoHandlers()})
	ctx := ctxT(t)
	st, err := a.Open(ctx, "duplex", []string{"refuse", "duplex"}, map[string]string{"target": "x"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.Read(ctx)
	var re *Error
	if !errors.As(err, &re) || re.Message != "could not connect to: nobody" {
		t.Fatalf("Read error %v, want the refusal", err)
	}
	st2, _ := a.Open(ctx, "source", []string{"not", "here"})
	if _, err := st2.Read(ctx); !errors.As(err, &re) || !strings.Contains(re.Message, "no such method") {
		t.Fatalf("Read error %v, want no such method", err)
	}
	waitStreams(t, a, b)
}

// TestOverflow: a stream whose reader falls behind ends with ErrOverflow
// on both sides; the session and other streams go on.
func TestOverflow(t *testing.T) {
	a, b := pair(t, Config{StreamBuffer: 64 << 10, Handlers: echoHandlers()}, Config{Handlers: echoHandlers()})
	ctx := ctxT(t)
	st, err := a.Open(ctx, "source", []string{"count", "source"}, 100000)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		st.mu.Lock()
		err := st.readErr
		st.mu.Unlock()
		if err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no overflow")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := st.Read(ctx); !errors.Is(err, ErrOverflow) {
		t.Fatalf("Read error %v, want ErrOverflow", err)
	}
	if got, err := a.Async(ctx, []string{"echo", "async"}, "still here"); err != nil || string(got) != `"still here"` {
		t.Fatalf("Async after overflow = %s, %v", got, err)
	}
	if got, err := b.Async(ctx, []string{"echo", "async"}, 1); err != nil || string(got) != `1` {
		t.Fatalf("Async the other way after overflow = %s, %v", got, err)
	}
	waitStreams(t, a, b)
}

func TestTooManyCalls(t *testing.T) {
	block := make(chan struct{})
	hs := map[string]Handler{"slow.async": func(ctx context.Context, r *Request) (any, error) {
		select {
		case <-block:
		case <-ctx.Done():
		}
		return true, nil
	}}
	a, _ := pair(t, Config{}, Config{MaxIncoming: 4, Handlers: hs})
	ctx := ctxT(t)
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := a.Async(ctx, []string{"slow", "async"})
			errs <- err
		}()
	}
	var refused int
	for range 6 {
		err := <-errs
		var re *Error
		if !errors.As(err, &re) || re.Message != ErrTooManyCalls.Error() {
			t.Fatalf("error %v, want %v", err, ErrTooManyCalls)
		}
		refused++
	}
	close(block)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("admitted call: %v", err)
		}
	}
}

func TestGoodbye(t *testing.T) {
	a, b := pair(t, Config{}, Config{})
	a.Close()
	select {
	case <-b.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the peer's session did not end")
	}
	if !errors.Is(b.Err(), ErrClosed) {
		t.Fatalf("Err = %v, want ErrClosed", b.Err())
	}
	if _, err := b.Async(context.Background(), []string{"x"}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Async after the end: %v, want ErrClosed", err)
	}
}

// TestBadInput feeds a session what a broken peer sends.
func TestBadInput(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"body type 3", []byte{0x0b, 0, 0, 0, 1, 0, 0, 0, 1, 'x'}, ErrBadType},
		{"oversized body", []byte{0x00, 0, 0x10, 0, 1, 0, 0, 0, 1}, ErrTooLarge},
		{"cut in a header", []byte{0x02, 0, 0}, io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, raw := net.Pipe()
			s := New(c, Config{MaxBody: 1 << 20})
			defer s.Close()
			go func() { raw.Write(tt.in); raw.Close() }()
			select {
			case <-s.Done():
			case <-time.After(10 * time.Second):
				t.Fatal("session did not end")
			}
			if !errors.Is(s.Err(), tt.want) {
				t.Fatalf("Err = %v, want %v", s.Err(), tt.want)
			}
		})
	}
	// Garbage requests are answered, and the session goes on.
	a, b := pair(t, Config{}, Config{Handlers: echoHandlers()})
	ctx := ctxT(t)
	for _, body := range []string{`{`, `{"name":5,"args":[]}`, `{"name":["echo","async"],"type":"duplex","args":[]}`} {
		a.mu.Lock()
		req := a.number()
		ch := make(chan Packet, 1)
		a.calls[req] = ch
		a.mu.Unlock()
		a.send(ctx, Packet{Type: JSON, Req: req, Body: []byte(body)})
		select {
		case p := <-ch:
			if !p.End {
				t.Fatalf("request %s answered %+v, want an error", body, p)
			}
		case <-ctx.Done():
			t.Fatalf("request %s not answered", body)
		}
	}
	if got, err := a.Async(ctx, []string{"echo", "async"}, 2); err != nil || string(got) != "2" {
		t.Fatalf("Async after garbage = %s, %v", got, err)
	}
	_ = b
}

// FuzzSession feeds a session arbitrary bytes: it must end or go on
// without panicking, and Close must return.
func FuzzSession(f *testing.F) {
	v := loadVectors(f)
	var all []byte
	for _, p := range v.Packets {
		w := unhex(f, p.Wire)
		f.Add(w)
		all = append(all, w...)
	}
	f.Add(all)
	// Two streams nobody reads, then data on both, past the buffers.
	var held []byte
	for req := int32(1); req <= 2; req++ {
		held, _ = AppendPacket(held, Packet{Stream: true, Type: JSON, Req: req, Body: []byte(`{"name":["hold","duplex"],"type":"duplex","args":[]}`)})
	}
	for i := range 12 {
		held, _ = AppendPacket(held, Packet{Stream: true, Type: Buffer, Req: int32(1 + i%2), Body: bytes.Repeat([]byte{byte(i)}, 100*(1+i%3))})
	}
	f.Add(held)
	f.Fuzz(func(t *testing.T, in []byte) {
		c, raw := net.Pipe()
		// Buffers small enough that streams overflow, alone or together.
		s := New(c, Config{MaxBody: 1 << 16, StreamBuffer: 1 << 10, SessionBuffer: 2 << 10, Handlers: echoHandlers()})
		go io.Copy(io.Discard, raw)
		raw.Write(in)
		// The peer goes soon: Close would otherwise wait a second for the
		// ends of streams that overflowed, and slow inputs stall the
		// fuzzer.
		gone := time.AfterFunc(10*time.Millisecond, func() { raw.Close() })
		defer gone.Stop()
		s.Close()
		raw.Close()
		s.bufMu.Lock()
		defer s.bufMu.Unlock()
		held := 0
		for st := range s.holding {
			held += st.held
		}
		if held != s.buffered {
			t.Fatalf("the session counts %d bytes held, its streams %d", s.buffered, held)
		}
	})
}

// readPackets reads packets from raw until it fails, then closes the
// channel it returns.
func readPackets(raw net.Conn) <-chan Packet {
	ps := make(chan Packet, 100)
	go func() {
		defer close(ps)
		for {
			p, err := ReadPacket(raw, 1<<16)
			if err != nil {
				return
			}
			ps <- p
		}
	}()
	return ps
}

// TestClosedStreamFreesSlot: a stream this side closed stops counting
// against MaxIncoming even if the peer never sends its end, as a room
// that loses track of a tunnel would not.
func TestClosedStreamFreesSlot(t *testing.T) {
	var calls atomic.Int64
	hs := map[string]Handler{"tunnel.connect": func(ctx context.Context, r *Request) (any, error) {
		calls.Add(1)
		r.Stream.Close()
		return nil, nil
	}}
	c, raw := net.Pipe()
	s := New(c, Config{MaxIncoming: 2, Handlers: hs})
	defer s.Close()
	ends := readPackets(raw)
	for i := int32(1); i <= 10; i++ {
		b, _ := AppendPacket(nil, Packet{Stream: true, Type: JSON, Req: i, Body: []byte(`{"name":["tunnel","connect"],"type":"duplex","args":[{}]}`)})
		raw.Write(b)
		p := <-ends // this side's end of stream i
		if p.Req != -i || !p.End || string(p.Body) != "true" {
			t.Fatalf("call %d answered %+v %s, want a clean end", i, p, p.Body)
		}
	}
	if n := calls.Load(); n != 10 {
		t.Fatalf("%d calls reached the handler, want 10", n)
	}
	raw.Close()
}

// TestRefusedCallFreesSlot: a stream call its handler refuses stops
// counting against MaxIncoming at once, though the peer never sends its
// end: refusals of a flood must not fill the session for everyone.
func TestRefusedCallFreesSlot(t *testing.T) {
	var calls atomic.Int64
	hs := map[string]Handler{"tunnel.connect": func(ctx context.Context, r *Request) (any, error) {
		calls.Add(1)
		return nil, errors.New("could not connect to: nobody")
	}}
	c, raw := net.Pipe()
	s := New(c, Config{MaxIncoming: 2, Handlers: hs})
	defer s.Close()
	ends := readPackets(raw)
	for i := int32(1); i <= 10; i++ {
		b, _ := AppendPacket(nil, Packet{Stream: true, Type: JSON, Req: i, Body: []byte(`{"name":["tunnel","connect"],"type":"duplex","args":[{}]}`)})
		raw.Write(b)
		p := <-ends
		if p.Req != -i || !p.End || !strings.Contains(string(p.Body), "could not connect") {
			t.Fatalf("call %d answered %+v %s, want the refusal", i, p, p.Body)
		}
	}
	if n := calls.Load(); n != 10 {
		t.Fatalf("%d calls reached the handler, want 10", n)
	}
	raw.Close()
}

// TestRefusalsLogRateLimited: a peer that calls a method we lack again
// and again gets every answer, and the log gets a few lines, not one
// per call.
func TestRefusalsLogRateLimited(t *testing.T) {
	var logs logtest.Buffer
	a, _ := pair(t, Config{}, Config{Logger: logtest.Debug(&logs)})
	ctx := ctxT(t)
	for range 100 {
		if _, err := a.Async(ctx, []string{"not", "here"}); err == nil || !strings.Contains(err.Error(), "no such method") {
			t.Fatalf("call answered %v, want no such method", err)
		}
	}
	if n := strings.Count(logs.String(), "muxrpc call refused"); n == 0 || n > 10 {
		t.Fatalf("%d refusals logged for 100 calls, want 1 to 10 a minute", n)
	}
}
