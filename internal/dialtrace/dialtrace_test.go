package dialtrace

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// record returns a ctx whose hook logs "step detail -> result err".
func record(ctx context.Context) (context.Context, func() []string) {
	var (
		mu  sync.Mutex
		log []string
	)
	ctx = With(ctx, func(step, detail string) func(string, error) {
		return func(result string, err error) {
			mu.Lock()
			defer mu.Unlock()
			ok := "ok"
			if err != nil {
				ok = "error"
			}
			log = append(log, strings.Join(strings.Fields(step+" "+detail+" -> "+result+" "+ok), " "))
		}
	})
	return ctx, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), log...)
	}
}

func TestWithoutHook(t *testing.T) {
	ctx := context.Background()
	if Enabled(ctx) {
		t.Fatal("a bare context has a hook")
	}
	Start(ctx, "x", "y")("z", nil) // does nothing, and does not panic
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := Dial(ctx, &net.Dialer{}, "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}

func TestDialSteps(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())

	t.Run("an address is not resolved", func(t *testing.T) {
		ctx, log := record(context.Background())
		c, err := Dial(ctx, &net.Dialer{}, "tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		if got := strings.Join(log(), "; "); got != "connect "+ln.Addr().String()+" -> ok" {
			t.Errorf("steps %q, want one connect", got)
		}
	})
	t.Run("a name is resolved, then each address tried", func(t *testing.T) {
		ctx, log := record(context.Background())
		c, err := Dial(ctx, &net.Dialer{}, "tcp", net.JoinHostPort("localhost", port))
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		steps := log()
		if len(steps) < 2 || !strings.HasPrefix(steps[0], "resolve localhost -> ") || !strings.Contains(steps[0], "127.0.0.1") ||
			steps[len(steps)-1] != "connect 127.0.0.1:"+port+" -> ok" {
			t.Errorf("steps %q, want localhost resolved, then 127.0.0.1 connected", steps)
		}
	})
	t.Run("a name that does not resolve", func(t *testing.T) {
		ctx, log := record(context.Background())
		_, err := Dial(ctx, &net.Dialer{}, "tcp", "no-such-host.invalid:1")
		var dnsErr *net.DNSError
		if !errors.As(err, &dnsErr) {
			t.Fatalf("Dial = %v, want a *net.DNSError", err)
		}
		if got := strings.Join(log(), "; "); got != "resolve no-such-host.invalid -> error" {
			t.Errorf("steps %q, want a failed resolve alone", got)
		}
	})
	t.Run("the dialer's resolver", func(t *testing.T) {
		var asked atomic.Bool
		d := &net.Dialer{Resolver: &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
			asked.Store(true)
			return nil, errors.New("no name server here")
		}}}
		ctx, log := record(context.Background())
		if _, err := Dial(ctx, d, "tcp", "name.example.test:1"); err == nil {
			t.Fatal("a name no server answers for was dialed")
		}
		if !asked.Load() {
			t.Error("the dialer's resolver was not asked")
		}
		if got := strings.Join(log(), "; "); got != "resolve name.example.test -> error" {
			t.Errorf("steps %q, want a failed resolve alone", got)
		}
	})
	t.Run("a refused port", func(t *testing.T) {
		closed, _ := net.Listen("tcp", "127.0.0.1:0")
		closed.Close()
		ctx, log := record(context.Background())
		_, err := Dial(ctx, &net.Dialer{}, "tcp", closed.Addr().String())
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("Dial = %v, want connection refused", err)
		}
		if got := strings.Join(log(), "; "); got != "connect "+closed.Addr().String()+" -> error" {
			t.Errorf("steps %q, want a failed connect", got)
		}
	})
}
