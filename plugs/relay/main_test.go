//go:build !js

package relay

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		serveChild() // a relay alone in its process, for TestIdlePairingMemory
		return
	}
	goleak.VerifyTestMain(m)
}
