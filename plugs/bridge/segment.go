//go:build !js

package bridge

import (
	"github.com/f7d52a8e/multiserver/address"
	ibridge "github.com/f7d52a8e/multiserver/internal/bridge"
)

// Segment returns the segment of a bridge URL: "sse:https://h/ms", the
// port left out when it is the scheme's default and a path of "/" left
// out.
func Segment(name, scheme, host string, port int, path string) address.Segment {
	return ibridge.Segment(name, scheme, host, port, path)
}
