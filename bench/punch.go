package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/keys"
	"github.com/f7d52a8e/multiserver/plugs/holepunch"
	"github.com/f7d52a8e/multiserver/plugs/relay"
)

// The holepunch row, holepunch:ws~noise: a relay with its STUN
// responder on loopback, a listener and a dialer that meet through it
// and punch a direct path (spec/holepunch.md), over which noise and the
// data run on QUIC; the relay carries only the signalling. On loopback
// there is no NAT, so the path is found at the first probe: the row
// shows what the punched path carries next to the quic row, and what a
// dial costs until its path is direct.
const (
	rowPunch  = "holepunch:ws~noise"
	mDirect50 = "time to direct p50"
	mDirect90 = "time to direct p90"
)

// punchSTUN is the STUN of the relay the row runs, for the plugs that
// newNetwork makes while the row runs.
var punchSTUN struct {
	sync.Mutex
	addrs []string
}

func init() {
	extraPlugs = append(extraPlugs, func(id *keys.Identity) (multiserver.Plug, error) {
		punchSTUN.Lock()
		stun := slices.Clone(punchSTUN.addrs)
		punchSTUN.Unlock()
		d := &relay.Direct{
			STUN:      stun,
			HostAddrs: func() ([]netip.Addr, error) { return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil },
		}
		return holepunch.New(holepunch.Config{Rendezvous: &relay.Plug{Identity: id, Direct: d}})
	})
}

// punched is the row's system: ours, meeting through a relay.
type punched struct {
	*ours
	relay *localRelay
	stun  []net.PacketConn
	done  chan struct{}
}

func startPunched(ctx context.Context) (system, error) {
	r, err := startRelay()
	if err != nil {
		return nil, err
	}
	p := &punched{relay: r, done: make(chan struct{})}
	var addrs []string
	for range 2 {
		pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			p.close()
			return nil, err
		}
		p.stun = append(p.stun, pc)
		addrs = append(addrs, pc.LocalAddr().String())
	}
	go func() {
		var wg sync.WaitGroup
		for _, pc := range p.stun {
			wg.Go(func() { r.srv.ServeSTUN(pc) })
		}
		wg.Wait()
		close(p.done)
	}()
	punchSTUN.Lock()
	punchSTUN.addrs = addrs
	punchSTUN.Unlock()
	sys, err := startOurs(ctx, "holepunch:"+r.url+"~noise", false)
	if err != nil {
		p.close()
		return nil, err
	}
	p.ours = sys.(*ours)
	return p, nil
}

func (p *punched) close() error {
	var err error
	if p.ours != nil {
		err = p.ours.close()
	}
	err = errors.Join(err, p.relay.close())
	for _, pc := range p.stun {
		pc.Close()
	}
	if len(p.stun) == 2 {
		<-p.done
	}
	return err
}

// punchJobs are the row's measures: throughput on the punched path, and
// the time a dial takes until its path is direct (relay pairing, STUN,
// candidates, probes, QUIC and noise handshakes).
func punchJobs(r row, o *options) []job {
	return []job{
		{
			figs: []*figure{fig(r, mThroughput, "MB/s", false, refsFor(r, mThroughput, true, true)...)},
			run: func(ctx context.Context) ([]float64, error) {
				sys, err := startPunched(ctx)
				if err != nil {
					return nil, err
				}
				defer sys.close()
				v, err := throughput(ctx, sys, 1, o.window)
				return []float64{v}, err
			},
		},
		{
			figs: []*figure{fig(r, mDirect50, "ms", true), fig(r, mDirect90, "ms", true)},
			run: func(ctx context.Context) ([]float64, error) {
				sys, err := startPunched(ctx)
				if err != nil {
					return nil, err
				}
				defer sys.close()
				var ts []time.Duration
				for i := range 10 {
					start := time.Now()
					c, err := sys.dial(ctx, i)
					if err != nil {
						return nil, fmt.Errorf("dial %d: %w", i, err)
					}
					ts = append(ts, time.Since(start))
					c.close()
				}
				slices.Sort(ts)
				ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
				return []float64{ms(ts[len(ts)/2]), ms(ts[len(ts)*9/10])}, nil
			},
		},
	}
}
