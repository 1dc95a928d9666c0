//go:build !js

package relay_test

import (
	"testing"

	"github.com/f7d52a8e/multiserver/plugs/relay/internal/relaytest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if relaytest.ServeChild() { // a relay alone in its process, for TestRelayKilled
		return
	}
	goleak.VerifyTestMain(m)
}
