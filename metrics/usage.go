package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/f7d52a8e/multiserver"
)

// NewUsageCollector returns a collector of how much each stack of ln is
// used ([multiserver.Listener.UsageByAddr]), the numbers that say whether a
// stack can be dropped, as gauges with the label stack (the address as
// given to Listen or Add, seeds redacted; the stacks given one address,
// a draining one and its replacement, make one series):
//
//	multiserver_stack_last_connection_timestamp_seconds{stack}  when it last accepted a connection (absent if never)
//	multiserver_stack_connections_last_hour{stack}              connections in the last hour
//	multiserver_stack_connections_last_day{stack}               connections in the last 24 hours
//	multiserver_stack_peers{stack}                              peers (keys) seen over it in the last 24 hours
//	multiserver_stack_peers_only_here{stack}                    of those, peers seen over no stack of ln with another address
//	multiserver_stack_drain_end_timestamp_seconds{stack}        when a drain in progress drops it (absent unless draining)
//
// It reads the usage at each scrape; register one per Listener.
func NewUsageCollector(ln *multiserver.Listener) prometheus.Collector { return usageCollector{ln} }

type usageCollector struct{ ln *multiserver.Listener }

var (
	descLast = prometheus.NewDesc("multiserver_stack_last_connection_timestamp_seconds",
		"When the stack last accepted a connection, in Unix seconds.", []string{"stack"}, nil)
	descHour = prometheus.NewDesc("multiserver_stack_connections_last_hour",
		"Connections the stack accepted in the last hour.", []string{"stack"}, nil)
	descDay = prometheus.NewDesc("multiserver_stack_connections_last_day",
		"Connections the stack accepted in the last 24 hours.", []string{"stack"}, nil)
	descPeers = prometheus.NewDesc("multiserver_stack_peers",
		"Peers (keys) that connected over the stack in the last 24 hours.", []string{"stack"}, nil)
	descOnly = prometheus.NewDesc("multiserver_stack_peers_only_here",
		"Peers that connected over the stack and no stack of the listener with another address in the last 24 hours: those dropping it would cut off.", []string{"stack"}, nil)
	descDrain = prometheus.NewDesc("multiserver_stack_drain_end_timestamp_seconds",
		"When the drain in progress drops the stack, in Unix seconds.", []string{"stack"}, nil)
)

// Describe sends the descriptors of every metric.
func (usageCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descLast, descHour, descDay, descPeers, descOnly, descDrain} {
		ch <- d
	}
}

// Collect sends the metrics now. Stacks given the same address (one
// draining, the one added to replace it) share their label, so they make
// one series each, as [multiserver.Listener.UsageByAddr] merges them:
// their counts added up, a peer that used several of them counted once,
// the latest connection, the earliest drain end.
func (c usageCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, stack string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, stack)
	}
	for _, u := range c.ln.UsageByAddr() {
		stack := u.Addr.Redacted()
		if !u.Last.IsZero() {
			gauge(descLast, float64(u.Last.UnixNano())/1e9, stack)
		}
		gauge(descHour, float64(u.LastHour), stack)
		gauge(descDay, float64(u.LastDay), stack)
		gauge(descPeers, float64(u.Peers), stack)
		gauge(descOnly, float64(u.OnlyHere), stack)
		if !u.DrainUntil.IsZero() {
			gauge(descDrain, float64(u.DrainUntil.UnixNano())/1e9, stack)
		}
	}
}
