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

// newLimitedLog returns the logger of a Listener's per-connection
// records: debug level, at most logLimit a second.
func newLimitedLog(l *slog.Logger) *ratelog.Logger { return ratelog.New(l, logLimit, time.Second) }
