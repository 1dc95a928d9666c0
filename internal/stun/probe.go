package stun

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"
)

// ErrUDPBlocked is what [Probe]'s error matches with errors.Is when no
// server answered: UDP does not get through to them (a firewall, a
// network without UDP) or none of them is up. The protocol cannot tell
// these apart.
var ErrUDPBlocked = errors.New("stun: no answer from any server: UDP blocked, or no server up")

// Retransmission, as RFC 8489 §6.2.1 has it.
const (
	// RTO is the first retransmission timeout; it doubles after each
	// request.
	RTO = 500 * time.Millisecond
	// Requests is Rc: how many requests a transaction sends in all.
	Requests = 7
	// lastWait is Rm: after the last request, the wait is Rm × RTO.
	lastWait = 16
	// Straggler is how long Probe waits for the other servers once one
	// has answered: they are the same host on other ports, so only loss
	// delays them.
	Straggler = 2 * time.Second
)

// Mapping is what a NAT does with a host's UDP source address, as RFC
// 4787 §4.1 tells its kinds apart.
type Mapping int

const (
	// MappingUnknown: fewer than two servers answered.
	MappingUnknown Mapping = iota
	// MappingEndpointIndependent: every server saw the same reflexive
	// address. The NAT (if any) reuses one mapping for every destination,
	// so a peer can reach the address the servers saw: hole punching
	// works from here.
	MappingEndpointIndependent
	// MappingEndpointDependent: servers on other ports of the same host
	// saw other reflexive addresses. The mapping depends on the
	// destination's port (address-and-port-dependent, "symmetric"): a
	// peer cannot predict it.
	MappingEndpointDependent
)

func (m Mapping) String() string {
	switch m {
	case MappingEndpointIndependent:
		return "endpoint-independent"
	case MappingEndpointDependent:
		return "endpoint-dependent"
	}
	return "unknown"
}

// Answer is what one server said.
type Answer struct {
	Server netip.AddrPort
	// Mapped is the reflexive address the server saw; not valid if the
	// server did not answer.
	Mapped netip.AddrPort
	// RTT is the time from the last request sent to the answer.
	RTT time.Duration
}

// Result is what [Probe] found.
type Result struct {
	// Answers are the servers' answers, in the order of the servers.
	Answers []Answer
	// Mapping compares the reflexive addresses of the answers.
	Mapping Mapping
}

// Reflexive returns the first reflexive address any server saw, or the
// zero AddrPort.
func (r Result) Reflexive() netip.AddrPort {
	for _, a := range r.Answers {
		if a.Mapped.IsValid() {
			return a.Mapped
		}
	}
	return netip.AddrPort{}
}

// maxResponse bounds a response Probe reads.
const maxResponse = 1500

// transaction is one server's Binding transaction.
type transaction struct {
	server netip.AddrPort
	id     TransactionID
	req    []byte
	sent   int           // requests sent
	next   time.Time     // of the next request, or the end of the transaction
	rto    time.Duration // the wait after the request sent last
	last   time.Time     // when the last request was sent
	answer Answer
	done   bool // answered or given up
}

// Probe sends Binding requests from conn to every server at once,
// retransmitting each as RFC 8489 §6.2.1 says (first after [RTO], then
// doubling, [Requests] in all, then a wait of 16 RTO: 39.5 s when
// nothing answers), and reports each server's answer and what the
// answers say of the NAT. Once one server has answered, the others get
// [Straggler] more. ctx bounds it all.
//
// Give it the two ports of one responder (the relay's): the same
// reflexive address from both means the mapping is endpoint-independent.
//
// While Probe runs it reads from conn, and discards what is not an
// answer to it; it sets conn's read deadline, and clears it before
// returning. If no server answered, the error matches [ErrUDPBlocked]
// and, if ctx ended first, ctx's error as well.
func Probe(ctx context.Context, conn net.PacketConn, servers []netip.AddrPort) (Result, error) {
	if len(servers) == 0 {
		return Result{}, errors.New("stun: probe: no server")
	}
	start := time.Now()
	txs := make([]*transaction, len(servers))
	for i, s := range servers {
		t := &transaction{server: netip.AddrPortFrom(s.Addr().Unmap(), s.Port()), id: NewTransactionID(), next: start, answer: Answer{Server: s}}
		t.req = (&Message{Type: BindingRequest, ID: t.id, Fingerprint: true}).Append(nil)
		txs[i] = t
	}

	// ctx's end wakes the read; mu orders that against the deadlines the
	// loop sets, so that a later one does not undo it.
	var mu sync.Mutex
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(fired)
		mu.Lock()
		defer mu.Unlock()
		conn.SetReadDeadline(time.Unix(1, 0))
	})
	defer func() {
		if !stop() {
			<-fired
		}
		conn.SetReadDeadline(time.Time{})
	}()

	buf := make([]byte, maxResponse)
	var answered time.Time // of the first answer
	for {
		now := time.Now()
		wake, err := step(conn, txs, now, answered)
		if err != nil {
			return result(txs), fmt.Errorf("stun: probe: %w", err)
		}
		if wake.IsZero() {
			break
		}
		mu.Lock()
		if ctx.Err() != nil {
			mu.Unlock()
			break
		}
		conn.SetReadDeadline(wake)
		mu.Unlock()
		n, from, err := conn.ReadFrom(buf)
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			return result(txs), fmt.Errorf("stun: probe: %w", err)
		}
		if t := match(txs, buf[:n], from); t != nil && answered.IsZero() {
			answered = time.Now()
		}
	}
	r := result(txs)
	if r.Reflexive().IsValid() {
		return r, nil
	}
	if err := ctx.Err(); err != nil {
		return r, fmt.Errorf("%w (%d servers): %w", ErrUDPBlocked, len(servers), err)
	}
	return r, fmt.Errorf("%w (%d servers, %s)", ErrUDPBlocked, len(servers), time.Since(start).Round(time.Millisecond))
}

// step sends the requests that are due at now and returns when the next
// thing is due, or the zero time when every transaction is done.
func step(conn net.PacketConn, txs []*transaction, now, answered time.Time) (time.Time, error) {
	var wake time.Time
	for _, t := range txs {
		if t.done {
			continue
		}
		if !answered.IsZero() && now.Sub(answered) >= Straggler {
			t.done = true
			continue
		}
		if !now.Before(t.next) {
			if t.sent == Requests {
				t.done = true
				continue
			}
			if _, err := conn.WriteTo(t.req, net.UDPAddrFromAddrPort(t.server)); err != nil {
				return time.Time{}, err
			}
			t.sent++
			t.rto = RTO << (t.sent - 1)
			if t.sent == Requests {
				t.rto = lastWait * RTO
			}
			t.last, t.next = now, now.Add(t.rto)
		}
		if wake.IsZero() || t.next.Before(wake) {
			wake = t.next
		}
	}
	if !wake.IsZero() && !answered.IsZero() && answered.Add(Straggler).Before(wake) {
		wake = answered.Add(Straggler)
	}
	return wake, nil
}

// match records b, from from, as an answer to the transaction it
// belongs to, which it returns; it returns nil for anything else.
func match(txs []*transaction, b []byte, from net.Addr) *transaction {
	ua, ok := from.(*net.UDPAddr)
	if !ok || !IsMessage(b) {
		return nil
	}
	src := ua.AddrPort()
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	m, err := Decode(b)
	if err != nil || m.Type != BindingSuccess {
		return nil
	}
	for _, t := range txs {
		if t.done || t.id != m.ID || t.server != src {
			continue
		}
		mapped, err := m.XORMappedAddress()
		if err != nil {
			if mapped, err = m.MappedAddress(); err != nil {
				return nil
			}
		}
		t.answer.Mapped = netip.AddrPortFrom(mapped.Addr().Unmap(), mapped.Port())
		t.answer.RTT = time.Since(t.last)
		t.done = true
		return t
	}
	return nil
}

// result returns the answers of txs and what they say of the mapping.
func result(txs []*transaction) Result {
	r := Result{Answers: make([]Answer, len(txs))}
	var seen []netip.AddrPort
	for i, t := range txs {
		r.Answers[i] = t.answer
		if t.answer.Mapped.IsValid() {
			seen = append(seen, t.answer.Mapped)
		}
	}
	if len(seen) >= 2 {
		r.Mapping = MappingEndpointIndependent
		for _, a := range seen[1:] {
			if a != seen[0] {
				r.Mapping = MappingEndpointDependent
			}
		}
	}
	return r
}
