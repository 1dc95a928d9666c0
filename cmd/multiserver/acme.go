package main

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
	"golang.org/x/net/idna"
)

// acmeFlags are the relay's ACME settings: --acme, --acme-directory,
// --acme-email and --acme-cache.
type acmeFlags struct {
	domain    string
	directory string
	email     string
	cache     string
}

// acmeLogEvery is how often the relay logs the same ACME failure again.
const acmeLogEvery = time.Minute

// check normalizes the flags and returns a usage error for a value that
// cannot work: a domain that is not a DNS name, a directory that is not
// an https URL, a contact that is not a mail address.
func (f *acmeFlags) check() error {
	name, err := idna.Lookup.ToASCII(strings.TrimSuffix(f.domain, "."))
	switch {
	case err != nil:
		return fmt.Errorf("%w: relay: --acme %q: want a DNS name such as relay.example.org (%v)", errUsage, f.domain, err)
	case net.ParseIP(name) != nil || !isDNSName(name):
		return fmt.Errorf("%w: relay: --acme %q: want a DNS name such as relay.example.org", errUsage, f.domain)
	}
	f.domain = name
	u, err := url.Parse(f.directory)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("%w: relay: --acme-directory %q: want the https URL of an ACME directory", errUsage, f.directory)
	}
	if f.email != "" {
		if a, err := mail.ParseAddress(f.email); err != nil || a.Address != f.email {
			return fmt.Errorf("%w: relay: --acme-email %q: want a mail address such as ops@example.org", errUsage, f.email)
		}
	}
	return nil
}

// isDNSName reports whether name, in ASCII, is a host name of two labels
// or more (RFC 1123): letters, digits and inner hyphens, 63 bytes a label
// at most, 253 in all.
func isDNSName(name string) bool {
	labels := strings.Split(name, ".")
	if len(name) > 253 || len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, c := range []byte(l) {
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// acmeCert gets, caches and renews the certificate of one domain by
// ACME (TLS-ALPN-01, through autocert) and logs what goes wrong: a
// client only sees its handshake fail.
type acmeCert struct {
	m      *autocert.Manager
	domain string
	lg     *slog.Logger
	// reasons holds why the CA refused the last validation.
	reasons *caReasons

	mu      sync.Mutex
	lastErr string    // the failure logged last
	lastAt  time.Time // when
}

// newACMECert checks that the cache directory can be written, creating it
// with mode 0700, and returns the certificate manager: a certificate
// issued and then lost would be asked for again at every start, and a
// CA limits how often it issues for one name.
func newACMECert(f acmeFlags, lg *slog.Logger) (*acmeCert, error) {
	dir := f.cache
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return nil, fmt.Errorf("relay: --acme-cache: %w", err)
		}
		dir = filepath.Join(base, "multiserver", "acme")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("relay: --acme-cache: %w", err)
	}
	probe, err := os.CreateTemp(dir, ".probe-")
	if err != nil {
		return nil, fmt.Errorf("relay: --acme-cache: %w", err)
	}
	probe.Close()
	os.Remove(probe.Name())
	reasons := &caReasons{lg: lg}
	return &acmeCert{
		m: &autocert.Manager{
			Prompt:     autocert.AcceptTOS,
			HostPolicy: autocert.HostWhitelist(f.domain),
			Cache:      autocert.DirCache(dir),
			Email:      f.email,
			Client: &acme.Client{
				DirectoryURL: f.directory,
				UserAgent:    "multiserver-relay",
				HTTPClient:   &http.Client{Transport: reasons},
			},
		},
		domain:  f.domain,
		lg:      lg,
		reasons: reasons,
	}, nil
}

// caReasons is the ACME client's transport: http.DefaultTransport, which
// also logs and notes why the CA found a challenge invalid. autocert's
// error after a failed validation only says that no challenge type is
// left, and a renewal in the background reports nothing.
type caReasons struct {
	lg *slog.Logger

	mu     sync.Mutex
	last   string          // the reason noted last
	lastAt time.Time       // when
	seen   map[string]bool // the authorizations noted, by URL
}

// reasonFor is how long a reason explains a failure: an attempt of
// autocert's lasts 5 minutes at most.
const reasonFor = 5 * time.Minute

func (r *caReasons) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		return resp, err
	}
	// An authorization (RFC 8555 §7.1.4) is small; read at most 64 KiB
	// of a response and pass the same bytes on.
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(body), resp.Body), resp.Body}
	if err == nil {
		r.note(req.URL.String(), body)
	}
	return resp, nil
}

// note logs and keeps the reasons an ACME authorization in body, fetched
// from url, gives for its invalid challenges, once for each url (autocert
// fetches a failed authorization again to clean up); any other body is
// ignored.
func (r *caReasons) note(url string, body []byte) {
	var z struct {
		Status     string
		Identifier struct{ Value string }
		Challenges []struct {
			Type  string
			Error *struct{ Detail string }
		}
	}
	if json.Unmarshal(body, &z) != nil || z.Status != "invalid" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen[url] {
		return
	}
	if r.seen == nil || len(r.seen) >= 64 {
		r.seen = make(map[string]bool)
	}
	r.seen[url] = true
	for _, c := range z.Challenges {
		if c.Error != nil && c.Error.Detail != "" {
			r.lg.Warn("acme validation failed", "domain", z.Identifier.Value, "challenge", c.Type, "reason", c.Error.Detail)
			r.last, r.lastAt = c.Type+": "+c.Error.Detail, time.Now()
		}
	}
}

// take returns the reason noted last, once, if it is recent enough to
// explain the failure at hand.
func (r *caReasons) take() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.last
	r.last = ""
	if time.Since(r.lastAt) > reasonFor {
		return ""
	}
	return s
}

// tlsConfig is the listener's TLS configuration: certificates from
// getCertificate, and the ALPN protocols HTTP/1.1 and acme-tls/1 (the
// CA's TLS-ALPN-01 validation). No h2, as with --tls-cert: the relay
// speaks WebSocket, whose upgrade needs HTTP/1.1, and a client that
// picked h2 could not upgrade.
func (a *acmeCert) tlsConfig() *tls.Config {
	return &tls.Config{
		GetCertificate: a.getCertificate,
		NextProtos:     []string{"http/1.1", acme.ALPNProto},
		MinVersion:     tls.VersionTLS12,
	}
}

// getCertificate is autocert's, logging the failures of our domain's
// certificate. Others are not logged: a scanner that sends no name or
// another one fails at the host policy, and the CA's validation hellos
// are answered from the challenge autocert set up.
func (a *acmeCert) getCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	cert, err := a.m.GetCertificate(hello)
	if err != nil && !isChallenge(hello) && strings.EqualFold(strings.TrimSuffix(hello.ServerName, "."), a.domain) {
		err = a.failed(err)
	}
	return cert, err
}

// isChallenge reports whether hello is a CA's TLS-ALPN-01 validation.
func isChallenge(hello *tls.ClientHelloInfo) bool {
	return len(hello.SupportedProtos) == 1 && hello.SupportedProtos[0] == acme.ALPNProto
}

// failed logs err, with the CA's reason if it gave one, and returns it
// wrapped. The same error is logged at most once every acmeLogEvery: a
// cache that cannot be read fails every hello alike. After a failed
// attempt autocert answers every hello with "missing certificate" for a
// minute before it asks the CA again; that says nothing new and is not
// logged.
func (a *acmeCert) failed(err error) error {
	if strings.HasSuffix(err.Error(), "acme/autocert: missing certificate") {
		// A hello during the minute after a failure, or one that
		// waited for the attempt that failed: the attempt logs.
		return fmt.Errorf("acme: no certificate for %s: %w", a.domain, err)
	}
	if why := a.reasons.take(); why != "" {
		err = fmt.Errorf("acme: no certificate for %s: the CA's validation failed: %s: %w", a.domain, why, err)
	} else {
		err = fmt.Errorf("acme: no certificate for %s: %w", a.domain, err)
	}
	msg := err.Error()
	a.mu.Lock()
	log := msg != a.lastErr || time.Since(a.lastAt) >= acmeLogEvery
	if log {
		a.lastErr, a.lastAt = msg, time.Now()
	}
	a.mu.Unlock()
	if log {
		a.lg.Warn("acme failed", "domain", a.domain, "err", err)
	}
	return err
}

// prefetch gets the certificate now, from the cache or the CA, so that
// the first client does not wait for the CA and autocert's renewal
// timer runs from the start, and logs the outcome. It returns once the
// certificate is there or failed (autocert gives up after 5 minutes).
func (a *acmeCert) prefetch() {
	// A hello autocert takes as ECDSA-capable, as every client today
	// is: it gets an ECDSA certificate, not an RSA one.
	cert, err := a.getCertificate(&tls.ClientHelloInfo{
		ServerName:       a.domain,
		SignatureSchemes: []tls.SignatureScheme{tls.ECDSAWithP256AndSHA256},
		SupportedCurves:  []tls.CurveID{tls.CurveP256},
		CipherSuites:     []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256},
	})
	if err == nil && cert.Leaf != nil {
		a.lg.Info("acme certificate", "domain", a.domain, "issuer", cert.Leaf.Issuer.String(), "expires", cert.Leaf.NotAfter.UTC().Format(time.RFC3339))
	}
}
