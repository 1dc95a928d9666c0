package ctxguard

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRunEndsBlockedIO(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	err := Run(ctx, a, "test", func() error {
		_, err := a.Read(make([]byte, 1))
		return err
	})
	if !errors.Is(err, context.Canceled) || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Run = %v, want the read's deadline error and context.Canceled", err)
	}
	if err := Run(ctx, a, "test", func() error { return nil }); !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "test: handshake not started") {
		t.Errorf("Run after ctx ended = %v, want not started", err)
	}
}

func TestReadFirst(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	read := func() error {
		_, err := a.Read(make([]byte, 1))
		return err
	}
	start := time.Now()
	err := ReadFirst(context.Background(), a, 30*time.Millisecond, "test: nothing", read)
	if !errors.Is(err, os.ErrDeadlineExceeded) || !strings.HasPrefix(err.Error(), "test: nothing within 30ms") {
		t.Fatalf("ReadFirst = %v, want a timeout naming what was missing", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("ReadFirst took %v", d)
	}
	// The deadline is cleared afterwards: a later read works.
	go b.Write([]byte{1})
	if err := read(); err != nil {
		t.Errorf("read after ReadFirst: %v", err)
	}
	// A ctx that ends sooner than timeout is left to Run.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	err = Run(ctx, a, "test", func() error { return ReadFirst(ctx, a, time.Hour, "test: nothing", read) })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("ReadFirst under a shorter ctx = %v, want ctx's deadline", err)
	}
}
