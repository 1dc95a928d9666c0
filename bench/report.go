package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// A figure is one measured quantity of one row, with a sample per round
// (NaN where the round failed).
type figure struct {
	Group   string // "limits", "ours", "peers"
	Row     string // "net~noise", "go-libp2p tcp+noise+yamux"
	Measure string // "throughput", "conns/s seq", ...
	Unit    string // "MB/s", "conn/s", "µs", "KiB/conn"
	Median  float64
	Min     float64
	Max     float64
	Samples []float64
	Ratios  []ratio
	// Status is "" when measured, otherwise why not: "unavailable: …",
	// "not built yet", "error: …".
	Status string
	Note   string

	lowerBetter bool
	refs        []ref
	errs        []string // why rounds failed
}

// A ref names another figure this one is compared with.
type ref struct {
	label   string // as printed: "tcp", "libp2p"
	row     string
	measure string
}

// A ratio is a figure divided by a reference figure, round by round: the
// median, min and max of the per-round quotients, so that each quotient
// compares two numbers taken minutes apart at most.
type ratio struct {
	To     string  `json:"to"` // the reference: row and measure
	Label  string  `json:"label"`
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

// key names a figure in maps.
func key(row, measure string) string { return row + " | " + measure }

func (f *figure) key() string { return key(f.Row, f.Measure) }

// summarize sets Median, Min and Max from the samples that are numbers.
func (f *figure) summarize() {
	f.Median, f.Min, f.Max = stats(f.Samples)
}

// stats returns the median, min and max of the numbers among xs, or NaNs.
func stats(xs []float64) (med, lo, hi float64) {
	var v []float64
	for _, x := range xs {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			v = append(v, x)
		}
	}
	if len(v) == 0 {
		return math.NaN(), math.NaN(), math.NaN()
	}
	slices.Sort(v)
	n := len(v)
	med = v[n/2]
	if n%2 == 0 {
		med = (v[n/2-1] + v[n/2]) / 2
	}
	return med, v[0], v[n-1]
}

// computeRatios fills in every figure's ratios to its references.
func computeRatios(figs []*figure) {
	byKey := make(map[string]*figure, len(figs))
	for _, f := range figs {
		byKey[f.key()] = f
	}
	for _, f := range figs {
		f.Ratios = nil
		for _, r := range f.refs {
			g, ok := byKey[key(r.row, r.measure)]
			if !ok || g == f {
				continue
			}
			q := quotients(f.Samples, g.Samples)
			med, lo, hi := stats(q)
			if math.IsNaN(med) {
				continue
			}
			f.Ratios = append(f.Ratios, ratio{To: g.key(), Label: r.label, Median: med, Min: lo, Max: hi})
		}
	}
}

// quotients divides a by b round by round.
func quotients(a, b []float64) []float64 {
	var q []float64
	for i := range min(len(a), len(b)) {
		if b[i] > 0 && !math.IsNaN(a[i]) {
			q = append(q, a[i]/b[i])
		}
	}
	return q
}

// A target is a goal of the issue: a ratio between two figures, or,
// with a Unit and no Ref, a bound on one figure; or, with Op opInfo, a
// ratio reported with no goal.
type target struct {
	Name     string
	Figure   string
	Ref      string // "" for a bound on Figure itself
	Op       string // ">=", "<=" or opInfo
	Want     float64
	Unit     string  // Want's unit, for a bound on Figure itself
	Ratio    float64 // median of per-round ratios (of the figure, for a bound); NaN if not measured
	RatioMin float64
	RatioMax float64
	Status   string // "met", "NOT MET", "info", or why not measured
	Info     bool   // informational: explains a goal rather than being one
}

// opInfo is the Op of a target that only reports its ratio.
const opInfo = "info"

// judge measures t against the figures.
func (t *target) judge(figs []*figure) {
	var f, g *figure
	for _, x := range figs {
		switch x.key() {
		case t.Figure:
			f = x
		case t.Ref:
			g = x
		}
	}
	t.Ratio, t.RatioMin, t.RatioMax = math.NaN(), math.NaN(), math.NaN()
	switch {
	case f == nil:
		t.Status = "not measured: " + t.Figure + " not run"
		return
	case t.Ref == "":
		if f.Status != "" {
			t.Status = "not measured: " + f.Row + ": " + f.Status
			return
		}
		t.Ratio, t.RatioMin, t.RatioMax = stats(f.Samples)
		if math.IsNaN(t.Ratio) {
			t.Status = "not measured: no round measured it"
			return
		}
		t.meet()
		return
	case g == nil:
		t.Status = "not measured: " + t.Ref + " not run"
		return
	case f.Status != "":
		t.Status = "not measured: " + f.Row + ": " + f.Status
		return
	case g.Status != "":
		t.Status = "not measured: " + g.Row + ": " + g.Status
		return
	}
	t.Ratio, t.RatioMin, t.RatioMax = stats(quotients(f.Samples, g.Samples))
	if math.IsNaN(t.Ratio) {
		t.Status = "not measured: no round measured both"
		return
	}
	t.meet()
}

// meet sets the status of a measured target.
func (t *target) meet() {
	if t.Op == opInfo {
		t.Status = "info"
		return
	}
	ok := t.Ratio >= t.Want
	if t.Op == "<=" {
		ok = t.Ratio <= t.Want
	}
	t.Status = "NOT MET"
	if ok {
		t.Status = "met"
	}
}

// A report is everything one run of the suite measured.
type report struct {
	Date       string
	GoVersion  string
	GOOS       string
	GOARCH     string
	GOMAXPROCS int
	NumCPU     int
	CPU        string
	Runs       int
	Quick      bool
	Seconds    float64 // the suite's wall time
	Notes      []string
	Figures    []*figure
	Targets    []target
}

func newReport(o *options) *report {
	return &report{
		Date:       time.Now().UTC().Format(time.RFC3339),
		GoVersion:  runtime.Version(),
		GOOS:       runtime.GOOS,
		GOARCH:     runtime.GOARCH,
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		NumCPU:     runtime.NumCPU(),
		CPU:        cpuModel(),
		Runs:       o.runs,
		Quick:      o.quick,
	}
}

// cpuModel returns the CPU's model name, where /proc/cpuinfo tells it.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for line := range strings.Lines(string(b)) {
		if name, ok := strings.CutPrefix(line, "model name"); ok {
			_, v, _ := strings.Cut(name, ":")
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// writeTable prints the figures, then the targets.
func (r *report) writeTable(w io.Writer) {
	fmt.Fprintf(w, "%s %s/%s, GOMAXPROCS=%d, %d CPUs (%s), %s; median of %d run(s) [min–max]\n",
		r.GoVersion, r.GOOS, r.GOARCH, r.GOMAXPROCS, r.NumCPU, r.CPU, r.Date, r.Runs)
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "GROUP\tROW\tMEASURE\tMEDIAN\tMIN\tMAX\tUNIT\tRATIOS (median [min–max])")
	for _, f := range r.Figures {
		if f.Status != "" {
			fmt.Fprintf(tw, "%s\t%s\t%s\t-\t-\t-\t%s\t%s\n", f.Group, f.Row, f.Measure, f.Unit, f.Status)
			continue
		}
		var rs []string
		for _, q := range f.Ratios {
			rs = append(rs, fmt.Sprintf("%s× %s [%s–%s]", num(q.Median), q.Label, num(q.Min), num(q.Max)))
		}
		if len(f.errs) > 0 {
			rs = append(rs, fmt.Sprintf("(%d round(s) failed: %s)", len(f.errs), f.errs[0]))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", f.Group, f.Row, f.Measure,
			num(f.Median), num(f.Min), num(f.Max), f.Unit, strings.Join(rs, "; "))
	}
	tw.Flush()
	if len(r.Targets) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "TARGETS (ratios of figures from the same round; median [min–max] over rounds)")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, t := range r.Targets {
			unit := "×"
			if t.Ref == "" {
				unit = " " + t.Unit
			}
			got := "-"
			if !math.IsNaN(t.Ratio) {
				got = fmt.Sprintf("%s%s [%s–%s]", num(t.Ratio), unit, num(t.RatioMin), num(t.RatioMax))
			}
			want := t.Op + " " + num(t.Want) + unit
			if t.Op == opInfo {
				want = "(no goal)"
			}
			status := t.Status
			if t.Info {
				status += " (informational)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.Name, want, got, status)
		}
		tw.Flush()
	}
	if len(r.Notes) > 0 {
		fmt.Fprintln(w)
		for _, n := range r.Notes {
			fmt.Fprintln(w, "note: "+n)
		}
	}
}

// num formats x with about three significant digits.
func num(x float64) string {
	switch a := math.Abs(x); {
	case math.IsNaN(x):
		return "-"
	case a >= 100:
		return fmt.Sprintf("%.0f", x)
	case a >= 10:
		return fmt.Sprintf("%.1f", x)
	case a >= 1:
		return fmt.Sprintf("%.2f", x)
	default:
		return fmt.Sprintf("%.3f", x)
	}
}

// writeJSON writes r to path, NaNs as null.
func (r *report) writeJSON(path string) error {
	b, err := json.MarshalIndent(jsonSafe(r), "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// jsonSafe returns r through a generic value in which NaN and ±Inf,
// which encoding/json refuses, are null.
func jsonSafe(r *report) any {
	figs := make([]any, len(r.Figures))
	for i, g := range r.Figures {
		figs[i] = map[string]any{
			"group": g.Group, "row": g.Row, "measure": g.Measure, "unit": g.Unit,
			"median": nullable(g.Median), "min": nullable(g.Min), "max": nullable(g.Max),
			"samples": nullables(g.Samples), "ratios": g.Ratios, "status": g.Status, "note": g.Note,
			"lower_is_better": g.lowerBetter,
		}
	}
	targets := make([]any, len(r.Targets))
	for i, t := range r.Targets {
		m := map[string]any{
			"name": t.Name, "figure": t.Figure, "reference": t.Ref, "op": t.Op, "want": t.Want,
			"ratio": nullable(t.Ratio), "ratio_min": nullable(t.RatioMin), "ratio_max": nullable(t.RatioMax),
			"status": t.Status, "informational": t.Info,
		}
		if t.Ref == "" { // a bound on the figure itself: its value, not a ratio
			m["unit"] = t.Unit
			m["value"], m["value_min"], m["value_max"] = m["ratio"], m["ratio_min"], m["ratio_max"]
			delete(m, "ratio")
			delete(m, "ratio_min")
			delete(m, "ratio_max")
		}
		if t.Op == opInfo {
			delete(m, "want")
		}
		targets[i] = m
	}
	return map[string]any{
		"date": r.Date, "go_version": r.GoVersion, "goos": r.GOOS, "goarch": r.GOARCH,
		"gomaxprocs": r.GOMAXPROCS, "num_cpu": r.NumCPU, "cpu": r.CPU, "runs": r.Runs,
		"quick": r.Quick, "seconds": r.Seconds, "notes": r.Notes, "figures": figs, "targets": targets,
	}
}

func nullable(x float64) any {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return x
}

func nullables(xs []float64) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = nullable(x)
	}
	return out
}
