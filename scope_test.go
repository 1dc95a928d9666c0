package multiserver_test

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
)

func TestAdvertiseHosts(t *testing.T) {
	const (
		dev = multiserver.ScopeDevice
		loc = multiserver.ScopeLocal
		pub = multiserver.ScopePublic
	)
	ext := []string{"ex.org", "203.0.113.7"}
	tests := []struct {
		name     string
		scope    multiserver.Scope
		bind     string
		external []string
		want     []string
	}{
		{"loopback on device", dev, "127.0.0.1", nil, []string{"127.0.0.1"}},
		{"loopback elsewhere", loc, "127.0.0.1", nil, nil},
		{"ipv6 loopback", dev, "::1", nil, []string{"::1"}},
		{"private in local", loc, "192.168.1.5", nil, []string{"192.168.1.5"}},
		{"private on device", dev, "192.168.1.5", nil, []string{"192.168.1.5"}},
		{"private in public", pub, "192.168.1.5", nil, nil},
		{"global in public", pub, "203.0.113.9", nil, []string{"203.0.113.9"}},
		{"zone dropped", loc, "fe80::1%eth0", nil, []string{"fe80::1"}},
		{"localhost on device", dev, "localhost", nil, []string{"localhost"}},
		{"localhost elsewhere", loc, "localhost", nil, nil},
		{"empty on device", dev, "", nil, []string{"localhost"}},
		{"empty in public", pub, "", nil, nil},
		{"name everywhere", loc, "ex.org", nil, []string{"ex.org"}},
		{"external in public", pub, "127.0.0.1", ext, ext},
		{"external not on device", dev, "127.0.0.1", ext, []string{"127.0.0.1"}},
		{"external not in local", loc, "localhost", ext, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := multiserver.AdvertiseHosts(tt.scope, tt.bind, tt.external)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("AdvertiseHosts(%v, %q, %q) = %q, want %q", tt.scope, tt.bind, tt.external, got, tt.want)
			}
		})
	}
}

func TestAdvertiseHostsUnspecified(t *testing.T) {
	for _, scope := range []multiserver.Scope{multiserver.ScopeDevice, multiserver.ScopeLocal, multiserver.ScopePublic} {
		var want []string
		for _, a := range multiserver.ScopeAddrs(scope, netip.IPv6Unspecified()) {
			want = append(want, a.String())
		}
		if got := multiserver.AdvertiseHosts(scope, "::", nil); !slices.Equal(got, want) {
			t.Errorf("AdvertiseHosts(%v, \"::\", nil) = %q, want %q", scope, got, want)
		}
	}
}

func TestDeviceOnly(t *testing.T) {
	seg := address.Segment{Name: "mem", Fields: []string{"a"}}
	if got := multiserver.DeviceOnly(multiserver.ScopeDevice, seg); len(got) != 1 || got[0].String() != "mem:a" {
		t.Errorf("DeviceOnly(device) = %v", got)
	}
	for _, scope := range []multiserver.Scope{multiserver.ScopeLocal, multiserver.ScopePublic} {
		if got := multiserver.DeviceOnly(scope, seg); got != nil {
			t.Errorf("DeviceOnly(%v) = %v, want nil", scope, got)
		}
	}
}
