package address

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strings"
)

type role int

const (
	rolePlug role = iota
	roleTransform
	roleMuxer
)

// A kind says what one layer name is and which fields it takes.
type kind struct {
	role  role
	check func(Segment) error
}

var kinds = map[string]kind{
	"net":    {rolePlug, checkHostPort},
	"onion":  {rolePlug, checkHostPort},
	"unix":   {rolePlug, checkUnix},
	"ws":     {rolePlug, checkURL},
	"wss":    {rolePlug, checkURL},
	"mem":    {rolePlug, checkMem},
	"quic":   {rolePlug, checkQUIC},
	"shs":    {roleTransform, checkKeys(2)},
	"noise":  {roleTransform, checkKeys(1)},
	"noauth": {roleTransform, checkNoFields},
	"yamux":  {roleMuxer, checkNoFields},
}

// Kinds returns the layer names this package parses: the plugs, and the
// transforms (muxers included), each sorted.
func Kinds() (plugs, transforms []string) {
	for name, k := range kinds {
		if k.role == rolePlug {
			plugs = append(plugs, name)
		} else {
			transforms = append(transforms, name)
		}
	}
	slices.Sort(plugs)
	slices.Sort(transforms)
	return plugs, transforms
}

// check reports what is wrong with s as the layer at position i.
func (p *Parser) check(s Segment, i int) error {
	k, ok := p.kind(s.Name)
	switch {
	case s.Name == "":
		return errors.New("layer has no name")
	case !ok && i == 0:
		return fmt.Errorf("unknown plug %q", s.Name)
	case !ok:
		return fmt.Errorf("unknown transform %q", s.Name)
	case i == 0 && k.role != rolePlug:
		return fmt.Errorf("%q is not a plug; an address starts with one", s.Name)
	case i > 0 && k.role == rolePlug:
		return fmt.Errorf("plug %q after the first layer", s.Name)
	}
	// Parse never yields these, but a Segment built by hand may hold them.
	if j := strings.IndexFunc(s.String(), func(r rune) bool { return r == ';' || isControl(r) }); j >= 0 {
		return fmt.Errorf("character %q is not allowed in an address", s.String()[j])
	}
	if err := k.check(s); err != nil {
		return fmt.Errorf("%s: %w", s.Name, err)
	}
	return nil
}

// kind returns what name is: a known kind, or one the Parser was told of.
func (p *Parser) kind(name string) (kind, bool) {
	if k, ok := kinds[name]; ok {
		return k, true
	}
	if p == nil || !validName(name) {
		return kind{}, false
	}
	for _, n := range p.Plugs {
		if n == name {
			return kind{rolePlug, anyFields}, true
		}
	}
	for _, n := range p.Transforms {
		if n == name {
			return kind{roleTransform, anyFields}, true
		}
	}
	return kind{}, false
}

func anyFields(Segment) error { return nil }

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

func checkNoFields(s Segment) error {
	if s.Fields != nil {
		return fmt.Errorf("takes no fields, got %q", s.Value())
	}
	return nil
}

func checkMem(s Segment) error {
	if len(s.Fields) != 1 || s.Fields[0] == "" {
		return errors.New("want mem:NAME")
	}
	return nil
}

func checkUnix(s Segment) error {
	if s.Value() == "" {
		return errors.New("want unix:PATH")
	}
	return nil
}

func checkHostPort(s Segment) error {
	host, _, err := HostPort(s)
	if err == nil && host == "" && s.Name != "net" {
		return fmt.Errorf("want %s:HOST:PORT", s.Name)
	}
	return err
}

// HostPort returns the host and port of a "net" or "onion" segment: the
// port is the last field and the host the fields before it, so IPv6 hosts
// appear unbracketed ("net:fe80::1:8008"). An IPv6 zone ("%eth0") is kept.
// An empty host is returned as is; the JavaScript net plug reads it as
// "localhost".
func HostPort(s Segment) (host string, port int, err error) {
	if len(s.Fields) < 2 {
		return "", 0, fmt.Errorf("want %s:HOST:PORT", s.Name)
	}
	host = strings.Join(s.Fields[:len(s.Fields)-1], ":")
	port, err = parsePort(s.Fields[len(s.Fields)-1])
	if err != nil {
		return "", 0, err
	}
	if err := checkHost(host); err != nil {
		return "", 0, err
	}
	return host, port, nil
}

// checkHost accepts an IP literal (IPv6 unbracketed, with an optional zone)
// or a DNS name.
func checkHost(h string) error {
	if h == "" {
		return nil
	}
	if strings.HasPrefix(h, "[") {
		return fmt.Errorf("host %q: write IPv6 hosts without brackets", h)
	}
	if strings.Contains(h, ":") {
		a, err := netip.ParseAddr(h)
		if err != nil || !a.Is6() {
			return fmt.Errorf("host %q is not an IPv6 address", h)
		}
		return checkZone(h, a.Zone())
	}
	return checkName(h)
}

// checkZone accepts an empty IPv6 zone or one made of letters, digits,
// '-', '.' and '_', such as "eth0" or "3".
func checkZone(h, zone string) error {
	for i := 0; i < len(zone); i++ {
		if c := zone[i]; !isAlnum(c) && c != '-' && c != '.' && c != '_' {
			return fmt.Errorf("host %q: character %q is not allowed in a zone", h, c)
		}
	}
	return nil
}

// checkName accepts an IPv4 address or a DNS name: dot-separated labels of
// letters, digits, '-' and '_', with an optional final dot. A name whose
// last label is all digits must be an IPv4 address.
func checkName(h string) error {
	if len(h) > 253 {
		return fmt.Errorf("host %q is too long", h)
	}
	if i := strings.IndexFunc(h, func(r rune) bool { return r >= 0x80 }); i >= 0 {
		return fmt.Errorf("host %q is not ASCII; write international names in punycode", h)
	}
	labels := strings.Split(strings.TrimSuffix(h, "."), ".")
	for _, label := range labels {
		if label == "" || len(label) > 63 {
			return fmt.Errorf("host %q has an empty or overlong label", h)
		}
		for i := 0; i < len(label); i++ {
			if c := label[i]; !isAlnum(c) && c != '-' && c != '_' {
				return fmt.Errorf("host %q: character %q is not allowed", h, c)
			}
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		if a, err := netip.ParseAddr(h); err != nil || !a.Is4() {
			return fmt.Errorf("host %q is not an IPv4 address", h)
		}
	}
	return nil
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// isControl reports whether r is an ASCII control character, which no
// address may hold.
func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

func checkQUIC(s Segment) error {
	_, _, _, err := HostPortKey(s)
	return err
}

// maxPortLen is the longest port field: five digits. A key is 43 or 44
// characters, so the length of the last field of a quic segment says
// which of the two it is.
const maxPortLen = 5

// HostPortKey returns the host, port and key of a "quic" segment,
// "quic:HOST:PORT:KEY". The key is the last field, the port the one
// before it and the host everything before that, so IPv6 hosts appear
// unbracketed as in "net" ("quic:::1:8008:KEY"). In a listen address the
// key may be left out ("quic:0.0.0.0:0"); key is then nil. A last field
// of at most five characters is the port, a longer one the key, which
// must decode to [KeySize] bytes. The host must not be empty.
func HostPortKey(s Segment) (host string, port int, key []byte, err error) {
	const want = "want quic:HOST:PORT[:KEY]"
	f := s.Fields
	if n := len(f); n > 0 && len(f[n-1]) > maxPortLen {
		if key, err = decodeKey(f[n-1]); err != nil {
			return "", 0, nil, err
		}
		f = f[:n-1]
	}
	if len(f) < 2 {
		return "", 0, nil, errors.New(want)
	}
	host = strings.Join(f[:len(f)-1], ":")
	if port, err = parsePort(f[len(f)-1]); err != nil {
		return "", 0, nil, err
	}
	if host == "" {
		return "", 0, nil, errors.New(want)
	}
	if err := checkHost(host); err != nil {
		return "", 0, nil, err
	}
	return host, port, key, nil
}

func checkURL(s Segment) error {
	_, err := URL(s)
	return err
}

// URL returns a "ws" or "wss" segment as a URL. The host is required; an
// IPv6 host is bracketed ("ws://[::1]:8989", "ws://[fe80::1%25eth0]"); a
// path and query are kept. User information and fragments are refused.
func URL(s Segment) (*url.URL, error) {
	if len(s.Fields) == 0 || !strings.HasPrefix(s.Fields[0], "//") {
		return nil, fmt.Errorf("want %s://HOST[:PORT][/PATH]", s.Name)
	}
	raw := s.String()
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("bad URL: %w", err)
	}
	switch {
	case u.Hostname() == "":
		return nil, errors.New("URL has no host")
	case u.User != nil:
		return nil, errors.New("URL must not carry user information")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return nil, errors.New("URL must not have a fragment")
	}
	if p := u.Port(); p != "" {
		if _, err := parsePort(p); err != nil {
			return nil, err
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return nil, errors.New("URL has an empty port")
	}
	h := u.Hostname()
	if strings.Contains(h, ":") && !strings.HasPrefix(u.Host, "[") {
		return nil, fmt.Errorf("IPv6 host %q must be bracketed in a URL", h)
	}
	if err := checkHost(h); err != nil {
		return nil, err
	}
	return u, nil
}

// checkKeys accepts up to max fields, each a base64 32-byte key, or none
// (the form used in listen addresses before the key is known).
func checkKeys(max int) func(Segment) error {
	return func(s Segment) error {
		if len(s.Fields) > max {
			return fmt.Errorf("has %d fields, want at most %d", len(s.Fields), max)
		}
		for i, f := range s.Fields {
			what := fmt.Sprintf("key %q", f)
			if i == secretFrom(s) {
				what = "seed" // shown nowhere, not even when it is wrong
			}
			if _, err := decodeKeyAs(f, what); err != nil {
				return err
			}
		}
		return nil
	}
}
