// Package ratelog writes debug records at a limited rate, so that a flood
// of bad peers cannot flood the log (cf. tailscale's
// logger.RateLimitedFn).
package ratelog

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// A Logger writes Debug records to a slog.Logger, at most a limit per
// interval. Past the limit, records are counted instead, and the count is
// written as one "records suppressed" record (key "count") with the first
// record of a later interval. It is safe for concurrent use; a nil
// *Logger writes nothing.
type Logger struct {
	log      *slog.Logger
	limit    int
	interval time.Duration

	mu         sync.Mutex
	window     time.Time // start of the current interval
	n          int       // records in the current interval
	suppressed int       // records dropped in the current interval
}

// New returns a Logger that writes to log at most limit records per
// interval. A nil log writes nothing.
func New(log *slog.Logger, limit int, interval time.Duration) *Logger {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Logger{log: log, limit: limit, interval: interval}
}

// Debug writes a record at debug level, unless the limit of the current
// interval is spent. When debug records are disabled it costs no lock
// and counts nothing.
func (l *Logger) Debug(msg string, args ...any) {
	if l == nil || !l.log.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	l.mu.Lock()
	now := time.Now()
	suppressed := 0
	if now.Sub(l.window) >= l.interval {
		suppressed = l.suppressed
		l.window, l.n, l.suppressed = now, 0, 0
	}
	l.n++
	drop := l.n > l.limit
	if drop {
		l.suppressed++
	}
	l.mu.Unlock()
	if suppressed > 0 {
		l.log.Debug("records suppressed", "count", suppressed)
	}
	if !drop {
		l.log.Debug(msg, args...)
	}
}
