package ratelog_test

import (
	"log/slog"
	"math/rand/v2"
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

// TestBurstThenSilence drops records in a burst that nothing follows:
// the count is written once the interval ends, not never.
func TestBurstThenSilence(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf logtest.Buffer
		l := ratelog.New(logtest.Debug(&buf), 2, time.Second)
		defer l.Close()
		for range 10 {
			l.Debug("burst")
		}
		time.Sleep(999 * time.Millisecond)
		synctest.Wait()
		if strings.Contains(buf.String(), "suppressed") {
			t.Fatalf("the count was written before the interval ended:\n%s", buf.String())
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if got := strings.Count(buf.String(), `msg="records suppressed" count=8`); got != 1 {
			t.Fatalf("the count of the burst written %d times at the interval's end, want once:\n%s", got, buf.String())
		}
		time.Sleep(time.Hour)
		l.Debug("later")
		if got := strings.Count(buf.String(), "suppressed"); got != 1 {
			t.Errorf("the count was written %d times, want once:\n%s", got, buf.String())
		}
	})
}

// TestClose writes the pending count at Close, and nothing after it,
// not even when the interval ends.
func TestClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf logtest.Buffer
		l := ratelog.New(logtest.Debug(&buf), 1, time.Second)
		l.Debug("kept")
		l.Debug("dropped")
		l.Debug("dropped")
		l.Close()
		if got := strings.Count(buf.String(), `msg="records suppressed" count=2`); got != 1 {
			t.Fatalf("Close wrote the pending count %d times, want once:\n%s", got, buf.String())
		}
		l.Close()
		l.Debug("after close")
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if got := strings.Count(buf.String(), "\n"); got != 2 {
			t.Errorf("wrote %d records, want the one kept and the count:\n%s", got, buf.String())
		}
		var nilLogger *ratelog.Logger
		nilLogger.Close()
	})
}

// TestCountsAddUp races writers with small random pauses against short
// intervals, many times, then closes: every record is written or counted
// in exactly one "records suppressed" record.
func TestCountsAddUp(t *testing.T) {
	for run := range 20 {
		var buf logtest.Buffer
		l := ratelog.New(logtest.Debug(&buf), 3, time.Duration(1+run%4)*time.Millisecond)
		const writers, per = 4, 50
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				r := rand.New(rand.NewPCG(uint64(run), uint64(w)))
				for range per {
					l.Debug("rec")
					if r.IntN(4) == 0 {
						time.Sleep(time.Duration(r.IntN(1500)) * time.Microsecond)
					}
				}
			})
		}
		wg.Wait()
		l.Close()
		out := buf.String()
		written := strings.Count(out, "msg=rec")
		counted := 0
		for _, line := range strings.Split(out, "\n") {
			if _, c, ok := strings.Cut(line, `msg="records suppressed" count=`); ok {
				n, err := strconv.Atoi(c)
				if err != nil || n <= 0 {
					t.Fatalf("bad count record %q", line)
				}
				counted += n
			}
		}
		if written+counted != writers*per {
			t.Fatalf("run %d: %d written + %d counted, want %d:\n%s", run, written, counted, writers*per, out)
		}
	}
}
