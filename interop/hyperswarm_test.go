package interop_test

import (
	"bytes"
	"os"
	"os/exec"
	"testing"
)

// requireHyperswarm skips the test, or fails it under MULTISERVER_INTEROP=1,
// when node or the npm packages in hyperswarm/ are missing. It returns
// node's path.
func requireHyperswarm(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	for _, p := range []string{"hyperdht", "noise-handshake", "sodium-native", "@hyperswarm/secret-stream"} {
		if err == nil {
			_, err = os.Stat("hyperswarm/node_modules/" + p + "/package.json")
		}
	}
	if err != nil {
		const how = "install Node.js 20+ and run `npm ci --prefix interop/hyperswarm` from the repository root"
		if strict {
			t.Fatalf("MULTISERVER_INTEROP=1 but the Hyperswarm packages are unavailable: %v; %s", err, how)
		}
		t.Skipf("Hyperswarm packages unavailable (%v); %s, or set MULTISERVER_INTEROP=1 to make this a failure", err, how)
	}
	return node
}

// TestHyperswarmVectorsUpToDate checks that hyperswarm/vectors.js, run on
// the pinned JavaScript packages, still prints
// spec/vectors/hyperswarm_noise.json, which internal/hyperdht's tests check.
func TestHyperswarmVectorsUpToDate(t *testing.T) {
	node := requireHyperswarm(t)
	const file = "../spec/vectors/hyperswarm_noise.json"
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v; generate it with `node interop/hyperswarm/vectors.js > spec/vectors/hyperswarm_noise.json`", err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(node, "vectors.js")
	cmd.Dir = "hyperswarm"
	cmd.Stderr = &stderr
	got, err := cmd.Output()
	if err != nil {
		t.Fatalf("node hyperswarm/vectors.js: %v\n%s", err, stderr.Bytes())
	}
	if !sameVectors(t, got, want) {
		t.Fatalf("node interop/hyperswarm/vectors.js no longer prints %s; diff them, and regenerate the file if the change is intended", file)
	}
}

// TestSecretstreamVectorsJS checks with sodium-native that every message of
// spec/vectors/secretstream.json pulls to its plaintext and tag (the
// file's headers are random, so it is checked rather than regenerated).
func TestSecretstreamVectorsJS(t *testing.T) {
	node := requireHyperswarm(t)
	cmd := exec.Command(node, "secretstream-vectors.js", "--check=../../spec/vectors/secretstream.json")
	cmd.Dir = "hyperswarm"
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Equal(bytes.TrimSpace(out), []byte("ok")) {
		t.Fatalf("node hyperswarm/secretstream-vectors.js --check: %v\n%s", err, out)
	}
}

// TestDHTRelayVectorsUpToDate checks that hyperswarm/relay-vectors.js, the
// frames @hyperswarm/dht-relay 0.4.3's Protocol writes, still prints
// spec/vectors/dhtrelay.json, which internal/dhtrelay's tests check.
func TestDHTRelayVectorsUpToDate(t *testing.T) {
	node := requireHyperswarm(t)
	const file = "../spec/vectors/dhtrelay.json"
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v; generate it with `node interop/hyperswarm/relay-vectors.js > spec/vectors/dhtrelay.json`", err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(node, "relay-vectors.js")
	cmd.Dir = "hyperswarm"
	cmd.Stderr = &stderr
	got, err := cmd.Output()
	if err != nil {
		t.Fatalf("node hyperswarm/relay-vectors.js: %v\n%s", err, stderr.Bytes())
	}
	if !sameVectors(t, got, want) {
		t.Fatalf("node interop/hyperswarm/relay-vectors.js no longer prints %s; diff them, and regenerate the file if the change is intended", file)
	}
}
