package hyperswarm_test

import (
	"fmt"
	"io"
	"os"
	"testing"

	"github.com/f7d52a8e/multiserver/address"
)

// TestExample runs Example against the local testnet's relay and echo
// peer, and checks what it prints, as go test checks an Example's
// output.
func TestExample(t *testing.T) {
	hs := sharedNet(t)
	oldRelay, oldKey := relayURL, peerKey
	relayURL, peerKey = hs.Relay, address.EncodeKey(hs.PublicKey)
	defer func() { relayURL, peerKey = oldRelay, oldKey }()
	got := captureStdout(t, Example)
	if want := fmt.Sprintf("connected to %x\n", []byte(hs.PublicKey)); got != want {
		t.Fatalf("Example printed %q, want %q", got, want)
	}
}

// captureStdout returns what f writes to os.Stdout.
func captureStdout(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	stdout := os.Stdout
	os.Stdout = w
	out := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(r)
		out <- string(b)
	}()
	func() {
		defer func() { os.Stdout = stdout }()
		f()
	}()
	w.Close()
	return <-out
}
