package address

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// HostPort returns the host and port of a segment written
// NAME:HOST:PORT, as "net" and "onion" are: the port is the last field
// and the host the fields before it, so IPv6 hosts appear unbracketed
// ("net:fe80::1:8008"). An IPv6 zone ("%eth0") is kept. An empty host is
// returned as is; the JavaScript net plug reads it as "localhost".
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

// maxPortLen is the longest port field: five digits. A key is 43 or 44
// characters, so the length of the last field of a HOST:PORT[:KEY]
// segment says which of the two it is.
const maxPortLen = 5

// HostPortKey returns the host, port and key of a segment written
// NAME:HOST:PORT[:KEY], as "quic" is: a plug that authenticates the peer
// itself carries its key. The key is the last field, the port the one
// before it and the host everything before that, so IPv6 hosts appear
// unbracketed as in "net" ("quic:::1:8008:KEY"). In a listen address the
// key may be left out ("quic:0.0.0.0:0"); key is then nil. A last field
// of at most five characters is the port, a longer one the key, which
// must decode to [KeySize] bytes. The host must not be empty.
func HostPortKey(s Segment) (host string, port int, key []byte, err error) {
	want := fmt.Sprintf("want %s:HOST:PORT[:KEY]", s.Name)
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

// URL returns a segment written as a URL, as "ws" and "wss" are. The
// host is required; an IPv6 host is bracketed ("ws://[::1]:8989",
// "ws://[fe80::1%25eth0]"); a path and query are kept. User information
// and fragments are refused.
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

// InnerURL returns the URL a segment carries after its name, as a relay
// or an HTTP bridge segment does ("relay:wss://r.example/ms",
// "sse:https://h.example/ms"): the URL's scheme must be one of schemes,
// and the URL follows the rules of [URL].
func InnerURL(s Segment, schemes ...string) (*url.URL, error) {
	if len(s.Fields) < 2 {
		return nil, fmt.Errorf("want %s:%s://HOST[:PORT][/PATH]", s.Name, strings.Join(schemes, "|"))
	}
	if !slices.Contains(schemes, s.Fields[0]) {
		return nil, fmt.Errorf("URL scheme %q, want %s", s.Fields[0], strings.Join(schemes, ", "))
	}
	return URL(Segment{Name: s.Fields[0], Fields: s.Fields[1:]})
}

// CheckKeys reports what is wrong with s as a layer of keys, such as
// "shs:KEY:SEED" or "noise:KEY": it must have at most max fields, each
// a key as [DecodeKey] reads it, or none (the form of listen addresses,
// before the key is known). Its errors do not quote a field that
// [Segment.Redacted] hides.
func CheckKeys(s Segment, max int) error {
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

// parsePort parses a decimal TCP or UDP port, 0 to 65535.
func parsePort(s string) (int, error) {
	if s == "" || len(s) > 5 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("port %q is not a number from 0 to 65535", s)
	}
	p, _ := strconv.Atoi(s)
	if p > 65535 {
		return 0, fmt.Errorf("port %q is not a number from 0 to 65535", s)
	}
	return p, nil
}
