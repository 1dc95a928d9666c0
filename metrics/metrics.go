package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/f7d52a8e/multiserver"
)

// NewCollector returns a collector of the counters of s. Each call
// returns a collector of the same metrics: register one per registry.
func NewCollector(s *multiserver.Stats) prometheus.Collector { return collector{s} }

type collector struct{ s *multiserver.Stats }

var (
	descAccepted = prometheus.NewDesc("multiserver_accepted_total",
		"Connections (on a stack of sessions, sessions) whose whole stack succeeded, by path: direct, relayed.", []string{"stack", "path"}, nil)
	descFailed = prometheus.NewDesc("multiserver_handshake_failures_total",
		"Inbound connections dropped before Accept, by reason: timeout, closed (the peer hung up), wrong_key, protocol (the transform refused what the peer sent), over_budget (too many handshakes in progress), muxer.", []string{"stack", "reason"}, nil)
	descIn = prometheus.NewDesc("multiserver_received_bytes_total",
		"Bytes read from the stack's connections, above its transforms.", []string{"stack"}, nil)
	descOut = prometheus.NewDesc("multiserver_sent_bytes_total",
		"Bytes written to the stack's connections, above its transforms.", []string{"stack"}, nil)
	descOpen = prometheus.NewDesc("multiserver_open_connections",
		"Connections (sessions) accepted and not yet closed.", []string{"stack"}, nil)
	descOpenPath = prometheus.NewDesc("multiserver_open_connections_by_path",
		"Connections (sessions) accepted and not yet closed, by the path they take now: direct, relayed.", []string{"stack", "path"}, nil)
	descSwitches = prometheus.NewDesc("multiserver_path_switches_total",
		"Switches of path of the stack's open connections, by the path switched to: direct (from relayed), relayed (from direct).", []string{"stack", "to"}, nil)
	descStreams = prometheus.NewDesc("multiserver_open_streams",
		"Streams of the stack's sessions that Accept returned and that are not yet closed.", []string{"stack"}, nil)
	descAttempts = prometheus.NewDesc("multiserver_dial_attempts_total",
		"Addresses dialed, by stack (layer names) and class: direct, fallback (through a relay or bridge).", []string{"stack", "class"}, nil)
	descWins = prometheus.NewDesc("multiserver_dial_wins_total",
		"Dial attempts that won, by the path of their connection: direct, relayed.", []string{"stack", "class", "path"}, nil)
	descDialOpen = prometheus.NewDesc("multiserver_dial_open_connections",
		"Connections that won their dial and are not yet closed, by the path they take now: direct, relayed.", []string{"stack", "class", "path"}, nil)
	descDialSwitches = prometheus.NewDesc("multiserver_dial_path_switches_total",
		"Switches of path of the open connections dialed, by the path switched to: direct (from relayed), relayed (from direct).", []string{"stack", "class", "to"}, nil)
	descDialFailed = prometheus.NewDesc("multiserver_dial_failures_total",
		"Dial attempts that failed, by the layer that failed (a plug, transform or muxer name).", []string{"stack", "class", "layer"}, nil)
)

// Describe sends the descriptors of every metric.
func (collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descAccepted, descFailed, descIn, descOut, descOpen, descOpenPath, descSwitches, descStreams, descAttempts, descWins, descDialOpen, descDialSwitches, descDialFailed} {
		ch <- d
	}
}

// Collect sends the metrics now.
func (c collector) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), labels...)
	}
	for _, st := range c.s.Stacks() {
		counter(descAccepted, st.Accepted, st.Stack, "direct")
		counter(descAccepted, st.AcceptedRelayed, st.Stack, "relayed")
		for _, r := range multiserver.Reasons() {
			counter(descFailed, st.Failed[r], st.Stack, r.String())
		}
		counter(descIn, st.BytesIn, st.Stack)
		counter(descOut, st.BytesOut, st.Stack)
		gauge(descOpen, st.Open, st.Stack)
		gauge(descOpenPath, st.OpenDirect, st.Stack, "direct")
		gauge(descOpenPath, st.OpenRelayed, st.Stack, "relayed")
		counter(descSwitches, st.ToDirect, st.Stack, "direct")
		counter(descSwitches, st.ToRelayed, st.Stack, "relayed")
		gauge(descStreams, st.Streams, st.Stack)
	}
	for _, d := range c.s.Dials() {
		class := "direct"
		if d.Fallback {
			class = "fallback"
		}
		counter(descAttempts, d.Attempts, d.Stack, class)
		counter(descWins, d.Wins, d.Stack, class, "direct")
		counter(descWins, d.WinsRelayed, d.Stack, class, "relayed")
		gauge(descDialOpen, d.OpenDirect, d.Stack, class, "direct")
		gauge(descDialOpen, d.OpenRelayed, d.Stack, class, "relayed")
		counter(descDialSwitches, d.ToDirect, d.Stack, class, "direct")
		counter(descDialSwitches, d.ToRelayed, d.Stack, class, "relayed")
		for layer, n := range d.Failed {
			counter(descDialFailed, n, d.Stack, class, layer)
		}
	}
}
