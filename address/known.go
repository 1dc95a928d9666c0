package address

import (
	"fmt"
	"strings"
)

// An Unknown is an alternative of a multiserver address that
// [Parser.ParseKnown] kept without reading it, because one of its layers
// has a name the parser does not know, such as an SSB room's
// "tunnel:ROOM:TARGET~shs:KEY". JavaScript multiserver skips such an
// alternative when it dials, and so does a Network.
type Unknown struct {
	Index int         // its position among the alternatives, from 0
	Addr  Addr        // its layers, unescaped and split at ':', not checked
	Err   *ParseError // names the first unknown layer, at its offset
}

// ParseKnown is [Parser.Parse] for a list that may hold alternatives
// with layers p does not know: it returns the alternatives it knows in
// l, in order, and the others in unknown, instead of failing.
//
// Every alternative must still be well-formed: an empty alternative or
// layer, a layer without a name or with a name that is not a letter
// followed by letters, digits, '+', '-' or '.', a '!' that escapes
// nothing and a control character are errors for the whole string, as
// in [Parse]. An alternative whose layers all have known names is parsed
// as Parse does it, so a known layer with bad fields is an error too.
// The rest go to unknown with their layers unchecked.
//
// p.Parse(s) succeeds exactly when p.ParseKnown(s) succeeds with no
// unknown alternatives, and then both return the same List.
func (p *Parser) ParseKnown(s string) (List, []Unknown, error) {
	if err := checkText(s); err != nil {
		return nil, nil, err
	}
	var (
		l       List
		unknown []Unknown
		off     int
	)
	for i, part := range strings.Split(s, ";") {
		secs, err := splitLayers(s, off, part)
		if err != nil {
			return nil, nil, err
		}
		if u, ok := p.unknown(s, off, secs); ok {
			u.Index = i
			unknown = append(unknown, u)
		} else {
			a, err := p.parseAddr(s, off, part)
			if err != nil {
				return nil, nil, err
			}
			l = append(l, a)
		}
		off += len(part) + 1
	}
	return l, unknown, nil
}

// splitLayers splits part, found at offset off of input, into its
// layers, and checks what every alternative needs whatever its layers
// are: no empty part or layer, no dangling '!', a name for each layer.
func splitLayers(input string, off int, part string) ([]section, error) {
	if part == "" {
		return nil, &ParseError{Input: input, Offset: off, Msg: "empty address between ';'"}
	}
	secs := splitEscaped(part)
	for _, sec := range secs {
		at := off + sec.off
		switch name, _, _ := strings.Cut(sec.text, ":"); {
		case sec.text == "":
			return nil, &ParseError{Input: input, Offset: at, Msg: "empty layer"}
		case sec.dangling:
			return nil, &ParseError{Input: input, Offset: at + sec.raw - 1, Msg: "'!' escapes nothing at the end of a layer"}
		case name == "":
			return nil, &ParseError{Input: input, Offset: at, Msg: "layer has no name"}
		case !validName(name):
			return nil, &ParseError{Input: input, Offset: at, Msg: fmt.Sprintf("layer name %q is not a name", name)}
		}
	}
	return secs, nil
}

// unknown returns secs, an alternative found at offset off of input, as
// an Unknown if p does not know the name of one of its layers.
func (p *Parser) unknown(input string, off int, secs []section) (Unknown, bool) {
	for i, sec := range secs {
		seg := splitSegment(sec.text)
		if _, ok := p.kind(seg.Name); ok {
			continue
		}
		role := "transform"
		if i == 0 {
			role = "plug"
		}
		a := make(Addr, len(secs))
		for j, sec := range secs {
			a[j] = splitSegment(sec.text)
		}
		msg := fmt.Sprintf("unknown %s %q", role, seg.Name)
		return Unknown{Addr: a, Err: &ParseError{Input: input, Offset: off + sec.off, Msg: msg}}, true
	}
	return Unknown{}, false
}
