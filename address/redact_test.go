package address_test

import (
	"errors"
	"strings"
	"testing"

	. "github.com/f7d52a8e/multiserver/address"
)

var (
	testPub  = EncodeKey([]byte(strings.Repeat("k", KeySize)))
	testSeed = EncodeKey([]byte(strings.Repeat("s", KeySize)))
)

func TestRedacted(t *testing.T) {
	tests := []struct{ in, want string }{
		{"net:h:1~shs:" + testPub + ":" + testSeed, "net:h:1~shs:" + testPub + ":<redacted>"},
		{"net:h:1~shs:" + testPub, "net:h:1~shs:" + testPub},
		{"ws://h:1/a!~b~shs:" + testPub + ":" + testSeed + "~yamux;net:h:2~noise:" + testPub,
			"ws://h:1/a!~b~shs:" + testPub + ":<redacted>~yamux;net:h:2~noise:" + testPub},
	}
	for _, tt := range tests {
		l, err := std.Parse(tt.in)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.in, err)
		}
		if got := l.Redacted(); got != tt.want {
			t.Errorf("Parse(%q).Redacted() = %q, want %q", tt.in, got, tt.want)
		}
		if got := Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := l.String(); got != tt.in {
			t.Errorf("String() = %q, want the address as written, %q", got, tt.in)
		}
	}
	seg := Segment{Name: "shs", Fields: []string{testPub, testSeed}}
	if got, want := seg.Redacted(), "shs:"+testPub+":<redacted>"; got != want {
		t.Errorf("Segment.Redacted() = %q, want %q", got, want)
	}
}

// Redact works on text that does not parse: every field after an shs
// key goes, whatever escapes or case hide it.
func TestRedactText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"shs:K:SEED", "shs:K:<redacted>"},
		{"x~shs:K:SEED:more~y;shs:K:S2", "x~shs:K:<redacted>~y;shs:K:<redacted>"},
		{"x~!shs:K!:SEED!~still~y", "x~!shs:K:<redacted>~y"},
		{"x~SHS:K:SEED", "x~SHS:K:<redacted>"},
		{"x~shs:K:SEED!;net:h:1", "x~shs:K:<redacted>;net:h:1"},
		{"x~shs::", "x~shs::<redacted>"},
		{"x~shs:K~noise:K:K2~shs", "x~shs:K~noise:K:K2~shs"},
		{"net:shs:1:2", "net:shs:1:2"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// A parse error shows the input without the seed, and its offset still
// points at the problem in the text it shows.
func TestParseErrorHidesSeed(t *testing.T) {
	invite := "net:h:1~shs:" + testPub + ":" + testSeed
	tests := []struct {
		name, in string
		at       string // the text the offset must point at, in the shown input
	}{
		{"later layer", invite + "~bogus", "bogus"},
		{"later address", invite + ";net:h:1~bogus", "bogus"},
		{"bad seed", "net:h:1~shs:" + testPub + ":" + testSeed[:40], "shs:"},
		{"extra field", invite + ":" + testSeed, "shs:"},
		{"dangling escape", invite + "!", ""},
		{"unknown plug", "bogus~shs:" + testPub + ":" + testSeed, "bogus"},
		{"seed of a bad key", "net:h:1~shs:x:" + testSeed, "shs:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := std.Parse(tt.in)
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%q) = %v, want a *ParseError", tt.in, err)
			}
			msg := err.Error()
			if strings.Contains(msg, testSeed[:20]) {
				t.Fatalf("error %q shows the seed", msg)
			}
			if !strings.Contains(msg, ":<redacted>") {
				t.Errorf("error %q does not say where the seed was", msg)
			}
			shown, off := RedactAt(pe.Input, pe.Offset)
			if !strings.HasPrefix(shown[off:], tt.at) {
				t.Errorf("error %q: offset %d points at %q, want %q", msg, off, shown[off:], tt.at)
			}
		})
	}
}

// FuzzRedact checks Redact on any text: it is idempotent, leaves text
// without an shs layer alone, and moves the end of the input to the end
// of what it shows.
func FuzzRedact(f *testing.F) {
	for _, s := range []string{
		"net:h:1~shs:" + testPub + ":" + testSeed, "x~!shs:K!:SEED!~still~y", "x~SHS:K:SEED",
		"x~shs:K:SEED!;net:h:1", "x~shs::", "net:shs:1:2", "shs:K:S!", "!;shs:a:b:c;~",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := Redact(s)
		if Redact(r) != r {
			t.Fatalf("Redact is not idempotent: %q, then %q, then %q", s, r, Redact(r))
		}
		if !strings.Contains(strings.ToLower(s), "shs") && r != s {
			t.Fatalf("Redact(%q) = %q, want it unchanged: it has no shs layer", s, r)
		}
		if shown, off := RedactAt(s, len(s)); shown != r || off != len(r) {
			t.Fatalf("RedactAt(%q, %d) = %q, %d, want %q, %d", s, len(s), shown, off, r, len(r))
		}
	})
}
