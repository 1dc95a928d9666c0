package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDeployUsesRealFlags reads the deployment files in deploy/ and
// checks that every flag they give the relay command is one it has, so
// that they do not rot as the command changes.
func TestDeployUsesRealFlags(t *testing.T) {
	help := runCLI(t, nil, "relay", "--help")
	files, _ := filepath.Glob("../../deploy/*")
	more, _ := filepath.Glob("../../deploy/*/*")
	files = append(files, more...)
	flag := regexp.MustCompile(`(?:^|[\s"'\[,])--([a-z][a-z-]*)`)
	checked := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // a directory
		}
		for _, m := range flag.FindAllStringSubmatch(string(b), -1) {
			name := m[1]
			if name == "from" || name == "now" { // COPY --from, systemctl --now
				continue
			}
			checked++
			if !strings.Contains(help.stderr+string(help.stdout), "-"+name+" ") && !strings.Contains(help.stderr+string(help.stdout), "-"+name+"\n") {
				t.Errorf("%s gives --%s, which multiserver relay does not have", filepath.Base(f), name)
			}
		}
	}
	if checked < 8 {
		t.Errorf("checked %d flags in %d files: the deployment files moved?", checked, len(files))
	}
}
