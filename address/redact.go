package address

import "strings"

// RedactedSeed stands for the seed of an "shs:KEY:SEED" segment in the
// Redacted forms, which are meant for errors and logs: "shs:KEY:<redacted>".
// It is not a key, so a redacted address does not parse.
const RedactedSeed = "<redacted>"

// secretFrom returns the index of the first field of s that is secret,
// or -1: an shs segment's fields after the server key hold the seed of a
// one-time identity (an invite). Names are compared without case, so
// that text no parser accepts ("SHS:KEY:SEED") is redacted too.
func secretFrom(s Segment) int {
	if strings.EqualFold(s.Name, "shs") && len(s.Fields) > 1 {
		return 1
	}
	return -1
}

// Redacted returns s as [Segment.String] does, but with the seed of an
// shs segment replaced by [RedactedSeed]: "shs:KEY:<redacted>". Use it,
// not String, where s is shown (errors, logs).
func (s Segment) Redacted() string {
	k := secretFrom(s)
	if k < 0 {
		return s.String()
	}
	return s.Name + ":" + strings.Join(s.Fields[:k], ":") + ":" + RedactedSeed
}

// Redacted returns a as [Addr.String] does, but with the seed of every
// shs segment replaced by [RedactedSeed]. String is the form to dial;
// Redacted is the form to show (errors, logs), as url.URL.Redacted is.
func (a Addr) Redacted() string {
	var b strings.Builder
	for i, s := range a {
		if i > 0 {
			b.WriteByte('~')
		}
		if k := secretFrom(s); k >= 0 {
			escape(&b, Segment{Name: s.Name, Fields: s.Fields[:k]}.String())
			b.WriteString(":" + RedactedSeed)
			continue
		}
		escape(&b, s.String())
	}
	return b.String()
}

// Redacted returns l as [List.String] does, with seeds redacted as
// [Addr.Redacted] does.
func (l List) Redacted() string {
	parts := make([]string, len(l))
	for i, a := range l {
		parts[i] = a.Redacted()
	}
	return strings.Join(parts, ";")
}

// Redact returns s, the text of an address list that need not parse,
// with everything after the key of each shs layer replaced by
// [RedactedSeed]: "net:h:8008~shs:KEY:SEED" becomes
// "net:h:8008~shs:KEY:<redacted>". It splits s as [Parse] does (';', then
// '~' with '!' escapes, then ':' after unescaping) and leaves every other
// byte as written. For a List that Parse returned, Redact(l.String())
// equals l.Redacted().
func Redact(s string) string {
	out, _ := redact(s)
	return out
}

// An edit replaced s[from:to] with the text at out[at:] in redact.
type edit struct{ from, to, at int }

// redact is [Redact], also returning where it replaced text, so that
// an offset in s can be moved to the redacted text.
func redact(s string) (string, []edit) {
	var (
		b      strings.Builder
		edits  []edit
		copied int    // s[:copied] is in b or replaced
		name   []byte // the layer's name, unescaped
		colons int    // ':' seen in the layer, unescaped
		cut    = -1   // where the layer's secret starts, if it has one
	)
	end := func(at int) {
		if cut >= 0 {
			b.WriteString(s[copied:cut])
			edits = append(edits, edit{cut, at, b.Len()})
			b.WriteString(":" + RedactedSeed)
			copied = at
		}
		name, colons, cut = name[:0], 0, -1
	}
	for i := 0; i < len(s); i++ {
		c, at := s[i], i
		switch {
		case c == ';' || c == '~':
			end(i)
			continue
		case c == '!' && i+1 < len(s) && s[i+1] != ';':
			i++
			c = s[i]
		}
		switch {
		case c != ':' && colons == 0:
			name = append(name, c)
		case c == ':':
			colons++
			if colons == 2 && strings.EqualFold(string(name), "shs") {
				cut = at
			}
		}
	}
	end(len(s))
	b.WriteString(s[copied:])
	return b.String(), edits
}

// redactOffset moves off, an offset in the text given to redact, to the
// redacted text. An offset inside a replaced seed moves to its start.
func redactOffset(off int, edits []edit) int {
	for i := len(edits) - 1; i >= 0; i-- {
		e := edits[i]
		switch {
		case off >= e.to:
			return e.at + len(":"+RedactedSeed) + off - e.to
		case off >= e.from:
			return e.at
		}
	}
	return off
}
