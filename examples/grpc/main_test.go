package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/peer"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "net~shs: ") || !strings.HasPrefix(lines[1], "net~noise~yamux: ") ||
		!strings.HasSuffix(lines[0], "(that is us: true)") || !strings.HasSuffix(lines[1], "(that is us: true)") {
		t.Fatalf("output:\n%s", out.String())
	}
}

// TestPeerKey runs a real RPC over each stack and checks that the
// handler saw the client's key, and the client the server's. A client
// with insecure credentials works too (the stack secures the conn), but
// then only the server learns its peer's key.
func TestPeerKey(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	app := make([]byte, 32)
	rand.Read(app)
	serverPub, serverKey, _ := ed25519.GenerateKey(rand.Reader)
	clientPub, clientKey, _ := ed25519.GenerateKey(rand.Reader)
	server, err := NewNetwork(serverKey, app)
	if err != nil {
		t.Fatal(err)
	}
	client, err := NewNetwork(clientKey, app)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := server.Listen(ctx, "net:127.0.0.1:0~shs;net:127.0.0.1:0~noise;net:127.0.0.1:0~noise~yamux")
	if err != nil {
		t.Fatal(err)
	}
	s := Serve(ln)
	defer s.Stop()
	list, err := address.Parse(ln.Address(multiserver.ScopeDevice))
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range list {
		for _, tc := range []struct {
			name  string
			creds credentials.TransportCredentials
		}{{"multiserver", Credentials{}}, {"insecure", insecure.NewCredentials()}} {
			t.Run(stack(a)+"/"+tc.name, func(t *testing.T) {
				cc, err := grpc.NewClient("passthrough:///"+a.String(), grpc.WithContextDialer(client.Dial), grpc.WithTransportCredentials(tc.creds))
				if err != nil {
					t.Fatal(err)
				}
				defer cc.Close()
				var (
					out = new(wrapperspb.StringValue)
					p   peer.Peer
				)
				if err := cc.Invoke(ctx, whoamiMethod, &emptypb.Empty{}, out, grpc.Peer(&p)); err != nil {
					t.Fatalf("Whoami over %s: %v", a, err)
				}
				if got, want := out.GetValue(), address.EncodeKey(clientPub); got != want {
					t.Errorf("the handler saw key %s, want the client's %s", got, want)
				}
				info, ok := p.AuthInfo.(AuthInfo)
				if tc.name == "insecure" {
					return
				}
				if !ok || !info.RemoteKey.Equal(serverPub) {
					t.Errorf("client's AuthInfo = %#v, want the server's key %s", p.AuthInfo, address.EncodeKey(serverPub))
				}
				if info.SecurityLevel != credentials.PrivacyAndIntegrity {
					t.Errorf("client's security level = %v, want PrivacyAndIntegrity", info.SecurityLevel)
				}
			})
		}
	}
}
