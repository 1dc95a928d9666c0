package address_test

import (
	"github.com/f7d52a8e/multiserver/address"
	"github.com/f7d52a8e/multiserver/mux/yamux"
	"github.com/f7d52a8e/multiserver/plugs/mem"
	"github.com/f7d52a8e/multiserver/plugs/onion"
	"github.com/f7d52a8e/multiserver/plugs/quic"
	"github.com/f7d52a8e/multiserver/plugs/tcp"
	"github.com/f7d52a8e/multiserver/plugs/unix"
	"github.com/f7d52a8e/multiserver/plugs/ws"
	"github.com/f7d52a8e/multiserver/transforms/noauth"
	"github.com/f7d52a8e/multiserver/transforms/noise"
	"github.com/f7d52a8e/multiserver/transforms/shs"
)

// std knows every layer of this module, and JavaScript's onion, each by
// the Kind its own package gives: the grammar of spec/address.md.
var std = &address.Parser{Kinds: []address.Kind{
	tcp.Kind(), onion.Kind(), unix.Kind(), ws.Kind("ws"), ws.Kind("wss"), mem.Kind(), quic.Kind(),
	shs.Kind(), noise.Kind(), noauth.Kind(),
	yamux.Kind(),
}}
