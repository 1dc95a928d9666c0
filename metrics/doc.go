// Package metrics exports the counters of a [multiserver.Stats] to
// Prometheus.
//
// Nothing is registered anywhere, and [NewCollector] has nothing to
// export unless a Network is given the Stats ([multiserver.Config.Stats]);
// [NewUsageCollector] exports what every Listener keeps, Stats or not. Register the collector
// in a registry of your own and serve that:
//
//	stats := multiserver.NewStats()
//	n, _ := multiserver.New(multiserver.Config{Plugs: …, Transforms: …, Stats: stats})
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(metrics.NewCollector(stats))
//	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// # Metrics
//
// Per stack served (label stack: the address as given to Listen, seeds
// redacted):
//
//	multiserver_accepted_total{stack,path}              connections (sessions) accepted; path: direct, relayed
//	multiserver_handshake_failures_total{stack,reason}  inbound handshakes failed; reason: timeout, closed, wrong_key, protocol, over_budget, muxer
//	multiserver_received_bytes_total{stack}             bytes read, above the transforms
//	multiserver_sent_bytes_total{stack}                 bytes written, above the transforms
//	multiserver_open_connections{stack}                 connections (sessions) accepted and open
//	multiserver_open_connections_by_path{stack,path}    the same, by the path they take now
//	multiserver_path_switches_total{stack,to}           switches of path of open connections; to: direct, relayed
//	multiserver_open_streams{stack}                     streams of its sessions accepted and open
//
// Per stack dialed (label stack: its layer names, "net~shs"; class:
// direct, or fallback for a plug that reaches peers through a third
// party):
//
//	multiserver_dial_attempts_total{stack,class}        addresses tried
//	multiserver_dial_wins_total{stack,class,path}       attempts that won; path: direct, relayed
//	multiserver_dial_open_connections{stack,class,path} winners still open, by the path they take now
//	multiserver_dial_path_switches_total{stack,class,to} switches of path of the winners still open
//	multiserver_dial_failures_total{stack,class,layer}  attempts failed (timed out included), by the layer that failed
//
// [NewUsageCollector] exports how much each stack of a Listener is used,
// to tell when an old stack can be dropped. spec/observe.md lists every
// metric.
package metrics
