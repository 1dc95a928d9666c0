package relay_test

import (
	"strings"
	"testing"

	"github.com/f7d52a8e/multiserver/address"
	"github.com/f7d52a8e/multiserver/plugs/relay"
)

func TestKind(t *testing.T) {
	p := &address.Parser{Kinds: []address.Kind{relay.Kind(), {Name: "noise", Role: address.Transform}}}
	for _, ok := range []string{
		"relay:wss://relay.example/relay~noise",
		"relay:ws://127.0.0.1:8080/relay~noise:LHDhK3oGRvkiefQnx7OOczTY5Tic/xZ6HcMOc/gmtoM=",
		"relay:https://relay.example~noise",
		"relay:http://[::1]:9000/a!~b?x=1~noise",
	} {
		if _, err := p.Parse(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for in, want := range map[string]string{
		"relay:ftp://relay.example~noise":       "scheme",
		"relay:wss~noise":                       "want relay:ws|wss|http|https://HOST",
		"relay:wss://~noise":                    "no host",
		"relay:wss://u@relay.example~noise":     "user information",
		"relay:wss://relay.example#x~noise":     "fragment",
		"relay:wss://relay.example:99999~noise": "port",
	} {
		if _, err := p.Parse(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error about %q", in, err, want)
		}
	}
}
