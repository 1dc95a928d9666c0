package multiserver

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// logLimit is how many per-connection records a Listener logs per second;
// past it, records are counted and the count is logged once the second
// is over, so a flood of bad peers cannot flood the log.
const logLimit = 20

// limitedLog logs per-connection records at debug level, at most
// logLimit a second.
type limitedLog struct {
	log        *slog.Logger
	mu         sync.Mutex
	window     time.Time // start of the current second
	n          int       // records in the current second
	suppressed int       // records dropped in the current second
}

func (l *limitedLog) debug(msg string, args ...any) {
	if !l.log.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	l.mu.Lock()
	now := time.Now()
	if now.Sub(l.window) >= time.Second {
		if l.suppressed > 0 {
			l.log.Debug("records suppressed", "count", l.suppressed)
		}
		l.window, l.n, l.suppressed = now, 0, 0
	}
	l.n++
	drop := l.n > logLimit
	if drop {
		l.suppressed++
	}
	l.mu.Unlock()
	if !drop {
		l.log.Debug(msg, args...)
	}
}
