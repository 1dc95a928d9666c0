package multiserver

import (
	"log/slog"
	"time"

	"github.com/f7d52a8e/multiserver/internal/ratelog"
)

// logLimit is how many per-connection records a Listener logs per second;
// past it, records are counted and the count is logged once the second
// is over, so a flood of bad peers cannot flood the log.
const logLimit = 20

// limitedLog logs per-connection records at debug level, at most
// logLimit a second.
type limitedLog struct{ *ratelog.Logger }

func newLimitedLog(l *slog.Logger) limitedLog {
	return limitedLog{ratelog.New(l, logLimit, time.Second)}
}

func (l limitedLog) debug(msg string, args ...any) { l.Debug(msg, args...) }
