package httpproxy

import (
	"strings"
	"testing"

	xproxy "golang.org/x/net/http/httpproxy"
)

// clearEnv empties every variable the package reads.
func clearEnv(t *testing.T) {
	t.Helper()
	for _, v := range []string{"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy", "REQUEST_METHOD"} {
		t.Setenv(v, "")
	}
}

func TestNoProxy(t *testing.T) {
	tests := []struct {
		name, addr, noProxy string
		want                bool
	}{
		{"empty", "example.org:8008", "", true},
		{"localhost", "localhost:8008", "", false},
		{"localhost in capitals", "LocalHost:8008", "", false},
		{"loopback v4", "127.0.0.2:8008", "", false},
		{"loopback v6", "[::1]:8008", "", false},
		{"loopback v4 in v6", "[::ffff:127.0.0.1]:8008", "", false},
		{"star", "example.org:8008", "*", false},
		{"name", "example.org:8008", "example.org", false},
		{"subdomain", "a.example.org:8008", "example.org", false},
		{"other name", "example.com:8008", "example.org", true},
		{"suffix is not a subdomain", "badexample.org:8008", "example.org", true},
		{"dot: subdomains only", "example.org:8008", ".example.org", true},
		{"dot: subdomain", "a.example.org:8008", ".example.org", false},
		{"star dot", "a.example.org:8008", "*.example.org", false},
		{"name and port", "example.org:8008", "example.org:8008", false},
		{"name, other port", "example.org:443", "example.org:8008", true},
		{"case", "Example.ORG:8008", " EXAMPLE.org ", false},
		{"ip", "192.0.2.7:8008", "192.0.2.7", false},
		{"ip and port", "192.0.2.7:8008", "192.0.2.7:8008", false},
		{"ip, other port", "192.0.2.7:8008", "192.0.2.7:443", true},
		{"cidr", "192.0.2.7:8008", "10.0.0.0/8, 192.0.2.0/24", false},
		{"cidr miss", "198.51.100.1:8008", "192.0.2.0/24", true},
		{"v6", "[2001:db8::1]:8008", "[2001:db8::1]:8008", false},
		{"v6 cidr", "[2001:db8::1]:8008", "2001:db8::/32", false},
		{"name vs ip", "192.0.2.7:8008", "example.org", true},
		{"list", "b.example:1", "a.example,,b.example", false},
		// net/http compares international names in punycode.
		{"idna", "xn--bcher-kva.example:443", "bücher.example", false},
		{"no port", "example.org", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &xproxy.Config{HTTPSProxy: "http://proxy.example:3128", NoProxy: tt.noProxy}
			u, err := forScheme(cfg, "net", tt.addr)
			if err != nil {
				t.Fatal(err)
			}
			if got := u != nil; got != tt.want {
				t.Errorf("%s with NO_PROXY=%q: proxied %v, want %v", tt.addr, tt.noProxy, got, tt.want)
			}
		})
	}
}

func TestFromEnvironment(t *testing.T) {
	clearEnv(t)
	get := func(addr string) string {
		t.Helper()
		u, err := FromEnvironment(addr)
		if err != nil {
			t.Fatalf("FromEnvironment(%q): %v", addr, err)
		}
		if u == nil {
			return ""
		}
		return u.String()
	}
	t.Setenv("HTTP_PROXY", "http://plain.example:3128")
	if got := get("example.org:8008"); got != "" {
		t.Errorf("with only HTTP_PROXY set: %q, want none (a tunnel uses HTTPS_PROXY)", got)
	}
	t.Setenv("HTTPS_PROXY", "http://u:p@proxy.example:3128")
	if got := get("example.org:8008"); got != "http://u:p@proxy.example:3128" {
		t.Errorf("with HTTPS_PROXY set: %q", got)
	}
	if got := get("127.0.0.1:8008"); got != "" {
		t.Errorf("loopback: %q, want none", got)
	}
	t.Setenv("https_proxy", "proxy2.example:8080")
	if got := get("example.org:8008"); got != "http://proxy2.example:8080" {
		t.Errorf("https_proxy without scheme: %q, want it as http:// and before HTTPS_PROXY", got)
	}
	t.Setenv("NO_PROXY", "example.org")
	if got := get("a.example.org:8008"); got != "" {
		t.Errorf("NO_PROXY covers it: %q, want none", got)
	}
	if got := get("example.net:8008"); got != "http://proxy2.example:8080" {
		t.Errorf("NO_PROXY does not cover it: %q", got)
	}
	t.Setenv("no_proxy", "example.net")
	if got := get("example.org:8008"); got != "http://proxy2.example:8080" {
		t.Errorf("no_proxy wins over NO_PROXY: %q, want the proxy", got)
	}
}

func TestForScheme(t *testing.T) {
	clearEnv(t)
	t.Setenv("HTTP_PROXY", "http://plain.example:3128")
	t.Setenv("HTTPS_PROXY", "http://secure.example:3128")
	t.Setenv("NO_PROXY", "inside.example")
	for _, tt := range []struct{ scheme, addr, want string }{
		{"ws", "example.org:80", "http://plain.example:3128"},
		{"http", "example.org:8080", "http://plain.example:3128"},
		{"wss", "example.org:443", "http://secure.example:3128"},
		{"https", "example.org:8443", "http://secure.example:3128"},
		{"net", "example.org:8008", "http://secure.example:3128"},
		{"ws", "inside.example:80", ""},
		{"wss", "[::1]:443", ""},
	} {
		u, err := ForScheme(tt.scheme, tt.addr)
		if err != nil {
			t.Fatalf("ForScheme(%q, %q): %v", tt.scheme, tt.addr, err)
		}
		got := ""
		if u != nil {
			got = u.String()
		}
		if got != tt.want {
			t.Errorf("ForScheme(%q, %q) = %q, want %q", tt.scheme, tt.addr, got, tt.want)
		}
	}
	t.Setenv("HTTP_PROXY", "http://proxy\x7f.example")
	if _, err := ForScheme("ws", "example.org:80"); err == nil || !strings.Contains(err.Error(), "HTTP_PROXY") {
		t.Errorf("a bad HTTP_PROXY: %v, want an error naming HTTP_PROXY", err)
	}
}

// In a CGI program a client's "Proxy:" header becomes HTTP_PROXY
// (httpoxy); net/http refuses to use it there, and so do we.
func TestForSchemeCGI(t *testing.T) {
	clearEnv(t)
	t.Setenv("REQUEST_METHOD", "GET")
	t.Setenv("HTTP_PROXY", "http://attacker.example:3128")
	t.Setenv("HTTPS_PROXY", "http://secure.example:3128")
	if u, err := ForScheme("ws", "example.org:80"); err == nil || !strings.Contains(err.Error(), "CGI") {
		t.Errorf("ForScheme(ws) in a CGI program = %v, %v; want an error saying why HTTP_PROXY is refused", u, err)
	}
	if u, err := ForScheme("wss", "example.org:443"); err != nil || u == nil || u.Host != "secure.example:3128" {
		t.Errorf("ForScheme(wss) in a CGI program = %v, %v; want HTTPS_PROXY", u, err)
	}
}

// A proxy setting that does not parse is reported by the variable's
// name: its value may hold a password.
func TestEnvironmentErrorHidesPassword(t *testing.T) {
	clearEnv(t)
	for _, name := range []string{"HTTPS_PROXY", "https_proxy"} {
		t.Setenv(name, "http://alice:s3cret-pw@proxy\x7f.example:3128")
		_, err := FromEnvironment("example.org:8008")
		if err == nil || strings.Contains(err.Error(), "s3cret-pw") || !strings.Contains(err.Error(), "HTTPS_PROXY") {
			t.Errorf("%s with a control character: error %v, want one naming HTTPS_PROXY without the password", name, err)
		}
	}
}

// FuzzForScheme feeds arbitrary proxy settings and addresses to the
// environment lookup: it must not panic, must never proxy loopback, and
// its errors must never show a password from the settings.
func FuzzForScheme(f *testing.F) {
	f.Add("http://u:p4ss@proxy.example:3128", "example.org", "example.org:8008", false)
	f.Add("proxy.example:8080", "*.example.org,10.0.0.0/8", "a.example.org:1", false)
	f.Add("http://u:p4ss@proxy\x7f.example", "", "[::1]:443", true)
	f.Add("socks5://u:p4ss@[::1]:1080", "bücher.example", "xn--bcher-kva.example:443", true)
	f.Fuzz(func(t *testing.T, proxy, noProxy, addr string, cgi bool) {
		cfg := &xproxy.Config{HTTPProxy: proxy, HTTPSProxy: proxy, NoProxy: noProxy, CGI: cgi}
		for _, scheme := range []string{"net", "ws"} {
			u, err := forScheme(cfg, scheme, addr)
			if u != nil && err != nil {
				t.Fatalf("forScheme(%q) = %v, %v; want a proxy or an error", scheme, u, err)
			}
			if host, _, _ := strings.Cut(addr, ":"); u != nil && strings.EqualFold(host, "localhost") {
				t.Fatalf("forScheme(%q, %q) proxied localhost via %v", scheme, addr, u)
			}
			if err == nil {
				continue
			}
			if pass := password(proxy); len(pass) > 3 && strings.Contains(err.Error(), pass) {
				t.Fatalf("forScheme error %q shows the password %q", err, pass)
			}
			if len(proxy) > 8 && strings.Contains(err.Error(), proxy) {
				t.Fatalf("forScheme error %q shows the setting %q", err, proxy)
			}
		}
	})
}

// password returns what a proxy setting holds between the ':' of its
// user information and the '@', read as text.
func password(proxy string) string {
	_, rest, ok := strings.Cut(proxy, "://")
	if !ok {
		rest = proxy
	}
	at := strings.LastIndexByte(rest, '@')
	if at < 0 {
		return ""
	}
	_, pass, _ := strings.Cut(rest[:at], ":")
	return pass
}
