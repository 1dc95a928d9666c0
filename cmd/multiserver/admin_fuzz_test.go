package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/plugs/mem"
	"github.com/f7d52a8e/multiserver/transforms/noauth"
)

// FuzzAdmin sends the admin endpoint drains and drops of any address and
// grace: it answers 204 or a 400 with a reason, never fails otherwise,
// and GET /stacks stays valid JSON listing stacks that were served.
func FuzzAdmin(f *testing.F) {
	for _, seed := range []struct{ path, addr, grace string }{
		{"drain", "mem:a~noauth", "1h"},
		{"drain", "mem:a~noauth;mem:b~noauth", "0s"},
		{"drop", "mem:b~noauth", ""},
		{"drain", "mem:a~noauth", "-1s"},
		{"drain", "net:1.2.3", "1m"},
		{"drop", "mem:nope~noauth", ""},
		{"drain", "mem:a~noauth~!~", "9999999h"},
		{"drop", "", ""},
	} {
		f.Add(seed.path == "drop", seed.addr, seed.grace)
	}
	f.Fuzz(func(t *testing.T, drop bool, addr, grace string) {
		n, err := multiserver.New(multiserver.Config{
			Plugs:      []multiserver.Plug{mem.New()},
			Transforms: []multiserver.Transform{noauth.Transform{}},
		})
		if err != nil {
			t.Fatal(err)
		}
		ln, err := n.Listen(context.Background(), "mem:a~noauth;mem:b~noauth")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		a := &admin{ln: ln}
		form := url.Values{"addr": {addr}, "grace": {grace}}
		req := httptest.NewRequest(http.MethodPost, "/stacks/drain", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		if drop {
			a.drop(w, req)
		} else {
			a.drain(w, req)
		}
		switch w.Code {
		case http.StatusNoContent:
		case http.StatusBadRequest:
			if strings.TrimSpace(w.Body.String()) == "" {
				t.Errorf("400 without a reason")
			}
		default:
			t.Errorf("drop %v addr %q grace %q: status %d", drop, addr, grace, w.Code)
		}
		g := httptest.NewRecorder()
		a.usage(g, httptest.NewRequest(http.MethodGet, "/stacks", nil))
		var st stacksJSON
		if err := json.Unmarshal(g.Body.Bytes(), &st); err != nil {
			t.Fatalf("GET /stacks: %v", err)
		}
		// A drain with no grace may drop its stacks at any moment.
		for _, s := range st.Stacks {
			if s.Listen != "mem:a~noauth" && s.Listen != "mem:b~noauth" {
				t.Errorf("GET /stacks lists %q, which was never served", s.Listen)
			}
		}
		if len(st.Stacks) > 2 {
			t.Errorf("GET /stacks lists %d stacks of 2", len(st.Stacks))
		}
	})
}
