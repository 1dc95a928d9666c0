package address

import (
	"errors"
	"fmt"
	"strings"
)

// A Role says where a layer stands in an address.
type Role int

const (
	// Plug is the role of the first layer, the transport: "net", "ws".
	Plug Role = iota
	// Transform is the role of a layer after the plug that upgrades its
	// connection: "shs", "noise", "noauth".
	Transform
	// Muxer is the role of a transform that must be the last layer,
	// since nothing can be layered over many streams: "yamux".
	Muxer
)

// anyRole is the role of a layer a Parser with no Kinds reads: it may
// stand anywhere.
const anyRole Role = -1

var roleNames = [...]string{"plug", "transform", "muxer"}

func (r Role) String() string {
	if r < 0 || int(r) >= len(roleNames) {
		return fmt.Sprintf("Role(%d)", int(r))
	}
	return roleNames[r]
}

// A Kind is the grammar of one layer name: where the layer stands and
// which fields it takes. Each plug, transform and muxer package gives
// its own (tcp.Kind, shs.Kind), as each JavaScript multiserver plugin
// parses its own section, and a [Parser] knows the Kinds it is given.
type Kind struct {
	// Name is the layer name: a letter, then letters, digits, '+', '-'
	// and '.'.
	Name string
	// Role says where the layer stands.
	Role Role
	// Check reports what is wrong with s, a segment named Name. Its
	// error is shown after the name ("shs: key \"x\" is not base64") and
	// must not quote a secret field (see [Segment.Redacted]). If nil,
	// any fields are accepted.
	Check func(s Segment) error
}

// kind returns what name is to p: one of its Kinds or, for a Parser
// with none, a layer that may stand anywhere with any fields.
func (p *Parser) kind(name string) (Kind, bool) {
	if !validName(name) {
		return Kind{}, false
	}
	if p == nil || len(p.Kinds) == 0 {
		return Kind{Name: name, Role: anyRole}, true
	}
	for _, k := range p.Kinds {
		if k.Name == name {
			return k, true
		}
	}
	return Kind{}, false
}

// check reports what is wrong with s as the layer at position i.
func (p *Parser) check(s Segment, i int) error {
	k, ok := p.kind(s.Name)
	switch {
	case s.Name == "":
		return errors.New("layer has no name")
	case !ok && (p == nil || len(p.Kinds) == 0):
		return fmt.Errorf("layer name %q is not a name", s.Name)
	case !ok && i == 0:
		return fmt.Errorf("unknown plug %q", s.Name)
	case !ok:
		return fmt.Errorf("unknown transform %q", s.Name)
	case i == 0 && k.Role != Plug && k.Role != anyRole:
		return fmt.Errorf("%q is not a plug; an address starts with one", s.Name)
	case i > 0 && k.Role == Plug:
		return fmt.Errorf("plug %q after the first layer", s.Name)
	}
	// Parse never yields these, but a Segment built by hand may hold them.
	if j := strings.IndexFunc(s.String(), func(r rune) bool { return r == ';' || isControl(r) }); j >= 0 {
		return fmt.Errorf("character %q is not allowed in an address", s.String()[j])
	}
	if k.Check != nil {
		if err := k.Check(s); err != nil {
			return fmt.Errorf("%s: %w", s.Name, err)
		}
	}
	return nil
}

// validName accepts what URL schemes may be: a letter, then letters,
// digits, '+', '-' and '.'.
func validName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return s != ""
}
