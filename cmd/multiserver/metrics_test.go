package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
)

// freeAddr returns a loopback HOST:PORT nothing listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// scrapeURL fetches url, retrying while the server is not up yet.
func scrapeURL(t *testing.T, url string) string {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		resp, err := http.Get(url)
		if err == nil {
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: %s, %v", url, resp.Status, err)
			}
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v", url, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestServeMetricsAndStacks serves two stacks with --metrics and
// --admin, connects over one, scrapes /metrics, prints the stacks table,
// drains the used stack, and drops it.
func TestServeMetricsAndStacks(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	serverKey, _ := writeKey(t, dir, "server.json")
	clientKey, _ := writeKey(t, dir, "client.json")
	admin := freeAddr(t)
	p := startServe(t, "--key", serverKey, "--listen", "net:127.0.0.1:0~shs", "--listen", "net:127.0.0.1:0~noise",
		"--metrics", admin, "--admin", "--echo")
	list, err := grammar.Parse(p.addr)
	if err != nil || len(list) != 2 {
		t.Fatalf("serve advertised %q (%v), want 2 addresses", p.addr, err)
	}
	scrapeURL(t, "http://"+admin+"/metrics")
	data := []byte("over shs")
	if r := runCLI(t, data, "dial", "--key", clientKey, list[0].String()); r.code != 0 || string(r.stdout) != string(data) {
		t.Fatalf("dial: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	shsStack := `stack="net:127.0.0.1:0~shs"`
	metrics := scrapeURL(t, "http://"+admin+"/metrics")
	for _, want := range []string{
		`multiserver_accepted_total{path="direct",` + shsStack + `} 1`,
		`multiserver_received_bytes_total{` + shsStack + `} 8`,
		`multiserver_sent_bytes_total{` + shsStack + `} 8`,
		`multiserver_accepted_total{path="direct",stack="net:127.0.0.1:0~noise"} 0`,
		`multiserver_stack_peers_only_here{` + shsStack + `} 1`,
		`multiserver_open_connections_by_path{path="relayed",` + shsStack + `} 0`,
		`multiserver_path_switches_total{` + shsStack + `,to="direct"} 0`,
		`go_goroutines `,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	r := runCLI(t, nil, "stacks", admin)
	table := string(r.stdout)
	lines := strings.Split(strings.TrimSpace(table), "\n")
	if r.code != 0 || len(lines) != 4 || !strings.HasPrefix(lines[0], "STACK") {
		t.Fatalf("stacks: exit %d, stderr %q, table:\n%s\nwant a header, 2 rows and the key used only over shs", r.code, r.stderr, table)
	}
	if f := strings.Fields(lines[1]); f[0] != "net:127.0.0.1:0~shs" || f[1] != "serving" || strings.Join(f[len(f)-5:], " ") != "1 1 1 1 1" {
		t.Errorf("shs row %q, want serving and 1 conn in the hour, day and all, from 1 peer, 1 only here", lines[1])
	}
	if f := strings.Fields(lines[2]); f[0] != "net:127.0.0.1:0~noise" || !strings.Contains(lines[2], "never") || strings.Join(f[len(f)-5:], " ") != "0 0 0 0 0" {
		t.Errorf("noise row %q, want never used", lines[2])
	}
	if !strings.HasPrefix(lines[3], "only over net:127.0.0.1:0~shs: @") {
		t.Errorf("last line %q, want the key that used shs alone", lines[3])
	}

	if r := runCLI(t, nil, "stacks", "--drain", list[0].String(), "--grace", "1h", admin); r.code != 0 {
		t.Fatalf("stacks --drain: exit %d, stderr %q", r.code, r.stderr)
	}
	r = runCLI(t, nil, "stacks", admin)
	if !regexp.MustCompile(`draining, dropped in (59m5\ds|1h00m)`).Match(r.stdout) {
		t.Errorf("stacks after --drain:\n%s\nwant the shs stack draining for an hour", r.stdout)
	}
	// Still served while it drains.
	if r := runCLI(t, data, "dial", "--key", clientKey, list[0].String()); r.code != 0 {
		t.Fatalf("dial of a draining stack: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := runCLI(t, nil, "stacks", "--drop", list[0].String(), admin); r.code != 0 {
		t.Fatalf("stacks --drop: exit %d, stderr %q", r.code, r.stderr)
	}
	for _, want := range []string{"msg=draining addr=\"" + list[0].String() + "\" grace=1h0m0s", "msg=dropped addr=\"" + list[0].String() + "\""} {
		if !strings.Contains(p.stderr.String(), want) {
			t.Errorf("serve's log lacks %q:\n%s", want, p.stderr)
		}
	}
	if r := runCLI(t, nil, "stacks", "--drop", list[0].String(), admin); r.code != 1 || !strings.Contains(r.stderr, "no such stack") {
		t.Errorf("second stacks --drop: exit %d, stderr %q; want 1 and no such stack", r.code, r.stderr)
	}
	r = runCLI(t, nil, "stacks", "--json", admin)
	if r.code != 0 || strings.Contains(string(r.stdout), "~shs") || !strings.Contains(string(r.stdout), `"listen": "net:127.0.0.1:0~noise"`) {
		t.Errorf("stacks --json after --drop:\n%s\nwant the noise stack alone", r.stdout)
	}
	if code := p.stop(t); code != 0 {
		t.Errorf("serve after SIGTERM: exit %d; stderr:\n%s", code, p.stderr)
	}
}

func TestStacksErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	serverKey, _ := writeKey(t, dir, "server.json")
	metricsOnly := freeAddr(t)
	startServe(t, "--key", serverKey, "--listen", "net:127.0.0.1:0~shs", "--metrics", metricsOnly)
	scrapeURL(t, "http://"+metricsOnly+"/metrics")
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"admin without metrics", []string{"serve", "--listen", "net:127.0.0.1:0~shs", "--admin"}, 2, "--admin needs --metrics"},
		{"no address", []string{"stacks"}, 2, "HOST:PORT"},
		{"drain and drop", []string{"stacks", "--drain", "a", "--drop", "b", "127.0.0.1:1"}, 2, "at most one"},
		{"bad url", []string{"stacks", "ftp://x"}, 2, "not HOST:PORT"},
		{"nothing there", []string{"stacks", freeAddr(t)}, 1, "refused"},
		{"no admin", []string{"stacks", metricsOnly}, 1, "--admin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, nil, tt.args...)
			if r.code != tt.code {
				t.Errorf("exit %d, want %d; stderr %q", r.code, tt.code, r.stderr)
			}
			wantOneLine(t, tt.name, r.stderr, tt.want)
		})
	}
}

func TestRoundAge(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-time.Second:                    "0s",
		1400 * time.Millisecond:         "1s",
		59 * time.Second:                "59s",
		5*time.Minute + 3*time.Second:   "5m03s",
		59*time.Minute + 59*time.Second: "59m59s",
		time.Hour:                       "1h00m",
		26*time.Hour + 5*time.Minute:    "26h05m",
	} {
		if got := roundAge(d); got != want {
			t.Errorf("roundAge(%v) = %q, want %q", d, got, want)
		}
	}
}

// TestStacksDrainWithoutAdmin: --drain and --drop against a serve
// without --admin say so, as the usage table does.
func TestStacksDrainWithoutAdmin(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	for _, flag := range []string{"--drain", "--drop"} {
		err := stacksCmd(context.Background(), []string{flag, "net:127.0.0.1:0~shs", srv.URL}, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), "--admin") {
			t.Errorf("stacks %s against no admin endpoint: %v, want its 404 and a hint at --admin", flag, err)
		}
	}
}
