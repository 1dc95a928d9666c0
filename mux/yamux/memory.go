package yamux

import (
	"sync"

	yamuxgo "github.com/libp2p/go-yamux/v4"
)

// memory is a session's budget for receive windows, handed to go-yamux
// as its MemoryManager hook: go-yamux asks for a span per stream, reserves
// the initial window from it at priority 255 and every window growth at
// priority 128, and ends the span when the stream is gone.
//
// A reservation at priority p succeeds if the session's total stays within
// limit×(p+1)/256, as in libp2p's resource manager: growth (128) stops at
// about half the limit, keeping the rest for new streams. Initial windows
// (255) are always granted, because go-yamux ends the whole session when
// it cannot reserve one for a stream the peer opens; Open checks the
// budget itself before it starts a stream, and MaxIncomingStreams bounds
// the peer's.
type memory struct {
	limit int64 // negative: no limit

	mu   sync.Mutex
	used int64
}

// newSpan is go-yamux's newMemoryManager hook.
func (m *memory) newSpan() (yamuxgo.MemoryManager, error) {
	return &span{m: m}, nil
}

// reserve takes n bytes if they fit within the limit, for Open.
func (m *memory) reserve(n int64) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.limit >= 0 && m.used+n > m.limit {
		return false
	}
	m.used += n
	return true
}

// release returns n bytes taken by reserve.
func (m *memory) release(n int64) {
	m.mu.Lock()
	m.used -= n
	m.mu.Unlock()
}

// inUse returns the bytes reserved now.
func (m *memory) inUse() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.used
}

// A span is one stream's share of a session's memory. Its fields are
// guarded by m.mu.
type span struct {
	m    *memory
	held int64
}

var _ yamuxgo.MemoryManager = (*span)(nil)

func (s *span) ReserveMemory(size int, prio uint8) error {
	m := s.m
	m.mu.Lock()
	defer m.mu.Unlock()
	n := int64(size)
	if prio < 255 && m.limit >= 0 && m.used+n > m.limit*(int64(prio)+1)/256 {
		return ErrSessionMemory
	}
	m.used += n
	s.held += n
	return nil
}

func (s *span) ReleaseMemory(size int) {
	m := s.m
	m.mu.Lock()
	n := min(int64(size), s.held)
	s.held -= n
	m.used -= n
	m.mu.Unlock()
}

// Done releases everything the span holds. go-yamux may call it twice for
// a stream whose open failed; the second call does nothing.
func (s *span) Done() {
	m := s.m
	m.mu.Lock()
	m.used -= s.held
	s.held = 0
	m.mu.Unlock()
}
