package resume

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"time"
)

// carrier is one net.Conn under a Conn, with what it still has to send.
// Its fields but conn are guarded by the Conn's mu.
type carrier struct {
	conn    net.Conn
	hello   bool   // our RESUME went out
	resumed bool   // the peer's RESUME came in
	writing bool   // a writeLoop runs
	ack     bool   // an ACK is due
	ping    bool   // a PING is due
	active  bool   // a frame went out since the last keepalive tick
	finSent bool   // FIN went out
	final   []byte // RESET to send last, after the Conn ended
}

// Attach makes carrier the Conn's carrier, which the Conn owns from now
// on, and sends RESUME on it. The peer must attach the other end. The
// Conn carries on where the peer's RESUME says, and closes the carrier
// carrier replaces, if any, once the peer's RESUME has come: until then,
// it ignores what still arrives there. Attach fails, and closes carrier,
// if the Conn has ended.
func (c *Conn) Attach(carrier net.Conn) error {
	cr, old := c.attach(carrier)
	if old != nil {
		old.conn.Close()
	}
	if cr == nil {
		carrier.Close()
		return c.endErr()
	}
	go c.readLoop(cr)
	return nil
}

func (c *Conn) attach(conn net.Conn) (cr, old *carrier) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return nil, nil
	}
	old = c.prev // replaced before it could resume: of no more use
	c.prev = c.cur
	if c.prev != nil && !c.prev.resumed {
		old, c.prev = c.prev, old
	}
	cr = &carrier{conn: conn, ack: true}
	c.cur = cr
	c.local, c.remote = conn.LocalAddr(), conn.RemoteAddr()
	c.armResume()
	c.kick(cr)
	return cr, old
}

func (c *Conn) endErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Carrier returns the current carrier, or nil between a break and the
// next Attach. It is for looking at (its addresses, its type): the Conn
// reads and writes it.
func (c *Conn) Carrier() net.Conn {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur == nil {
		return nil
	}
	return c.cur.conn
}

// armResume starts the resume timer unless it runs. c.mu is held.
func (c *Conn) armResume() {
	if c.resumeTimer != nil {
		return
	}
	gen := c.resumeGen
	c.resumeTimer = time.AfterFunc(c.cfg.ResumeTimeout, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if gen == c.resumeGen {
			c.cfg.Logger.Debug("resume timeout", "timeout", c.cfg.ResumeTimeout)
			c.end(ErrTimeout, -1, "", false)
		}
	})
}

// kick starts cr's writeLoop unless it runs. c.mu is held.
func (c *Conn) kick(cr *carrier) {
	if !cr.writing {
		cr.writing = true
		go c.writeLoop(cr)
	}
}

// batchSize bounds what writeLoop hands the carrier in one Write: 64 KiB,
// frames included, so that a batch is one message of the WebSocket
// carriers (internal/wsconn sends at most 64 KiB a message; one byte more
// would cost a second message, and a second syscall, per batch).
const batchSize = 64 << 10

// batches holds the buffers writeLoop fills.
var batches = sync.Pool{New: func() any { b := make([]byte, 0, batchSize); return &b }}

// writeLoop writes what cr has to send until it has nothing, then ends;
// the next kick starts another. After the Conn ended, it closes cr.
func (c *Conn) writeLoop(cr *carrier) {
	bp := batches.Get().(*[]byte)
	defer batches.Put(bp)
	for {
		c.mu.Lock()
		b := c.batch(cr, (*bp)[:0])
		if len(b) == 0 {
			cr.writing = false
			shut := c.err != nil && c.cur == cr && cr.final == nil
			c.mu.Unlock()
			if shut {
				c.stopLinger()
				cr.conn.Close()
			}
			return
		}
		c.mu.Unlock()
		if _, err := cr.conn.Write(b); err != nil {
			c.mu.Lock()
			cr.writing = false
			c.mu.Unlock()
			c.broken(cr, fmt.Errorf("resume: carrier write: %w", err))
			return
		}
	}
}

// batch appends to b the frames cr has to send now. c.mu is held.
func (c *Conn) batch(cr *carrier, b []byte) []byte {
	if c.cur != cr {
		return b // replaced: the peer will ignore it
	}
	live := c.err == nil || c.flush
	if live && !cr.hello {
		b = appendResume(b, c.id, c.in.end(), uint32(c.cfg.Window))
		cr.hello = true
	}
	if live && cr.ack {
		b = appendOffset(b, typeAck, c.in.start)
		c.ackSent, cr.ack = c.in.start, false
	}
	if live && cr.resumed {
		for len(c.signals) > 0 && cap(b)-len(b) >= signalHead+len(c.signals[0])+300 {
			b = appendSignal(b, c.signals[0])
			c.signals = c.signals[1:]
		}
		limit := min(c.out.end(), c.out.start+c.peerWindow)
		for c.sent < limit {
			room := cap(b) - len(b) - dataHeader - 300 // 300: FIN, RESET
			if room <= 0 {
				break
			}
			p := c.out.peek(c.sent, min(MaxPayload, room, int(limit-c.sent)))
			b = appendData(b, c.sent, p)
			c.sent += uint64(len(p))
		}
		if c.wshut && !cr.finSent && c.sent == c.out.end() {
			b = appendOffset(b, typeFin, c.sent)
			cr.finSent = true
		}
	}
	if cr.ping {
		if live && len(b) == 0 {
			b = append(b, typePing)
		}
		cr.ping = false
	}
	if c.err != nil && cr.final != nil && (!c.flush || cr.finSent) && len(b) < cap(b)-300 {
		b = append(b, cr.final...)
		cr.final = nil
	}
	if len(b) > 0 {
		cr.active = true
	}
	return b
}

// tick runs every KeepAlive: a carrier that sent nothing since the last
// tick sends a PING.
func (c *Conn) tick() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return
	}
	if cr := c.cur; cr != nil {
		if !cr.active {
			cr.ping = true
			c.kick(cr)
		}
		cr.active = false
	}
	c.pingTimer.Reset(c.cfg.KeepAlive)
}

// readLoop reads and handles cr's frames until it breaks or the Conn
// ends: the one goroutine per carrier.
func (c *Conn) readLoop(cr *carrier) {
	r := reader{conn: cr.conn, timeout: c.cfg.KeepAliveTimeout}
	defer r.release()
	for {
		f, err := r.next()
		if err == nil {
			err = c.handle(cr, f)
			if err == nil {
				c.hook(cr, f)
			}
		}
		switch {
		case errors.Is(err, errStale):
			continue
		case errors.Is(err, errEnded):
			continue // until the writer, done with the last frames, closes cr
		}
		if errors.Is(err, ErrProtocol) {
			c.mu.Lock()
			if c.cur == cr {
				c.cfg.Logger.Debug("protocol error", "err", err)
				c.end(err, codeProtocol, err.Error(), false)
			}
			c.mu.Unlock()
			// Until the writer, done with RESET, closes cr.
			cr.conn.SetReadDeadline(time.Now().Add(2 * closeWait))
			io.Copy(io.Discard, cr.conn)
		}
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			c.broken(cr, fmt.Errorf("resume: carrier read: %w", err))
			return
		}
	}
}

var (
	errStale = errors.New("resume: stale carrier") // a frame from a carrier no longer current
	errEnded = errors.New("resume: ended")         // a frame after the Conn ended
)

// hook calls the Config's callbacks for frame f, which handle took in
// from cr, outside c.mu.
func (c *Conn) hook(cr *carrier, f frame) {
	switch {
	case f.typ == typeResume && c.cfg.OnResume != nil:
		c.cfg.OnResume(cr.conn)
	case f.typ == typeSignal && c.cfg.OnSignal != nil:
		c.cfg.OnSignal(bytes.Clone(f.payload))
	}
}

// handle acts on frame f from carrier cr.
func (c *Conn) handle(cr *carrier, f frame) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur != cr {
		return errStale
	}
	if c.err != nil && !(c.flush && (f.typ == typeResume || f.typ == typeAck)) {
		return errEnded
	}
	if !cr.resumed && f.typ != typeResume && f.typ != typeReset {
		return fmt.Errorf("%w: frame 0x%02x before RESUME", ErrProtocol, f.typ)
	}
	switch f.typ {
	case typeResume:
		return c.resume(cr, f)
	case typeData:
		return c.data(f)
	case typeAck:
		if f.off > c.out.end() {
			return fmt.Errorf("%w: ACK of %d, past the %d bytes written", ErrProtocol, f.off, c.out.end())
		}
		c.out.discard(f.off)
		c.kick(cr)
		notify(c.wwake)
	case typeFin:
		if f.off != c.in.end() || c.fin && f.off != c.final {
			return fmt.Errorf("%w: FIN at %d, received %d", ErrProtocol, f.off, c.in.end())
		}
		c.fin, c.final = true, f.off
		notify(c.rwake)
	case typeReset:
		reason := "peer closed"
		if f.code != codeClosed {
			reason = fmt.Sprintf("code %d", f.code)
		}
		c.cfg.Logger.Debug("reset by peer", "code", f.code, "reason", f.reason)
		c.end(fmt.Errorf("%w: %s: %q", ErrReset, reason, f.reason), -1, "", false)
		return errEnded
	}
	return nil
}

// resume acts on the peer's RESUME on cr.
func (c *Conn) resume(cr *carrier, f frame) error {
	switch {
	case cr.resumed:
		return fmt.Errorf("%w: second RESUME", ErrProtocol)
	case c.knowPeer && f.id != c.peerID:
		return fmt.Errorf("%w: RESUME from conn %x, want %x", ErrProtocol, f.id, c.peerID)
	case f.off < c.out.start || f.off > c.out.end():
		return fmt.Errorf("%w: RESUME at %d, have %d to %d", ErrProtocol, f.off, c.out.start, c.out.end())
	}
	c.peerID, c.knowPeer = f.id, true
	cr.resumed = true
	c.sent = f.off
	c.peerWindow = uint64(f.window)
	c.resumeGen++
	if c.resumeTimer != nil {
		c.resumeTimer.Stop()
		c.resumeTimer = nil
	}
	c.backoff = 0
	if c.prev != nil {
		c.prev.conn.Close() // closing a net.Conn does not block
		c.prev = nil
	}
	c.cfg.Logger.Debug("resumed", "at", f.off, "remote", cr.conn.RemoteAddr())
	c.kick(cr)
	return nil
}

// data takes in a DATA frame: what is new goes to the read queue.
func (c *Conn) data(f frame) error {
	next := c.in.end()
	end := f.off + uint64(len(f.payload))
	switch {
	case f.off > next:
		return fmt.Errorf("%w: DATA at %d, received %d", ErrProtocol, f.off, next)
	case c.fin && end > c.final:
		return fmt.Errorf("%w: DATA past FIN at %d", ErrProtocol, c.final)
	case end <= next:
		return nil // had it
	}
	p := f.payload[next-f.off:]
	if c.in.n+len(p) > c.cfg.Window {
		return fmt.Errorf("%w: peer overran the %d-byte window", ErrProtocol, c.cfg.Window)
	}
	c.in.push(p)
	notify(c.rwake)
	return nil
}

// broken handles the failure of carrier cr: if it was current, the Conn
// waits for another one, and redials if it can.
func (c *Conn) broken(cr *carrier, err error) {
	c.mu.Lock()
	if c.cur != cr || c.err != nil {
		if c.prev == cr {
			c.prev = nil
		}
		c.mu.Unlock()
		cr.conn.Close()
		return
	}
	c.cur = nil
	prev := c.prev
	c.prev = nil
	c.armResume()
	redial := c.cfg.Redial != nil && !c.redialing
	c.redialing = c.redialing || redial
	c.mu.Unlock()
	cr.conn.Close()
	if prev != nil {
		prev.conn.Close()
	}
	c.cfg.Logger.Debug("carrier broke", "remote", cr.conn.RemoteAddr(), "err", err)
	if c.cfg.OnBreak != nil {
		c.cfg.OnBreak(cr.conn, err)
	}
	if redial {
		go c.redialLoop()
	}
}

// redialLoop gets a new carrier through Config.Redial, with backoff.
func (c *Conn) redialLoop() {
	defer func() {
		c.mu.Lock()
		c.redialing = false
		c.mu.Unlock()
	}()
	for {
		c.mu.Lock()
		wait := c.backoff
		c.backoff = min(max(2*c.backoff, 250*time.Millisecond), 10*time.Second)
		c.mu.Unlock()
		if wait > 0 {
			t := time.NewTimer(wait/2 + rand.N(wait/2))
			select {
			case <-t.C:
			case <-c.ctx.Done():
				t.Stop()
				return
			}
		}
		conn, err := c.cfg.Redial(c.ctx)
		if err != nil {
			c.cfg.Logger.Debug("redial failed", "err", err)
			if c.ctx.Err() != nil {
				return
			}
			continue
		}
		c.mu.Lock()
		taken := c.cur != nil
		c.mu.Unlock()
		if taken { // attached meanwhile by someone else
			conn.Close()
			return
		}
		c.Attach(conn)
		return
	}
}
