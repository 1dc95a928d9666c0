//go:build js

package ws

import (
	"context"
	"errors"
	"net"

	"github.com/f7d52a8e/multiserver/address"
)

type (
	server struct{}
	mount  struct{}
)

// Listen returns an error: a browser cannot accept WebSockets.
func (p *Plug) Listen(context.Context, address.Segment) (net.Listener, error) {
	return nil, errors.New("ws: cannot listen under GOOS=js")
}
