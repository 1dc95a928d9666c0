package address_test

import (
	"errors"
	"testing"

	. "github.com/f7d52a8e/multiserver/address"
)

func TestParseKnown(t *testing.T) {
	key := testPub
	tests := []struct {
		name    string
		in      string
		known   string // the known alternatives, as List.String writes them
		unknown []string
		index   []int
		msg     []string
		offset  []int
	}{
		{
			name:    "room tunnel",
			in:      "tunnel:@ROOM.ed25519:@TARGET.ed25519~shs:" + key + ";net:h:1~shs:" + key,
			known:   "net:h:1~shs:" + key,
			unknown: []string{"tunnel:@ROOM.ed25519:@TARGET.ed25519~shs:" + key},
			index:   []int{0},
			msg:     []string{`unknown plug "tunnel"`},
			offset:  []int{0},
		},
		{
			name:    "javascript's example",
			in:      "foo:bar;ws://h:1",
			known:   "ws://h:1",
			unknown: []string{"foo:bar"},
			index:   []int{0},
			msg:     []string{`unknown plug "foo"`},
			offset:  []int{0},
		},
		{
			name:    "unknown transform, escapes honoured",
			in:      "net:h:1~noauth;net:h:2~frob:x!~y!!z~shs:bad",
			known:   "net:h:1~noauth",
			unknown: []string{"net:h:2~frob:x!~y!!z~shs:bad"},
			index:   []int{1},
			msg:     []string{`unknown transform "frob"`},
			offset:  []int{23},
		},
		{
			name:    "nothing known",
			in:      "a;b:c",
			unknown: []string{"a", "b:c"},
			index:   []int{0, 1},
			msg:     []string{`unknown plug "a"`, `unknown plug "b"`},
			offset:  []int{0, 2},
		},
		{
			name:  "all known",
			in:    "net:h:1~shs:" + key + ";unix:/a:b~noauth",
			known: "net:h:1~shs:" + key + ";unix:/a:b~noauth",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, unknown, err := std.ParseKnown(tt.in)
			if err != nil {
				t.Fatalf("ParseKnown(%q): %v", tt.in, err)
			}
			if got := l.String(); got != tt.known {
				t.Errorf("known = %q, want %q", got, tt.known)
			}
			if len(unknown) != len(tt.unknown) {
				t.Fatalf("unknown = %v, want %d", unknown, len(tt.unknown))
			}
			for i, u := range unknown {
				if u.Addr.String() != tt.unknown[i] || u.Index != tt.index[i] || u.Err.Msg != tt.msg[i] || u.Err.Offset != tt.offset[i] || u.Err.Input != tt.in {
					t.Errorf("unknown[%d] = %q, index %d, %v; want %q, index %d, %q at %d",
						i, u.Addr, u.Index, u.Err, tt.unknown[i], tt.index[i], tt.msg[i], tt.offset[i])
				}
			}
		})
	}
	_, unknown, _ := std.ParseKnown("net:h:1;frob:x!~y!!z:w")
	if f := unknown[0].Addr[0].Fields; len(f) != 2 || f[0] != "x~y!z" || f[1] != "w" {
		t.Errorf("unknown fields = %q, want the escapes removed and split at ':'", f)
	}
}

// What is wrong whatever the layers mean fails the whole list, as in
// Parse; so does a known layer with bad fields.
func TestParseKnownErrors(t *testing.T) {
	tests := []struct {
		in     string
		offset int
	}{
		{"", 0},
		{"tunnel:x;;net:h:1", 9},
		{"tunnel:x;", 9},
		{"tunnel:x~~shs", 9},
		{"tunnel:x!", 8},
		{"tunnel:x;:y", 9},
		{"tunnel:x;tun nel:y", 9},
		{"tunnel:x;net:h:1~\x01", 17},
		{"tunnel:x;net:h~noauth", 9},
		{"tunnel:x;shs~net:h:1", 9},
	}
	for _, tt := range tests {
		_, _, err := std.ParseKnown(tt.in)
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Offset != tt.offset {
			t.Errorf("ParseKnown(%q) = %v, want a *ParseError at %d", tt.in, err, tt.offset)
		}
	}
}

func TestParserParseKnown(t *testing.T) {
	p := &Parser{Kinds: append([]Kind{{Name: "tunnel", Role: Plug}}, std.Kinds...)}
	l, unknown, err := p.ParseKnown("tunnel:a:b~shs;frob")
	if err != nil || len(l) != 1 || len(unknown) != 1 || unknown[0].Index != 1 {
		t.Errorf("Parser.ParseKnown = %v, %v, %v; want tunnel known and frob unknown", l, unknown, err)
	}
}
