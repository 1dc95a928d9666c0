package ws

import (
	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
)

var _ multiserver.SegmentChecker = (*Plug)(nil)

// Kind returns the grammar of the layer of a scheme, "ws" or "wss" (if
// empty, "ws"), for an [address.Parser]: the whole segment is a URL with
// a host, an IPv6 host bracketed, no user information and no fragment;
// a path and query are kept. See [address.URL].
func Kind(scheme string) address.Kind {
	if scheme == "" {
		scheme = "ws"
	}
	return address.Kind{Name: scheme, Role: address.Plug, Check: checkSegment}
}

// CheckSegment reports what is wrong with s, a segment of the plug's
// scheme, by the rules of [Kind].
func (p *Plug) CheckSegment(s address.Segment) error { return checkSegment(s) }

func checkSegment(s address.Segment) error {
	_, err := address.URL(s)
	return err
}
