//go:build !js

package bridge

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// serverConfig is a ServerConfig with the defaults filled in.
type serverConfig struct {
	window, maxBody, maxSessions, perSource, sseBytes int
	timeout, pollHold, sseTime, heartbeat, wait       time.Duration
	aheadHold                                         time.Duration
	carrier                                           string
	admit                                             func(net.Addr) bool
	source                                            func(*http.Request) string // the per-source count's key; nil: the TCP peer's IP
}

// handler serves the bridge requests of one URL and is the
// net.Listener whose Accept returns the sessions opened.
type handler struct {
	cfg   serverConfig
	addr  net.Addr
	conns chan *session
	done  chan struct{}
	now   func() time.Time

	mu        sync.Mutex
	closed    bool
	sessions  map[sessionID]*session
	perSource map[string]int
	ended     chan struct{} // closed once Close has been called and no session is left
	onEnded   func()        // called once when ended closes, if set
}

func newHandler(cfg serverConfig, addr net.Addr) *handler {
	return &handler{
		cfg: cfg, addr: addr, conns: make(chan *session), done: make(chan struct{}), now: time.Now,
		sessions: map[sessionID]*session{}, perSource: map[string]int{}, ended: make(chan struct{}),
	}
}

// Accept returns the next session opened. After Close it returns an
// error that matches net.ErrClosed.
func (h *handler) Accept() (net.Conn, error) {
	select {
	case s := <-h.conns:
		return s, nil
	case <-h.done:
		return nil, fmt.Errorf("bridge: accept: %w", net.ErrClosed)
	}
}

func (h *handler) Addr() net.Addr { return h.addr }

// Close refuses new sessions: Accept fails, and an open is answered
// 503. The sessions already opened stay: the handler goes on serving
// them until each ends, by the client's close or the session timeout.
func (h *handler) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	close(h.done)
	last := h.endedLocked()
	h.mu.Unlock()
	if last && h.onEnded != nil {
		h.onEnded()
	}
	return nil
}

// endedLocked closes ended if the handler is closed and has no session
// left, and reports whether it did; h.mu is held.
func (h *handler) endedLocked() bool {
	if !h.closed || len(h.sessions) > 0 {
		return false
	}
	select {
	case <-h.ended:
		return false
	default:
	}
	close(h.ended)
	return true
}

// endSessions ends every session at once, failing it with
// net.ErrClosed.
func (h *handler) endSessions() {
	h.mu.Lock()
	all := make([]*session, 0, len(h.sessions))
	for _, s := range h.sessions {
		all = append(all, s)
	}
	h.mu.Unlock()
	for _, s := range all {
		h.forget(s, net.ErrClosed)
	}
}

// has reports whether the session a request names is one of h's.
func (h *handler) has(r *http.Request) bool {
	id, ok := requestSession(r)
	if !ok {
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.sessions[id] != nil
}

// requestSession returns the session a request names, if its "s" is
// well formed; the rest is not checked.
func requestSession(r *http.Request) (sessionID, bool) {
	var id sessionID
	v := r.URL.Query()["s"]
	if len(v) != 1 || b64.DecodedLen(len(v[0])) != sessionLen {
		return id, false
	}
	n, err := b64.Decode(id[:], []byte(v[0]))
	return id, err == nil && n == sessionLen
}

// shutdown closes h, then waits until its last session has ended and
// returns nil, or until ctx ends, then ends the sessions left and
// returns ctx's error.
func (h *handler) shutdown(ctx context.Context) error {
	h.Close()
	select {
	case <-h.ended:
		return nil
	case <-ctx.Done():
	}
	h.endSessions()
	<-h.ended
	return ctx.Err()
}

// forget removes s, failing it with err (nil: it ended normally).
func (h *handler) forget(s *session, err error) {
	h.mu.Lock()
	last := false
	if h.sessions[s.id] == s {
		delete(h.sessions, s.id)
		if h.perSource[s.source]--; h.perSource[s.source] <= 0 {
			delete(h.perSource, s.source)
		}
		last = h.endedLocked()
	}
	h.mu.Unlock()
	if last && h.onEnded != nil {
		defer h.onEnded()
	}
	s.mu.Lock()
	s.forgotten = true
	if s.expire != nil {
		s.expire.Stop()
	}
	s.mu.Unlock()
	if err != nil {
		s.fail(err)
	}
}

// refuse answers a request with an error status and a text that says why.
func refuse(w http.ResponseWriter, code int, format string, args ...any) {
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, fmt.Sprintf(format, args...), code)
}

// CORS (spec/bridge.md §2): any origin may make bridge requests. They
// carry no cookies and no other ambient authority; each is signed with
// the client's key and names a random session, so a page of another
// origin can do no more than any other program that can reach the URL.
const (
	corsMethods = "GET, POST"
	// corsHeaders are the headers the client sets that are not safelisted.
	corsHeaders = "Cache-Control, Content-Type, Last-Event-ID"
	corsExpose  = headerOffset + ", " + headerFin
	corsMaxAge  = "86400"
)

// allowOrigins marks a bridge answer readable from any origin.
func allowOrigins(w http.ResponseWriter) {
	hd := w.Header()
	hd.Set("Access-Control-Allow-Origin", "*")
	hd.Set("Access-Control-Expose-Headers", corsExpose)
}

// preflight answers a CORS preflight: one for GET or POST is allowed,
// with the headers the client sends; any other method is refused.
func preflight(w http.ResponseWriter, r *http.Request) {
	switch m := r.Header.Get("Access-Control-Request-Method"); m {
	case http.MethodGet, http.MethodPost:
		hd := w.Header()
		hd.Set("Access-Control-Allow-Methods", corsMethods)
		hd.Set("Access-Control-Allow-Headers", corsHeaders)
		hd.Set("Access-Control-Max-Age", corsMaxAge)
		hd.Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Allow", corsMethods+", OPTIONS")
		refuse(w, http.StatusMethodNotAllowed, "bridge: requests are GET or POST, not %q", m)
	}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	allowOrigins(w)
	if r.Method == http.MethodOptions {
		preflight(w, r)
		return
	}
	req, err := parseRequest(r.URL.Query())
	if err != nil {
		refuse(w, http.StatusBadRequest, "%v", err)
		return
	}
	want := http.MethodPost
	if req.Kind == kindSSE || req.Kind == kindPoll {
		want = http.MethodGet
	}
	if r.Method != want {
		w.Header().Set("Allow", want)
		refuse(w, http.StatusMethodNotAllowed, "bridge: %s wants %s", req.Kind, want)
		return
	}
	if req.Kind == kindOpen {
		h.mu.Lock()
		closed := h.closed
		h.mu.Unlock()
		if closed {
			busy(w, "bridge: listener closed")
			return
		}
		h.open(w, r, req)
		return
	}
	h.mu.Lock()
	s := h.sessions[req.Session]
	h.mu.Unlock()
	if s == nil {
		refuse(w, http.StatusNotFound, "bridge: no session %s here (never opened, closed, or timed out)", req.Session)
		return
	}
	if err := req.verify(s.key, h.now()); err != nil {
		refuse(w, http.StatusUnauthorized, "%v", err)
		return
	}
	s.begin()
	defer s.end()
	if req.Kind != kindSend { // send acks once its body is read
		if !s.ack(req.Ack) {
			refuse(w, http.StatusBadRequest, "bridge: ack %d is past what was sent", req.Ack)
			return
		}
	}
	switch req.Kind {
	case kindSSE:
		h.serveSSE(w, r, s, req)
	case kindPoll:
		h.servePoll(w, r, s, req)
	case kindSend:
		h.serveSend(w, r, s, req)
	case kindClose:
		h.serveClose(w, r, s, req)
	}
}

func (h *handler) open(w http.ResponseWriter, r *http.Request, req *request) {
	if err := req.verify(req.Key, h.now()); err != nil {
		refuse(w, http.StatusUnauthorized, "%v", err)
		return
	}
	if req.Offset != 0 || req.Ack != 0 || r.ContentLength != 0 {
		refuse(w, http.StatusBadRequest, "bridge: open takes offsets 0 and no body")
		return
	}
	remote := remoteAddr(r)
	source := ""
	if h.cfg.source != nil {
		source = h.cfg.source(r)
	} else if remote != nil {
		source = remote.(*net.TCPAddr).IP.String()
	}
	h.mu.Lock()
	if s := h.sessions[req.Session]; s != nil {
		h.mu.Unlock()
		if !s.key.Equal(req.Key) {
			refuse(w, http.StatusConflict, "bridge: session %s belongs to another key", req.Session)
			return
		}
		w.WriteHeader(http.StatusOK) // an open sent again
		return
	}
	switch {
	case len(h.sessions) >= h.cfg.maxSessions:
		h.mu.Unlock()
		busy(w, "bridge: all sessions in use")
		return
	case h.perSource[source] >= h.cfg.perSource:
		h.mu.Unlock()
		w.Header().Set("Retry-After", "5")
		refuse(w, http.StatusTooManyRequests, "bridge: too many sessions from %s", source)
		return
	}
	h.mu.Unlock()
	if h.cfg.admit != nil && !h.cfg.admit(remote) {
		busy(w, "bridge: too many connections in progress")
		return
	}
	s := &session{h: h, id: req.Session, key: req.Key, source: source, host: r.Host, remote: remote, carrier: h.cfg.carrier}
	s.init(h.cfg.window)
	h.mu.Lock()
	if h.sessions[req.Session] != nil || h.closed {
		h.mu.Unlock()
		busy(w, "bridge: try again")
		return
	}
	h.sessions[req.Session] = s
	h.perSource[source]++
	h.mu.Unlock()
	t := time.NewTimer(h.cfg.wait)
	defer t.Stop()
	select {
	case h.conns <- s:
		s.begin()
		s.end() // arm the timeout
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
	case <-t.C:
		h.forget(s, net.ErrClosed)
		busy(w, "bridge: nobody accepts sessions now")
	case <-r.Context().Done():
		h.forget(s, net.ErrClosed)
	case <-h.done:
		h.forget(s, net.ErrClosed)
		busy(w, "bridge: listener closed")
	}
}

func busy(w http.ResponseWriter, msg string) {
	w.Header().Set("Retry-After", "1")
	refuse(w, http.StatusServiceUnavailable, "%s", msg)
}

// cursorFor checks a downstream cursor and makes this request the
// session's newest downstream one; it returns its generation.
func (s *session) cursorFor(w http.ResponseWriter, cursor uint64) (uint64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cursor < s.out.start || cursor > s.out.end() {
		w.Header().Set(headerOffset, strconv.FormatUint(s.out.start, 10))
		refuse(w, http.StatusConflict, "bridge: cursor %d is outside the bytes kept, [%d, %d]", cursor, s.out.start, s.out.end())
		return 0, false
	}
	s.downGen++
	s.notify() // the older downstream request ends
	return s.downGen, true
}

// next returns downstream bytes from cursor (at most max, copied into
// dst), whether the stream ends
// after them, and whether gen is no longer the newest; or nothing, with
// the channel that is closed at the next change.
func (s *session) next(cursor uint64, max int, dst []byte, gen uint64) (p []byte, fin, stale bool, changed <-chan struct{}, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.downGen != gen {
		return nil, false, true, nil, nil
	}
	if s.err != nil {
		return nil, false, false, nil, s.err
	}
	if cursor >= s.out.start && cursor < s.out.end() {
		p = dst[:s.out.copyAt(dst[:min(max, len(dst))], cursor)]
	}
	fin = s.outFin && cursor+uint64(len(p)) == s.out.end()
	return p, fin, false, s.changed, nil
}

func (h *handler) serveSSE(w http.ResponseWriter, r *http.Request, s *session, req *request) {
	cursor := req.Offset
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		c, err := parseOffset(id)
		if err != nil || c < req.Offset {
			refuse(w, http.StatusBadRequest, "bridge: Last-Event-ID %q is not an offset at or past o", id)
			return
		}
		cursor = c
	}
	gen, ok := s.cursorFor(w, cursor)
	if !ok {
		return
	}
	size := s.eventSize(cursor)
	rc := http.NewResponseController(w)
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-cache, no-transform")
	hd.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	buf := appendStart(append([]byte(nil), ssePreamble...), cursor)
	write := func() bool {
		rc.SetWriteDeadline(time.Now().Add(h.cfg.timeout))
		_, err := w.Write(buf)
		buf = buf[:0]
		return err == nil && rc.Flush() == nil
	}
	if !write() {
		return
	}
	end := time.NewTimer(h.cfg.sseTime)
	defer end.Stop()
	beat := time.NewTicker(h.cfg.heartbeat)
	defer beat.Stop()
	// While events flow, the payload is copied out of the session into a
	// pooled chunk and encoded into a pooled buffer; an answer that waits
	// holds neither.
	var chunk *[chunkSize]byte
	defer func() {
		if chunk != nil {
			chunkPool.Put(chunk)
		}
		putEventBuf(buf)
	}()
	sent := 0
	for {
		if sent >= h.cfg.sseBytes {
			write()
			return
		}
		if chunk == nil {
			chunk = chunkPool.Get().(*[chunkSize]byte)
		}
		p, fin, stale, changed, err := s.next(cursor, size, chunk[:], gen)
		switch {
		case stale || err != nil:
			return
		case len(p) > 0:
			cursor += uint64(len(p))
			s.sentEvents(gen, cursor)
			sent += len(p)
			if cap(buf) < sseFlush {
				buf = append(getEventBuf(), buf...)
			}
			buf = appendData(buf, cursor, p)
			if fin {
				buf = appendFin(buf, cursor)
				write()
				return
			}
			// Events that are ready go out together, in one write and
			// one flush.
			if len(buf) >= sseFlush && !write() {
				return
			}
			beat.Reset(h.cfg.heartbeat)
			continue
		case fin:
			buf = appendFin(buf, cursor)
			write()
			return
		}
		if len(buf) > 0 && !write() {
			return
		}
		chunkPool.Put(chunk)
		chunk = nil
		putEventBuf(buf)
		buf = nil
		select {
		case <-changed:
		case <-beat.C:
			buf = append(buf, heartbeat...)
			if !write() {
				return
			}
		case <-end.C:
			return
		case <-r.Context().Done():
			return
		}
	}
}

// sseFlush is how many bytes of ready events an SSE answer gathers
// before it writes and flushes them.
const sseFlush = 256 << 10

// eventBufs holds the buffers SSE answers encode events into: room for
// sseFlush bytes and one more event.
var eventBufs = sync.Pool{New: func() any { return new([]byte) }}

const eventBufSize = sseFlush + maxEventData*4/3 + 64

func getEventBuf() []byte {
	b := eventBufs.Get().(*[]byte)
	if cap(*b) < eventBufSize {
		*b = make([]byte, 0, eventBufSize)
	}
	return (*b)[:0]
}

// putEventBuf gives back a buffer getEventBuf returned; others, such as
// the answer's first small one, are left to the collector.
func putEventBuf(b []byte) {
	if cap(b) == eventBufSize {
		eventBufs.Put(&b)
	}
}

func (h *handler) servePoll(w http.ResponseWriter, r *http.Request, s *session, req *request) {
	cursor := req.Offset
	gen, ok := s.cursorFor(w, cursor)
	if !ok {
		return
	}
	hold := time.NewTimer(h.cfg.pollHold)
	defer hold.Stop()
	// The answer is copied out of the session into a pooled buffer; a
	// poll that waits holds none.
	var buf *[]byte
	defer func() {
		if buf != nil {
			pollBufs.Put(buf)
		}
	}()
	var p []byte
	var fin bool
wait:
	for {
		var stale bool
		var changed <-chan struct{}
		var err error
		if buf == nil {
			buf = pollBufs.Get().(*[]byte)
			if cap(*buf) < h.cfg.window {
				*buf = make([]byte, h.cfg.window)
			}
		}
		p, fin, stale, changed, err = s.next(cursor, h.cfg.window, (*buf)[:h.cfg.window], gen)
		switch {
		case err != nil:
			refuse(w, http.StatusGone, "%v", err)
			return
		case stale || len(p) > 0 || fin:
			break wait
		}
		pollBufs.Put(buf)
		buf = nil
		select {
		case <-changed:
		case <-hold.C:
			break wait
		case <-r.Context().Done():
			return
		}
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/octet-stream")
	hd.Set("Cache-Control", "no-store")
	hd.Set(headerOffset, strconv.FormatUint(cursor, 10))
	if fin {
		hd.Set(headerFin, strconv.FormatUint(cursor+uint64(len(p)), 10))
	}
	hd.Set("Content-Length", strconv.Itoa(len(p)))
	w.WriteHeader(http.StatusOK)
	w.Write(p)
}

// pollBufs holds the buffers poll answers are copied into, each of at
// least a window.
var pollBufs = sync.Pool{New: func() any { return new([]byte) }}

// aheadHold is how long a send whose offset is past the bytes received
// waits for the sends before it to bring more (spec/bridge.md §6): a
// client that has several under way may see them arrive out of order.
const aheadHold = 5 * time.Second

func (h *handler) serveSend(w http.ResponseWriter, r *http.Request, s *session, req *request) {
	if r.ContentLength > int64(h.cfg.maxBody) {
		refuse(w, http.StatusRequestEntityTooLarge, "bridge: body of %d bytes, the most is %d", r.ContentLength, h.cfg.maxBody)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/octet-stream" && r.ContentLength != 0 {
		refuse(w, http.StatusUnsupportedMediaType, "bridge: send takes application/octet-stream, not %q", ct)
		return
	}
	body := buffer{start: req.Offset}
	defer body.release()
	err := body.readFrom(http.MaxBytesReader(w, r.Body, int64(h.cfg.maxBody)))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		refuse(w, http.StatusRequestEntityTooLarge, "bridge: body over %d bytes", h.cfg.maxBody)
		return
	}
	if err != nil {
		return // the client went away; nothing taken
	}
	if !s.ack(req.Ack) {
		refuse(w, http.StatusBadRequest, "bridge: ack %d is past what was sent", req.Ack)
		return
	}
	var hold, ahead <-chan time.Time // room in the window; the sends before
	var aheadTimer *time.Timer
	var aheadFrom uint64
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		recv := s.in.end()
		if s.err != nil {
			refuse(w, http.StatusGone, "%v", s.err)
			return
		}
		if req.Offset > recv {
			// Sends before this one may be under way: wait for them,
			// unless this one is further ahead than a window.
			switch {
			case req.Offset-recv > uint64(s.window) || s.inFin:
				ahead = nil
			case aheadTimer == nil:
				aheadTimer = time.NewTimer(s.h.cfg.aheadHold)
				defer aheadTimer.Stop()
				ahead = aheadTimer.C
			case recv != aheadFrom: // the sends before move on: wait again
				aheadTimer.Reset(s.h.cfg.aheadHold)
			}
			aheadFrom = recv
			if !s.waitFor(ahead, r) {
				w.Header().Set(headerOffset, strconv.FormatUint(s.in.end(), 10))
				refuse(w, http.StatusConflict, "bridge: upstream offset %d, expected %d", req.Offset, s.in.end())
				return
			}
			continue
		}
		if s.inFin {
			refuse(w, http.StatusGone, "bridge: the session's upstream has ended")
			return
		}
		skip := min(recv-req.Offset, uint64(body.len()))
		rest := body.len() - int(skip)
		if s.closed && rest > 0 { // nobody reads: take it all and drop it
			s.in = buffer{start: recv + uint64(rest)}
			rest = 0
			s.notify() // the sends held for these bytes go on
		}
		if room := s.window - s.in.len(); rest > 0 && room > 0 {
			k := min(room, rest)
			s.in.pushFrom(&body, req.Offset+skip, k)
			s.notify()
			rest -= k
		}
		if rest > 0 { // wait for room for the rest, so that the sends after it need not come again
			if hold == nil {
				t := time.NewTimer(h.cfg.pollHold)
				defer t.Stop()
				hold = t.C
			}
			if s.waitFor(hold, r) {
				continue
			}
		}
		w.Header().Set(headerOffset, strconv.FormatUint(s.in.end(), 10))
		w.WriteHeader(http.StatusOK)
		return
	}
}

// waitFor releases s.mu until the session changes (true), or until
// deadline passes or r ends (false). A nil deadline has passed.
func (s *session) waitFor(deadline <-chan time.Time, r *http.Request) bool {
	if deadline == nil {
		return false
	}
	ch := s.changed
	s.mu.Unlock()
	defer s.mu.Lock()
	select {
	case <-ch:
		return true
	case <-deadline:
	case <-r.Context().Done():
	}
	return false
}

func (h *handler) serveClose(w http.ResponseWriter, r *http.Request, s *session, req *request) {
	if r.ContentLength != 0 {
		refuse(w, http.StatusBadRequest, "bridge: close takes no body")
		return
	}
	s.mu.Lock()
	if !s.inFin {
		s.inFin, s.inEnd = true, s.in.end()
		if req.Offset != s.inEnd {
			s.err = fmt.Errorf("bridge: the client closed at upstream offset %d, %d received", req.Offset, s.inEnd)
		}
	}
	if s.err == nil {
		s.err = errPeerGone
	}
	s.notify()
	s.mu.Unlock()
	h.forget(s, nil)
	w.WriteHeader(http.StatusOK)
}

// remoteAddr returns the peer of r as a net.Addr.
func remoteAddr(r *http.Request) net.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return nil
	}
	return net.TCPAddrFromAddrPort(ap)
}
