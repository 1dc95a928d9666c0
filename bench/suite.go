package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"
)

// options are the suite's settings, from the flags.
type options struct {
	runs     int
	only     *regexp.Regexp
	quick    bool
	window   time.Duration // how long one throughput, connection-rate or round-trip run lasts
	limit    time.Duration // how long one crypto limit runs
	memConns int           // connections of the memory measure
	memProf  string        // where the memory measure writes heap profiles: memProf.ROW
	maxConns int64         // the most connections one connection-rate run makes
	log      io.Writer     // progress
}

// memProfile is where the memory measure of row writes its heap
// profile, or "" for none.
func (o *options) memProfile(row string) string {
	if o.memProf == "" {
		return ""
	}
	return o.memProf + "." + strings.Map(func(r rune) rune {
		if r == '~' || r == ' ' || r == '/' {
			return '-'
		}
		return r
	}, row)
}

func fullOptions() options {
	return options{runs: 3, window: time.Second, limit: 300 * time.Millisecond, memConns: 1000, maxConns: 10000}
}

func quickOptions() options {
	return options{runs: 1, quick: true, window: 100 * time.Millisecond, limit: 20 * time.Millisecond, memConns: 50, maxConns: 500}
}

// A row is one stack (or one limit) and how to start it.
type row struct {
	name  string
	group string // "limits", "ours", "peers"
	// start starts the system with clients client identities (hosts).
	start func(ctx context.Context, clients int) (system, error)
	// streams says whether a connection carries many streams.
	streams bool
	// crypto is the limit row whose cipher the stack's bulk data uses.
	crypto string
	// peers are the rows this one is compared with, besides raw TCP.
	peers []string
	// status, if set, says why the row does not run.
	status string
	// jobs, if set, replaces the standard measures (limits, JavaScript).
	jobs func(r row, o *options) []job
	// more, if set, are measures beyond the standard ones (the relay's).
	more func(r row, o *options) []job
	// memWhat says what the memory child runs besides both ends.
	memWhat string
}

// Row names that references and targets use.
const (
	rowTCP        = "tcp"
	rowChaCha     = "chacha20-poly1305"
	rowAESGCM     = "aes-128-gcm"
	rowSecretbox  = "secretbox"
	rowSecretboxX = "secretbox x/crypto"
	rowNoise      = "net~noise"
	rowNoiseYamux = "net~noise~yamux"
	rowWSNoise    = "ws~noise"
	rowSSENoise   = "sse~noise"
	rowPollNoise  = "poll~noise"
	rowSHS        = "net~shs"
	rowQUIC       = "quic"
	rowRelay      = "relay:ws~noise"
	rowRelaySSE   = "relay:sse~noise"
	rowRelayPoll  = "relay:poll~noise"
	rowP2PTCP     = "go-libp2p tcp+noise+yamux"
	rowP2PQUIC    = "go-libp2p quic"
	rowQUICGo     = "quic-go"
	rowQUICGoMTLS = "quic-go mutual TLS"
	rowJS         = "js net~shs"
)

// Measure names.
const (
	mThroughput   = "throughput"
	mThroughput16 = "throughput 16 streams"
	mConns        = "conns/s sequential"
	mConns8       = "conns/s 8 parallel"
	mRTT50        = "rtt p50"
	mRTT99        = "rtt p99"
	mHeap         = "heap/conn"
	mRSS          = "rss/conn"
	mGoroutines   = "goroutines/conn"
	mSeal         = "seal, 1 core"
	mOps          = "ops/s, 1 core"
)

// measureOrder orders the table: all rows of one measure together.
var measureOrder = []string{mSeal, mOps, mThroughput, mThroughput16, mConns, mConns8, mRTT50, mRTT99, mDirect50, mDirect90, mHeap, mRSS, mGoroutines, mRelayHeap, mRelayRSS, mRelayGoroutines}

// quicRow is set when the quic plug is built (see quic.go).
var quicRow = row{name: rowQUIC, group: "ours", status: "not built yet: no plugs/quic in this checkout"}

// rows lists every row of the suite, in table order within a measure.
func rows() []row {
	ours := func(name, listen string, session bool, crypto string, peers ...string) row {
		return row{
			name: name, group: "ours", streams: session, crypto: crypto, peers: peers,
			start: func(ctx context.Context, _ int) (system, error) { return startOurs(ctx, listen, session) },
		}
	}
	return []row{
		{name: rowChaCha, group: "limits", jobs: limitJob(mSeal, "64 KiB messages", "MB/s", sealChaCha)},
		{name: rowAESGCM, group: "limits", jobs: limitJob(mSeal, "64 KiB messages", "MB/s", sealAESGCM)},
		{name: rowSecretbox, group: "limits", jobs: limitJob(mSeal, "4 KiB messages, a box stream's largest body, as shs seals them", "MB/s", sealSecretbox)},
		{name: rowSecretboxX, group: "limits", jobs: limitJob(mSeal, "4 KiB messages, golang.org/x/crypto/nacl/secretbox", "MB/s", sealSecretboxX)},
		{name: "x25519", group: "limits", jobs: limitJob(mOps, "scalar multiplications", "op/s", x25519)},
		{name: "ed25519 sign", group: "limits", jobs: limitJob(mOps, "", "op/s", ed25519Sign)},
		{name: "ed25519 verify", group: "limits", jobs: limitJob(mOps, "", "op/s", ed25519Verify)},
		{name: rowTCP, group: "limits", start: func(ctx context.Context, _ int) (system, error) { return startTCP(ctx) }},
		ours("net~noauth", "net:127.0.0.1:0~noauth", false, ""),
		ours(rowSHS, "net:127.0.0.1:0~shs", false, rowSecretbox, rowP2PTCP, rowJS),
		ours(rowNoise, "net:127.0.0.1:0~noise", false, rowChaCha, rowP2PTCP),
		ours(rowNoiseYamux, "net:127.0.0.1:0~noise~yamux", true, rowChaCha, rowP2PTCP),
		ours(rowGoYamux4, "net:127.0.0.1:0~noise~yamux4", true, rowChaCha, rowNoiseYamux),
		ours(rowGoYamux5, "net:127.0.0.1:0~noise~yamux5", true, rowChaCha, rowNoiseYamux, rowGoYamux4),
		ours(rowWSNoise, "ws://127.0.0.1:0~noise", false, rowChaCha, rowP2PTCP, rowNoise),
		ours(rowSSENoise, "sse:http://127.0.0.1:0/ms~noise", false, rowChaCha, rowWSNoise),
		ours(rowPollNoise, "poll:http://127.0.0.1:0/ms~noise", false, rowChaCha, rowWSNoise),
		quicRow,
		{
			name: rowRelay, group: "ours", crypto: rowChaCha, peers: []string{rowNoise, rowWSNoise},
			start: func(ctx context.Context, _ int) (system, error) { return startRelayed(ctx) },
			more:  relayJobs, memWhat: "and the relay",
		},
		{name: rowPunch, group: "ours", crypto: rowChaCha, peers: []string{rowQUIC, rowNoise}, jobs: punchJobs},
		{name: rowHyperswarm, group: "ours", peers: []string{rowWSNoise}, jobs: hyperswarmJobs},
		{
			// Both ends reach the relay by its HTTP bridge (spec/relay.md §11).
			name: rowRelaySSE, group: "ours", crypto: rowChaCha, peers: []string{rowRelay, rowSSENoise, rowWSNoise},
			start:   func(ctx context.Context, _ int) (system, error) { return startRelayedOver(ctx, "sse") },
			memWhat: "and the relay",
		},
		{
			name: rowRelayPoll, group: "ours", crypto: rowChaCha, peers: []string{rowRelay, rowPollNoise, rowWSNoise},
			start:   func(ctx context.Context, _ int) (system, error) { return startRelayedOver(ctx, "poll") },
			memWhat: "and the relay",
		},
		{
			name: rowP2PTCP, group: "peers", streams: true, crypto: rowChaCha,
			start: func(ctx context.Context, clients int) (system, error) { return startLibp2p(ctx, false, clients) },
		},
		{
			name: rowP2PQUIC, group: "peers", streams: true, crypto: rowAESGCM,
			start: func(ctx context.Context, clients int) (system, error) { return startLibp2p(ctx, true, clients) },
		},
		{
			name: rowQUICGo, group: "peers", streams: true, crypto: rowAESGCM,
			start: func(ctx context.Context, _ int) (system, error) { return startQUICGo(ctx, false) },
		},
		{
			// The crypto of the quic row's handshake (see raw.go), so
			// that its connection rate has a reference that does the
			// same work.
			name: rowQUICGoMTLS, group: "peers", streams: true, crypto: rowAESGCM, peers: []string{rowQUICGo},
			start: func(ctx context.Context, _ int) (system, error) { return startQUICGo(ctx, true) },
		},
		{name: rowJS, group: "peers", crypto: rowSecretbox, jobs: jsJobs},
	}
}

func rowByName(name string) (row, bool) {
	for _, r := range rows() {
		if r.name == name {
			return r, true
		}
	}
	return row{}, false
}

// A job is one run of one measure of one row; it gives one sample of each
// of its figures.
type job struct {
	figs []*figure
	run  func(ctx context.Context) ([]float64, error)
}

// fig makes a figure of r.
func fig(r row, measure, unit string, lowerBetter bool, refs ...ref) *figure {
	return &figure{Group: r.group, Row: r.name, Measure: measure, Unit: unit, lowerBetter: lowerBetter, refs: refs, Status: r.status}
}

// refsFor returns what figure measure of r is compared with: raw TCP
// (unless r is raw TCP), r's cipher for throughput, and r's peers.
func refsFor(r row, measure string, withTCP, withCrypto bool) []ref {
	var refs []ref
	if withTCP && r.name != rowTCP && r.group != "limits" {
		m := measure
		if m == mThroughput16 {
			m = mThroughput
		}
		refs = append(refs, ref{label: rowTCP, row: rowTCP, measure: m})
	}
	if withCrypto && r.crypto != "" {
		refs = append(refs, ref{label: r.crypto, row: r.crypto, measure: mSeal})
	}
	for _, p := range r.peers {
		refs = append(refs, ref{label: p, row: p, measure: measure})
	}
	if r.name == rowQUIC {
		refs = append(refs,
			ref{label: rowP2PQUIC, row: rowP2PQUIC, measure: measure},
			ref{label: rowQUICGo, row: rowQUICGo, measure: measure},
			ref{label: rowQUICGoMTLS, row: rowQUICGoMTLS, measure: measure})
	}
	return refs
}

// jobsOf returns the jobs of r: its own, or the standard measures of a
// system row.
func jobsOf(r row, o *options) []job {
	if r.jobs != nil {
		return r.jobs(r, o)
	}
	run := func(f func(ctx context.Context, sys system) ([]float64, error), clients int) func(ctx context.Context) ([]float64, error) {
		return func(ctx context.Context) ([]float64, error) {
			if r.start == nil {
				return nil, fmt.Errorf("%s", r.status)
			}
			sys, err := r.start(ctx, clients)
			if err != nil {
				return nil, err
			}
			defer sys.close()
			return f(ctx, sys)
		}
	}
	one := func(v float64, err error) ([]float64, error) { return []float64{v}, err }
	var jobs []job
	jobs = append(jobs, job{
		figs: []*figure{fig(r, mThroughput, "MB/s", false, refsFor(r, mThroughput, true, true)...)},
		run: run(func(ctx context.Context, sys system) ([]float64, error) {
			return one(throughput(ctx, sys, 1, o.window))
		}, 1),
	})
	if r.streams {
		jobs = append(jobs, job{
			figs: []*figure{fig(r, mThroughput16, "MB/s", false, refsFor(r, mThroughput16, true, true)...)},
			run: run(func(ctx context.Context, sys system) ([]float64, error) {
				return one(throughput(ctx, sys, 16, o.window))
			}, 1),
		})
	}
	if r.status != "" { // not runnable: one line says why
		return jobs[:1]
	}
	for _, workers := range []int{1, 8} {
		m := mConns
		if workers > 1 {
			m = mConns8
		}
		jobs = append(jobs, job{
			figs: []*figure{fig(r, m, "conn/s", false, refsFor(r, m, true, false)...)},
			run: run(func(ctx context.Context, sys system) ([]float64, error) {
				return one(connRate(ctx, sys, workers, o.window, o.maxConns))
			}, workers),
		})
	}
	jobs = append(jobs, job{
		figs: []*figure{
			fig(r, mRTT50, "µs", true, refsFor(r, mRTT50, true, false)...),
			fig(r, mRTT99, "µs", true, refsFor(r, mRTT99, true, false)...),
		},
		run: run(func(ctx context.Context, sys system) ([]float64, error) {
			p50, p99, err := roundTrips(ctx, sys, o.window)
			return []float64{p50, p99}, err
		}, 1),
	})
	ends := "both ends"
	if r.memWhat != "" {
		ends += " " + r.memWhat
	}
	note := fmt.Sprintf("%d idle connections, %s in one child process", o.memConns, ends)
	heap := fig(r, mHeap, "KiB/conn", true, refsFor(r, mHeap, false, false)...)
	heap.Note = note
	rss := fig(r, mRSS, "KiB/conn", true, refsFor(r, mRSS, false, false)...)
	rss.Note = note
	jobs = append(jobs, job{
		figs: []*figure{heap, rss, fig(r, mGoroutines, "", true, refsFor(r, mGoroutines, false, false)...)},
		run: func(ctx context.Context) ([]float64, error) {
			if r.start == nil {
				return nil, fmt.Errorf("%s", r.status)
			}
			m, err := memory(ctx, r.name, o.memConns, o.memProfile(r.name))
			return []float64{m.Heap, m.RSS, m.Goroutines}, err
		},
	})
	if r.more != nil {
		jobs = append(jobs, r.more(r, o)...)
	}
	return jobs
}

// limitJob is the job of a crypto limit row.
func limitJob(measure, note, unit string, f func(time.Duration) float64) func(row, *options) []job {
	return func(r row, o *options) []job {
		fg := fig(r, measure, unit, false)
		fg.Note = note
		return []job{{
			figs: []*figure{fg},
			run:  func(context.Context) ([]float64, error) { return []float64{f(o.limit)}, nil },
		}}
	}
}

// targets are the goals.
func targets() []target {
	t := func(name, fRow, fMeasure, op string, want float64, rRow, rMeasure string) target {
		return target{Name: name, Figure: key(fRow, fMeasure), Ref: key(rRow, rMeasure), Op: op, Want: want}
	}
	// explains marks a target that is not one of the goals but
	// explains one: the table says "(informational)" after its status.
	explains := func(t target) target {
		t.Info = true
		return t
	}
	// abs is a target on a figure itself, in its unit.
	abs := func(name, fRow, fMeasure, op string, want float64, unit string) target {
		return target{Name: name, Figure: key(fRow, fMeasure), Op: op, Want: want, Unit: unit}
	}
	// info is a ratio reported, with no goal.
	info := func(name, fRow, fMeasure, rRow, rMeasure string) target {
		return target{Name: name, Figure: key(fRow, fMeasure), Ref: key(rRow, rMeasure), Op: opInfo}
	}
	return []target{
		t("net~noise throughput vs go-libp2p tcp+noise+yamux", rowNoise, mThroughput, ">=", 1.15, rowP2PTCP, mThroughput),
		t("net~noise throughput vs raw tcp", rowNoise, mThroughput, ">=", 0.75, rowTCP, mThroughput),
		t("net~noise~yamux throughput vs go-libp2p tcp+noise+yamux", rowNoiseYamux, mThroughput, ">=", 1.0, rowP2PTCP, mThroughput),
		t("net~shs throughput vs secretbox 4 KiB limit", rowSHS, mThroughput, ">=", 0.7, rowSecretbox, mSeal),
		t("net~shs throughput vs javascript net~shs", rowSHS, mThroughput, ">=", 5, rowJS, mThroughput),
		t("quic throughput vs raw quic-go", rowQUIC, mThroughput, ">=", 0.9, rowQUICGo, mThroughput),
		t("quic throughput vs go-libp2p quic", rowQUIC, mThroughput, ">=", 1.0, rowP2PQUIC, mThroughput),
		t("quic conns/s sequential vs raw quic-go", rowQUIC, mConns, ">=", 0.9, rowQUICGo, mConns),
		explains(t("quic conns/s sequential vs quic-go with the same mutual TLS", rowQUIC, mConns, ">=", 0.9, rowQUICGoMTLS, mConns)),
		explains(t("quic conns/s 8 parallel vs quic-go with the same mutual TLS", rowQUIC, mConns8, ">=", 0.9, rowQUICGoMTLS, mConns8)),
		t("quic heap/conn vs go-libp2p quic", rowQUIC, mHeap, "<=", 1.0, rowP2PQUIC, mHeap),
		t("net~noise conns/s sequential vs go-libp2p tcp+noise+yamux", rowNoise, mConns, ">=", 2, rowP2PTCP, mConns),
		t("net~noise conns/s 8 parallel vs go-libp2p tcp+noise+yamux", rowNoise, mConns8, ">=", 2, rowP2PTCP, mConns8),
		t("net~noise heap/conn vs go-libp2p tcp+noise+yamux", rowNoise, mHeap, "<=", 0.5, rowP2PTCP, mHeap),
		t("net~noise rss/conn vs go-libp2p tcp+noise+yamux", rowNoise, mRSS, "<=", 0.5, rowP2PTCP, mRSS),
		t("relay:ws~noise throughput vs direct net~noise", rowRelay, mThroughput, ">=", 0.7, rowNoise, mThroughput),
		abs("relay rss per idle pairing, relay in its own process", rowRelay, mRelayRSS, "<=", 32, "KiB/pairing"),
		info("relay:ws~noise conns/s sequential vs direct net~noise", rowRelay, mConns, rowNoise, mConns),
		info("relay:ws~noise conns/s 8 parallel vs direct net~noise", rowRelay, mConns8, rowNoise, mConns8),
		t("ws~noise throughput vs net~noise", rowWSNoise, mThroughput, ">=", 0.8, rowNoise, mThroughput),
		info("hyperswarm echo throughput through the dht-relay vs ws~noise", rowHyperswarm, mThroughput, rowWSNoise, mThroughput),
		info("relay:sse~noise throughput vs relay:ws~noise", rowRelaySSE, mThroughput, rowRelay, mThroughput),
		info("relay:poll~noise throughput vs relay:ws~noise", rowRelayPoll, mThroughput, rowRelay, mThroughput),
		info("relay:sse~noise rtt p50 vs relay:ws~noise", rowRelaySSE, mRTT50, rowRelay, mRTT50),
		info("relay:poll~noise rtt p50 vs relay:ws~noise", rowRelayPoll, mRTT50, rowRelay, mRTT50),
	}
}

// runSuite runs every selected job once per round, the rounds one after
// another, so that a drift of the machine's load hits every row alike,
// and returns the report.
func runSuite(ctx context.Context, o *options) *report {
	started := time.Now()
	rep := newReport(o)
	var jobs []job
	for _, r := range rows() {
		for _, j := range jobsOf(r, o) {
			if o.only != nil && !slices.ContainsFunc(j.figs, func(f *figure) bool { return o.only.MatchString(f.Row + " " + f.Measure) }) {
				continue
			}
			jobs = append(jobs, j)
			rep.Figures = append(rep.Figures, j.figs...)
		}
	}
	for _, f := range rep.Figures {
		f.Samples = make([]float64, 0, o.runs)
	}
	// A round runs one measure on every row before the next measure, so
	// that the figures a ratio compares are taken seconds apart; every
	// other round runs each measure's rows in reverse, so that a steady
	// drift of the machine's load favours no row.
	slices.SortStableFunc(jobs, func(a, b job) int { return measureIndex(a) - measureIndex(b) })
	for round := range o.runs {
		for _, i := range roundOrder(jobs, round) {
			j := jobs[i]
			if j.figs[0].Status != "" { // not runnable: no plug yet, no node
				continue
			}
			name := j.figs[0].Row + ": " + strings.Join(measures(j.figs), ", ")
			fmt.Fprintf(o.log, "round %d/%d  %-60s", round+1, o.runs, name)
			t := time.Now()
			jctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
			vals, err := j.run(jctx)
			cancel()
			if err != nil {
				// A failed round gives no sample (NaN); later rounds
				// still run.
				fmt.Fprintf(o.log, " error: %v\n", err)
				for _, f := range j.figs {
					f.Samples = append(f.Samples, math.NaN())
					f.errs = append(f.errs, fmt.Sprintf("round %d: %s", round+1, oneLine(err)))
				}
				continue
			}
			fmt.Fprintf(o.log, " %s (%.1fs)\n", valuesString(vals), time.Since(t).Seconds())
			for k, f := range j.figs {
				f.Samples = append(f.Samples, vals[k])
			}
		}
	}
	for _, f := range rep.Figures {
		f.summarize()
		switch {
		case len(f.errs) > 0 && len(f.errs) == len(f.Samples):
			f.Status = "error: " + f.errs[0]
		case len(f.errs) > 0:
			f.Note = strings.TrimPrefix(f.Note+"; failed "+strings.Join(f.errs, "; "), "; ")
		}
	}
	computeRatios(rep.Figures)
	sortFigures(rep.Figures)
	for _, t := range targets() {
		t.judge(rep.Figures)
		rep.Targets = append(rep.Targets, t)
	}
	rep.Notes = []string{
		"every row runs its server and client in this process, over loopback; a ratio compares two figures of the same round",
		"throughput: one new connection, 64 KiB writes, MB/s = 10^6 bytes/s; the crypto limits run on one core, a stream's two ends on two",
		"conns/s: connect + handshake + 1-byte echo + close, a new connection each time from a client that is reused; go-libp2p's 8 parallel workers use one client host each",
		fmt.Sprintf("rtt: %d-byte messages echoed one at a time on one stream", rttSize),
		fmt.Sprintf("heap/conn, rss/conn: %d idle connections with one open stream each, both ends in one child process (so both ends counted); VmRSS and live heap after GC, minus the same before", o.memConns),
		fmt.Sprintf("%s: the relay runs in this process for throughput, conns/s and rtt, in the memory child with both ends for heap/conn and rss/conn, and alone in a process of its own for the relay's figures per pairing (%d idle pairings, both ends in this process)", rowRelay, o.memConns),
	}
	rep.Seconds = time.Since(started).Seconds()
	return rep
}

func measureIndex(j job) int { return slices.Index(measureOrder, j.figs[0].Measure) }

// roundOrder returns the order in which round runs jobs, which are
// sorted by measure: as they are, or each measure's rows reversed.
func roundOrder(jobs []job, round int) []int {
	var order []int
	for start := 0; start < len(jobs); {
		end := start
		for end < len(jobs) && measureIndex(jobs[end]) == measureIndex(jobs[start]) {
			end++
		}
		for k := range end - start {
			if round%2 == 1 {
				order = append(order, end-1-k)
			} else {
				order = append(order, start+k)
			}
		}
		start = end
	}
	return order
}

func measures(figs []*figure) []string {
	var m []string
	for _, f := range figs {
		m = append(m, f.Measure)
	}
	return m
}

func valuesString(v []float64) string {
	var s []string
	for _, x := range v {
		s = append(s, num(x))
	}
	return strings.Join(s, " ")
}

// oneLine flattens an error message.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

// sortFigures orders figures by measure, then group, keeping the row
// order within a group.
func sortFigures(figs []*figure) {
	group := map[string]int{"limits": 0, "ours": 1, "peers": 2}
	slices.SortStableFunc(figs, func(a, b *figure) int {
		if d := slices.Index(measureOrder, a.Measure) - slices.Index(measureOrder, b.Measure); d != 0 {
			return d
		}
		return group[a.Group] - group[b.Group]
	})
}
