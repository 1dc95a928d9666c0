package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"time"

	"github.com/f7d52a8e/multiserver/address"
	"github.com/f7d52a8e/multiserver/interop/hstest"
	"github.com/f7d52a8e/multiserver/plugs/hyperswarm"
)

// The hyperswarm row: a Go dialer reaches the echo peer of
// interop/hyperswarm/net.js by its key, through the @hyperswarm/dht-relay
// in the same node process (spec/hyperswarm.md), over a DHT testnet on
// loopback. The peer only echoes, so the row measures echo throughput:
// bytes sent and echoed back at once, counted once. Each byte crosses
// the relay's WebSocket twice and the peer's UDX stream twice, and the
// relay, the DHT and the peer share one node thread.
const rowHyperswarm = "hyperswarm (dht-relay, echo)"

// hyperswarmJobs are the row's measures: throughput only.
func hyperswarmJobs(r row, o *options) []job {
	node, err := hstest.Node()
	if err != nil && r.status == "" {
		r.status = "unavailable: node or npm packages missing (npm ci --prefix interop/hyperswarm)"
	}
	f := fig(r, mThroughput, "MB/s", false, refsFor(r, mThroughput, true, true)...)
	f.Note = "echo: bytes sent and echoed back at once, counted once; relay, DHT testnet and peer in one node process"
	return []job{{
		figs: []*figure{f},
		run: func(ctx context.Context) ([]float64, error) {
			v, err := hyperswarmThroughput(ctx, node, o.window)
			return []float64{v}, err
		},
	}}
}

func hyperswarmThroughput(ctx context.Context, node string, d time.Duration) (float64, error) {
	n, err := hstest.Start(node)
	if err != nil {
		return 0, err
	}
	defer n.Stop()
	p, err := hyperswarm.New(hyperswarm.Config{Relays: []string{n.Relay}})
	if err != nil {
		return 0, err
	}
	defer p.Close()
	c, err := p.Dial(ctx, address.Segment{Name: "hyperswarm", Fields: []string{address.EncodeKey(n.PublicKey)}})
	if err != nil {
		return 0, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	echo := func(size int) (time.Duration, error) {
		buf := make([]byte, ioSize)
		rand.Read(buf)
		start := time.Now()
		werr := make(chan error, 1)
		go func() {
			for sent := 0; sent < size; sent += ioSize {
				if _, err := c.Write(buf); err != nil {
					werr <- err
					return
				}
			}
			werr <- nil
		}()
		if _, err := io.CopyN(io.Discard, c, int64(size)); err != nil {
			return 0, fmt.Errorf("echo: %w", err)
		}
		return time.Since(start), <-werr
	}
	size := 1 << 20
	var took time.Duration
	for {
		if took, err = echo(size); err != nil {
			return 0, err
		}
		if took >= d/8 || size >= 1<<28 {
			break
		}
		size *= 4
	}
	size = max(int(float64(size)/took.Seconds()*d.Seconds())/ioSize*ioSize, ioSize)
	if took, err = echo(size); err != nil {
		return 0, err
	}
	return float64(size) / took.Seconds() / 1e6, nil
}
