//go:build !js

package relayserver_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/f7d52a8e/multiserver/keys"
	"github.com/f7d52a8e/multiserver/plugs/relay"
	"github.com/f7d52a8e/multiserver/plugs/relay/relayserver"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func Example() {
	srv, _ := relayserver.NewServer(relayserver.Config{})
	mux := http.NewServeMux()
	mux.Handle("/relay", srv)
	mux.HandleFunc("/healthz", srv.Healthz)
	mux.HandleFunc("/readyz", srv.Readyz)
	metrics := prometheus.NewRegistry()
	metrics.MustRegister(srv.Collector())
	mux.Handle("/metrics", promhttp.HandlerFor(metrics, promhttp.HandlerOpts{}))
	ts := httptest.NewServer(mux)
	defer ts.Close()
	defer srv.Close()

	// A listener registers its stack.
	_, priv, _ := ed25519.GenerateKey(nil)
	id, _ := keys.NewIdentity(priv, keys.OpenNetwork())
	url := strings.Replace(ts.URL, "http:", "ws:", 1) + "/relay"
	reg, _ := (&relay.Client{URL: url, Identity: id}).Register(context.Background(), []string{"noise"})
	defer reg.Close()
	fmt.Println("registrations:", srv.Stats().Registrations)

	resp, _ := http.Get(ts.URL + "/readyz")
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Print("readyz: ", string(b))

	resp, _ = http.Get(ts.URL + "/metrics")
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "multiserver_relay_registrations ") {
			fmt.Println(line)
		}
	}

	// Output:
	// registrations: 1
	// readyz: ok
	// multiserver_relay_registrations 1
}
