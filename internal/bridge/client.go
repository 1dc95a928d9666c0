package bridge

import (
	"cmp"
	"context"
	"crypto/ed25519"
	crand "crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// Client timing (spec/bridge.md §2, §4).
const (
	firstBackoff = 250 * time.Millisecond
	maxBackoff   = 10 * time.Second
	startWait    = 5 * time.Second // an SSE answer with no start event by then failed
	closeWait    = time.Second     // how long Close waits for its close request
	drainWait    = 5 * time.Second // how long Close waits to send what was written
	maxPost      = 256 << 10       // bytes per send POST, at most
	minPost      = 1 << 10         // ... and at least, as 413 answers halve it (§6)
	maxInFlight  = 4               // send POSTs under way at once
	idleAck      = 100 * time.Millisecond
)

// doer makes HTTP requests: an *http.Client natively, in the browser
// net/http's fetch transport. It is the client's only seam to HTTP.
type doer interface {
	Do(*http.Request) (*http.Response, error)
}

// DialSession opens a bridge session to the server at u, receiving by
// long-poll if poll is set, else by SSE, and returns it as a byte
// stream with nothing above it, once the server has accepted it (and
// for SSE, once its event stream has started): what runs over it must
// authenticate its peer itself. u's scheme is http or https. A refusal
// matches [ErrRejected] and says why (a wrong key, a stale clock).
func (p *Client) DialSession(ctx context.Context, u *url.URL, poll bool) (net.Conn, error) {
	if poll {
		return p.Dial(ctx, u, "poll")
	}
	return p.Dial(ctx, u, "sse")
}

// Dial is DialSession for a carrier named: "poll" receives by
// long-poll, any other name by SSE. The conn's Carrier method returns
// the name.
func (p *Client) Dial(ctx context.Context, u *url.URL, carrier string) (net.Conn, error) {
	if p.Identity == nil {
		return nil, errors.New("bridge: Identity is required")
	}
	cl, closeIdle := p.httpClient()
	c := &clientConn{
		do: cl, closeIdle: closeIdle, url: u, priv: p.Identity.Private(),
		poll: carrier == "poll", carrier: carrier,
		timeout: orDefault(p.SessionTimeout, DefaultSessionTimeout),
		started: make(chan struct{}),
		log:     p.logger(),

		firstBackoff: p.firstBackoff,
	}
	c.init(orDefault(p.Window, DefaultWindow))
	crand.Read(c.session[:])
	c.local, c.remote = URLAddr(u.String()), URLAddr(u.String())
	resp, err := c.request(ctx, kindOpen, 0, 0, nil)
	if err != nil && !isStatus(err) && ctx.Err() == nil {
		// A pooled connection can fail under a request through no fault
		// of the server's (closed as idle as the request went out, or
		// cancelled by net/http for the request it carried before, as
		// when a session closes): the open is idempotent (the same
		// session and key get 200 again), so it goes once more, at once.
		resp, err = c.request(ctx, kindOpen, 0, 0, nil)
	}
	if err != nil {
		closeIdle()
		return nil, fmt.Errorf("bridge: %s: %w", u.Redacted(), err)
	}
	resp.Body.Close()
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.wg.Add(2)
	go c.sendLoop()
	if c.poll {
		close(c.started)
		go c.pollLoop()
	} else {
		go c.sseLoop()
	}
	select {
	case <-c.started:
		return c, nil
	case <-c.failed():
	case <-ctx.Done():
	}
	c.Close()
	c.mu.Lock()
	err = c.err
	c.mu.Unlock()
	if err == nil {
		err = ctx.Err()
	}
	return nil, fmt.Errorf("bridge: %s: %w", u.Redacted(), err)
}

// clientConn is the client's end of a session.
type clientConn struct {
	stream
	do        doer
	closeIdle func()
	url       *url.URL
	priv      ed25519.PrivateKey
	session   sessionID
	poll      bool
	carrier   string
	timeout   time.Duration
	log       *slog.Logger
	local     net.Addr
	remote    net.Addr

	ctx     context.Context // ends at Close
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	started chan struct{} // closed when the downstream first answered
	once    sync.Once
	lastAck uint64 // the last "a" the server answered; under mu

	sendFailed bool // a send failed since Close began; under mu

	firstBackoff time.Duration // Client.firstBackoff
}

func (c *clientConn) LocalAddr() net.Addr  { return c.local }
func (c *clientConn) RemoteAddr() net.Addr { return c.remote }

// Carrier returns the name of the carrier the conn was dialed with.
func (c *clientConn) Carrier() string { return c.carrier }

// failed returns a channel closed once the session failed.
func (c *clientConn) failed() <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		c.mu.Lock()
		defer c.mu.Unlock()
		for c.err == nil && !c.closed {
			if !c.wait(c.ctx.Done()) {
				return
			}
		}
	}()
	return ch
}

// request makes one signed request and returns the answer if it is 200;
// any other answer is a *StatusError.
func (c *clientConn) request(ctx context.Context, kind string, o, a uint64, body *postBody) (*http.Response, error) {
	r := request{Kind: kind, Session: c.session, Offset: o, Ack: a, Time: time.Now().Unix()}
	r.sign(c.priv)
	u := *c.url
	q := r.query().Encode()
	if u.RawQuery != "" {
		q = u.RawQuery + "&" + q
	}
	u.RawQuery = q
	method := http.MethodPost
	if kind == kindSSE || kind == kindPoll {
		method = http.MethodGet
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return nil, err
	}
	if body != nil && body.n > 0 {
		req.Body, req.ContentLength = body.reader(), int64(body.n)
		req.GetBody = func() (io.ReadCloser, error) { return body.reader(), nil }
	}
	switch kind {
	case kindSend:
		req.Header.Set("Content-Type", "application/octet-stream")
	case kindSSE:
		req.Header.Set("Accept", "text/event-stream")
		req.Header.Set("Last-Event-ID", strconv.FormatUint(o, 10))
	}
	req.Header.Set("Cache-Control", "no-cache")
	resp, err := c.do.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusOK {
		return resp, nil
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	resp.Body.Close()
	return nil, statusError(kind, resp.StatusCode, msg, resp.Header.Get(headerOffset))
}

// backoff paces retries: 250ms doubling to 10s, with jitter; it gives
// up once failures have lasted the session timeout.
type backoff struct {
	first time.Duration // the first wait; if zero, firstBackoff (tests shorten it)
	next  time.Duration
	since time.Time // first failure in a row; zero after a success
}

func (b *backoff) ok() { b.next, b.since = 0, time.Time{} }

// wait sleeps before the next try after err; false: give up (or ctx ended).
func (b *backoff) wait(ctx context.Context, err error, timeout time.Duration) bool {
	var se *StatusError
	if errors.As(err, &se) && se.hard() || ctx.Err() != nil {
		return false
	}
	if b.since.IsZero() {
		b.since = time.Now()
	}
	if time.Since(b.since) > timeout {
		return false
	}
	if b.next == 0 {
		b.next = cmp.Or(b.first, firstBackoff)
	}
	d := b.next/2 + rand.N(b.next)
	b.next = min(2*b.next, maxBackoff)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// failWith ends the session with err unless the conn is closing.
func (c *clientConn) failWith(err error) {
	if c.ctx.Err() == nil {
		c.log.Debug("bridge: session failed", "url", c.url.Redacted(), "err", err)
		c.fail(err)
	}
}

// ackDue reports whether enough was read since the last ack to send
// one on its own; c.mu is held.
func (c *clientConn) ackDue() bool {
	return c.in.start-c.lastAck >= uint64(c.window/4) && c.in.start > c.lastAck
}

// sendResult is the answer to one send: the offset the server expects
// next, or why it failed, and the end of the bytes the send carried.
type sendResult struct {
	n, end uint64
	size   int // the bytes the send carried
	ack    uint64
	err    error
}

// sendLoop sends what was written in POSTs of up to maxPost bytes, up to
// maxInFlight of them under way at once, each from the offset where the
// one before ends (spec/bridge.md §6): the server takes a send that
// arrives ahead of the ones before it once they have. An answer that
// says the server has less than the send carried (a 409, a full window)
// or a failure stops new sends until those under way have answered;
// the next one then starts from the offset the server expects. A 413
// (the body over the server's limit, nothing of it taken) halves the
// sends from then on, down to minPost, and sends the same bytes again.
func (c *clientConn) sendLoop() {
	defer c.wg.Done()
	results := make(chan sendResult, maxInFlight)
	inFlight := 0
	defer func() { // the sends under way end with c.ctx or answer
		for ; inFlight > 0; inFlight-- {
			<-results
		}
	}()
	b := backoff{first: c.firstBackoff}
	next := uint64(0) // where the next send starts; 0: from c.out.start
	resync := false   // a send came short: start again once all answered
	limit := maxPost  // the most a send carries
	var lastErr error
	// An ack the server has not seen waits on its own for idleAck while
	// the reader has read everything received, then goes: the server
	// frees what an idle session still holds.
	idle := time.NewTimer(time.Hour)
	idle.Stop()
	defer idle.Stop()
	var idleSince uint64 // the read offset the timer was armed at; 0: not armed
	idleDue := false
	for {
		c.mu.Lock()
		if c.err != nil {
			c.mu.Unlock()
			return
		}
		if next < c.out.start {
			next = c.out.start
		}
		for !resync && inFlight < maxInFlight {
			var body *postBody
			switch {
			case next < c.out.end():
				body = newPostBody(&c.out, next, limit)
			case inFlight == 0 && (c.ackDue() || idleDue && c.in.start > c.lastAck):
				body = &postBody{refs: 1} // an ack alone
			default:
			}
			if body == nil {
				break
			}
			idleDue = false
			off, a := next, c.in.start
			next += uint64(body.n)
			inFlight++
			go func() {
				n, err := c.send(off, a, body)
				end := off + uint64(body.n)
				body.release()
				results <- sendResult{n: n, end: end, size: body.n, ack: a, err: err}
			}()
		}
		switch waiting := inFlight == 0 && !resync && c.in.len() == 0 && c.in.start > c.lastAck; {
		case waiting && idleSince != c.in.start: // (re)arm: the reader moved
			idle.Reset(idleAck)
			idleSince = c.in.start
		case !waiting && idleSince != 0:
			idle.Stop()
			idleSince = 0
		}
		changed := c.changed
		c.mu.Unlock()
		if inFlight == 0 {
			if resync {
				resync = false
				if lastErr != nil {
					if !b.wait(c.ctx, lastErr, c.timeout) {
						c.failWith(lastErr)
						return
					}
					lastErr = nil
				}
				c.mu.Lock()
				next = c.out.start
				c.mu.Unlock()
				continue
			}
			select {
			case <-changed:
				continue
			case <-idle.C:
				idleDue, idleSince = true, 0
				continue
			case <-c.ctx.Done():
				return
			}
		}
		var r sendResult
		select {
		case r = <-results:
		case <-changed:
			continue
		}
		inFlight--
		var se *StatusError
		if errors.As(r.err, &se) && se.Code == http.StatusRequestEntityTooLarge && r.size > minPost {
			limit = min(limit, max(r.size/2, minPost))
			c.log.Debug("bridge: the server takes smaller sends", "bytes", limit)
			resync = true
			continue
		}
		if r.err != nil {
			resync, lastErr = true, r.err
			c.mu.Lock()
			c.sendFailed = true // a Close under way stops waiting
			c.notify()
			c.mu.Unlock()
			continue
		}
		b.ok()
		c.mu.Lock()
		if r.n > c.out.end() { // below c.out.start: an answer overtaken by a later one
			c.mu.Unlock()
			c.failWith(fmt.Errorf("bridge: server expects upstream offset %d, past the %d written", r.n, c.out.end()))
			return
		}
		c.out.discard(r.n)
		c.lastAck = max(c.lastAck, r.ack)
		c.notify()
		c.mu.Unlock()
		if r.n < r.end {
			resync = true
		}
	}
}

// postBody is the body of a send: up to maxPost bytes copied out of the
// conn's buffer into a pooled array, which goes back to the pool once
// nothing reads it. A body is read by the request and, when net/http
// sends the request again on another connection, by a second reader
// (Request.GetBody); net/http may close a reader after Do has returned
// ("RoundTrip must always close the body … even after RoundTrip
// returns"), so the readers and the sender each hold a reference.
type postBody struct {
	mu   sync.Mutex
	refs int // the sender's and those of the readers not yet closed
	buf  *[maxPost]byte
	n    int
}

var postBufs = sync.Pool{New: func() any { return new([maxPost]byte) }}

// newPostBody copies up to limit bytes (maxPost at most) of q from off,
// which is in q, into a new body that the caller holds a reference to.
func newPostBody(q *buffer, off uint64, limit int) *postBody {
	b := &postBody{refs: 1, buf: postBufs.Get().(*[maxPost]byte)}
	b.n = q.copyAt(b.buf[:min(limit, maxPost)], off)
	return b
}

// reader returns a new reader of the body, which holds a reference
// until it is closed.
func (b *postBody) reader() io.ReadCloser {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refs++
	return &postReader{b: b}
}

// release drops a reference; the last gives the array back.
func (b *postBody) release() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.refs--; b.refs == 0 && b.buf != nil {
		postBufs.Put(b.buf)
		b.buf = nil
	}
}

type postReader struct {
	b      *postBody
	off    int
	closed bool // under b.mu
}

var errBodyClosed = errors.New("bridge: read of a closed request body")

func (r *postReader) Read(p []byte) (int, error) {
	r.b.mu.Lock()
	defer r.b.mu.Unlock()
	if r.closed || r.b.buf == nil && r.b.n > 0 {
		return 0, errBodyClosed
	}
	if r.off >= r.b.n {
		return 0, io.EOF
	}
	k := copy(p, r.b.buf[r.off:r.b.n])
	r.off += k
	return k, nil
}

func (r *postReader) Close() error {
	r.b.mu.Lock()
	closed := r.closed
	r.closed = true
	r.b.mu.Unlock()
	if !closed {
		r.b.release()
	}
	return nil
}

// send posts body at offset off and returns the offset the server
// expects next.
func (c *clientConn) send(off, a uint64, body *postBody) (uint64, error) {
	resp, err := c.request(c.ctx, kindSend, off, a, body)
	var se *StatusError
	if errors.As(err, &se) && se.Code == http.StatusConflict {
		return se.Offset, nil
	}
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return parseOffset(resp.Header.Get(headerOffset))
}

// sseLoop receives the downstream as event streams, each from the
// cursor, until the stream ends or the session fails.
func (c *clientConn) sseLoop() {
	defer c.wg.Done()
	b := backoff{first: c.firstBackoff}
	retried := false // the first stream's one retry
	for {
		if !c.waitRoom() {
			return
		}
		c.mu.Lock()
		cursor, a, done := c.in.end(), c.in.start, c.inFin || c.err != nil
		c.mu.Unlock()
		if done {
			return
		}
		progress, fin, err := c.readSSE(cursor, a)
		if fin {
			return
		}
		var pe protocolError
		if errors.As(err, &pe) {
			c.failWith(err)
			return
		}
		if progress { // a cut stream that brought bytes: ask again at once
			b.ok()
			continue
		}
		if err != nil && !c.isStarted() {
			if !retried && !isStatus(err) && c.ctx.Err() == nil && !errors.Is(err, errNoStart) {
				// A pooled connection that failed under the request
				// (see dial): once more, at once.
				retried = true
				continue
			}
			// The dial's first event stream failed (a proxy that
			// refuses event streams, a 502, no start in time): the
			// rung fails now, so that a ladder moves on, rather than
			// retrying for the session timeout. Once a stream has
			// answered, a failure is a cut.
			c.failWith(err)
			return
		}
		if err != nil && !b.wait(c.ctx, err, c.timeout) {
			c.failWith(err)
			return
		}
	}
}

// isStatus reports whether err is a server's answer (a *StatusError)
// rather than a failure to get one.
func isStatus(err error) bool {
	var se *StatusError
	return errors.As(err, &se)
}

// errNoStart is why an event stream that did not start in time failed.
var errNoStart = fmt.Errorf("bridge: no start event within %v", startWait)

// protocolError is a server's breach of the protocol: the session fails.
type protocolError struct{ error }

// readSSE reads one event stream from cursor. It reports whether it
// moved the cursor and whether the stream ended (fin).
func (c *clientConn) readSSE(cursor, a uint64) (progress, fin bool, err error) {
	ctx, cancel := context.WithCancelCause(c.ctx)
	defer cancel(nil)
	noStart := time.AfterFunc(startWait, func() { cancel(errNoStart) })
	defer noStart.Stop()
	resp, err := c.request(ctx, kindSSE, cursor, a, nil)
	if err != nil {
		return false, false, err
	}
	defer resp.Body.Close()
	c.mu.Lock()
	c.lastAck = max(c.lastAck, a)
	c.mu.Unlock()
	r := newSSEReader(resp.Body)
	defer r.close()
	started := false
	for {
		ev, err := r.next()
		if err != nil {
			if err == io.EOF && started {
				err = nil // the server ended the answer: ask again at once
			}
			return progress, false, err
		}
		if ev.name == "" || ev.name == "message" {
			// A data event: its payload goes through a chunk of the pool.
			chunk := chunkPool.Get().(*[chunkSize]byte)
			f, err := decodeEvent(ev, chunk[:])
			full := false
			if err != nil {
				err = protocolError{err}
			} else if started {
				var n int
				n, err = c.deliver(f.offset-uint64(len(f.payload)), f.payload, false, 0)
				progress = progress || n > 0
				full = n < len(f.payload)
			}
			chunkPool.Put(chunk)
			if err != nil || full {
				// Full: a server whose window is larger than ours sends
				// more than we hold. We took what fits; the next answer
				// starts from there once the reader has made room.
				return progress, false, err
			}
			continue
		}
		f, err := decodeEvent(ev, nil)
		if err != nil {
			return progress, false, protocolError{err}
		}
		switch {
		case f.kind == "start":
			if f.offset != cursor || started {
				return progress, false, protocolError{fmt.Errorf("bridge: event stream starts at %d, asked %d", f.offset, cursor)}
			}
			started = true
			noStart.Stop()
			c.markStarted()
		case !started:
		case f.kind == "fin":
			_, err := c.deliver(f.offset, nil, true, f.offset)
			return progress, true, err
		}
	}
}

// isStarted reports whether the downstream has answered once.
func (c *clientConn) isStarted() bool {
	select {
	case <-c.started:
		return true
	default:
		return false
	}
}

func (c *clientConn) markStarted() {
	select {
	case <-c.started:
	default:
		close(c.started)
	}
}

// deliver takes downstream bytes p at offset off, and the stream's end,
// and returns how many of the bytes it took: those that fit in the
// window. The server's window may be larger than ours (each end's is
// its own setting), so it may send more than we hold; the rest is
// dropped, to be asked for again from the cursor, which then moved
// only past what was taken. The end is taken only with all the bytes.
func (c *clientConn) deliver(off uint64, p []byte, fin bool, end uint64) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if off != c.in.end() {
		return 0, protocolError{fmt.Errorf("bridge: downstream bytes at %d, expected %d", off, c.in.end())}
	}
	n := min(len(p), max(c.window-c.in.len(), 0))
	c.in.push(p[:n])
	if fin && n == len(p) {
		if end != c.in.end() {
			return n, protocolError{fmt.Errorf("bridge: stream ends at %d, received %d", end, c.in.end())}
		}
		c.inFin, c.inEnd = true, end
	}
	if n > 0 || fin {
		c.notify()
	}
	return n, nil
}

// waitRoom waits until the reader has left room in the window for
// downstream bytes, or the session fails or closes (false).
func (c *clientConn) waitRoom() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.in.len() >= c.window && c.err == nil && c.wait(c.ctx.Done()) {
	}
	return c.in.len() < c.window && c.err == nil && c.ctx.Err() == nil
}

// pollLoop receives the downstream by long-polls, one at a time, each
// sent when the one before has answered.
func (c *clientConn) pollLoop() {
	defer c.wg.Done()
	b := backoff{first: c.firstBackoff}
	for {
		if !c.waitRoom() {
			return
		}
		c.mu.Lock()
		cursor, a, done := c.in.end(), c.in.start, c.inFin || c.err != nil || c.ctx.Err() != nil
		c.mu.Unlock()
		if done {
			return
		}
		fin, err := c.pollOnce(cursor, a)
		if fin && err == nil {
			return
		}
		var pe protocolError
		if errors.As(err, &pe) {
			c.failWith(err)
			return
		}
		c.mu.Lock()
		moved := c.in.end() > cursor
		c.mu.Unlock()
		if err == nil || moved { // a cut answer that brought bytes: poll again at once
			b.ok()
		} else if !b.wait(c.ctx, err, c.timeout) {
			c.failWith(err)
			return
		}
	}
}

func (c *clientConn) pollOnce(cursor, a uint64) (fin bool, err error) {
	resp, err := c.request(c.ctx, kindPoll, cursor, a, nil)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	c.mu.Lock()
	c.lastAck = max(c.lastAck, a)
	c.mu.Unlock()
	if start, err := parseOffset(resp.Header.Get(headerOffset)); err != nil || start != cursor {
		return false, protocolError{fmt.Errorf("bridge: poll answer starts at %q, asked %d", resp.Header.Get(headerOffset), cursor)}
	}
	var end uint64
	if f := resp.Header.Get(headerFin); f != "" {
		if end, err = parseOffset(f); err != nil {
			return false, protocolError{fmt.Errorf("bridge: bad %s %q", headerFin, f)}
		}
		fin = true
	}
	// Deliver the body as it comes, so that a cut answer still moves the
	// cursor past what arrived.
	chunk := chunkPool.Get().(*[chunkSize]byte)
	defer chunkPool.Put(chunk)
	buf := chunk[:]
	off := cursor
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			k, err := c.deliver(off, buf[:n], false, 0)
			if err != nil {
				return false, err
			}
			off += uint64(k)
			if k < n { // full (see deliver): poll again once there is room
				return false, nil
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return false, rerr // cut: poll again from where it stopped
		}
	}
	if fin {
		_, err := c.deliver(off, nil, true, end)
		return true, err
	}
	return false, nil
}

// Close sends what was written (waiting up to five seconds, and no
// longer once a send has failed), ends the session at the server and
// frees the conn's resources. The wait outlasts a slow round trip: what
// a layer above writes last before it closes (a close message, a
// stream's reset) would otherwise be cut with the sends under way, and
// its peer would see the session lost instead of ended.
func (c *clientConn) Close() error { return c.close(true) }

// Abort ends the session at once, without sending what was written and
// not yet acknowledged: for a conn whose peer has gone (a relay that
// sent its close, a stream that broke). It still tells the server, if
// the session has not failed.
func (c *clientConn) Abort() error { return c.close(false) }

func (c *clientConn) close(drain bool) error {
	c.once.Do(func() {
		c.mu.Lock()
		c.closed = true
		c.sendFailed = false
		c.notify()
		wait, cancel := context.WithTimeout(context.Background(), drainWait)
		for drain && c.out.len() > 0 && c.err == nil && !c.sendFailed && c.wait(wait.Done()) {
		}
		cancel()
		end, a, failed := c.out.end(), c.in.start, c.err != nil
		c.mu.Unlock()
		c.cancel()
		c.wg.Wait()
		if !failed {
			ctx, cancel := context.WithTimeout(context.Background(), closeWait)
			if resp, err := c.request(ctx, kindClose, end, a, nil); err == nil {
				resp.Body.Close()
			}
			cancel()
		}
		c.closeIdle()
		c.stopDeadlines()
	})
	return nil
}
