package multiserver

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestLimitedLog(t *testing.T) {
	var buf bytes.Buffer
	l := limitedLog{log: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	for range 100 {
		l.debug("handshake failed")
	}
	if got := strings.Count(buf.String(), "handshake failed"); got != logLimit {
		t.Fatalf("logged %d records in a burst, want %d", got, logLimit)
	}
	quiet := limitedLog{log: slog.New(slog.DiscardHandler)}
	quiet.debug("nothing") // a disabled level costs no lock and no count
	if quiet.n != 0 {
		t.Errorf("a disabled logger counted %d records", quiet.n)
	}
}
