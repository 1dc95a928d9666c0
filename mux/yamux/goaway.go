package yamux

// GoAway tells the peer to open no more streams, and refuses those it
// opens from now on, while the streams already open go on: a first step
// in ending a session gracefully. The peer's Open then fails at once,
// with an error matching net.ErrClosed. Close the session once its
// streams are done. GoAway fails only if the session has ended.
func (s *Session) GoAway() error {
	if s.ys.IsClosed() {
		return s.opError("goaway", s.closedErr())
	}
	return s.ys.GoAway()
}
