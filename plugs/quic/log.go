package quic

import (
	"log/slog"
	"time"

	"github.com/f7d52a8e/multiserver/internal/ratelog"
)

// Rate limit of a plug's log records: at most logLimit per logInterval,
// so that a flood of bad peers cannot flood the log.
const (
	logLimit    = 10
	logInterval = time.Second
)

// limitedLog writes Debug records to a slog.Logger at a limited rate.
type limitedLog struct{ *ratelog.Logger }

func newLimitedLog(l *slog.Logger) *limitedLog {
	return &limitedLog{ratelog.New(l, logLimit, logInterval)}
}

func (l *limitedLog) debug(msg string, args ...any) { l.Debug(msg, args...) }
