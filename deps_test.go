package multiserver_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestImportDirection holds the packages to the layering of the design:
// the address grammar stands alone, the core knows no plug or transform,
// plugs and transforms do not know each other, and internal packages
// serve the layers without importing the core.
func TestImportDirection(t *testing.T) {
	const mod = "github.com/f7d52a8e/multiserver"
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg, imports := strings.TrimPrefix(fields[0], mod), fields[1:]
		for _, imp := range imports {
			if !strings.HasPrefix(imp, mod) {
				continue
			}
			if why := forbidden(pkg, strings.TrimPrefix(imp, mod)); why != "" {
				t.Errorf("%s imports %s: %s", fields[0], imp, why)
			}
		}
	}
}

func forbidden(pkg, imp string) string {
	layer := func(p string) string {
		for _, l := range []string{"/address", "/plugs", "/transforms", "/mux", "/cmd", "/internal", "/keys"} {
			if p == l || strings.HasPrefix(p, l+"/") {
				return l
			}
		}
		if p == "" {
			return "core"
		}
		return p
	}
	from, to := layer(pkg), layer(imp)
	switch {
	case from == "/address":
		return "the grammar stands alone"
	case from == "core" && to != "/address" && to != "/internal":
		return "the core knows no transport, cipher or command"
	case from == "/transforms" && to == "/plugs", from == "/plugs" && to == "/transforms":
		return "ciphers and transports do not know each other"
	case from == "/plugs" && to == "/plugs" && plugOf(pkg) != plugOf(imp):
		return "plugs do not import plugs"
	case from == "/transforms" && to == "/transforms":
		return "transforms do not import transforms"
	case to == "/cmd":
		return "libraries never import the command"
	case from == "/internal" && to == "core":
		return "internals serve the layers, not the other way"
	}
	return ""
}

// plugOf returns the plug a package under /plugs belongs to,
// "/plugs/NAME": a plug's own packages (plugs/relay/relayserver,
// plugs/relay/internal/wire) may import each other.
func plugOf(p string) string {
	parts := strings.SplitN(p, "/", 4) // "", "plugs", NAME, rest
	return strings.Join(parts[:min(len(parts), 3)], "/")
}

// TestClientBuildsForWasm holds the client side, the ws plug included, to
// GOOS=js GOARCH=wasm so that a browser can run it: nothing in it may pull
// in a package that does not build there.
func TestClientBuildsForWasm(t *testing.T) {
	if testing.Short() {
		t.Skip("builds for another platform")
	}
	cmd := exec.Command("go", "build", "-o", "/dev/null",
		".", "./address", "./keys", "./plugs/mem", "./transforms/shs", "./transforms/noise", "./transforms/noauth", "./mux/yamux", "./plugs/ws", "./plugs/relay")
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("GOOS=js GOARCH=wasm go build: %v\n%s", err, out)
	}
}
