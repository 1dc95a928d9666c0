package dhtrelay

import (
	"fmt"
	"os"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/f7d52a8e/multiserver/interop/hstest"
)

// shared is the net.js most tests dial through, started by the first
// that needs it and stopped after the last.
var shared struct {
	once sync.Once
	net  *hstest.Net
	err  error
}

func sharedNet(t *testing.T) *hstest.Net {
	t.Helper()
	node := hstest.Require(t)
	shared.once.Do(func() { shared.net, shared.err = hstest.Start(node) })
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.net
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.net != nil {
		shared.net.Stop()
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}
