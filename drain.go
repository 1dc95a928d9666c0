package multiserver

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/f7d52a8e/multiserver/address"
)

// Drain retires the stacks that addr names gently, the way to drop an old
// cipher without cutting off peers that have not yet learnt the new
// address: at once it stops advertising them ([Listener.Address] leaves
// them out, and [Listener.Changed] fires), but they go on accepting for
// grace, so that peers dialing an address they learnt before still
// connect; then it drops them as [Listener.Drop] does. Connections made
// over them are never cut, during the grace period or after.
//
// Drain returns at once. [Listener.Usage] shows when each draining stack
// will be dropped; Drop drops one before its time, and another Drain sets
// a new grace period. addr is an address as given to Listen or Add, or as
// advertised. Drain fails if it names no stack served, and after Close.
func (l *Listener) Drain(addr string, grace time.Duration) error {
	list, err := l.n.parse(addr)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return net.ErrClosed
	}
	until := time.Now().Add(grace)
	n := 0
	for _, s := range l.serving {
		if !s.named(list) {
			continue
		}
		n++
		s.drainUntil = until
		if s.drainTimer != nil {
			s.drainTimer.Stop()
		}
		s.drainTimer = time.AfterFunc(max(grace, 0), func() {
			// Stop cannot recall a timer that has fired and waits for
			// l.mu: drop s only if no later Drain set another deadline.
			mine := func(x *served) bool { return x == s && x.drainUntil.Equal(until) }
			if _, err := l.dropWhere(mine); err != nil && !errors.Is(err, net.ErrClosed) {
				l.log.Debug("drop after drain", "addr", s.addr.Redacted(), "err", err)
			}
		})
	}
	if n == 0 {
		return fmt.Errorf("multiserver: drain %s: no such stack served", address.Redact(addr))
	}
	l.changedLocked()
	return nil
}
