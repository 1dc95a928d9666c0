package ratelog_test

import (
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/f7d52a8e/multiserver/internal/logtest"
	"github.com/f7d52a8e/multiserver/internal/ratelog"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestFlood floods a Logger from several goroutines for three intervals:
// each interval writes the limit and no more, and each later one first
// writes how many records the one before dropped.
func TestFlood(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const limit, per, writers = 5, 40, 4
		var buf logtest.Buffer
		l := ratelog.New(logtest.Debug(&buf), limit, time.Second)
		for round := range 3 {
			var wg sync.WaitGroup
			for range writers {
				wg.Go(func() {
					for range per {
						l.Debug("handshake failed", "round", round)
					}
				})
			}
			wg.Wait()
			time.Sleep(time.Second)
		}
		l.Debug("last")
		out := buf.String()
		if got := strings.Count(out, "msg=\"handshake failed\""); got != 3*limit {
			t.Errorf("logged %d records in 3 intervals, want %d:\n%s", got, 3*limit, out)
		}
		want := "count=" + itoa(writers*per-limit)
		if got := strings.Count(out, "msg=\"records suppressed\" "+want); got != 3 {
			t.Errorf("logged %d suppressed counts %s, want 3:\n%s", got, want, out)
		}
		if !strings.Contains(out, "msg=last") {
			t.Errorf("the record after the flood is missing:\n%s", out)
		}
	})
}

// TestUnderLimit writes nothing but the records when none are dropped.
func TestUnderLimit(t *testing.T) {
	var buf logtest.Buffer
	l := ratelog.New(logtest.Debug(&buf), 3, time.Hour)
	for range 3 {
		l.Debug("ok")
	}
	if got := strings.Count(buf.String(), "msg=ok"); got != 3 || strings.Contains(buf.String(), "suppressed") {
		t.Errorf("got:\n%s", buf.String())
	}
}

// TestSilent checks the defaults: a nil slog.Logger and a nil *Logger
// write nothing, and a logger above debug level writes nothing either.
func TestSilent(t *testing.T) {
	ratelog.New(nil, 1, time.Second).Debug("nothing")
	var nilLogger *ratelog.Logger
	nilLogger.Debug("nothing")
	var buf logtest.Buffer
	info := slog.New(slog.NewTextHandler(&buf, nil))
	l := ratelog.New(info, 1, time.Second)
	for range 10 {
		l.Debug("nothing")
	}
	if buf.String() != "" {
		t.Errorf("an info logger got %q", buf.String())
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
