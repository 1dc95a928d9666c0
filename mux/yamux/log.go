package yamux

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"
)

// Rate limit of a session's log lines: a burst, then one per interval.
const (
	logBurst    = 10
	logInterval = time.Second
)

// logWriter is go-yamux's LogOutput: it turns the lines of go-yamux's
// log.Logger ("2006/01/02 15:04:05 [WARN] yamux: text") into Debug
// records of a slog.Logger, at a limited rate.
type logWriter struct {
	log    *slog.Logger
	remote net.Addr

	mu      sync.Mutex
	tokens  float64
	last    time.Time
	dropped int
}

func newLogWriter(l *slog.Logger, remote net.Addr) *logWriter {
	return &logWriter{log: l, remote: remote, tokens: logBurst}
}

func (w *logWriter) Write(p []byte) (int, error) {
	if !w.log.Enabled(context.Background(), slog.LevelDebug) {
		return len(p), nil
	}
	w.mu.Lock()
	now := time.Now()
	if !w.last.IsZero() {
		w.tokens = min(logBurst, w.tokens+float64(now.Sub(w.last))/float64(logInterval))
	}
	w.last = now
	if w.tokens < 1 {
		w.dropped++
		w.mu.Unlock()
		return len(p), nil
	}
	w.tokens--
	dropped := w.dropped
	w.dropped = 0
	w.mu.Unlock()

	attrs := []slog.Attr{slog.Any("remote", w.remote)}
	if dropped > 0 {
		attrs = append(attrs, slog.Int("dropped", dropped))
	}
	w.log.LogAttrs(context.Background(), slog.LevelDebug, logMessage(string(p)), attrs...)
	return len(p), nil
}

// logMessage strips a go-yamux log line of its time stamp, level tag and
// "yamux: " prefix.
func logMessage(line string) string {
	line = strings.TrimSpace(line)
	if i := strings.IndexByte(line, '['); i >= 0 {
		if j := strings.IndexByte(line[i:], ']'); j >= 0 {
			line = strings.TrimSpace(line[i+j+1:])
		}
	}
	return "yamux: " + strings.TrimPrefix(line, "yamux: ")
}
