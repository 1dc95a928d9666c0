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
