package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMain(m *testing.M) {
	if childMain() { // the memory measure runs this binary again
		return
	}
	os.Exit(m.Run())
}

// ourRows selects multiserver's own rows and raw TCP, their reference.
const ourRows = `^(tcp|net~|ws~|sse~|poll~|quic |relay:|holepunch:)`

// TestQuick runs the suite as `go run . -quick -only ourRows` does and
// checks that the table and the JSON file say what was measured, so that
// the suite cannot rot unnoticed.
func TestQuick(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.json")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-quick", "-only", ourRows, "-json", path}, &stdout, &stderr); code != 0 {
		t.Fatalf("run exited %d\nstderr:\n%s", code, stderr.String())
	}
	table := stdout.String()
	t.Logf("\n%s", table)

	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		GoVersion  string `json:"go_version"`
		GOMAXPROCS int    `json:"gomaxprocs"`
		Date       string `json:"date"`
		Runs       int    `json:"runs"`
		Figures    []struct {
			Row, Measure, Unit, Status string
			Median, Min, Max           *float64
			Samples                    []*float64
			Ratios                     []struct {
				To     string
				Median float64
			}
		}
		Targets []struct {
			Name, Status, Reference string
			Ratio, Value            *float64
		}
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatalf("results are not JSON: %v\n%s", err, b)
	}
	if res.GoVersion == "" || res.GOMAXPROCS < 1 || res.Date == "" || res.Runs != 1 {
		t.Errorf("header: go %q, GOMAXPROCS %d, date %q, runs %d", res.GoVersion, res.GOMAXPROCS, res.Date, res.Runs)
	}

	want := map[string]bool{} // "row | measure" that must have been measured
	for _, r := range []string{"tcp", "net~noauth", "net~shs", "net~noise", "net~noise~yamux", "ws~noise", rowSSENoise, rowPollNoise, rowRelay} {
		for _, m := range []string{mThroughput, mConns, mConns8, mRTT50, mRTT99, mHeap, mRSS, mGoroutines} {
			want[key(r, m)] = true
		}
	}
	want[key("net~noise~yamux", mThroughput16)] = true
	for _, m := range []string{mRelayHeap, mRelayRSS, mRelayGoroutines} {
		want[key(rowRelay, m)] = true
	}
	for _, m := range []string{mThroughput, mDirect50, mDirect90} {
		want[key(rowPunch, m)] = true
	}
	for _, f := range res.Figures {
		k := key(f.Row, f.Measure)
		if strings.HasPrefix(f.Row, "go-libp2p") || strings.HasPrefix(f.Row, "quic-go") || strings.HasPrefix(f.Row, "js ") {
			t.Errorf("%s: a peer row ran despite -only", k)
		}
		if !strings.Contains(table, f.Row) || !strings.Contains(table, f.Measure) {
			t.Errorf("%s: not in the table", k)
		}
		if f.Status != "" {
			if want[k] {
				t.Errorf("%s: %s", k, f.Status)
			}
			continue
		}
		delete(want, k)
		if f.Median == nil || f.Min == nil || f.Max == nil || len(f.Samples) != 1 || f.Samples[0] == nil {
			t.Errorf("%s: median %v, min %v, max %v, samples %v", k, f.Median, f.Min, f.Max, f.Samples)
			continue
		}
		if *f.Min > *f.Median || *f.Median > *f.Max {
			t.Errorf("%s: min %v, median %v, max %v out of order", k, *f.Min, *f.Median, *f.Max)
		}
		if f.Measure == mThroughput || strings.HasPrefix(f.Measure, "conns/s") || strings.HasPrefix(f.Measure, "rtt") {
			if *f.Median <= 0 {
				t.Errorf("%s = %v %s, want > 0", k, *f.Median, f.Unit)
			}
		}
		if f.Row != "tcp" && (f.Measure == mThroughput || strings.HasPrefix(f.Measure, "conns/s")) {
			if len(f.Ratios) == 0 || f.Ratios[0].To != key("tcp", strings.TrimSuffix(f.Measure, " 16 streams")) || f.Ratios[0].Median <= 0 {
				t.Errorf("%s: ratios %+v, want one to tcp first", k, f.Ratios)
			}
		}
	}
	for k := range want {
		t.Errorf("%s: missing", k)
	}

	if len(res.Targets) != len(targets()) {
		t.Errorf("%d targets, want %d", len(res.Targets), len(targets()))
	}
	for _, tg := range res.Targets {
		if !strings.Contains(table, tg.Name) {
			t.Errorf("target %q: not in the table", tg.Name)
		}
		got := tg.Ratio
		if tg.Reference == "" { // a bound on one figure
			got = tg.Value
		}
		if strings.HasPrefix(tg.Name, "relay") && strings.HasPrefix(tg.Status, "not measured") {
			t.Errorf("target %q: %s, want it measured by -only %s", tg.Name, tg.Status, ourRows)
		}
		switch {
		case tg.Status == "met" || tg.Status == "NOT MET" || tg.Status == "info":
			if got == nil {
				t.Errorf("target %q: %s without a ratio or value", tg.Name, tg.Status)
			}
		case strings.HasPrefix(tg.Status, "not measured"):
		default:
			t.Errorf("target %q: status %q", tg.Name, tg.Status)
		}
	}
}

// TestMemProfile checks that -memprofile leaves a heap profile (gzipped,
// as pprof writes it) of the row's idle connections, named after the row.
func TestMemProfile(t *testing.T) {
	base := filepath.Join(t.TempDir(), "mem.prof")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-quick", "-only", `^net~noise heap`, "-json", "", "-memprofile", base}, &stdout, &stderr); code != 0 {
		t.Fatalf("run exited %d\nstderr:\n%s", code, stderr.String())
	}
	b, err := os.ReadFile(base + ".net-noise")
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		t.Fatalf("%s is not a gzipped profile: % x", base+".net-noise", b[:min(len(b), 8)])
	}
}

func TestStats(t *testing.T) {
	nan := func() float64 { var z float64; return z / z }()
	for _, tt := range []struct {
		name          string
		xs            []float64
		med, min, max float64
	}{
		{"odd", []float64{3, 1, 2}, 2, 1, 3},
		{"even", []float64{4, 1, 3, 2}, 2.5, 1, 4},
		{"one", []float64{7}, 7, 7, 7},
		{"nan skipped", []float64{nan, 5, 1}, 3, 1, 5},
	} {
		t.Run(tt.name, func(t *testing.T) {
			med, lo, hi := stats(tt.xs)
			if med != tt.med || lo != tt.min || hi != tt.max {
				t.Errorf("stats(%v) = %v, %v, %v; want %v, %v, %v", tt.xs, med, lo, hi, tt.med, tt.min, tt.max)
			}
		})
	}
	if med, _, _ := stats([]float64{nan}); med == med {
		t.Errorf("stats of no numbers = %v, want NaN", med)
	}
}

func TestRatiosPerRound(t *testing.T) {
	a := &figure{Row: "a", Measure: "m", Samples: []float64{10, 20, 30}, refs: []ref{{label: "b", row: "b", measure: "m"}}}
	b := &figure{Row: "b", Measure: "m", Samples: []float64{5, 40, 10}}
	computeRatios([]*figure{a, b})
	if len(a.Ratios) != 1 {
		t.Fatalf("ratios %+v, want one", a.Ratios)
	}
	// per round: 2, 0.5, 3
	if r := a.Ratios[0]; r.Median != 2 || r.Min != 0.5 || r.Max != 3 {
		t.Errorf("ratio %+v, want median 2, min 0.5, max 3", r)
	}
}
