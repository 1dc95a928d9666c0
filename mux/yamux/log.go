package yamux

import (
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/f7d52a8e/multiserver/internal/ratelog"
)

// Rate limit of a session's log lines.
const (
	logLimit    = 10
	logInterval = time.Second
)

// logWriter is go-yamux's LogOutput: it turns the lines of go-yamux's
// log.Logger ("2006/01/02 15:04:05 [WARN] yamux: text") into Debug
// records of a slog.Logger, at a limited rate.
type logWriter struct {
	log    *ratelog.Logger
	remote net.Addr
}

func newLogWriter(l *slog.Logger, remote net.Addr) *logWriter {
	return &logWriter{log: ratelog.New(l, logLimit, logInterval), remote: remote}
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.log.Debug(logMessage(string(p)), "remote", w.remote)
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
