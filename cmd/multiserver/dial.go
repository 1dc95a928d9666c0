package main

import (
	"context"
	"fmt"
	"io"
	"strings"
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
	n, _, err := id.network(stderr)
	if err != nil {
		return err
	}
	c, err := n.Dial(ctx, fs.Arg(0))
	if err != nil {
		return oneLine(badAddress("dial", err))
	}
	defer c.Close()
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

// oneLine writes a joined error, one attempt a line, on one line, as
// the command's contract promises.
func oneLine(err error) error {
	msg := err.Error()
	if !strings.Contains(msg, "\n") {
		return err
	}
	return &lineError{msg: strings.ReplaceAll(msg, "\n", "; "), err: err}
}

type lineError struct {
	msg string
	err error
}

func (e *lineError) Error() string { return e.msg }
func (e *lineError) Unwrap() error { return e.err }
