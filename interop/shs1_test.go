package interop_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// TestSHS1Suite runs the shs1-test suite (npm shs1-test 1.1.1) against
// shs1peer, in both roles: 50 handshakes each, 20 with a well-behaved peer
// and 30 with a peer that sends bad messages.
func TestSHS1Suite(t *testing.T) {
	node := requireNode(t)
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go tool not found to build shs1peer: %v", err)
	}
	peer := filepath.Join(t.TempDir(), "shs1peer")
	if out, err := exec.Command(gobin, "build", "-o", peer, "./shs1peer").CombinedOutput(); err != nil {
		t.Fatalf("go build ./shs1peer: %v\n%s", err, out)
	}
	// The suite derives its keys and faults from a seed; a fresh one per
	// run covers more cases, and SHS1_SEED replays a failure.
	seed := os.Getenv("SHS1_SEED")
	if seed == "" {
		seed = fmt.Sprint(time.Now().UnixNano())
	}
	t.Logf("shs1-test seed %s (rerun with SHS1_SEED=%[1]s)", seed)

	for _, role := range []string{"server", "client"} {
		t.Run(role, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			script := "js/node_modules/shs1-test/test-" + role + ".js"
			out, err := exec.CommandContext(ctx, node, script, peer, seed).CombinedOutput()
			if err != nil {
				t.Fatalf("shs1-test %s role (seed %s): %v (exit status = number of failed cases)\n%s", role, seed, err, out)
			}
		})
	}
}

// TestVectorsUpToDate checks that js/vectors.js, run on the pinned npm
// packages, still prints spec/vectors/shs1.json.
func TestVectorsUpToDate(t *testing.T) {
	node := requireNode(t)
	const file = "../spec/vectors/shs1.json"
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v; generate it with `node interop/js/vectors.js > spec/vectors/shs1.json`", err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(node, "js/vectors.js")
	cmd.Stderr = &stderr
	got, err := cmd.Output()
	if err != nil {
		t.Fatalf("node js/vectors.js: %v\n%s", err, stderr.Bytes())
	}
	if !sameVectors(t, got, want) {
		t.Fatalf("node interop/js/vectors.js no longer prints %s; diff them, and regenerate the file if the change is intended", file)
	}
}

// sameVectors compares two vector files, ignoring their "generator" note.
func sameVectors(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y map[string]any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("js/vectors.js output: %v", err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("spec/vectors/shs1.json: %v", err)
	}
	delete(x, "generator")
	delete(y, "generator")
	return reflect.DeepEqual(x, y)
}
