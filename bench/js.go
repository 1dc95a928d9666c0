package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// The JavaScript row runs bench/js/shs.js: a server process and a client
// process, each on its own core as the Go rows' two ends are, over the
// npm packages that interop/js installs (multiserver, secret-handshake).

// jsScript finds bench/js/shs.js and checks that node and the npm
// packages are there. It returns the script's path, or why the row cannot
// run.
func jsScript() (string, string) {
	var candidates []string
	if wd, err := os.Getwd(); err == nil {
		for dir := wd; ; dir = filepath.Dir(dir) {
			candidates = append(candidates, filepath.Join(dir, "bench", "js", "shs.js"), filepath.Join(dir, "js", "shs.js"))
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	if _, file, _, ok := runtime.Caller(0); ok {
		candidates = append(candidates, filepath.Join(filepath.Dir(file), "js", "shs.js"))
	}
	script := ""
	for _, c := range candidates {
		if _, err := os.Stat(c); err == nil {
			script = c
			break
		}
	}
	if script == "" {
		return "", "unavailable: bench/js/shs.js not found (run from the repository)"
	}
	if _, err := exec.LookPath("node"); err != nil {
		return "", "unavailable: node not found in PATH"
	}
	mods := filepath.Join(filepath.Dir(script), "..", "..", "interop", "js", "node_modules", "multiserver")
	if _, err := os.Stat(mods); err != nil {
		return "", "unavailable: npm packages missing (npm ci --prefix interop/js)"
	}
	return script, ""
}

// jsJobs are the JavaScript row's measures.
func jsJobs(r row, o *options) []job {
	script, status := jsScript()
	if r.status == "" {
		r.status = status
	}
	secs := strconv.FormatFloat(o.window.Seconds(), 'f', 3, 64)
	run := func(args ...string) func(ctx context.Context) (map[string]float64, error) {
		return func(ctx context.Context) (map[string]float64, error) {
			return runJS(ctx, script, append(args, "--seconds="+secs)...)
		}
	}
	mk := func(f *figure, keys []string, run func(ctx context.Context) (map[string]float64, error)) job {
		return job{figs: []*figure{f}, run: func(ctx context.Context) ([]float64, error) {
			m, err := run(ctx)
			if err != nil {
				return nil, err
			}
			var v []float64
			for _, k := range keys {
				v = append(v, m[k])
			}
			return v, nil
		}}
	}
	tput := mk(fig(r, mThroughput, "MB/s", false, refsFor(r, mThroughput, true, true)...), []string{"throughput"}, run("--measure=throughput"))
	seq := mk(fig(r, mConns, "conn/s", false, refsFor(r, mConns, true, false)...), []string{"conns"}, run("--measure=conns"))
	par := mk(fig(r, mConns8, "conn/s", false, refsFor(r, mConns8, true, false)...), []string{"conns"}, run("--measure=conns", "--workers=8"))
	par.figs[0].Note = "8 dials at once in one Node process"
	rtt := mk(fig(r, mRTT50, "µs", true, refsFor(r, mRTT50, true, false)...), []string{"p50", "p99"}, run("--measure=rtt"))
	rtt.figs = append(rtt.figs, fig(r, mRTT99, "µs", true, refsFor(r, mRTT99, true, false)...))
	for _, j := range []job{tput, seq, par, rtt} {
		for _, f := range j.figs {
			if f.Note == "" {
				f.Note = "JavaScript server and client processes; TCP_NODELAY set, as Go sets it"
			}
		}
	}
	return []job{tput, seq, par, rtt}
}

// runJS starts the JavaScript server, runs one client measure against it
// and returns the client's JSON result.
func runJS(ctx context.Context, script string, clientArgs ...string) (map[string]float64, error) {
	srv := exec.CommandContext(ctx, "node", script, "server")
	var stderr strings.Builder
	srv.Stderr = &stderr
	out, err := srv.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := srv.Start(); err != nil {
		return nil, err
	}
	defer func() {
		srv.Process.Kill()
		srv.Wait()
	}()
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			addr <- sc.Text()
		}
		close(addr)
		for sc.Scan() { // keep draining
		}
	}()
	var a string
	select {
	case a = <-addr:
	case <-time.After(30 * time.Second):
	}
	if a == "" {
		return nil, fmt.Errorf("javascript server did not start: %s", strings.TrimSpace(stderr.String()))
	}
	cl := exec.CommandContext(ctx, "node", append([]string{script, "client", "--addr=" + a}, clientArgs...)...)
	var cerr strings.Builder
	cl.Stderr = &cerr
	res, err := cl.Output()
	if err != nil {
		return nil, errors.Join(err, errors.New(strings.TrimSpace(cerr.String())))
	}
	var m map[string]float64
	if err := json.Unmarshal(lastLine(res), &m); err != nil {
		return nil, fmt.Errorf("javascript client printed %q: %w", res, err)
	}
	return m, nil
}
