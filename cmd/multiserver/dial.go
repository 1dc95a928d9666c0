package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/f7d52a8e/multiserver"
)

func dial(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("dial")
	var id identity
	id.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: dial needs one ADDRESS", errUsage)
	}
	if len(id.dhtRelays) == 0 && onlyHyperswarm(fs.Arg(0)) {
		return fmt.Errorf("%w: hyperswarm addresses are dialed through a dht-relay: give one with --dht-relay URL", errUsage)
	}
	n, _, err := id.network(stderr)
	if err != nil {
		return err
	}
	c, err := n.Dial(ctx, fs.Arg(0))
	if err != nil {
		return brief("dial", badAddress("dial", fs.Arg(0), err), id.verbose)
	}
	defer c.Close()
	if id.verbose {
		fmt.Fprintln(stderr, connected(c))
		done := make(chan struct{})
		watched := make(chan struct{})
		go func() { defer close(watched); watchPath(c, stderr, done) }()
		defer func() { close(done); <-watched }()
	}
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	go func() {
		// On stdin's end, half-close (shs sends its goodbye) and keep
		// reading until the peer ends too.
		if _, err := io.Copy(c, stdin); err == nil {
			closeWrite(c)
		}
	}()
	if _, err := io.Copy(stdout, c); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	return nil
}

// connected says which address c came through and how its bytes travel:
// "connected through ADDRESS: direct, over net" or "…: relayed, over ws".
func connected(c net.Conn) string {
	info := multiserver.Info(c)
	path, carrier := "direct", info.Path.Carrier
	if info.Path.Relayed {
		path = "relayed"
	}
	if carrier == "" && info.Stack != nil {
		carrier = info.Stack.Plug().Name
	}
	return fmt.Sprintf("connected through %s: %s, over %s", info.Stack, path, carrier)
}

// watchPath prints a line on w each time c's path changes ("path:
// direct, over quic"; "path: relayed, over ws: REASON"), until done.
func watchPath(c net.Conn, w io.Writer, done <-chan struct{}) {
	last := multiserver.Info(c).Path
	for {
		ch := multiserver.PathChanged(c)
		if ch == nil {
			return
		}
		if p := multiserver.Info(c).Path; p != last {
			last = p
			fmt.Fprintln(w, "path: "+describePath(p))
		}
		select {
		case <-ch:
		case <-done:
			return
		}
	}
}

func describePath(p multiserver.Path) string {
	s := "direct, over " + p.Carrier
	if p.Relayed {
		s = "relayed, over " + p.Carrier
	}
	if p.Reason != "" {
		s += ": " + p.Reason
	}
	return s
}

// maxErrLine is the longest error line printed without -v.
const maxErrLine = 1000

// brief returns err, from what ("dial", "listen"), as the command
// prints it. Without verbose, that is one line: a joined error's attempts
// (one a line) separated by "; ", or past maxErrLine characters a summary
// that names the first cause. With verbose, err is whole, one attempt a
// line. Either way errors.Is sees through to the causes.
func brief(what string, err error, verbose bool) error {
	if verbose {
		return err
	}
	msg := strings.ReplaceAll(err.Error(), "\n", "; ")
	if len(msg) <= maxErrLine {
		if msg == err.Error() {
			return err
		}
		return &lineError{msg: msg, err: err}
	}
	first, n := err, 1
	if j, ok := err.(interface{ Unwrap() []error }); ok && len(j.Unwrap()) > 0 {
		first, n = j.Unwrap()[0], len(j.Unwrap())
	}
	cause := strings.ReplaceAll(first.Error(), "\n", "; ")
	if len(cause) > maxErrLine/2 {
		cause = strings.ToValidUTF8(cause[:maxErrLine/2], "") + "…"
	}
	if n == 1 {
		msg = cause + " (cut; run with -v for the whole error)"
	} else {
		msg = fmt.Sprintf("%s failed: %d addresses, none worked; the first: %s; run with -v for each", what, n, cause)
	}
	return &lineError{msg: msg, err: err}
}

// lineError prints as msg and unwraps to err.
type lineError struct {
	msg string
	err error
}

func (e *lineError) Error() string { return e.msg }
func (e *lineError) Unwrap() error { return e.err }

// onlyHyperswarm reports whether every alternative of addrs is a
// hyperswarm address.
func onlyHyperswarm(addrs string) bool {
	list, _, err := grammar.ParseKnown(addrs)
	if err != nil || len(list) == 0 {
		return false
	}
	for _, a := range list {
		if a.Plug().Name != "hyperswarm" {
			return false
		}
	}
	return true
}
