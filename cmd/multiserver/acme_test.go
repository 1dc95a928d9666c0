package main

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/f7d52a8e/multiserver/internal/logtest"
)

// invalidAuthz is an authorization as a CA returns it once its
// TLS-ALPN-01 validation failed (RFC 8555 §7.1.4, §8).
const invalidAuthz = `{
  "status": "invalid",
  "identifier": {"type": "dns", "value": "relay.example"},
  "challenges": [
    {"type": "tls-alpn-01", "url": "https://ca.example/chal/1", "token": "t", "status": "invalid",
     "error": {"type": "urn:ietf:params:acme:error:connection", "detail": "Failed to connect to 192.0.2.1:443 for the tls-alpn-01 challenge", "status": 400}},
    {"type": "http-01", "url": "https://ca.example/chal/2", "token": "u", "status": "pending"}
  ],
  "expires": "2026-12-13T00:00:00Z"
}`

func TestCAReasons(t *testing.T) {
	buf := new(logtest.Buffer)
	r := &caReasons{lg: logtest.Debug(buf)}
	for _, body := range []string{
		strings.Replace(invalidAuthz, `"status": "invalid"`, `"status": "valid"`, 1),
		`{"status": "invalid"}`,
		`{"newOrder": "https://ca.example/new-order"}`,
		`not json`,
		``,
	} {
		r.note("https://ca.example/authz/0", []byte(body))
		if why := r.take(); why != "" {
			t.Errorf("%q: reason %q, want none", body, why)
		}
	}
	if buf.String() != "" {
		t.Errorf("logged %q for bodies without a failed challenge", buf)
	}
	r.note("https://ca.example/authz/1", []byte(invalidAuthz))
	const want = "tls-alpn-01: Failed to connect to 192.0.2.1:443 for the tls-alpn-01 challenge"
	if why := r.take(); why != want {
		t.Errorf("reason %q, want %q", why, want)
	}
	if why := r.take(); why != "" {
		t.Errorf("second take: %q, want nothing", why)
	}
	if log := buf.String(); !strings.Contains(log, `msg="acme validation failed" domain=relay.example challenge=tls-alpn-01 reason="Failed to connect`) {
		t.Errorf("log %q lacks the failed validation", log)
	}
	// The same authorization again (autocert cleaning up): neither
	// logged nor kept, so it cannot explain a later failure.
	r.note("https://ca.example/authz/1", []byte(invalidAuthz))
	if why := r.take(); why != "" || strings.Count(buf.String(), "\n") != 1 {
		t.Errorf("the same authorization again: reason %q, log %q", why, buf)
	}
	// A reason older than an attempt of autocert's explains nothing.
	r.note("https://ca.example/authz/2", []byte(invalidAuthz))
	r.lastAt = r.lastAt.Add(-reasonFor - time.Second)
	if why := r.take(); why != "" {
		t.Errorf("stale reason %q, want none", why)
	}
}

// FuzzCAReasons feeds note bodies near an authorization: it never
// panics, and a reason it keeps names a challenge type of the body.
func FuzzCAReasons(f *testing.F) {
	f.Add([]byte(invalidAuthz))
	f.Add([]byte(`{"status":"invalid","challenges":[{"type":"x","error":{"detail":"d"}}]}`))
	f.Add([]byte(`{"status":"invalid","challenges":[{"type":"x","error":null}]}`))
	f.Add([]byte(`{"status":"invalid","challenges":{}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r := &caReasons{lg: logtest.Debug(new(logtest.Buffer))}
		r.note("https://ca.example/authz/1", body)
		if why := r.take(); why != "" && (!json.Valid(body) || !strings.Contains(why, ": ")) {
			t.Errorf("reason %q from %q", why, body)
		}
	})
}

func TestACMEFlags(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"relay.example", "relay.example"},
		{"Relay.Example.", "relay.example"},
		{"bücher.example", "xn--bcher-kva.example"},
	} {
		f := acmeFlags{domain: tt.in, directory: "https://ca.example/dir"}
		if err := f.check(); err != nil || f.domain != tt.want {
			t.Errorf("--acme %q: %q, %v; want %q", tt.in, f.domain, err, tt.want)
		}
	}
	for _, f := range []acmeFlags{
		{domain: "relay.example", directory: "https://ca.example/dir", email: "ops@relay.example"},
	} {
		if err := f.check(); err != nil {
			t.Errorf("%+v: %v", f, err)
		}
	}
	for _, f := range []acmeFlags{
		{domain: "relay..example", directory: "https://ca.example/dir"},
		{domain: "-relay.example", directory: "https://ca.example/dir"},
		{domain: "relay_1.example", directory: "https://ca.example/dir"},
		{domain: strings.Repeat("a", 64) + ".example", directory: "https://ca.example/dir"},
		{domain: "relay.example", directory: "https:///dir"},
		{domain: "relay.example", directory: "https://ca.example/dir", email: "ops"},
	} {
		if err := f.check(); !errors.Is(err, errUsage) {
			t.Errorf("%+v: %v, want a usage error", f, err)
		}
	}
}
