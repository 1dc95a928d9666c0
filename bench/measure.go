package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// throughput sends data one way over streams streams of one new
// connection, each stream a sink, and returns MB/s (10^6 bytes) of all of
// them together: from the first byte written to the last ack read.
//
// It first warms up and sizes the run: it sends 1 MiB per stream, then 4×
// more until a transfer takes at least an eighth of d, and then sends as
// much as the measured rate carries in d.
func throughput(ctx context.Context, sys system, streams int, d time.Duration) (float64, error) {
	c, err := sys.dial(ctx, 0)
	if err != nil {
		return 0, err
	}
	defer c.close()
	stop := context.AfterFunc(ctx, func() { c.close() })
	defer stop()
	ss := []io.ReadWriter{c}
	for range streams - 1 {
		s, err := c.open(ctx)
		if err != nil {
			return 0, err
		}
		defer s.Close()
		ss = append(ss, s)
	}
	per := uint64(1 << 20)
	var took time.Duration
	for {
		if took, err = sinkAll(ss, per); err != nil {
			return 0, err
		}
		if took >= d/8 || per >= 1<<30 {
			break
		}
		per *= 4
	}
	rate := float64(per) / took.Seconds() // bytes per second per stream
	per = max(uint64(rate*d.Seconds())/ioSize*ioSize, ioSize)
	if took, err = sinkAll(ss, per); err != nil {
		return 0, err
	}
	return float64(per) * float64(len(ss)) / took.Seconds() / 1e6, nil
}

// sinkAll sinks n bytes on every stream at once and returns how long the
// slowest took.
func sinkAll(ss []io.ReadWriter, n uint64) (time.Duration, error) {
	start := time.Now()
	errs := make([]error, len(ss))
	var wg sync.WaitGroup
	for i, s := range ss {
		wg.Go(func() { errs[i] = sink(s, n) })
	}
	wg.Wait()
	return time.Since(start), errors.Join(errs...)
}

// connRate opens connections for d, each one connect + handshake +
// 1-byte echo + close, from workers goroutines at once (worker w dials
// from client w), and returns connections per second. At most maxConns
// connections are made, so that short-lived TCP ports are not exhausted.
func connRate(ctx context.Context, sys system, workers int, d time.Duration, maxConns int64) (float64, error) {
	once := func(w int) error {
		c, err := sys.dial(ctx, w)
		if err != nil {
			return err
		}
		err = echoOnce(c)
		return errors.Join(err, c.close())
	}
	// Warm up every client: the first dial of a client can cost more
	// (libp2p learns the peer's protocols, quic-go sizes buffers).
	for w := range workers {
		for range 3 {
			if err := once(w); err != nil {
				return 0, fmt.Errorf("warm-up: %w", err)
			}
		}
	}
	var (
		count atomic.Int64
		wg    sync.WaitGroup
		errs  = make([]error, workers)
	)
	start := time.Now()
	end := start.Add(d)
	for w := range workers {
		wg.Go(func() {
			for time.Now().Before(end) && count.Load() < maxConns {
				if err := once(w); err != nil {
					errs[w] = err
					return
				}
				count.Add(1)
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	return float64(count.Load()) / took.Seconds(), nil
}

// rttSize is the size of the message that round-trip times carry.
const rttSize = 64

// roundTrips sends rttSize-byte messages one at a time over one stream
// for d and returns the 50th and 99th percentile times until the echo is
// back, in microseconds.
func roundTrips(ctx context.Context, sys system, d time.Duration) (p50, p99 float64, err error) {
	c, err := sys.dial(ctx, 0)
	if err != nil {
		return 0, 0, err
	}
	defer c.close()
	stop := context.AfterFunc(ctx, func() { c.close() })
	defer stop()
	if err := startEcho(c); err != nil {
		return 0, 0, err
	}
	msg := make([]byte, rttSize)
	got := make([]byte, rttSize)
	ping := func() (time.Duration, error) {
		t := time.Now()
		if _, err := c.Write(msg); err != nil {
			return 0, err
		}
		if _, err := io.ReadFull(c, got); err != nil {
			return 0, err
		}
		return time.Since(t), nil
	}
	for range 200 { // warm up
		if _, err := ping(); err != nil {
			return 0, 0, err
		}
	}
	var lat []time.Duration
	for end := time.Now().Add(d); time.Now().Before(end) && len(lat) < 1_000_000; {
		t, err := ping()
		if err != nil {
			return 0, 0, err
		}
		lat = append(lat, t)
	}
	slices.Sort(lat)
	us := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))].Nanoseconds()) / 1e3 }
	return us(0.50), us(0.99), nil
}
