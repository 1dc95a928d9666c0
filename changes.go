package multiserver

// A ChangingListener is a plug listener whose advertised address changes
// after Listen has returned: a relay listener that registers in the
// background and advertises only while registered, a listener that
// learns its reflexive address. A Listener watches it and tells its own
// users through [Listener.Changed].
type ChangingListener interface {
	Advertiser
	// Changed returns a channel that is closed at the first change of
	// what Advertise returns after the call.
	Changed() <-chan struct{}
}

// Changed returns a channel that is closed at the first change of the
// Listener's advertised addresses after the call: a stack added or
// dropped, a plug listener whose address changed (see
// [ChangingListener]), or Close. To follow the address, take the channel
// before reading it:
//
//	for {
//		changed := ln.Changed()
//		publish(ln.Address(multiserver.ScopePublic))
//		<-changed
//	}
func (l *Listener) Changed() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.changed == nil {
		l.changed = make(chan struct{})
	}
	return l.changed
}

// changedLocked wakes those waiting on Changed. l.mu is held.
func (l *Listener) changedLocked() {
	if l.changed != nil {
		close(l.changed)
		l.changed = nil
	}
}

// watch passes on the changes of s's plug listener until s stops,
// starting with ch, taken before Listen or Add returned so that no change
// after that is missed.
func (l *Listener) watch(s *served, cl ChangingListener, ch <-chan struct{}) {
	defer l.wg.Done()
	for {
		select {
		case <-ch:
			ch = cl.Changed()
			l.mu.Lock()
			l.changedLocked()
			l.mu.Unlock()
		case <-s.done:
			return
		}
	}
}

// start serves s, and watches its address if it changes. l.mu is held.
func (l *Listener) start(s *served) {
	l.use.serve(s)
	l.wg.Add(1)
	go l.serve(s)
	if cl, ok := s.ln.(ChangingListener); ok {
		l.wg.Add(1)
		go l.watch(s, cl, cl.Changed())
	}
}

// retire marks s as no longer served (dropped or closed). l.mu is held.
func (s *served) retire() {
	if !s.gone() {
		close(s.done)
	}
	if s.drainTimer != nil {
		s.drainTimer.Stop()
	}
}

// gone reports whether s was retired.
func (s *served) gone() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}
