//go:build linux

// Package netlab builds network labs for tests: named network namespaces
// joined by veth pairs, with routers and NAT made by iptables inside
// them. Both ends of every link are made inside the lab's namespaces, so
// nothing is added to, or routed through, the host's own network.
//
// It needs root and iproute2 (and iptables for NAT). Without them a test
// is skipped, or fails when MULTISERVER_INTEROP=1 (CI).
package netlab

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

// Strict reports whether a missing lab tool fails a test instead of
// skipping it. CI sets MULTISERVER_INTEROP=1 (scripts/test.sh).
var Strict = os.Getenv("MULTISERVER_INTEROP") == "1"

// Unavailable skips t, or fails it under MULTISERVER_INTEROP=1, because
// the lab cannot be built for the reason why.
func Unavailable(t testing.TB, why string) {
	t.Helper()
	const how = "run as root with iproute2 and iptables installed (scripts/test.sh does)"
	if Strict {
		t.Fatalf("MULTISERVER_INTEROP=1 but the network lab is unavailable: %s; %s", why, how)
	}
	t.Skipf("network lab unavailable (%s); %s, or set MULTISERVER_INTEROP=1 to make this a failure", why, how)
}

// Require checks for root and the named tools ("ip" always).
func Require(t testing.TB, tools ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		Unavailable(t, "not root")
	}
	for _, tool := range append([]string{"ip"}, tools...) {
		if _, err := exec.LookPath(tool); err != nil {
			Unavailable(t, "no "+tool+" command")
		}
	}
}

var count atomic.Int32

// Prefix returns a prefix for namespace names unique to this process and
// call: tag, the process id, a count.
func Prefix(tag string) string {
	return fmt.Sprintf("%s%d-%d", tag, os.Getpid(), count.Add(1))
}

// A Namespace is a named network namespace of a lab.
type Namespace struct {
	Name string
	file *os.File // its handle, for setns
}

// New makes a network namespace with its loopback up, and removes it
// when the test ends, failed or not (its veth ends go with it).
func New(t testing.TB, name string) *Namespace {
	t.Helper()
	ns := &Namespace{Name: name}
	// Registered before it exists, so that a half-made one goes too.
	t.Cleanup(func() {
		if ns.file != nil {
			ns.file.Close()
		}
		exec.Command("ip", "netns", "del", name).Run()
	})
	if err := Run("ip", "netns", "add", name); err != nil {
		Unavailable(t, err.Error())
	}
	if err := Run("ip", "-n", name, "link", "set", "lo", "up"); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("/run/netns/" + name)
	if err != nil {
		t.Fatal(err)
	}
	ns.file = f
	return ns
}

// Link joins a (interface aIf, address aAddr in CIDR form) and b with a
// veth pair, both ends up.
func Link(t testing.TB, a *Namespace, aIf, aAddr string, b *Namespace, bIf, bAddr string) {
	t.Helper()
	steps := [][]string{
		{"ip", "link", "add", aIf, "netns", a.Name, "type", "veth", "peer", "name", bIf, "netns", b.Name},
		{"ip", "-n", a.Name, "addr", "add", aAddr, "dev", aIf},
		{"ip", "-n", a.Name, "link", "set", aIf, "up"},
		{"ip", "-n", b.Name, "addr", "add", bAddr, "dev", bIf},
		{"ip", "-n", b.Name, "link", "set", bIf, "up"},
	}
	for _, s := range steps {
		if err := Run(s...); err != nil {
			t.Fatal(err)
		}
	}
}

// Exec runs a command inside ns ("ip netns exec").
func (ns *Namespace) Exec(args ...string) error {
	return Run(append([]string{"ip", "netns", "exec", ns.Name}, args...)...)
}

// Do runs f in the namespace. A socket belongs to the namespace it was
// made in for good, whichever thread uses it later, so a server and a
// client can share a test process while their sockets live in
// different namespaces. The namespace is a property of the OS thread,
// so f runs on a goroutine locked to a thread that enters the namespace
// and leaves it again; if leaving fails, the goroutine exits still
// locked, and the runtime discards that thread.
func (ns *Namespace) Do(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		home, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer home.Close()
		if err := setns(ns.file); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("entering %s: %w", ns.Name, err)
			return
		}
		ferr := f()
		if err := setns(home); err != nil {
			errc <- fmt.Errorf("leaving %s: %w", ns.Name, err)
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// ListenPacket opens a packet socket in ns.
func (ns *Namespace) ListenPacket(ctx context.Context, network, address string) (net.PacketConn, error) {
	var pc net.PacketConn
	err := ns.Do(func() (err error) {
		pc, err = (&net.ListenConfig{}).ListenPacket(ctx, network, address)
		return err
	})
	return pc, err
}

func setns(f *os.File) error { return unix.Setns(int(f.Fd()), unix.CLONE_NEWNET) }

// Run runs a command, with its output in the error if it fails.
func Run(args ...string) error {
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}
