package multiserver

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestLimitedLog(t *testing.T) {
	var buf bytes.Buffer
	l := newLimitedLog(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	for range 100 {
		l.Debug("handshake failed")
	}
	if got := strings.Count(buf.String(), "handshake failed"); got != logLimit {
		t.Fatalf("logged %d records in a burst, want %d", got, logLimit)
	}
}
