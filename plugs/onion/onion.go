// Package onion holds the grammar of the "onion" layer of JavaScript
// multiserver, "onion:HOST:PORT", a Tor onion service reached through a
// SOCKS5 proxy. This module has no onion plug yet: [Kind] lets a parser
// read such addresses, as the command's "addr" does, and a plug would
// live here beside it.
package onion

import (
	"errors"

	"github.com/f7d52a8e/multiserver/address"
)

// Kind returns the grammar of the "onion" layer for an [address.Parser]:
// the port is the last field and the host, not empty, the fields before
// it, as in "net". See [address.HostPort].
func Kind() address.Kind { return address.Kind{Name: "onion", Role: address.Plug, Check: checkSegment} }

func checkSegment(s address.Segment) error {
	host, _, err := address.HostPort(s)
	if err == nil && host == "" {
		return errors.New("want onion:HOST:PORT")
	}
	return err
}
