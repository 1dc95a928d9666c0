package secretbox

import (
	"bytes"
	"os"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/cpu"
)

// The selection of the assembly (Go's assembly policy,
// https://go.dev/wiki/AssemblyPolicy, asks for a test that it runs where
// it can). FuzzSalsa16 (salsa_test.go) and FuzzPolyVec (poly_test.go)
// check it against its Go references.

// godebugDisables reports whether GODEBUG turns AVX-512F off for
// x/sys/cpu: cpu.avx512f=off or cpu.all=off, the last setting winning.
func godebugDisables() bool {
	off := false
	for _, kv := range strings.Split(os.Getenv("GODEBUG"), ",") {
		switch strings.TrimSpace(kv) {
		case "cpu.avx512f=off", "cpu.all=off":
			off = true
		case "cpu.avx512f=on":
			off = false
		}
	}
	return off
}

// TestAssemblySelected fails where the CPU has what the assembly needs
// (AVX-512F, per x/sys/cpu) and the package did not select it, and where
// Seal and Open run the batched code without the assembly, which is
// slower than the fallback. It skips under purego and where GODEBUG turns
// AVX-512F off, after checking that x/sys/cpu and the selection followed
// GODEBUG. On Linux it also checks x/sys/cpu against /proc/cpuinfo, so
// that a CPU with AVX-512 is not taken for one without.
func TestAssemblySelected(t *testing.T) {
	if useBatch != useAVX512 {
		t.Fatalf("batched code selected = %v, assembly selected = %v: the batched code runs with the assembly, the fallback without", useBatch, useAVX512)
	}
	if !asmBuilt {
		if useAVX512 {
			t.Fatal("assembly selected in a build without it")
		}
		t.Skipf("no assembly in this build (%s, purego or not amd64): the fallback runs", runtime.GOARCH)
	}
	if godebugDisables() {
		if cpu.X86.HasAVX512F || useAVX512 {
			t.Fatalf("GODEBUG=%s, yet x/sys/cpu HasAVX512F = %v, assembly selected = %v",
				os.Getenv("GODEBUG"), cpu.X86.HasAVX512F, useAVX512)
		}
		t.Skipf("GODEBUG=%s turned AVX-512F off (x/sys/cpu HasAVX512F = false); the fallback runs", os.Getenv("GODEBUG"))
	}
	if cpu.X86.HasAVX512F != useAVX512 {
		t.Fatalf("x/sys/cpu HasAVX512F = %v, but assembly selected = %v", cpu.X86.HasAVX512F, useAVX512)
	}
	if info, err := os.ReadFile("/proc/cpuinfo"); err == nil && runtime.GOOS == "linux" {
		listed := bytes.Contains(info, []byte(" avx512f"))
		if listed && !cpu.X86.HasAVX512F {
			t.Fatal("/proc/cpuinfo lists avx512f, x/sys/cpu does not: the assembly is not selected")
		}
	}
	t.Logf("x/sys/cpu HasAVX512F = %v; assembly selected = %v", cpu.X86.HasAVX512F, useAVX512)
}
