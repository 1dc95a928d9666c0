package address

import (
	"fmt"
	"strings"
)

// A ParseError reports a malformed address: what is wrong and where.
type ParseError struct {
	Input  string // the whole text given to Parse
	Offset int    // byte offset in Input where the problem starts
	Msg    string // what is wrong, e.g. `unknown plug "foo"`
}

// Error returns the message with its offset and input, prefixed with
// "address: ". The input is shown as [Redact] writes it, without the
// seeds of shs layers, and the offset is moved to match.
func (e *ParseError) Error() string {
	in, edits := redact(e.Input)
	return fmt.Sprintf("address: %s at offset %d in %q", e.Msg, redactOffset(e.Offset, edits), in)
}

// Parse parses a multiserver address: alternatives separated by ';', each
// layers separated by '~', with '!' escapes, each layer a name and fields
// separated by ':'. It checks this generic grammar alone, as JavaScript's
// multiserver-address module decodes: every layer with a well-formed name
// is accepted, with any fields, in any position. To check what each
// layer's fields and position must be, use a [Parser] that knows the
// layers' [Kind]s. Parse returns a [*ParseError] for a malformed string.
//
// Parse reads what JavaScript multiserver writes, and [List.String] writes
// what it reads: Parse(l.String()) equals l for every List Parse returns.
func Parse(s string) (List, error) { return (*Parser)(nil).Parse(s) }

// ParseAddr parses a single address, one that holds no ';', as [Parse]
// does.
func ParseAddr(s string) (Addr, error) { return (*Parser)(nil).ParseAddr(s) }

// A Parser parses addresses made of the layers it knows, its Kinds, and
// checks each layer by its Kind: a plug first, transforms after it, a
// muxer last, each with the fields its Check accepts. A layer whose name
// it does not know is an error ([Parser.ParseKnown] keeps such
// alternatives aside instead).
//
// A Parser with no Kinds, and a nil *Parser, know every name: they check
// the generic grammar alone, as [Parse] does.
type Parser struct {
	// Kinds are the layers the Parser knows. If two have the same name,
	// the first counts.
	Kinds []Kind
}

// Parse is [Parse], with the layers p knows.
func (p *Parser) Parse(s string) (List, error) {
	if err := checkText(s); err != nil {
		return nil, err
	}
	var l List
	off := 0
	for _, part := range strings.Split(s, ";") {
		a, err := p.parseAddr(s, off, part)
		if err != nil {
			return nil, err
		}
		l = append(l, a)
		off += len(part) + 1
	}
	return l, nil
}

// ParseAddr is [ParseAddr], with the layers p knows.
func (p *Parser) ParseAddr(s string) (Addr, error) {
	if err := checkText(s); err != nil {
		return nil, err
	}
	if i := strings.IndexByte(s, ';'); i >= 0 {
		return nil, &ParseError{Input: s, Offset: i, Msg: "';' in a single address"}
	}
	return p.parseAddr(s, 0, s)
}

// checkText refuses an empty input and ASCII control characters.
func checkText(s string) error {
	if s == "" {
		return &ParseError{Input: s, Msg: "empty address"}
	}
	if i := strings.IndexFunc(s, isControl); i >= 0 {
		return &ParseError{Input: s, Offset: i, Msg: fmt.Sprintf("control character %q", s[i])}
	}
	return nil
}

// parseAddr parses part, found at offset off of input.
func (p *Parser) parseAddr(input string, off int, part string) (Addr, error) {
	if part == "" {
		return nil, &ParseError{Input: input, Offset: off, Msg: "empty address between ';'"}
	}
	var a Addr
	muxAt := -1 // offset of a muxer layer, which must be the last
	for i, sec := range splitEscaped(part) {
		at := off + sec.off
		if muxAt >= 0 {
			return nil, &ParseError{Input: input, Offset: muxAt, Msg: fmt.Sprintf("%q must be the last layer", a[len(a)-1].Name)}
		}
		if sec.text == "" {
			return nil, &ParseError{Input: input, Offset: at, Msg: "empty layer"}
		}
		if sec.dangling {
			return nil, &ParseError{Input: input, Offset: at + sec.raw - 1, Msg: "'!' escapes nothing at the end of a layer"}
		}
		seg := splitSegment(sec.text)
		if err := p.check(seg, i); err != nil {
			return nil, &ParseError{Input: input, Offset: at, Msg: err.Error()}
		}
		a = append(a, seg)
		// A muxer ends the stack: nothing can be layered over many streams.
		if k, _ := p.kind(seg.Name); k.Role == Muxer {
			muxAt = at
		}
	}
	return a, nil
}

// A section is one '~'-separated piece of an address, unescaped.
type section struct {
	text     string
	off      int  // offset of the section in the address
	raw      int  // length of the section before unescaping
	dangling bool // the section ends in a lone '!'
}

// splitEscaped splits s at every '~' not escaped by '!', and removes the
// escapes: "!x" stands for x, whatever x is, as in the JavaScript
// separator-escape module.
func splitEscaped(s string) []section {
	var (
		out   []section
		b     strings.Builder
		start int
	)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '!' && i+1 < len(s):
			i++
			b.WriteByte(s[i])
		case c == '!':
			out = append(out, section{text: b.String() + "!", off: start, raw: i + 1 - start, dangling: true})
			return out
		case c == '~':
			out = append(out, section{text: b.String(), off: start, raw: i - start})
			b.Reset()
			start = i + 1
		default:
			b.WriteByte(c)
		}
	}
	return append(out, section{text: b.String(), off: start, raw: len(s) - start})
}

func splitSegment(s string) Segment {
	name, rest, ok := strings.Cut(s, ":")
	if !ok {
		return Segment{Name: name}
	}
	return Segment{Name: name, Fields: strings.Split(rest, ":")}
}

// ParseSegment parses one layer, unescaped, such as "net:::1:8008", as
// [Parse] does: it checks only that the layer has a well-formed name.
func ParseSegment(s string) (Segment, error) { return (*Parser)(nil).ParseSegment(s, 0) }

// ParseSegment parses one layer, unescaped, such as "net:::1:8008", by
// its Kind. Its position says whether it must be a plug (0) or a
// transform.
func (p *Parser) ParseSegment(s string, position int) (Segment, error) {
	seg := splitSegment(s)
	if err := p.check(seg, position); err != nil {
		return Segment{}, &ParseError{Input: s, Msg: err.Error()}
	}
	return seg, nil
}
