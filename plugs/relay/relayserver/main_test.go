//go:build !js

package relayserver_test

import (
	"testing"

	"github.com/f7d52a8e/multiserver/plugs/relay/internal/relaytest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if relaytest.ServeChild() { // a relay alone in its process, for TestIdlePairingMemory
		return
	}
	goleak.VerifyTestMain(m)
}
