// Command multiserver serves, dials and explains multiserver addresses.
//
// Usage:
//
//	multiserver keygen [-o FILE]
//	multiserver serve --key FILE [--app-key B64] --listen ADDR [--listen ADDR ...] [--echo | --exec CMD | --forward HOST:PORT]
//	multiserver dial [--key FILE] [--app-key B64] ADDRESS
//	multiserver addr parse|explain|to-multiaddr|from-multiaddr ARG
//	multiserver demo
//
// --app-key defaults to the Secure Scuttlebutt main network key, so the
// command talks to SSB peers out of the box. Logs go to stderr; -v shows
// debug records. Exit status: 0 on success, 1 when the work failed, 2 on
// a usage error.
package main

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/keys"
	"github.com/f7d52a8e/multiserver/plugs/tcp"
	"github.com/f7d52a8e/multiserver/plugs/unix"
	"github.com/f7d52a8e/multiserver/transforms/noauth"
	"github.com/f7d52a8e/multiserver/transforms/shs"
)

// SSBAppKey is the app key of the Secure Scuttlebutt main network, the
// default of --app-key.
const SSBAppKey = "1KHLiKZvAvjbY1ziZEHMXawbCEIM6qwjCDm3VYRan/s="

const usage = `usage:
  multiserver keygen [-o FILE]
  multiserver serve --key FILE [--app-key B64] --listen ADDR [--listen ADDR ...] [--echo | --exec CMD | --forward HOST:PORT]
  multiserver dial [--key FILE] [--app-key B64] ADDRESS
  multiserver addr parse|explain|to-multiaddr|from-multiaddr ARG
  multiserver demo
`

// errUsage marks errors that exit with status 2.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		// Errors from the library start with "multiserver: " already.
		fmt.Fprintln(os.Stderr, "multiserver:", strings.TrimPrefix(err.Error(), "multiserver: "))
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%w: no command", errUsage)
	}
	cmd, args := args[0], args[1:]
	switch cmd {
	case "keygen":
		return keygen(args, stdout)
	case "serve":
		return serve(ctx, args, stdout, stderr)
	case "dial":
		return dial(ctx, args, stdin, stdout, stderr)
	case "addr":
		return addr(args, stdout)
	case "demo":
		return demo(ctx, stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("%w: unknown command %q", errUsage, cmd)
}

func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseFlags parses args and turns flag errors into usage errors.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %s: %v", errUsage, fs.Name(), err)
	}
	return nil
}

func keygen(args []string, stdout io.Writer) error {
	fs := newFlags("keygen")
	out := fs.String("o", "", "write the key file to `FILE` instead of stdout")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: keygen takes no arguments", errUsage)
	}
	priv := keys.Generate()
	if *out == "" {
		_, err := stdout.Write(keys.Marshal(priv))
		return err
	}
	return keys.Save(*out, priv)
}

// identity holds the flags every networked command shares.
type identity struct {
	keyFile string
	appKey  string
	verbose bool
	timeout time.Duration
}

func (id *identity) register(fs *flag.FlagSet) {
	fs.StringVar(&id.keyFile, "key", "", "ssb-keys key `FILE`")
	fs.StringVar(&id.appKey, "app-key", SSBAppKey, "base64 app (network) key; default: the SSB main network")
	fs.BoolVar(&id.verbose, "v", false, "log debug records to stderr")
	fs.DurationVar(&id.timeout, "timeout", 10*time.Second, "handshake timeout")
}

// network builds the Network the flags describe. Without a key file it
// uses a fresh identity.
func (id *identity) network(stderr io.Writer) (*multiserver.Network, ed25519.PrivateKey, error) {
	var priv ed25519.PrivateKey
	if id.keyFile == "" {
		priv = keys.Generate()
	} else {
		var err error
		if priv, err = keys.Load(id.keyFile); err != nil {
			return nil, nil, err
		}
	}
	app, err := base64.StdEncoding.DecodeString(id.appKey)
	if err != nil || len(app) != 32 {
		return nil, nil, fmt.Errorf("%w: --app-key must be 32 bytes of base64", errUsage)
	}
	t, err := shs.New(shs.Config{Identity: priv, AppKey: app})
	if err != nil {
		return nil, nil, err
	}
	level := slog.LevelInfo
	if id.verbose {
		level = slog.LevelDebug
	}
	n, err := multiserver.New(multiserver.Config{
		Plugs:            []multiserver.Plug{&tcp.Plug{}, &unix.Plug{}},
		Transforms:       []multiserver.Transform{t, noauth.Transform{}},
		HandshakeTimeout: id.timeout,
		Logger:           slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})),
	})
	return n, priv, err
}
