package address_test

import (
	"errors"
	"fmt"

	"github.com/f7d52a8e/multiserver/address"
	"github.com/f7d52a8e/multiserver/plugs/tcp"
	"github.com/f7d52a8e/multiserver/plugs/ws"
	"github.com/f7d52a8e/multiserver/transforms/noauth"
	"github.com/f7d52a8e/multiserver/transforms/shs"
)

func ExampleParser() {
	// Each layer's package gives its grammar; the Parser checks by it.
	p := &address.Parser{Kinds: []address.Kind{tcp.Kind(), ws.Kind("ws"), shs.Kind(), noauth.Kind()}}
	l, err := p.Parse("net:fe80::1:8008~shs:LHDhK3oGRvkiefQnx7OOczTY5Tic/xZ6HcMOc/gmtoM=;ws://[::1]:8989/a!~b~noauth")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, a := range l {
		host, port, err := address.HostPort(a.Plug())
		if err == nil {
			fmt.Printf("%s host=%s port=%d\n", a.Plug().Name, host, port)
		} else if u, err := address.URL(a.Plug()); err == nil {
			fmt.Printf("%s host=%s port=%s path=%s\n", a.Plug().Name, u.Hostname(), u.Port(), u.Path)
		}
		for _, t := range a.Transforms() {
			fmt.Printf("  %s %q\n", t.Name, t.Fields)
		}
	}
	fmt.Println(l)

	_, err = p.Parse("net:example.org:8008~foo")
	var pe *address.ParseError
	if errors.As(err, &pe) {
		fmt.Println(pe.Offset, pe.Msg)
	}
	// Output:
	// net host=fe80::1 port=8008
	//   shs ["LHDhK3oGRvkiefQnx7OOczTY5Tic/xZ6HcMOc/gmtoM="]
	// ws host=::1 port=8989 path=/a~b
	//   noauth []
	// net:fe80::1:8008~shs:LHDhK3oGRvkiefQnx7OOczTY5Tic/xZ6HcMOc/gmtoM=;ws://[::1]:8989/a!~b~noauth
	// 21 unknown transform "foo"
}

func ExampleParse() {
	// Parse checks the generic grammar alone, as JavaScript's
	// multiserver-address decodes: any well-formed layer, any fields.
	l, err := address.Parse("tunnel:@ROOM.ed25519:@TARGET.ed25519~shs:LHDhK3oGRvkiefQnx7OOczTY5Tic/xZ6HcMOc/gmtoM=")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(l[0].Plug().Name, l[0].Plug().Fields)
	_, err = address.Parse("net:h:1~~shs")
	fmt.Println(err)
	// Output:
	// tunnel [@ROOM.ed25519 @TARGET.ed25519]
	// address: empty layer at offset 8 in "net:h:1~~shs"
}

func ExampleToMultiaddr() {
	for _, s := range []string{"net:203.0.113.5:8008", "net:fe80::1%eth0:8008", "wss://example.org", "mem:a"} {
		seg, err := address.ParseSegment(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		m, err := address.ToMultiaddr(seg)
		if errors.Is(err, address.ErrNoMultiaddr) {
			fmt.Println(err)
			continue
		}
		back, _ := address.FromMultiaddr(m)
		fmt.Println(m, back)
	}
	// Output:
	// /ip4/203.0.113.5/tcp/8008 net:203.0.113.5:8008
	// /ip6zone/eth0/ip6/fe80::1/tcp/8008 net:fe80::1%eth0:8008
	// /dns/example.org/tcp/443/tls/ws wss://example.org
	// address: no multiaddr form for "mem:a"
}
