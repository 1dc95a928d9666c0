package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"

	"github.com/f7d52a8e/multiserver"
)

// listFlag collects a repeated flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ";") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve")
	var (
		id      identity
		listens listFlag
		obs     observeFlags
	)
	id.register(fs)
	obs.register(fs)
	fs.Var(&listens, "listen", "listen `ADDR`ess, such as net:127.0.0.1:0~shs (repeatable)")
	echo := fs.Bool("echo", false, "write every byte back (the default)")
	command := fs.String("exec", "", "connect each connection to the stdin and stdout of `CMD` (run by sh -c)")
	forward := fs.String("forward", "", "pipe each connection to TCP `HOST:PORT`")
	scopeName := fs.String("scope", "device", "scope of the printed address: device, local or public")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if len(listens) == 0 || fs.NArg() > 0 {
		return fmt.Errorf("%w: serve needs --listen ADDR and no other arguments", errUsage)
	}
	modes := 0
	for _, on := range []bool{*echo, *command != "", *forward != ""} {
		if on {
			modes++
		}
	}
	if modes > 1 {
		return fmt.Errorf("%w: choose one of --echo, --exec, --forward", errUsage)
	}
	scope, err := parseScope(*scopeName)
	if err != nil {
		return err
	}
	if err := obs.check(); err != nil {
		return err
	}
	id.stats = obs.stats()
	n, _, err := id.network(stderr)
	if err != nil {
		return err
	}
	ln, err := n.Listen(ctx, strings.Join(listens, ";"))
	if err != nil {
		return brief("listen", badAddress("serve", strings.Join(listens, ";"), err), id.verbose)
	}
	fctx, stopFollowing := context.WithCancel(ctx)
	followed := make(chan struct{})
	go func() {
		defer close(followed)
		followAddress(fctx, ln, scope, stdout)
	}()
	defer func() { stopFollowing(); <-followed }()
	log := id.logger(stderr)
	stopObserving, err := obs.start(ln, id.stats, log)
	if err != nil {
		ln.Close()
		return err
	}
	defer stopObserving()
	handle := func(c net.Conn) error { return echoConn(c) }
	switch {
	case *command != "":
		handle = func(c net.Conn) error { return execConn(ctx, c, *command) }
	case *forward != "":
		handle = func(c net.Conn) error { return forwardConn(ctx, c, *forward) }
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns = map[net.Conn]bool{}
	)
	// Accept fails as soon as Close begins; the unix socket's file is
	// gone only once Close has returned, so wait for it before exiting.
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer func() { stop(); ln.Close() }()
	for {
		c, err := ln.Accept()
		if err != nil {
			break
		}
		mu.Lock()
		conns[c] = true
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := handle(c); err != nil {
				logEnd(log, c, err)
			}
			c.Close()
			mu.Lock()
			delete(conns, c)
			mu.Unlock()
		}()
	}
	mu.Lock()
	for c := range conns {
		c.Close()
	}
	mu.Unlock()
	wg.Wait()
	return nil
}

// logEnd logs why a connection's handler ended. A peer that hangs up
// without the box stream's goodbye (shs wraps io.ErrUnexpectedEOF) is
// routine: muxrpc peers such as secret-stack end every connection so.
// That is a debug record; other errors are info.
func logEnd(log *slog.Logger, c net.Conn, err error) {
	level := slog.LevelInfo
	if errors.Is(err, io.ErrUnexpectedEOF) {
		level = slog.LevelDebug
	}
	log.Log(context.Background(), level, "connection ended", "remote", c.RemoteAddr(), "err", err)
}

// closeWrite ends c's sending side, or all of c if it cannot half-close.
func closeWrite(c net.Conn) error {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return c.Close()
}

func echoConn(c net.Conn) error {
	if _, err := io.Copy(c, c); err != nil {
		return err
	}
	return closeWrite(c)
}

// join pipes a and b both ways, passing on half-closes, until both
// directions end.
func join(a, b net.Conn) error {
	errc := make(chan error, 2)
	pipe := func(dst, src net.Conn) {
		_, err := io.Copy(dst, src)
		errc <- errors.Join(err, closeWrite(dst))
	}
	go pipe(a, b)
	go pipe(b, a)
	err := <-errc
	if err != nil {
		a.Close()
		b.Close()
	}
	return errors.Join(err, <-errc)
}

func forwardConn(ctx context.Context, c net.Conn, hostport string) error {
	var d net.Dialer
	fc, err := d.DialContext(ctx, "tcp", hostport)
	if err != nil {
		return err
	}
	defer fc.Close()
	return join(c, fc)
}

// execConn connects c to the stdin and stdout of sh -c command. When ctx
// ends (the server stops), the command and its children are killed, so
// that one which ignores its stdin cannot keep the server from exiting.
func execConn(ctx context.Context, c net.Conn, command string) error {
	cmd := exec.CommandContext(ctx, "sh", "-c", command)
	cmd.Stderr = os.Stderr
	killGroupOnCancel(cmd)
	in, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() {
		io.Copy(in, c)
		in.Close()
	}()
	_, copyErr := io.Copy(c, out)
	waitErr := cmd.Wait()
	return errors.Join(copyErr, waitErr, closeWrite(c))
}

// followAddress writes ln's address in scope to w, then each new one as
// it changes (a stack that registers in the background, a reflexive
// address), a line each, until ctx ends or ln closes. The first line is
// written before it waits.
func followAddress(ctx context.Context, ln *multiserver.Listener, scope multiserver.Scope, w io.Writer) {
	last := ""
	for first := true; ; first = false {
		changed := ln.Changed()
		if addr := ln.Address(scope); first || addr != last {
			fmt.Fprintln(w, addr)
			last = addr
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return
		}
		if ctx.Err() != nil {
			return
		}
	}
}
