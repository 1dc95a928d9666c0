package multiserver_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/mux/yamux"
	"github.com/f7d52a8e/multiserver/plugs/mem"
	"github.com/f7d52a8e/multiserver/transforms/noauth"
)

// TestShutdownRandomized races the closes of a session's accepted
// streams against Listener.Shutdown, hundreds of times in a synctest
// bubble: Shutdown returns nil exactly when every stream was closed
// before its ctx ended, and the ctx's error otherwise, after which no
// stream works; the session ends either way and no goroutine is left.
func TestShutdownRandomized(t *testing.T) {
	runs := 300
	if testing.Short() {
		runs = 30
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	for run := range runs {
		k := 1 + rng.IntN(5)
		closeAt := make([]time.Duration, k)
		for i := range closeAt {
			closeAt[i] = time.Duration(rng.IntN(40)) * time.Millisecond
		}
		shutdownAt := time.Duration(rng.IntN(20)) * time.Millisecond
		grace := time.Duration(1+rng.IntN(40)) * time.Millisecond // a ctx already ended cuts even a session about to end
		synctest.Test(t, func(t *testing.T) {
			checkShutdown(t, run, closeAt, shutdownAt, grace)
		})
		if t.Failed() {
			t.Fatalf("run %d (seed %d): closes at %v, Shutdown at %v with %v", run, seed, closeAt, shutdownAt, grace)
		}
	}
}

func checkShutdown(t *testing.T, run int, closeAt []time.Duration, shutdownAt, grace time.Duration) {
	plug := mem.New()
	n, err := multiserver.New(multiserver.Config{
		Plugs:      []multiserver.Plug{plug},
		Transforms: []multiserver.Transform{noauth.Transform{}},
		Muxers:     []multiserver.Muxer{&yamux.Muxer{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := n.Listen(context.Background(), "mem:s~noauth~yamux")
	if err != nil {
		t.Fatal(err)
	}
	sess, err := n.DialSession(context.Background(), "mem:s~noauth~yamux")
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	var accepted []net.Conn
	for range closeAt {
		st, err := sess.Open(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		go st.Write([]byte{1}) // the peer learns of a yamux stream with its first byte
		c, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		accepted = append(accepted, c)
	}
	start := time.Now()
	var open atomic.Int32
	open.Store(int32(len(accepted)))
	for i, c := range accepted {
		time.AfterFunc(closeAt[i], func() { open.Add(-1); c.Close() })
	}
	time.Sleep(shutdownAt)
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err = ln.Shutdown(ctx)
	last := time.Duration(0)
	for _, d := range closeAt {
		last = max(last, d)
	}
	deadline := shutdownAt + grace
	switch {
	case last < deadline && err != nil:
		t.Errorf("run %d: Shutdown = %v, though every stream closed by %v (%v), before its ctx ended at %v (Shutdown at %v)", run, err, last, closeAt, deadline, shutdownAt)
	case last > deadline && !errors.Is(err, context.DeadlineExceeded):
		t.Errorf("run %d: Shutdown = %v with a stream open until %v, past its ctx at %v", run, err, last, deadline)
	}
	if err == nil && open.Load() != 0 {
		t.Errorf("run %d: Shutdown returned nil at %v with %d streams open", run, time.Since(start), open.Load())
	}
	select {
	case <-sess.(interface{ Done() <-chan struct{} }).Done():
	case <-time.After(time.Minute):
		t.Errorf("run %d: the session outlived Shutdown", run)
	}
	synctest.Wait()
}
