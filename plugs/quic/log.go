package quic

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Rate limit of a plug's log records: a burst, then one per interval,
// so that a flood of bad peers cannot flood the log.
const (
	logBurst    = 10
	logInterval = time.Second
)

// limitedLog writes Debug records to a slog.Logger at a limited rate.
type limitedLog struct {
	log *slog.Logger

	mu      sync.Mutex
	tokens  float64
	last    time.Time
	dropped int
}

func newLimitedLog(l *slog.Logger) *limitedLog { return &limitedLog{log: l, tokens: logBurst} }

func (l *limitedLog) debug(msg string, args ...any) {
	if !l.log.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	l.mu.Lock()
	now := time.Now()
	if !l.last.IsZero() {
		l.tokens = min(logBurst, l.tokens+float64(now.Sub(l.last))/float64(logInterval))
	}
	l.last = now
	if l.tokens < 1 {
		l.dropped++
		l.mu.Unlock()
		return
	}
	l.tokens--
	dropped := l.dropped
	l.dropped = 0
	l.mu.Unlock()
	if dropped > 0 {
		args = append(args, "dropped", dropped)
	}
	l.log.Debug(msg, args...)
}
