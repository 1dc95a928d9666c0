package quic

import "time"

// Rate limit of a plug's log records (Plug.log): at most logLimit per
// logInterval, so that a flood of bad peers cannot flood the log.
const (
	logLimit    = 10
	logInterval = time.Second
)
