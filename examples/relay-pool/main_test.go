package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestRun runs the example and checks that the first dial went through
// the first relay Pick chose and the second, once that relay stopped,
// through the second.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	res, err := run(ctx, &out)
	t.Logf("\n%s", out.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Chosen) != 2 || res.Chosen[0] == res.Chosen[1] {
		t.Fatalf("chosen %q, want two relays", res.Chosen)
	}
	if len(res.Via) != 2 || res.Via[0] != res.Chosen[0] || res.Via[1] != res.Chosen[1] {
		t.Fatalf("dials went through %q, want %q in that order", res.Via, res.Chosen)
	}
	for _, want := range []string{"registered on 2 of them", "relay ", "stopped", "path relayed over ws"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if n := strings.Count(out.String(), "path relayed over ws"); n != 2 {
		t.Errorf("%d dials say they were relayed over ws, want 2", n)
	}
}
