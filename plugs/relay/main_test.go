//go:build !js

package relay_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver/plugs/relay/internal/relaytest"
	"go.uber.org/goleak"
)

// closeGrace is how long the goroutines of conns closed last may take
// to end. A direct path's Close returns at once and ends its QUIC
// connection and socket in the background, within about a second
// (internal/punch), and the last test or example to run may close one
// just before the check; goleak's own retries give up after about 0.4 s.
const closeGrace = 5 * time.Second

func TestMain(m *testing.M) {
	if relaytest.ServeChild() { // a relay alone in its process, for TestRelayKilled
		return
	}
	code := m.Run()
	if code == 0 {
		deadline := time.Now().Add(closeGrace)
		err := goleak.Find()
		for err != nil && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
			err = goleak.Find()
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "goleak: after %v: %v\n", closeGrace, err)
			code = 1
		}
	}
	os.Exit(code)
}
