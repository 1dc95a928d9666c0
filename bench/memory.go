package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Memory per idle connection is measured in a child process of its own
// (this program, run again), so that what earlier measures left behind in
// the heap and in the resident set does not blur the baseline. The child
// runs one row's server and clients, both ends in the one process:
//
//  1. start the system (libp2p: the server host and one client host per
//     connection, since a host keeps one connection per peer) and make
//     one warm-up connection;
//  2. collect garbage, return freed memory to the OS, and read the live
//     heap, VmRSS and the number of goroutines;
//  3. open n connections, each with one stream that has carried a 1-byte
//     echo and stays open, its server blocked reading;
//  4. wait 200 ms, do 2 again, and report the differences divided by n.
//
// So the figures count both ends of each connection, client and server.

// childEnv names the row a child process measures, childConns how many
// connections it opens, and childProfile, if set, where it writes a heap
// profile of them.
const (
	childEnv     = "MULTISERVER_BENCH_MEMORY_ROW"
	childConns   = "MULTISERVER_BENCH_MEMORY_CONNS"
	childProfile = "MULTISERVER_BENCH_MEMORY_PROFILE"
)

// memResult is what a child reports, per connection.
type memResult struct {
	Heap       float64 `json:"heap_kib"`
	RSS        float64 `json:"rss_kib"`
	Goroutines float64 `json:"goroutines"`
	Error      string  `json:"error,omitempty"`
}

// childMain runs the memory child or the relay child (relay.go) if this
// process is one, and reports whether it was.
func childMain() bool {
	if relayChildMain() {
		return true
	}
	name := os.Getenv(childEnv)
	if name == "" {
		return false
	}
	n, _ := strconv.Atoi(os.Getenv(childConns))
	profile := os.Getenv(childProfile)
	if profile != "" {
		runtime.MemProfileRate = 1 // every allocation, not a sample
	}
	res, err := memoryHere(name, max(n, 1), profile)
	if err != nil {
		res.Error = err.Error()
	}
	json.NewEncoder(os.Stdout).Encode(res)
	return true
}

// memory runs a child process that measures row's memory per idle
// connection with n connections, and writes a heap profile of them to
// profile if it is not empty.
func memory(ctx context.Context, row string, n int, profile string) (memResult, error) {
	cmd, err := selfCommand(ctx, childEnv+"="+row, childConns+"="+strconv.Itoa(n), childProfile+"="+profile)
	if err != nil {
		return memResult{}, err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var res memResult
	if jerr := json.Unmarshal(lastLine(out), &res); jerr != nil {
		return res, fmt.Errorf("memory child: %v: %s", errors.Join(err, jerr), strings.TrimSpace(stderr.String()))
	}
	if res.Error != "" {
		return res, errors.New(res.Error)
	}
	return res, nil
}

// selfCommand returns a command that runs this program again, with env
// added to the environment, which makes it a child of some kind.
func selfCommand(ctx context.Context, env ...string) (*exec.Cmd, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, exe, "-test.run=^$") // the flag only matters to a test binary
	if !strings.HasSuffix(exe, ".test") {
		cmd = exec.CommandContext(ctx, exe)
	}
	cmd.Env = append(os.Environ(), env...)
	return cmd, nil
}

func lastLine(b []byte) []byte {
	b = bytes.TrimSpace(b)
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		return b[i+1:]
	}
	return b
}

// memoryHere measures in this process.
func memoryHere(name string, n int, profile string) (memResult, error) {
	r, ok := rowByName(name)
	if !ok || r.start == nil {
		return memResult{}, fmt.Errorf("no row %q", name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sys, err := r.start(ctx, n+1)
	if err != nil {
		return memResult{}, err
	}
	warm, err := sys.dial(ctx, n)
	if err != nil {
		return memResult{}, err
	}
	if err := echoOnce(warm); err != nil {
		return memResult{}, err
	}
	before, err := snapshot()
	if err != nil {
		return memResult{}, err
	}
	conns := make([]conn, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	const workers = 4
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				c, err := sys.dial(ctx, i)
				if err == nil {
					conns[i] = c
					err = echoOnce(c)
				}
				if err != nil {
					errs[i] = err
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return memResult{}, err
	}
	time.Sleep(200 * time.Millisecond)
	after, err := snapshot()
	if err != nil {
		return memResult{}, err
	}
	if profile != "" {
		if err := writeHeapProfile(profile); err != nil {
			return memResult{}, err
		}
	}
	runtime.KeepAlive(conns)
	per := func(a, b float64) float64 { return (b - a) / float64(n) }
	return memResult{
		Heap:       per(before.heap, after.heap) / 1024,
		RSS:        per(before.rss, after.rss) / 1024,
		Goroutines: per(before.goroutines, after.goroutines),
	}, nil
}

type memSnapshot struct{ heap, rss, goroutines float64 }

// snapshot collects garbage (twice), returns what it can to the OS, and reads the
// live heap and the resident set in bytes.
func snapshot() (memSnapshot, error) {
	// Twice: what sync.Pools held at the first collection survives it in
	// their victim caches, and is freed by the second.
	debug.FreeOSMemory()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rss, err := vmRSS()
	if err != nil {
		return memSnapshot{}, err
	}
	return memSnapshot{heap: float64(ms.HeapAlloc), rss: float64(rss), goroutines: float64(runtime.NumGoroutine())}, nil
}

// vmRSS reads this process's resident set size from /proc/self/status.
func vmRSS() (int64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("resident set size: %w (Linux only)", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, errors.New("no VmRSS in /proc/self/status")
}

// writeHeapProfile writes the live heap, as of the last collection, to
// path.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
