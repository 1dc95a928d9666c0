package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
	"github.com/f7d52a8e/multiserver/keys"
	"github.com/f7d52a8e/multiserver/metrics"
)

// observeFlags are serve's flags for what it tells of itself: Prometheus
// metrics and the admin endpoint, both off by default.
type observeFlags struct {
	addr  string // --metrics HOST:PORT
	admin bool   // --admin: /stacks beside /metrics
}

func (o *observeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&o.addr, "metrics", "", "serve Prometheus metrics of the stacks, their dials and their usage at http://`HOST:PORT`/metrics")
	fs.BoolVar(&o.admin, "admin", false, "with --metrics, also serve /stacks: each stack's usage (GET), and drain or drop one (POST /stacks/drain, /stacks/drop); keep it on loopback")
}

// check reports a usage error in the flags.
func (o *observeFlags) check() error {
	if o.admin && o.addr == "" {
		return fmt.Errorf("%w: serve: --admin needs --metrics HOST:PORT", errUsage)
	}
	return nil
}

// stats returns the Stats for the Network, or nil when nothing is served.
func (o *observeFlags) stats() *multiserver.Stats {
	if o.addr == "" {
		return nil
	}
	return multiserver.NewStats()
}

// start serves /metrics (and /stacks with --admin) for ln, counted into
// stats, until the returned function is called. It logs where.
func (o *observeFlags) start(ln *multiserver.Listener, stats *multiserver.Stats, lg *slog.Logger) (stop func(), err error) {
	if o.addr == "" {
		return func() {}, nil
	}
	hl, err := net.Listen("tcp", o.addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics: %w", err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.NewCollector(stats), metrics.NewUsageCollector(ln),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	if o.admin {
		if ap, err := netip.ParseAddrPort(hl.Addr().String()); err == nil && !ap.Addr().IsLoopback() {
			lg.Warn("the admin endpoint can drain and drop stacks, and listens beyond loopback", "addr", hl.Addr())
		}
		a := &admin{ln: ln, log: lg}
		mux.HandleFunc("GET /stacks", a.usage)
		mux.HandleFunc("POST /stacks/drain", a.drain)
		mux.HandleFunc("POST /stacks/drop", a.drop)
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		hs.Serve(hl)
	}()
	lg.Info("metrics", "url", "http://"+hl.Addr().String()+"/metrics", "admin", o.admin)
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		hs.Shutdown(ctx)
		hs.Close()
		<-done
	}, nil
}

// admin answers the admin endpoint's requests for a Listener, and logs
// the changes it makes.
type admin struct {
	ln  *multiserver.Listener
	log *slog.Logger // nil: silent
}

// usageJSON is one stack in the answer of GET /stacks.
type usageJSON struct {
	Listen     string     `json:"listen"`
	Reach      []string   `json:"reach"`
	Since      time.Time  `json:"since"`
	DrainUntil *time.Time `json:"drain_until,omitempty"`
	Last       *time.Time `json:"last,omitempty"`
	Total      int64      `json:"total"`
	LastHour   int64      `json:"last_hour"`
	LastDay    int64      `json:"last_day"`
	Peers      int        `json:"peers"`
	OnlyHere   int        `json:"only_here"`
	OnlyKeys   []string   `json:"only_here_keys,omitempty"`
}

// stacksJSON is the answer of GET /stacks.
type stacksJSON struct {
	Now    time.Time   `json:"now"`
	Stacks []usageJSON `json:"stacks"`
}

func (a *admin) usage(w http.ResponseWriter, r *http.Request) {
	out := stacksJSON{Now: time.Now().UTC(), Stacks: []usageJSON{}}
	for _, u := range a.ln.Usage() {
		j := usageJSON{
			Listen: u.Addr.Redacted(), Reach: []string{}, Since: u.Since.UTC(),
			Total: u.Total, LastHour: u.LastHour, LastDay: u.LastDay, Peers: u.Peers, OnlyHere: u.OnlyHere,
		}
		for _, r := range u.Reach {
			j.Reach = append(j.Reach, r.Redacted())
		}
		if !u.DrainUntil.IsZero() {
			t := u.DrainUntil.UTC()
			j.DrainUntil = &t
		}
		if !u.Last.IsZero() {
			t := u.Last.UTC()
			j.Last = &t
		}
		for _, k := range u.OnlyHereKeys {
			j.OnlyKeys = append(j.OnlyKeys, keys.ID(k))
		}
		out.Stacks = append(out.Stacks, j)
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(out)
}

func (a *admin) drain(w http.ResponseWriter, r *http.Request) {
	grace, err := time.ParseDuration(r.FormValue("grace"))
	if err != nil || grace < 0 {
		http.Error(w, "grace: want a duration such as 1h", http.StatusBadRequest)
		return
	}
	err = a.ln.Drain(r.FormValue("addr"), grace)
	if err == nil && a.log != nil {
		a.log.Info("draining", "addr", address.Redact(r.FormValue("addr")), "grace", grace, "remote", r.RemoteAddr)
	}
	a.answer(w, err)
}

func (a *admin) drop(w http.ResponseWriter, r *http.Request) {
	err := a.ln.Drop(r.FormValue("addr"))
	if err == nil && a.log != nil {
		a.log.Info("dropped", "addr", address.Redact(r.FormValue("addr")), "remote", r.RemoteAddr)
	}
	a.answer(w, err)
}

func (a *admin) answer(w http.ResponseWriter, err error) {
	switch {
	case err == nil:
		w.WriteHeader(http.StatusNoContent)
	case errors.Is(err, net.ErrClosed):
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
	default:
		http.Error(w, err.Error(), http.StatusBadRequest)
	}
}
