package address_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	. "github.com/f7d52a8e/multiserver/address"
)

// Keys used in the tables: SHA-256 of "key" and of "seed".
const (
	key     = "LHDhK3oGRvkiefQnx7OOczTY5Tic/xZ6HcMOc/gmtoM="
	keyURL  = "LHDhK3oGRvkiefQnx7OOczTY5Tic_xZ6HcMOc_gmtoM"  // URL-safe, unpadded
	keyRaw  = "LHDhK3oGRvkiefQnx7OOczTY5Tic/xZ6HcMOc/gmtoM"  // standard, unpadded
	key31   = "LHDhK3oGRvkiefQnx7OOczTY5Tic/xZ6HcMOc/gmtg==" // 31 bytes
	seed    = "GbJYVuHBUMqDTP/ItZsjrb0OwDieWOsis7ZHaAmNACs="
	seedURL = "GbJYVuHBUMqDTP_ItZsjrb0OwDieWOsis7ZHaAmNACs="
)

// seg builds a segment; with no fields, Fields is nil (a layer without ':').
func seg(name string, fields ...string) Segment {
	return Segment{Name: name, Fields: fields}
}

func addr(segs ...Segment) Addr { return segs }

type parseTest struct {
	name  string
	in    string
	want  List   // for valid inputs
	canon string // what String writes, if not in
	// For invalid inputs:
	off int
	err string // a substring of ParseError.Msg; "" means the input is valid
}

var parseTests = []parseTest{
	// Addresses JavaScript multiserver 3.8.2 writes.
	{name: "net ipv4 shs", in: "net:127.0.0.1:38008~shs:" + key,
		want: List{addr(seg("net", "127.0.0.1", "38008"), seg("shs", key))}},
	{name: "net ipv6 link-local", in: "net:fe80::1:8008~shs:" + key,
		want: List{addr(seg("net", "fe80", "", "1", "8008"), seg("shs", key))}},
	{name: "net ipv6 loopback", in: "net:::1:8008~shs:" + key,
		want: List{addr(seg("net", "", "", "1", "8008"), seg("shs", key))}},
	{name: "net ipv6 zone", in: "net:fe80::1%eth0:8008~shs:" + key,
		want: List{addr(seg("net", "fe80", "", "1%eth0", "8008"), seg("shs", key))}},
	{name: "net ipv4-mapped ipv6", in: "net:::ffff:192.0.2.1:8008~noauth",
		want: List{addr(seg("net", "", "", "ffff", "192.0.2.1", "8008"), seg("noauth"))}},
	{name: "net name", in: "net:example.org:8008~shs:" + key,
		want: List{addr(seg("net", "example.org", "8008"), seg("shs", key))}},
	{name: "net invite with seed", in: "net:localhost:8008~shs:" + key + ":" + seed,
		want: List{addr(seg("net", "localhost", "8008"), seg("shs", key, seed))}},
	{name: "net empty host", in: "net::8008~noauth",
		want: List{addr(seg("net", "", "8008"), seg("noauth"))}},
	{name: "net listen any port zero", in: "net:0.0.0.0:0~shs",
		want: List{addr(seg("net", "0.0.0.0", "0"), seg("shs"))}},
	{name: "net port 65535", in: "net:h:65535",
		want: List{addr(seg("net", "h", "65535"))}},
	{name: "net port leading zeros", in: "net:h:08008",
		want: List{addr(seg("net", "h", "08008"))}},
	{name: "net fqdn trailing dot", in: "net:example.org.:1~noauth",
		want: List{addr(seg("net", "example.org.", "1"), seg("noauth"))}},
	{name: "net underscore and hyphen", in: "net:my_host-1.lan:1",
		want: List{addr(seg("net", "my_host-1.lan", "1"))}},
	{name: "ws url format slash", in: "ws://127.0.0.1:38989/~shs:" + key,
		want: List{addr(seg("ws", "//127.0.0.1", "38989/"), seg("shs", key))}},
	{name: "ws default port", in: "ws://ex.org~shs:" + key,
		want: List{addr(seg("ws", "//ex.org"), seg("shs", key))}},
	{name: "wss path", in: "wss://example.com/path~shs:" + key,
		want: List{addr(seg("wss", "//example.com/path"), seg("shs", key))}},
	{name: "ws ipv6", in: "ws://[::1]:38189~shs:" + key,
		want: List{addr(seg("ws", "//[", "", "1]", "38189"), seg("shs", key))}},
	{name: "ws ipv6 zone", in: "ws://[fe80::1%25eth0]:80~noauth",
		want: List{addr(seg("ws", "//[fe80", "", "1%25eth0]", "80"), seg("noauth"))}},
	{name: "ws query", in: "ws://h:1/p?x=y~noauth",
		want: List{addr(seg("ws", "//h", "1/p?x=y"), seg("noauth"))}},
	{name: "ws escaped path", in: "ws://h:1/a!~b!!c",
		want: List{addr(seg("ws", "//h", "1/a~b!c"))}},
	{name: "unix", in: "unix:/tmp/multiserver-x/socket~noauth",
		want: List{addr(seg("unix", "/tmp/multiserver-x/socket"), seg("noauth"))}},
	{name: "unix path with colon", in: "unix:/tmp/a:b~noauth",
		want: List{addr(seg("unix", "/tmp/a", "b"), seg("noauth"))}},
	{name: "unix relative", in: "unix:sock~noauth",
		want: List{addr(seg("unix", "sock"), seg("noauth"))}},
	{name: "unix escaped tilde", in: "unix:/tmp/!~x",
		want: List{addr(seg("unix", "/tmp/~x"))}},
	{name: "onion", in: "onion:xxxx.onion:8008~shs:" + key,
		want: List{addr(seg("onion", "xxxx.onion", "8008"), seg("shs", key))}},
	{name: "mem", in: "mem:a",
		want: List{addr(seg("mem", "a"))}},
	{name: "mem escaped name", in: "mem:a!~b!!~noauth",
		want: List{addr(seg("mem", "a~b!"), seg("noauth"))}},
	{name: "noise", in: "net:h:1~noise:" + key,
		want: List{addr(seg("net", "h", "1"), seg("noise", key))}},
	{name: "yamux last", in: "net:h:1~shs:" + key + "~yamux",
		want: List{addr(seg("net", "h", "1"), seg("shs", key), seg("yamux"))}},
	{name: "yamux over plug", in: "mem:x~yamux",
		want: List{addr(seg("mem", "x"), seg("yamux"))}},
	{name: "two alternatives", in: "net:192.0.2.1:8008~shs:" + key + ";ws://192.0.2.1:8989~shs:" + key,
		want: List{
			addr(seg("net", "192.0.2.1", "8008"), seg("shs", key)),
			addr(seg("ws", "//192.0.2.1", "8989"), seg("shs", key)),
		}},
	{name: "three alternatives", in: "net:h:1~noise:" + key + ";wss://h~noise:" + key + ";unix:/s~noauth",
		want: List{
			addr(seg("net", "h", "1"), seg("noise", key)),
			addr(seg("wss", "//h"), seg("noise", key)),
			addr(seg("unix", "/s"), seg("noauth")),
		}},
	{name: "url-safe key", in: "net:h:1~shs:" + keyURL + ":" + seedURL,
		want: List{addr(seg("net", "h", "1"), seg("shs", keyURL, seedURL))}},
	{name: "unpadded key", in: "net:h:1~noise:" + keyRaw,
		want: List{addr(seg("net", "h", "1"), seg("noise", keyRaw))}},
	{name: "key with nonzero unused bits", in: "net:h:1~shs:LHDhK3oGRvkiefQnx7OOczTY5Tic/xZ6HcMOc/gmtoN=",
		want: List{addr(seg("net", "h", "1"), seg("shs", "LHDhK3oGRvkiefQnx7OOczTY5Tic/xZ6HcMOc/gmtoN="))}},
	{name: "quic ipv4", in: "quic:203.0.113.5:8008:" + key,
		want: List{addr(seg("quic", "203.0.113.5", "8008", key))}},
	{name: "quic ipv6 loopback", in: "quic:::1:8008:" + key,
		want: List{addr(seg("quic", "", "", "1", "8008", key))}},
	{name: "quic ipv6 zone", in: "quic:fe80::1%eth0:8008:" + key,
		want: List{addr(seg("quic", "fe80", "", "1%eth0", "8008", key))}},
	{name: "quic name url-safe key", in: "quic:example.org:8008:" + keyURL,
		want: List{addr(seg("quic", "example.org", "8008", keyURL))}},
	{name: "quic listen without key", in: "quic:0.0.0.0:0",
		want: List{addr(seg("quic", "0.0.0.0", "0"))}},
	{name: "quic ipv6 listen without key", in: "quic:::1:0",
		want: List{addr(seg("quic", "", "", "1", "0"))}},
	{name: "quic beside net", in: "quic:192.0.2.1:8008:" + key + ";net:192.0.2.1:8008~noise:" + key,
		want: List{
			addr(seg("quic", "192.0.2.1", "8008", key)),
			addr(seg("net", "192.0.2.1", "8008"), seg("noise", key)),
		}},
	{name: "needless escape", in: "mem:!a~!noauth",
		want: List{addr(seg("mem", "a"), seg("noauth"))}, canon: "mem:a~noauth"},
	{name: "escaped colon still splits", in: "unix:/x!:y",
		want: List{addr(seg("unix", "/x", "y"))}, canon: "unix:/x:y"},

	// Invalid inputs.
	{name: "empty", in: "", off: 0, err: "empty address"},
	{name: "only separators", in: ";;", off: 0, err: "empty address between ';'"},
	{name: "trailing semicolon", in: "net:h:1;", off: 8, err: "empty address between ';'"},
	{name: "empty middle alternative", in: "mem:a;;mem:b", off: 6, err: "empty address between ';'"},
	{name: "empty layer", in: "net:h:1~~noauth", off: 8, err: "empty layer"},
	{name: "trailing tilde", in: "net:h:1~", off: 8, err: "empty layer"},
	{name: "leading tilde", in: "~noauth", off: 0, err: "empty layer"},
	{name: "dangling escape", in: "net:h:1~noauth!", off: 14, err: "'!' escapes nothing"},
	{name: "dangling escape before semicolon", in: "mem:a!;mem:b", off: 5, err: "'!' escapes nothing"},
	{name: "unknown plug", in: "foo:bar", off: 0, err: `unknown plug "foo"`},
	{name: "plug names are case-sensitive", in: "NET:h:1", off: 0, err: `unknown plug "NET"`},
	{name: "unknown plug in second alternative", in: "net:h:1;foo:bar", off: 8, err: `unknown plug "foo"`},
	{name: "unknown transform", in: "net:h:1~foo", off: 8, err: `unknown transform "foo"`},
	{name: "unknown transform after escapes", in: "mem:a!~b~foo", off: 9, err: `unknown transform "foo"`},
	{name: "no name", in: ":x", off: 0, err: "layer has no name"},
	{name: "transform first", in: "shs:" + key, off: 0, err: `"shs" is not a plug`},
	{name: "plug after first", in: "net:h:1~ws://h", off: 8, err: `plug "ws" after the first layer`},
	{name: "yamux not last", in: "net:h:1~yamux~shs:" + key, off: 8, err: `"yamux" must be the last layer`},
	{name: "net without port", in: "net:h", off: 0, err: "want net:HOST:PORT"},
	{name: "net bare", in: "net", off: 0, err: "want net:HOST:PORT"},
	{name: "net empty port", in: "net:h:", off: 0, err: `port ""`},
	{name: "port 65536", in: "net:h:65536", off: 0, err: `port "65536"`},
	{name: "port with plus sign", in: "net:h:+80", off: 0, err: `port "+80"`},
	{name: "port with minus sign", in: "net:h:-1", off: 0, err: `port "-1"`},
	{name: "port hex", in: "net:h:0x10", off: 0, err: `port "0x10"`},
	{name: "bad ipv6", in: "net:fe80::g:1", off: 0, err: "not an IPv6 address"},
	{name: "too many ipv6 groups", in: "net:1:2:3:4:5:6:7:8:9:1", off: 0, err: "not an IPv6 address"},
	{name: "ipv6 empty zone", in: "net:fe80::1%:1", off: 0, err: "not an IPv6 address"},
	{name: "ipv6 zone character", in: "net:fe80::1%a!!b:1", off: 0, err: "not allowed in a zone"},
	{name: "bracketed ipv6 in net", in: "net:[::1]:8008", off: 0, err: "without brackets"},
	{name: "host with space", in: "net:a b:1", off: 0, err: `character ' ' is not allowed`},
	{name: "host with escaped tilde", in: "net:a!~b!!c:9~noauth", off: 0, err: `character '~' is not allowed`},
	{name: "host empty label", in: "net:a..b:1", off: 0, err: "empty or overlong label"},
	{name: "host numeric not ipv4", in: "net:999.1.1.1:80", off: 0, err: "not an IPv4 address"},
	{name: "ipv4 leading zero", in: "net:127.0.0.01:80", off: 0, err: "not an IPv4 address"},
	{name: "host too long", in: "net:" + strings.Repeat("a.", 127) + "com:1", off: 0, err: "too long"},
	{name: "onion without host", in: "onion::8008", off: 0, err: "want onion:HOST:PORT"},
	{name: "ws without host", in: "ws://", off: 0, err: "URL has no host"},
	{name: "ws path without host", in: "ws:///p", off: 0, err: "URL has no host"},
	{name: "ws without slashes", in: "ws:h", off: 0, err: "want ws://HOST"},
	{name: "ws server stream address", in: "ws:127.0.0.1~shs:" + key, off: 0, err: "want ws://HOST"},
	{name: "ws with userinfo", in: "ws://u:p@h", off: 0, err: "user information"},
	{name: "ws with empty userinfo", in: "ws://@h", off: 0, err: "user information"},
	{name: "ws with fragment", in: "ws://h/p#f", off: 0, err: "fragment"},
	{name: "ws with empty fragment", in: "ws://h#", off: 0, err: "fragment"},
	{name: "ws port too big", in: "ws://h:99999", off: 0, err: `port "99999"`},
	{name: "ws empty port", in: "ws://h:", off: 0, err: "empty port"},
	{name: "ws unbracketed ipv6", in: "ws://::1:80", off: 0, err: "must be bracketed"},
	{name: "ws bracketed ipv4", in: "ws://[127.0.0.1]:80", off: 0, err: "bad URL"},
	{name: "ws host with bad character", in: "ws://a$b", off: 0, err: `character '$'`},
	{name: "non-ascii host", in: "net:bücher.example:1", off: 0, err: "punycode"},
	{name: "shs key not base64", in: "net:h:1~shs:@@@@", off: 8, err: "is not base64"},
	{name: "shs key with newline", in: "net:h:1~shs:LHDhK3oGRvkiefQnx7OOczTY5Tic/xZ6HcMOc/gmtoM=\n", off: 56, err: "control character"},
	{name: "shs key 31 bytes", in: "net:h:1~shs:" + key31, off: 8, err: "is 31 bytes, want 32"},
	{name: "shs seed 31 bytes", in: "net:h:1~shs:" + key + ":" + key31, off: 8, err: "is 31 bytes, want 32"},
	{name: "shs empty key", in: "net:127.0.0.1:38008~shs:", off: 20, err: "is 0 bytes, want 32"},
	{name: "shs with 3 fields", in: "net:h:1~shs:" + key + ":" + key + ":" + key, off: 8, err: "has 3 fields, want at most 2"},
	{name: "noise with 2 fields", in: "net:h:1~noise:" + key + ":" + seed, off: 8, err: "has 2 fields, want at most 1"},
	{name: "shs key mixed alphabets", in: "net:h:1~shs:LHDhK3oGRvkiefQnx7OOczTY5Tic/xZ6HcMOc_gmtoM", off: 8, err: "is not base64"},
	{name: "layer after muxer wins over dangling escape", in: "mem:a~yamux~noauth!", off: 6, err: `"yamux" must be the last layer`},
	{name: "control character before other errors", in: "foo;mem:\x01", off: 8, err: "control character"},
	{name: "noauth with fields", in: "net:h:1~noauth:x", off: 8, err: "takes no fields"},
	{name: "noauth with empty field", in: "net:h:1~noauth:", off: 8, err: "takes no fields"},
	{name: "yamux with fields", in: "net:h:1~yamux:1", off: 8, err: "takes no fields"},
	{name: "quic without port", in: "quic:h", off: 0, err: "want quic:HOST:PORT[:KEY]"},
	{name: "quic key without host", in: "quic:" + key, off: 0, err: "want quic:HOST:PORT[:KEY]"},
	{name: "quic port and key without host", in: "quic:8008:" + key, off: 0, err: "want quic:HOST:PORT[:KEY]"},
	{name: "quic empty host", in: "quic::8008:" + key, off: 0, err: "want quic:HOST:PORT[:KEY]"},
	{name: "quic key 31 bytes", in: "quic:h:1:" + key31, off: 0, err: "is 31 bytes, want 32"},
	{name: "quic key not base64", in: "quic:h:1:@@@@@@", off: 0, err: "is not base64"},
	{name: "quic six digits are no port", in: "quic:h:080080", off: 0, err: `key "080080" is 4 bytes, want 32`},
	{name: "quic key before port", in: "quic:h:" + key + ":1", off: 0, err: "not an IPv6 address"},
	{name: "quic port too big", in: "quic:h:70000:" + key, off: 0, err: `port "70000"`},
	{name: "quic bracketed ipv6", in: "quic:[::1]:8008:" + key, off: 0, err: "without brackets"},
	{name: "quic in second alternative", in: "net:h:1;quic:h:1:x", off: 8, err: `port "x"`},
	{name: "mem without name", in: "mem", off: 0, err: "want mem:NAME"},
	{name: "mem empty name", in: "mem:", off: 0, err: "want mem:NAME"},
	{name: "mem two fields", in: "mem:a:b", off: 0, err: "want mem:NAME"},
	{name: "unix without path", in: "unix", off: 0, err: "want unix:PATH"},
	{name: "unix empty path", in: "unix:~noauth", off: 0, err: "want unix:PATH"},
	{name: "control character", in: "mem:a\tb", off: 5, err: "control character"},
	{name: "error in second layer of second alternative", in: "mem:a;net:h:1~shs:x", off: 14, err: "not base64"},
}

// TestParse checks every table entry: valid inputs parse to the wanted
// List, write back canonically and parse again to the same List; invalid
// ones give a *ParseError at the wanted offset.
func TestParse(t *testing.T) {
	for _, tt := range parseTests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l, err := std.Parse(tt.in)
			if tt.err != "" {
				if l != nil {
					t.Errorf("Parse(%q) returned %v with its error", tt.in, l)
				}
				checkParseError(t, tt.in, err, tt.off, tt.err)
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q) = %v", tt.in, err)
			}
			if !l.Equal(tt.want) {
				t.Fatalf("Parse(%q) = %#v, want %#v", tt.in, l, tt.want)
			}
			canon := tt.canon
			if canon == "" {
				canon = tt.in
			}
			if got := l.String(); got != canon {
				t.Fatalf("Parse(%q).String() = %q, want %q", tt.in, got, canon)
			}
			l2, err := std.Parse(l.String())
			if err != nil || !l2.Equal(l) {
				t.Fatalf("Parse(%q) = %v, %v, want %v", l.String(), l2, err, l)
			}
		})
	}
}

func checkParseError(t *testing.T, in string, err error, off int, msg string) {
	t.Helper()
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("Parse(%q) = %v, want a *ParseError", in, err)
	}
	if pe.Input != in || pe.Offset != off || !strings.Contains(pe.Msg, msg) {
		t.Fatalf("Parse(%q) = %q at %d (input %q), want %q at %d", in, pe.Msg, pe.Offset, pe.Input, msg, off)
	}
	if !strings.HasPrefix(err.Error(), "address: ") {
		t.Fatalf("Parse(%q) error %q lacks the package prefix", in, err)
	}
}

func TestParseTableSize(t *testing.T) {
	var valid, invalid int
	for _, tt := range parseTests {
		if tt.err == "" {
			valid++
		} else {
			invalid++
		}
	}
	if valid < 30 || invalid < 30 {
		t.Fatalf("table has %d valid and %d invalid cases, want 30 of each", valid, invalid)
	}
}

func TestParseAddr(t *testing.T) {
	a, err := std.ParseAddr("net:h:1~shs:" + key)
	if err != nil || !a.Equal(addr(seg("net", "h", "1"), seg("shs", key))) {
		t.Fatalf("ParseAddr = %v, %v", a, err)
	}
	for _, tt := range []struct {
		in  string
		off int
		err string
	}{
		{"", 0, "empty address"},
		{"mem:a;mem:b", 5, "';' in a single address"},
		{"mem:a~foo", 6, "unknown transform"},
	} {
		a, err := std.ParseAddr(tt.in)
		if a != nil {
			t.Errorf("ParseAddr(%q) returned %v with its error", tt.in, a)
		}
		checkParseError(t, tt.in, err, tt.off, tt.err)
	}
}

func TestParseSegment(t *testing.T) {
	s, err := std.ParseSegment("ws://h:1/a~b", 0)
	if err != nil || !s.Equal(seg("ws", "//h", "1/a~b")) {
		t.Fatalf("ParseSegment = %v, %v", s, err)
	}
	if _, err := std.ParseSegment("shs:"+key, 0); err == nil {
		t.Fatalf("ParseSegment(shs, 0) succeeded, want an error: shs is no plug")
	}
	if s, err := std.ParseSegment("shs:"+key, 1); err != nil || s.Value() != key {
		t.Fatalf("ParseSegment(shs, 1) = %v, %v", s, err)
	}
	var pe *ParseError
	if _, err := std.ParseSegment("mem:a;b", 0); !errors.As(err, &pe) || !strings.Contains(pe.Msg, "';'") {
		t.Fatalf("ParseSegment(%q) = %v, want a *ParseError about ';'", "mem:a;b", err)
	}
}

func TestSegment(t *testing.T) {
	for _, tt := range []struct {
		s           Segment
		str, value  string
		equalsNoArg bool
	}{
		{seg("noauth"), "noauth", "", true},
		{seg("shs", ""), "shs:", "", false},
		{seg("net", "", "", "1", "8008"), "net:::1:8008", "::1:8008", false},
	} {
		if got := tt.s.String(); got != tt.str {
			t.Errorf("%#v.String() = %q, want %q", tt.s, got, tt.str)
		}
		if got := tt.s.Value(); got != tt.value {
			t.Errorf("%#v.Value() = %q, want %q", tt.s, got, tt.value)
		}
		if got := tt.s.Equal(seg(tt.s.Name)); got != tt.equalsNoArg {
			t.Errorf("%#v.Equal(%#v) = %v, want %v", tt.s, seg(tt.s.Name), got, tt.equalsNoArg)
		}
	}
	a := addr(seg("net", "h", "1"), seg("shs", key))
	if !a.Plug().Equal(seg("net", "h", "1")) || len(a.Transforms()) != 1 {
		t.Fatalf("Plug, Transforms of %v = %v, %v", a, a.Plug(), a.Transforms())
	}
	if p := (Addr{}).Plug(); p.Name != "" || (Addr{}).Transforms() != nil {
		t.Fatalf("empty Addr has plug %v", p)
	}
	if (List{a}).Equal(List{a, a}) || a.Equal(a[:1]) {
		t.Fatal("Equal ignores length")
	}
}

func TestHostPort(t *testing.T) {
	for _, tt := range []struct {
		in   string
		host string
		port int
	}{
		{"net:fe80::1%eth0:8008", "fe80::1%eth0", 8008},
		{"net:::1:1", "::1", 1},
		{"net::8008", "", 8008},
		{"net:example.org:08008", "example.org", 8008},
		{"onion:abc.onion:9050", "abc.onion", 9050},
	} {
		h, p, err := HostPort(SplitSegment(tt.in))
		if err != nil || h != tt.host || p != tt.port {
			t.Errorf("HostPort(%q) = %q, %d, %v, want %q, %d", tt.in, h, p, err, tt.host, tt.port)
		}
	}
	if _, _, err := HostPort(seg("net", "h")); err == nil {
		t.Error("HostPort(net:h) succeeded")
	}
}

func TestHostPortKey(t *testing.T) {
	k, _ := DecodeKey(key)
	for _, tt := range []struct {
		in   string
		host string
		port int
		key  []byte
	}{
		{"quic:203.0.113.5:8008:" + key, "203.0.113.5", 8008, k},
		{"quic:::1:8008:" + keyRaw, "::1", 8008, k},
		{"quic:::1:8008", "::1", 8008, nil},
		{"quic:fe80::1%eth0:0", "fe80::1%eth0", 0, nil},
		{"quic:example.org:08008:" + keyURL, "example.org", 8008, k},
	} {
		h, p, gotKey, err := HostPortKey(SplitSegment(tt.in))
		if err != nil || h != tt.host || p != tt.port || !bytes.Equal(gotKey, tt.key) {
			t.Errorf("HostPortKey(%q) = %q, %d, %x, %v, want %q, %d, %x", tt.in, h, p, gotKey, err, tt.host, tt.port, tt.key)
		}
	}
	// The last field is a key when it is longer than a port can be.
	for _, s := range []string{"quic:h", "quic:h:123456", "quic::1", "quic:" + key, "quic:h:1:2"} {
		if h, p, k, err := HostPortKey(SplitSegment(s)); err == nil {
			t.Errorf("HostPortKey(%q) = %q, %d, %x, want an error", s, h, p, k)
		}
	}
}

func TestURL(t *testing.T) {
	for _, tt := range []struct {
		in, host, port, path string
	}{
		{"ws://[::1]:38189", "::1", "38189", ""},
		{"ws://[fe80::1%25eth0]/", "fe80::1%eth0", "", "/"},
		{"wss://example.com/a~b", "example.com", "", "/a~b"},
	} {
		u, err := URL(SplitSegment(tt.in))
		if err != nil || u.Hostname() != tt.host || u.Port() != tt.port || u.Path != tt.path {
			t.Errorf("URL(%q) = %v, %v, want host %q port %q path %q", tt.in, u, err, tt.host, tt.port, tt.path)
		}
	}
}

func TestKeys(t *testing.T) {
	want := bytes.Repeat([]byte{0xfb}, KeySize)
	enc := EncodeKey(want)
	if enc != "+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/s=" {
		t.Fatalf("EncodeKey = %q", enc)
	}
	for _, s := range []string{enc, strings.TrimRight(enc, "="), "-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_s=", "-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_s"} {
		k, err := DecodeKey(s)
		if err != nil || !bytes.Equal(k, want) {
			t.Errorf("DecodeKey(%q) = %x, %v, want %x", s, k, err, want)
		}
	}
	for _, s := range []string{"", key31, key + "AAAA", "+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/s=\n", "+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7+_s="} {
		if k, err := DecodeKey(s); err == nil || !strings.HasPrefix(err.Error(), "address: ") {
			t.Errorf("DecodeKey(%q) = %x, %v, want an address: error", s, k, err)
		}
	}
}

// TestGenericParse checks Parse, which knows no Kind: every well-formed
// layer is accepted with any fields, in any position, as JavaScript's
// multiserver-address decodes; what is malformed whatever the layers
// mean is still an error.
func TestGenericParse(t *testing.T) {
	for _, s := range []string{
		"tunnel:@R.ed25519:@T.ed25519~shs:" + key,
		"shs:" + key + "~net:h",
		"net:h~yamux~noauth:x",
		"NET:[::1]:8008",
		"mem:a!~b;foo",
	} {
		l, err := Parse(s)
		if err != nil {
			t.Fatalf("Parse(%q): %v", s, err)
		}
		if l2, err := Parse(l.String()); err != nil || !l2.Equal(l) {
			t.Fatalf("Parse(%q) = %v, %v, want %v", l.String(), l2, err, l)
		}
		if k, u, err := new(Parser).ParseKnown(s); err != nil || len(u) != 0 || !k.Equal(l) {
			t.Fatalf("Parser{}.ParseKnown(%q) = %v, %v, %v, want %v", s, k, u, err, l)
		}
	}
	for _, tt := range []struct {
		in  string
		off int
		err string
	}{
		{"", 0, "empty address"},
		{"a;;b", 2, "empty address"},
		{"a~~b", 2, "empty layer"},
		{"a!", 1, "escapes nothing"},
		{":x", 0, "layer has no name"},
		{"a;tun nel:x", 2, "is not a name"},
		{"a;1x", 2, "is not a name"},
		{"a:\x01", 2, "control character"},
	} {
		_, err := Parse(tt.in)
		checkParseError(t, tt.in, err, tt.off, tt.err)
	}
	if _, err := ParseSegment("a:b;c"); err == nil {
		t.Error("ParseSegment took a ';'")
	}
	if s, err := (&Parser{}).ParseSegment("shs:x", 0); err != nil || s.Value() != "x" {
		t.Errorf("Parser{}.ParseSegment = %v, %v; want the generic grammar", s, err)
	}
}

// TestStandardKinds checks the Kinds the layer packages give.
func TestStandardKinds(t *testing.T) {
	want := map[string]Role{
		"net": Plug, "onion": Plug, "unix": Plug, "ws": Plug, "wss": Plug, "mem": Plug, "quic": Plug,
		"shs": Transform, "noise": Transform, "noauth": Transform, "yamux": Muxer,
	}
	if len(std.Kinds) != len(want) {
		t.Fatalf("%d kinds, want %d", len(std.Kinds), len(want))
	}
	for _, k := range std.Kinds {
		if r, ok := want[k.Name]; !ok || r != k.Role || k.Check == nil {
			t.Errorf("kind %q is a %v, check %v; want a %v with a check", k.Name, k.Role, k.Check != nil, r)
		}
	}
	if got := Muxer.String(); got != "muxer" {
		t.Errorf("Muxer.String() = %q", got)
	}
}

func TestParseErrorString(t *testing.T) {
	err := &ParseError{Input: "foo:x", Offset: 0, Msg: `unknown plug "foo"`}
	if got, want := err.Error(), `address: unknown plug "foo" at offset 0 in "foo:x"`; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
}

func FuzzParse(f *testing.F) {
	for _, tt := range parseTests {
		f.Add(tt.in)
	}
	for _, s := range []string{"tunnel:@R.ed25519:@T.ed25519~shs:" + testPub + ";net:h:1~noauth", "foo:bar;ws://h:1", "net:h:1~frob:x!~y;a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := std.Parse(s)
		checkParseKnown(t, s, l, err)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Input != s || pe.Offset < 0 || pe.Offset > len(s) {
				t.Fatalf("Parse(%q) = %v, want a *ParseError within the input", s, err)
			}
			shown, off := RedactAt(s, pe.Offset)
			if off < 0 || off > len(shown) {
				t.Fatalf("Parse(%q): offset %d moves to %d, outside the redacted %q", s, pe.Offset, off, shown)
			}
			if Redact(shown) != shown {
				t.Fatalf("Redact is not idempotent: %q, then %q", shown, Redact(shown))
			}
			return
		}
		if len(l) == 0 {
			t.Fatalf("Parse(%q) = empty List, nil", s)
		}
		// What the Kinds accept, the generic grammar reads the same.
		if g, err := Parse(s); err != nil || !g.Equal(l) {
			t.Fatalf("generic Parse(%q) = %v, %v, want %v", s, g, err, l)
		}
		out := l.String()
		l2, err := std.Parse(out)
		if err != nil {
			t.Fatalf("Parse(%q) = %v; it is the String of Parse(%q)", out, err, s)
		}
		if !l2.Equal(l) {
			t.Fatalf("Parse(%q) = %#v, want %#v", out, l2, l)
		}
		if out2 := l2.String(); out2 != out {
			t.Fatalf("String is unstable: %q, then %q", out, out2)
		}
		if r := l.Redacted(); Redact(out) != r || Redact(s) != Redact(out) && !strings.Contains(s, "!") {
			t.Fatalf("Redacted() = %q, Redact(String()) = %q, Redact(input) = %q; want them equal", r, Redact(out), Redact(s))
		}
		for _, a := range l {
			if a2, err := std.ParseAddr(a.String()); err != nil || !a2.Equal(a) {
				t.Fatalf("ParseAddr(%q) = %v, %v, want %v", a.String(), a2, err, a)
			}
		}
	})
}

// FuzzGenericParse checks the generic grammar of Parse, which knows no
// layer: what it accepts round-trips through String, a Parser with no
// kinds reads it the same with nothing unknown, and Redact of its String
// is its Redacted form; what it refuses is a ParseError within the input.
func FuzzGenericParse(f *testing.F) {
	for _, tt := range parseTests {
		f.Add(tt.in)
	}
	for _, s := range []string{"tunnel:@R.ed25519:@T.ed25519~shs:" + testPub + ":" + testSeed, "foo:bar;ws://h:1", "NET:[::1]:8008", "mem:a!~b;foo", "a!:b~c.d+e-f:!!"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := Parse(s)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Input != s || pe.Offset < 0 || pe.Offset > len(s) {
				t.Fatalf("Parse(%q) = %v, want a *ParseError within the input", s, err)
			}
			return
		}
		out := l.String()
		if l2, err := Parse(out); err != nil || !l2.Equal(l) {
			t.Fatalf("Parse(%q) = %v, %v, want %v; it is the String of Parse(%q)", out, l2, err, l, s)
		}
		if k, u, err := new(Parser).ParseKnown(s); err != nil || len(u) != 0 || !k.Equal(l) {
			t.Fatalf("Parser{}.ParseKnown(%q) = %v, %v, %v, want %v", s, k, u, err, l)
		}
		if r := l.Redacted(); Redact(out) != r {
			t.Fatalf("Redacted() = %q, Redact(String()) = %q; want them equal", r, Redact(out))
		}
	})
}

// A Parser knows the Kinds it is given: a layer without a Check takes
// any fields; roles hold for all.
func TestParserExtraLayers(t *testing.T) {
	p := &Parser{Kinds: append([]Kind{
		{Name: "carrier-pigeon", Role: Plug},
		{Name: "rot13", Role: Transform},
	}, std.Kinds...)}
	for _, s := range []string{"carrier-pigeon:loft 7:north~rot13", "net:127.0.0.1:8~rot13:k~yamux", "carrier-pigeon"} {
		l, err := p.Parse(s)
		if err != nil {
			t.Fatalf("Parser.Parse(%q): %v", s, err)
		}
		if got := l.String(); got != s {
			t.Errorf("Parser.Parse(%q).String() = %q", s, got)
		}
	}
	for _, s := range []string{"rot13:x", "net:1.2.3.4:5~carrier-pigeon", "net:1.2.3.4:5~shs:bad", "pigeon:1"} {
		if _, err := p.Parse(s); err == nil {
			t.Errorf("Parser.Parse(%q) succeeded", s)
		}
	}
	if _, err := std.Parse("carrier-pigeon:x"); err == nil {
		t.Error("a Parser knows a layer it was not given")
	}
	first := &Parser{Kinds: []Kind{{Name: "x", Role: Plug}, {Name: "x", Role: Transform}}}
	if _, err := first.Parse("x:1~x:2"); err == nil {
		t.Error("the second of two Kinds with one name counted")
	}
}

func TestPeerKey(t *testing.T) {
	const key = "LHDhK3oGRvkiefQnx7OOczTY5Tic/xZ6HcMOc/gmtoM="
	for in, want := range map[string]string{
		"net:h:1~shs:" + key:              key,
		"net:h:1~noise:" + key + "~yamux": key,
		"quic:h:1:" + key:                 key,
		"quic:::1:8008:" + key:            key,
		"quic:h:1":                        "",
		"net:h:1~noauth":                  "",
		"unix:/s~shs":                     "",
	} {
		a, err := std.ParseAddr(in)
		if err != nil {
			t.Fatalf("ParseAddr(%q): %v", in, err)
		}
		if got := a.PeerKey(); got != want {
			t.Errorf("ParseAddr(%q).PeerKey() = %q, want %q", in, got, want)
		}
	}
}

// checkParseKnown checks std.ParseKnown(s) against std.Parse(s) = l, err: they
// agree when nothing is unknown, and every unknown alternative reads
// back as one.
func checkParseKnown(t *testing.T, s string, l List, err error) {
	t.Helper()
	known, unknown, kerr := std.ParseKnown(s)
	if (err == nil) != (kerr == nil && len(unknown) == 0) {
		t.Fatalf("Parse(%q) = %v, but ParseKnown = %v unknown, %v", s, err, len(unknown), kerr)
	}
	if err == nil && !known.Equal(l) {
		t.Fatalf("ParseKnown(%q) = %v, want %v as Parse", s, known, l)
	}
	if kerr != nil {
		return
	}
	for _, u := range unknown {
		if u.Err == nil || u.Err.Offset < 0 || u.Err.Offset >= len(s) || u.Err.Input != s {
			t.Fatalf("ParseKnown(%q): unknown %d has error %v", s, u.Index, u.Err)
		}
		out := u.Addr.String()
		k2, u2, err := std.ParseKnown(out)
		if err != nil || len(k2) != 0 || len(u2) != 1 || !u2[0].Addr.Equal(u.Addr) {
			t.Fatalf("ParseKnown(%q) = %v, %v, %v; it is unknown %d of %q", out, k2, u2, err, u.Index, s)
		}
	}
}
