package dhtrelay

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/f7d52a8e/multiserver/interop/hstest"
)

func TestMain(m *testing.M) { hstest.Main(m, func() error { return goleak.Find() }) }

// sharedNet is the net.js the tests dial through (hstest.Shared).
func sharedNet(t *testing.T) *hstest.Net { return hstest.Shared(t) }
