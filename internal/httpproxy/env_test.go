package httpproxy

import (
	"strings"
	"testing"
)

func TestUseProxy(t *testing.T) {
	tests := []struct {
		name, addr, noProxy string
		want                bool
	}{
		{"empty", "example.org:8008", "", true},
		{"localhost", "localhost:8008", "", false},
		{"loopback v4", "127.0.0.2:8008", "", false},
		{"loopback v6", "[::1]:8008", "", false},
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := useProxy(tt.addr, tt.noProxy); got != tt.want {
				t.Errorf("useProxy(%q, %q) = %v, want %v", tt.addr, tt.noProxy, got, tt.want)
			}
		})
	}
}

func TestFromEnvironment(t *testing.T) {
	for _, v := range []string{"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"} {
		t.Setenv(v, "")
	}
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
}

func TestForScheme(t *testing.T) {
	for _, v := range []string{"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"} {
		t.Setenv(v, "")
	}
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
