// Package conntest holds checks that the plugs' tests share on the
// net.Conn values their plugs return.
package conntest

import (
	"errors"
	"net"
	"testing"
)

// OpError fails t unless err is a *net.OpError whose Op is op, whose Net
// is network, that names both addresses, and that wraps target, as the
// errors of the standard library's conns do.
func OpError(t testing.TB, err error, op, network string, target error) {
	t.Helper()
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != op || oe.Net != network || oe.Source == nil || oe.Addr == nil || !errors.Is(err, target) {
		t.Errorf("%s error %#v, want a *net.OpError (%s, %s, both addresses) that wraps %v", op, err, op, network, target)
	}
}
