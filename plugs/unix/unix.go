// Package unix is the "unix" plug: Unix domain stream sockets by path.
//
// Its segment is "unix:PATH"; the path is everything after "unix:" and may
// itself hold ':'. Sockets are reachable only on the device, so a
// listener advertises itself in [multiserver.ScopeDevice] alone.
package unix

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
)

// Plug is the "unix" plug. Its zero value is ready to use.
type Plug struct {
	// Mode is the permission of sockets Listen creates. If zero, 0600
	// (only the owner may connect), as JavaScript multiserver does.
	Mode os.FileMode
}

var (
	_ multiserver.Plug           = (*Plug)(nil)
	_ multiserver.SegmentChecker = (*Plug)(nil)
)

// Name returns "unix".
func (p *Plug) Name() string { return "unix" }

// Kind returns the grammar of the "unix" layer, "unix:PATH", for an
// [address.Parser]: the path is everything after "unix:", ':' included,
// and must not be empty.
func Kind() address.Kind { return address.Kind{Name: "unix", Role: address.Plug, Check: checkSegment} }

// CheckSegment reports what is wrong with s, a "unix" segment, by the
// rules of [Kind].
func (p *Plug) CheckSegment(s address.Segment) error { return checkSegment(s) }

func checkSegment(s address.Segment) error {
	if s.Value() == "" {
		return errors.New("want unix:PATH")
	}
	return nil
}

// Dial connects to the socket at the path of s.
func (p *Plug) Dial(ctx context.Context, s address.Segment) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "unix", s.Value())
}

// Listen listens on the path of s. A stale socket left there by a process
// that is gone is removed first; a live one makes Listen fail. The socket
// file is removed when the listener closes.
func (p *Plug) Listen(ctx context.Context, s address.Segment) (net.Listener, error) {
	path := s.Value()
	if err := removeStale(ctx, path); err != nil {
		return nil, err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "unix", path)
	if err != nil {
		return nil, err
	}
	mode := p.Mode
	if mode == 0 {
		mode = 0o600
	}
	if err := os.Chmod(path, mode); err != nil {
		ln.Close()
		return nil, err
	}
	return &listener{Listener: ln, seg: s}, nil
}

// removeStale removes a socket at path that no process listens on.
func removeStale(ctx context.Context, path string) error {
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode()&os.ModeSocket == 0 {
		return nil // absent, or not a socket: Listen will say what is wrong
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err == nil {
		c.Close()
		return fmt.Errorf("unix: %s: %w", path, syscall.EADDRINUSE)
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return os.Remove(path)
	}
	return nil
}

type listener struct {
	net.Listener
	seg address.Segment
}

// Advertise returns the socket's segment in ScopeDevice, nothing elsewhere.
func (l *listener) Advertise(scope multiserver.Scope) []address.Segment {
	return multiserver.DeviceOnly(scope, l.seg)
}
