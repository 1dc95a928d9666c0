//go:build !js

package relayserver

import (
	"encoding/hex"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/f7d52a8e/multiserver/plugs/relay"
	"github.com/prometheus/client_golang/prometheus"
)

// Stats are a relay's counters.
type Stats struct {
	Accepted      int64 // WebSockets upgraded
	Bridged       int64 // HTTP bridge sessions taken as carriers
	Refused       int64 // upgrades refused by a limit or shutdown (503)
	AuthFailed    int64 // AUTHs with a bad origin or signature
	Denied        int64 // DENIED frames sent, every code
	NoPeer        int64 // CONNECTs nobody was registered for
	Replaced      int64 // registrations replaced by a newer one
	Paired        int64 // pairings made
	IdleClosed    int64 // pairings closed by the idle timeout
	Bytes         int64 // payload bytes forwarded, both directions
	STUNRequests  int64 // datagrams the STUN responder read
	STUNResponses int64 // Binding success responses it sent
	STUNDropped   int64 // datagrams it dropped, for every reason
	STUNRateDrops int64 // of those, over a source's rate
	Unauth        int   // WebSockets not yet authenticated, now
	Registrations int   // control conns registered, now
	Pairings      int   // pairings open, now
	Pending       int   // CONNECTs waiting, now
}

// refusal is why an upgrade was refused with 503.
type refusal int

const (
	refusedShutdown refusal = iota // the relay is shutting down
	refusedUnauth                  // Config.MaxUnauthenticated
	refusedPerIP                   // Config.MaxConnsPerIP
	numRefusals
)

// refusalNames are the values of the reason label.
var refusalNames = [numRefusals]string{"shutting_down", "unauthenticated", "conns_per_ip"}

// The directions of a pairing, as the server counts its bytes.
const (
	toListener = iota // from the dialer
	toDialer          // from the listener
)

// numCodes bounds the DENIED codes the server counts, 1..numCodes-1.
const numCodes = relay.CodeShuttingDown + 1

type stats struct {
	accepted, bridged, authFailed, replaced, paired, idleClosed atomic.Int64
	refused                                                     [numRefusals]atomic.Int64
	denies                                                      [numCodes]atomic.Int64 // by code
	bytes                                                       [2]atomic.Int64        // by direction
	stunRequests, stunResponses                                 atomic.Int64
	stunDropped                                                 [numSTUNDrops]atomic.Int64 // by reason
}

func (st *stats) denied(code relay.DenyCode) {
	if code < numCodes {
		st.denies[code].Add(1)
	}
}

// Stats returns the relay's counters now.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	st := Stats{Unauth: s.unauth, Registrations: len(s.keys), Pairings: len(s.pairings), Pending: len(s.pending)}
	s.mu.Unlock()
	st.Accepted = s.stats.accepted.Load()
	st.Bridged = s.stats.bridged.Load()
	for i := range s.stats.refused {
		st.Refused += s.stats.refused[i].Load()
	}
	st.AuthFailed = s.stats.authFailed.Load()
	for i := range s.stats.denies {
		st.Denied += s.stats.denies[i].Load()
	}
	st.NoPeer = s.stats.denies[relay.CodeNoPeer].Load()
	st.Replaced = s.stats.replaced.Load()
	st.Paired = s.stats.paired.Load()
	st.IdleClosed = s.stats.idleClosed.Load()
	st.Bytes = s.stats.bytes[toListener].Load() + s.stats.bytes[toDialer].Load()
	st.STUNRequests = s.stats.stunRequests.Load()
	st.STUNResponses = s.stats.stunResponses.Load()
	for i := range s.stats.stunDropped {
		st.STUNDropped += s.stats.stunDropped[i].Load()
	}
	st.STUNRateDrops = s.stats.stunDropped[stunRate].Load()
	return st
}

// Collector returns a Prometheus collector of the relay's counters and
// gauges, named multiserver_relay_*. Nothing is registered anywhere:
// register it in a registry of your own and serve that, as in
//
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(srv.Collector())
//	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// Every call returns a collector of the same metrics: register one per
// registry.
func (s *Server) Collector() prometheus.Collector { return collector{s} }

type collector struct{ s *Server }

var (
	descAccepted = prometheus.NewDesc("multiserver_relay_websockets_total",
		"WebSockets upgraded.", nil, nil)
	descBridged = prometheus.NewDesc("multiserver_relay_bridge_sessions_total",
		"HTTP bridge sessions taken as carriers (clients without WebSocket).", nil, nil)
	descRefused = prometheus.NewDesc("multiserver_relay_refused_total",
		"Upgrades refused with 503, by reason: shutting_down, unauthenticated (too many in all), conns_per_ip.", []string{"reason"}, nil)
	descAuthFailed = prometheus.NewDesc("multiserver_relay_auth_failures_total",
		"AUTH frames with a bad origin or signature.", nil, nil)
	descDenied = prometheus.NewDesc("multiserver_relay_denied_total",
		"DENIED frames sent, by code (spec/relay.md §5, in lower case).", []string{"code"}, nil)
	descReplaced = prometheus.NewDesc("multiserver_relay_replaced_total",
		"Registrations replaced by a newer one of the same key.", nil, nil)
	descPaired = prometheus.NewDesc("multiserver_relay_pairings_total",
		"Pairings made.", nil, nil)
	descIdleClosed = prometheus.NewDesc("multiserver_relay_idle_closed_total",
		"Pairings closed because they carried no data for the idle timeout.", nil, nil)
	descBytes = prometheus.NewDesc("multiserver_relay_forwarded_bytes_total",
		"Payload bytes forwarded between paired WebSockets, by direction: to_listener, to_dialer.", []string{"direction"}, nil)
	descPairingBytes = prometheus.NewDesc("multiserver_relay_pairing_forwarded_bytes_total",
		"Payload bytes forwarded by each open pairing, by pairing (the first 8 bytes of its stream id in hex, a dot, and its number among the relay's pairings) and direction: to_listener, to_dialer. A pairing's series goes when it closes; a stream paired again is a new pairing.", []string{"pairing", "direction"}, nil)
	descSTUNRequests = prometheus.NewDesc("multiserver_relay_stun_requests_total",
		"Datagrams the STUN responder read, on all its ports.", nil, nil)
	descSTUNResponses = prometheus.NewDesc("multiserver_relay_stun_responses_total",
		"Binding success responses the STUN responder sent.", nil, nil)
	descSTUNDropped = prometheus.NewDesc("multiserver_relay_stun_dropped_total",
		"Datagrams the STUN responder dropped, by reason: too_large, rate (over the source's rate), sources (too many sources tracked), malformed, not_binding, send_failed.", []string{"reason"}, nil)
	descUnauth = prometheus.NewDesc("multiserver_relay_unauthenticated",
		"WebSockets not yet authenticated.", nil, nil)
	descRegistrations = prometheus.NewDesc("multiserver_relay_registrations",
		"Control connections registered.", nil, nil)
	descPairings = prometheus.NewDesc("multiserver_relay_pairings",
		"Pairings open.", nil, nil)
	descPending = prometheus.NewDesc("multiserver_relay_pending",
		"CONNECTs waiting for an ACCEPT.", nil, nil)
)

// Describe sends the descriptors of every metric of the relay.
func (collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descAccepted, descBridged, descRefused, descAuthFailed, descDenied, descReplaced,
		descPaired, descIdleClosed, descBytes, descPairingBytes, descSTUNRequests, descSTUNResponses, descSTUNDropped, descUnauth, descRegistrations, descPairings, descPending} {
		ch <- d
	}
}

// Collect sends the relay's metrics now.
func (c collector) Collect(ch chan<- prometheus.Metric) {
	s := c.s
	counter := func(d *prometheus.Desc, v *atomic.Int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v.Load()), labels...)
	}
	gauge := func(d *prometheus.Desc, v int) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v))
	}
	counter(descAccepted, &s.stats.accepted)
	counter(descBridged, &s.stats.bridged)
	for i, name := range refusalNames {
		counter(descRefused, &s.stats.refused[i], name)
	}
	counter(descAuthFailed, &s.stats.authFailed)
	for code := relay.CodeBadFrame; code < numCodes; code++ {
		counter(descDenied, &s.stats.denies[code], strings.ToLower(code.String()))
	}
	counter(descReplaced, &s.stats.replaced)
	counter(descPaired, &s.stats.paired)
	counter(descIdleClosed, &s.stats.idleClosed)
	counter(descBytes, &s.stats.bytes[toListener], "to_listener")
	counter(descBytes, &s.stats.bytes[toDialer], "to_dialer")
	counter(descSTUNRequests, &s.stats.stunRequests)
	counter(descSTUNResponses, &s.stats.stunResponses)
	for i, name := range stunDropNames {
		counter(descSTUNDropped, &s.stats.stunDropped[i], name)
	}
	s.mu.Lock()
	unauth, regs, pairings, pending := s.unauth, len(s.keys), len(s.pairings), len(s.pending)
	open := make([]*pairing, 0, len(s.pairings))
	for p := range s.pairings {
		open = append(open, p)
	}
	s.mu.Unlock()
	for _, p := range open {
		id := hex.EncodeToString(p.stream[:8]) + "." + strconv.FormatInt(p.number, 10)
		counter(descPairingBytes, &p.sent[toListener], id, "to_listener")
		counter(descPairingBytes, &p.sent[toDialer], id, "to_dialer")
	}
	gauge(descUnauth, unauth)
	gauge(descRegistrations, regs)
	gauge(descPairings, pairings)
	gauge(descPending, pending)
}
