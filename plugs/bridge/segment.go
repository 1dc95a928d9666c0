//go:build !js

package bridge

import (
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/f7d52a8e/multiserver/address"
)

// Segment returns the segment of a bridge URL: "sse:https://h/ms", the
// port left out when it is the scheme's default and a path of "/" left
// out.
func Segment(name, scheme, host string, port int, path string) address.Segment {
	hostport := host
	def := 80
	if scheme == "https" {
		def = 443
	}
	if port != def {
		hostport = net.JoinHostPort(host, strconv.Itoa(port))
	} else if strings.Contains(host, ":") {
		hostport = "[" + host + "]"
	}
	if path == "/" {
		path = ""
	}
	rest := scheme + "://" + hostport + (&url.URL{Path: path}).EscapedPath()
	return address.Segment{Name: name, Fields: strings.Split(rest, ":")}
}
