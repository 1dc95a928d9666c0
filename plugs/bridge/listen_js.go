//go:build js

package bridge

import (
	"context"
	"errors"
	"net"

	"github.com/f7d52a8e/multiserver"
)

// mount is a URL served by the user's web server; none in the browser.
type mount struct{}

// ListenStack fails: a browser cannot serve HTTP.
func (p *Plug) ListenStack(ctx context.Context, o multiserver.ListenOptions) (net.Listener, error) {
	return nil, errors.New("bridge: cannot listen in the browser")
}
