package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/crypto/acme/autocert"

	"github.com/f7d52a8e/multiserver/plugs/relay/relayserver"
)

// relayPath is where the relay command serves the relay protocol.
const relayPath = "/relay"

// relayCmd runs a relay server: the relay at /relay, /healthz, /readyz
// and /metrics (the relay's counters and the process's, for Prometheus)
// on one port, until ctx ends, then drains.
func relayCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("relay")
	listen := fs.String("listen", "", "`HOST:PORT` to serve on, such as 0.0.0.0:443")
	certFile := fs.String("tls-cert", "", "PEM certificate `FILE` (with --tls-key): serve wss")
	keyFile := fs.String("tls-key", "", "PEM private key `FILE`")
	var am acmeFlags
	fs.StringVar(&am.domain, "acme", "", "get a certificate for `DOMAIN` by ACME (TLS-ALPN-01) from --acme-directory and renew it; the CA connects to DOMAIN:443, so that must be this --listen port, or forwarded to it")
	fs.StringVar(&am.directory, "acme-directory", autocert.DefaultACMEDirectory, "with --acme: the ACME directory `URL` of the CA (Let's Encrypt staging: https://acme-staging-v02.api.letsencrypt.org/directory; or a private CA's, such as step-ca's); its HTTPS certificate must chain to the system roots, or, on Linux, to those SSL_CERT_FILE or SSL_CERT_DIR name")
	fs.StringVar(&am.email, "acme-email", "", "with --acme: a contact `ADDR` the CA may write to about the certificate (optional)")
	fs.StringVar(&am.cache, "acme-cache", "", "with --acme: the `DIR` that keeps the ACME account key and certificates across restarts, created with mode 0700; default: multiserver/acme in the user cache directory")
	publicURL := fs.String("url", "", "the `URL` clients dial, if not the one printed (behind a reverse proxy); AUTH must sign its origin")
	drain := fs.Duration("drain", 30*time.Second, "how long pairings may last after SIGINT or SIGTERM")
	idle := fs.Duration("idle-timeout", 5*time.Minute, "close a pairing that carried no data for this long; 0: never")
	pairingRate := fs.Int("pairing-rate", 0, "bytes per second each direction of a pairing may carry; 0: unlimited")
	verbose := fs.Bool("v", false, "log debug records to stderr")
	var stunPorts portList
	fs.Var(&stunPorts, "stun", "answer STUN Binding requests on UDP `PORT` and PORT+1 of the --listen host, or on the two ports of two --stun flags; 0: two free ports (logged)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	acmeOnly := false
	fs.Visit(func(f *flag.Flag) {
		acmeOnly = acmeOnly || f.Name == "acme-directory" || f.Name == "acme-email" || f.Name == "acme-cache"
	})
	switch {
	case *listen == "" || fs.NArg() > 0:
		return fmt.Errorf("%w: relay needs --listen HOST:PORT and no other arguments", errUsage)
	case (*certFile == "") != (*keyFile == ""):
		return fmt.Errorf("%w: relay: --tls-cert and --tls-key go together", errUsage)
	case am.domain != "" && *certFile != "":
		return fmt.Errorf("%w: relay: choose --acme or --tls-cert, not both", errUsage)
	case am.domain == "" && acmeOnly:
		return fmt.Errorf("%w: relay: --acme-directory, --acme-email and --acme-cache go with --acme DOMAIN", errUsage)
	case len(stunPorts) > 2:
		return fmt.Errorf("%w: relay: --stun PORT, or --stun PORT --stun PORT2", errUsage)
	}
	host, _, err := net.SplitHostPort(*listen)
	if err != nil {
		return fmt.Errorf("%w: relay: --listen: %v", errUsage, err)
	}
	if am.domain != "" {
		if err := am.check(); err != nil {
			return err
		}
	}
	lg := (&identity{verbose: *verbose}).logger(stderr)
	tlsCfg, acm, err := relayTLS(*certFile, *keyFile, am, lg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	url, urls := relayURL(host, port, tlsCfg != nil, am.domain, *publicURL)
	if *idle == 0 {
		*idle = -1 // 0 would mean the default
	}
	srv, err := relayserver.NewServer(relayserver.Config{URLs: urls, Logger: lg, IdlePairingTimeout: *idle, PairingRate: *pairingRate})
	if err != nil {
		ln.Close()
		return fmt.Errorf("%w: relay: --url: %v", errUsage, err)
	}
	stunConns, err := listenSTUN(host, stunPorts)
	if err != nil {
		ln.Close()
		return err
	}
	stunDone := make(chan struct{}, len(stunConns))
	for _, pc := range stunConns {
		lg.Info("stun", "addr", pc.LocalAddr())
		go func() {
			srv.ServeSTUN(pc)
			stunDone <- struct{}{}
		}()
	}
	mux := http.NewServeMux()
	mux.Handle(relayPath, srv)
	mux.HandleFunc("/healthz", srv.Healthz)
	mux.HandleFunc("/readyz", srv.Readyz)
	reg := prometheus.NewRegistry()
	reg.MustRegister(srv.Collector(), collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	hs := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg)
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		hs.Serve(ln)
	}()
	if acm != nil {
		if port != 443 {
			lg.Info("acme: the CA validates at "+am.domain+":443, which must be forwarded to this port", "port", port)
		}
		go acm.prefetch()
	}
	fmt.Fprintln(stdout, url)
	<-ctx.Done()
	lg.Info("draining", "for", *drain)
	dctx, cancel := context.WithTimeout(context.Background(), *drain)
	defer cancel()
	if err := srv.Shutdown(dctx); err != nil {
		lg.Info("pairings closed at the end of the drain")
	}
	hs.Close()
	<-served
	for range stunConns {
		<-stunDone
	}
	return nil
}

// portList is the value of --stun: ports, repeated.
type portList []int

func (p *portList) String() string { return fmt.Sprint([]int(*p)) }

func (p *portList) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q is not a port", s)
	}
	*p = append(*p, n)
	return nil
}

// listenSTUN opens the UDP ports of --stun on host: PORT and PORT+1 for
// one flag, both ports for two, two free ports for --stun 0.
func listenSTUN(host string, ports portList) ([]net.PacketConn, error) {
	switch {
	case len(ports) == 0:
		return nil, nil
	case len(ports) == 1 && ports[0] == 0:
		ports = portList{0, 0}
	case len(ports) == 1 && ports[0] == 65535:
		return nil, fmt.Errorf("%w: relay: --stun 65535: PORT+1 is not a port", errUsage)
	case len(ports) == 1:
		ports = portList{ports[0], ports[0] + 1}
	case ports[0] == ports[1] && ports[0] != 0:
		return nil, fmt.Errorf("%w: relay: --stun: two different ports", errUsage)
	}
	var pcs []net.PacketConn
	for _, port := range ports {
		pc, err := net.ListenPacket("udp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			for _, c := range pcs {
				c.Close()
			}
			return nil, fmt.Errorf("relay: --stun: %w", err)
		}
		pcs = append(pcs, pc)
	}
	return pcs, nil
}

// relayTLS returns the TLS settings the flags ask for, or nil for ws;
// with --acme, also the certificate manager.
func relayTLS(certFile, keyFile string, am acmeFlags, lg *slog.Logger) (*tls.Config, *acmeCert, error) {
	switch {
	case certFile != "":
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: relay: --tls-cert/--tls-key: %v", errUsage, err)
		}
		return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil, nil
	case am.domain != "":
		acm, err := newACMECert(am, lg)
		if err != nil {
			return nil, nil, err
		}
		return acm.tlsConfig(), acm, nil
	}
	return nil, nil, nil
}

// relayURL returns the URL to print and the URLs whose origins AUTH may
// sign: --url if given, the ACME domain, or the listen host; for an
// unspecified host (0.0.0.0, ::, empty), the machine's name is printed
// and any Host header's origin is taken.
func relayURL(host string, port int, secure bool, acmeDomain, public string) (string, []string) {
	if public != "" {
		return public, []string{public}
	}
	scheme, def := "ws", 80
	if secure {
		scheme, def = "wss", 443
	}
	unspecified := false
	switch {
	case acmeDomain != "":
		host = acmeDomain
		port = 443 // what ACME checks, whatever port we listen on
	case host == "" || net.ParseIP(host) != nil && net.ParseIP(host).IsUnspecified():
		unspecified = true
		host, _ = os.Hostname()
	}
	hostport := net.JoinHostPort(host, strconv.Itoa(port))
	if port == def {
		hostport = host
		if net.ParseIP(host) != nil && net.ParseIP(host).To4() == nil {
			hostport = "[" + host + "]"
		}
	}
	url := scheme + "://" + hostport + relayPath
	if unspecified {
		return url, nil
	}
	return url, []string{url}
}
