package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/keys"
)

// pingSize is the size of a ping: a magic, its sequence number and the
// time it was sent, so that an echo of another ping, or bytes that are
// not an echo, are told apart.
const pingSize = 24

var pingMagic = [8]byte{'m', 's', 'p', 'i', 'n', 'g', 0, 1}

// ping dials an address once and measures round trips over its secured
// stack: it writes small messages and times their echo. The far side
// must echo what it reads, as "multiserver serve" does by default
// (--echo). Each line says whether the path is direct or relayed at that
// moment, and over what.
func ping(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("ping")
	var id identity
	id.register(fs)
	count := fs.Int("c", 4, "stop after `N` pings; 0: until interrupted")
	interval := fs.Duration("i", time.Second, "wait this long between pings")
	wait := fs.Duration("W", 5*time.Second, "how long to wait for each echo")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 || *count < 0 || *interval < 0 || *wait <= 0 {
		return fmt.Errorf("%w: ping needs one ADDRESS (and -c ≥ 0, -i ≥ 0, -W > 0)", errUsage)
	}
	n, _, err := id.network(stderr)
	if err != nil {
		return err
	}
	start := time.Now()
	c, err := n.Dial(ctx, fs.Arg(0))
	if err != nil {
		return brief("dial", badAddress("dial", fs.Arg(0), err), id.verbose)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	info := multiserver.Info(c)
	peer := "an unauthenticated peer"
	if info.RemoteKey != nil {
		peer = keys.ID(info.RemoteKey)
	}
	fmt.Fprintf(stdout, "PING %s (%s): connected in %s, %s\n", info.Stack, peer, fmtDuration(time.Since(start)), pathOf(c))
	var (
		sent, received int
		min, max, sum  time.Duration
	)
	for seq := 1; *count == 0 || seq <= *count; seq++ {
		if seq > 1 {
			select {
			case <-time.After(*interval):
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			break
		}
		sent++
		rtt, err := pingOnce(c, uint64(seq), *wait)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			summary(stdout, sent, received, min, max, sum)
			return fmt.Errorf("ping %d: %w", seq, err)
		}
		received++
		sum += rtt
		if received == 1 || rtt < min {
			min = rtt
		}
		if rtt > max {
			max = rtt
		}
		fmt.Fprintf(stdout, "seq=%d time=%s %s\n", seq, fmtDuration(rtt), pathOf(c))
	}
	summary(stdout, sent, received, min, max, sum)
	return nil
}

// pingOnce writes ping seq on c and reads its echo, within wait.
func pingOnce(c net.Conn, seq uint64, wait time.Duration) (time.Duration, error) {
	var msg [pingSize]byte
	copy(msg[:], pingMagic[:])
	binary.BigEndian.PutUint64(msg[8:], seq)
	start := time.Now()
	binary.BigEndian.PutUint64(msg[16:], uint64(start.UnixNano()))
	c.SetDeadline(start.Add(wait))
	defer c.SetDeadline(time.Time{})
	if _, err := c.Write(msg[:]); err != nil {
		return 0, err
	}
	var echo [pingSize]byte
	if _, err := io.ReadFull(c, echo[:]); err != nil {
		var ne net.Error
		switch {
		case errors.As(err, &ne) && ne.Timeout():
			return 0, fmt.Errorf("no echo within %v (does the far side echo? serve --echo does)", wait)
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			return 0, fmt.Errorf("the far side hung up before echoing (serve --echo echoes): %w", err)
		}
		return 0, err
	}
	if !bytes.Equal(echo[:], msg[:]) {
		return 0, errors.New("the far side answered something other than the echo of the ping (serve --echo echoes)")
	}
	return time.Since(start), nil
}

// pathOf says how c's bytes travel now: "direct, over net", "relayed,
// over ws".
func pathOf(c net.Conn) string {
	p := multiserver.Info(c).Path
	if p.Relayed {
		return "relayed, over " + p.Carrier
	}
	return "direct, over " + p.Carrier
}

func summary(w io.Writer, sent, received int, min, max, sum time.Duration) {
	lost := 0
	if sent > 0 {
		lost = 100 * (sent - received) / sent
	}
	fmt.Fprintf(w, "--- %d sent, %d received, %d%% lost", sent, received, lost)
	if received > 0 {
		fmt.Fprintf(w, "; round trip min/avg/max %s/%s/%s", fmtDuration(min), fmtDuration(sum/time.Duration(received)), fmtDuration(max))
	}
	fmt.Fprintln(w)
}
