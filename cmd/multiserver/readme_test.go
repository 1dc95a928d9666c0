package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadmeInstall checks that the README's Command section builds the
// command from a checkout: the module is not published, so a "go install
// MODULE/cmd/multiserver@latest" cannot work.
func TestReadmeInstall(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Command\n")
	if !ok {
		t.Fatal("README.md has no Command section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var builds int
	for line := range strings.Lines(section) {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "go" || (f[1] != "install" && f[1] != "build") {
			continue
		}
		builds++
		for _, arg := range f[2:] {
			if arg == "#" {
				break
			}
			if strings.Contains(arg, "@") || strings.Contains(arg, "github.com/") {
				t.Errorf("README: %q fetches the module, which is not published; build from the checkout", strings.TrimSpace(line))
			}
			if strings.HasPrefix(arg, "./") {
				if _, err := os.Stat(filepath.Join("..", "..", arg)); err != nil {
					t.Errorf("README: %q: %v", strings.TrimSpace(line), err)
				}
			}
		}
	}
	if builds == 0 {
		t.Error("README's Command section says nowhere how to build the command")
	}
}

// TestReadmeObserving checks that the outputs of doctor, ping and
// stacks shown in the README have the shape the command prints now:
// each table's header and each summary line is what the code writes.
func TestReadmeObserving(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n### Seeing what the network does\n")
	if !ok {
		t.Fatal("README.md has no section on seeing what the network does")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var stacks strings.Builder
	printStacks(&stacks, stacksJSON{})
	var doctor strings.Builder
	printAlt(&doctor, altReport{Address: "net:h:1", Layers: []string{"net:h:1"}, Stack: "net", Proxy: "none", Steps: []stepJSON{{Layer: "net"}}})
	var ping strings.Builder
	summary(&ping, 3, 3, 1, 2, 3)
	want := map[string]string{
		"stacks table header": strings.Join(strings.Fields(strings.SplitN(stacks.String(), "\n", 2)[0]), " "),
		"doctor table header": strings.Join(strings.Fields(strings.Split(doctor.String(), "\n")[4]), " "),
		"doctor layers line":  "  layers      ",
		"doctor stack line":   "  this side   ",
		"doctor proxy line":   "  proxy       ",
		"ping summary":        strings.SplitN(ping.String(), ";", 2)[0][:len("--- 3 sent, 3 received, 0% lost")],
	}
	words := strings.Join(strings.Fields(section), " ")
	for what, w := range want {
		if !strings.Contains(section, w) && !strings.Contains(words, w) {
			t.Errorf("README: no %s %q, as the command prints it", what, w)
		}
	}
	for _, line := range []string{"=> connected in ", "=> failed at net after ", "=> NAT: ", "relayed, over ws", "draining, dropped in "} {
		if !strings.Contains(section, line) {
			t.Errorf("README: the outputs shown lack %q", line)
		}
	}
}
