// Command grpc serves gRPC over a multiserver Listener and calls it with
// a gRPC client that dials through multiserver: once over net~shs, once
// over net~noise~yamux. The handler reads the caller's Ed25519 key from
// the RPC's context, which [Credentials] fill in from the multiserver
// conn.
//
// The client's target is "passthrough:///" + a multiserver address, so
// that gRPC hands the address to [multiserver.Network.Dial] as it is,
// with no name resolution.
//
// The service is written by hand, without protoc: one unary method,
// /multiserver.example.Whoami/Whoami, that takes an Empty and answers
// with the caller's key in a StringValue.
package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"log"
	"os"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
	"github.com/f7d52a8e/multiserver/keys"
	"github.com/f7d52a8e/multiserver/mux/yamux"
	"github.com/f7d52a8e/multiserver/plugs/tcp"
	"github.com/f7d52a8e/multiserver/transforms/noise"
	"github.com/f7d52a8e/multiserver/transforms/shs"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// NewNetwork returns a Network speaking shs, noise and yamux over TCP
// as identity.
func NewNetwork(identity ed25519.PrivateKey, appKey []byte) (*multiserver.Network, error) {
	id, err := keys.NewIdentity(identity, appKey)
	if err != nil {
		return nil, err
	}
	st, err := shs.New(shs.Config{Identity: id})
	if err != nil {
		return nil, err
	}
	nt, err := noise.New(noise.Config{Identity: id})
	if err != nil {
		return nil, err
	}
	return multiserver.New(multiserver.Config{
		Plugs:      []multiserver.Plug{&tcp.Plug{}},
		Transforms: []multiserver.Transform{st, nt},
		Muxers:     []multiserver.Muxer{&yamux.Muxer{}},
	})
}

// whoamiMethod is the full name of the example's one method.
const whoamiMethod = "/multiserver.example.Whoami/Whoami"

// whoamiService describes the service to grpc.Server.RegisterService, as
// protoc-gen-go-grpc would.
var whoamiService = grpc.ServiceDesc{
	ServiceName: "multiserver.example.Whoami",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Whoami",
		Handler: func(_ any, ctx context.Context, dec func(any) error, icpt grpc.UnaryServerInterceptor) (any, error) {
			in := new(emptypb.Empty)
			if err := dec(in); err != nil {
				return nil, err
			}
			if icpt == nil {
				return whoami(ctx, in)
			}
			info := &grpc.UnaryServerInfo{FullMethod: whoamiMethod}
			return icpt(ctx, in, info, func(ctx context.Context, req any) (any, error) {
				return whoami(ctx, req.(*emptypb.Empty))
			})
		},
	}},
}

// whoami answers with the caller's key, as address.EncodeKey writes it.
func whoami(ctx context.Context, _ *emptypb.Empty) (*wrapperspb.StringValue, error) {
	key, ok := PeerKey(ctx)
	if !ok {
		return nil, status.Error(codes.Unauthenticated, "no peer key")
	}
	return wrapperspb.String(address.EncodeKey(key)), nil
}

// Serve serves the Whoami service on ln until ln is closed or Stop is
// called on the returned server.
func Serve(ln *multiserver.Listener) *grpc.Server {
	s := grpc.NewServer(grpc.Creds(Credentials{}))
	s.RegisterService(&whoamiService, nil)
	go s.Serve(ln)
	return s
}

// Whoami calls the service at addr and returns the key it saw us with.
func Whoami(ctx context.Context, n *multiserver.Network, addr string) (string, error) {
	cc, err := grpc.NewClient("passthrough:///"+addr,
		grpc.WithContextDialer(n.Dial),
		grpc.WithTransportCredentials(Credentials{}))
	if err != nil {
		return "", err
	}
	defer cc.Close()
	out := new(wrapperspb.StringValue)
	if err := cc.Invoke(ctx, whoamiMethod, &emptypb.Empty{}, out); err != nil {
		return "", err
	}
	return out.GetValue(), nil
}

func run(ctx context.Context, w io.Writer) error {
	app := make([]byte, 32)
	rand.Read(app)
	_, serverKey, _ := ed25519.GenerateKey(rand.Reader)
	pub, clientKey, _ := ed25519.GenerateKey(rand.Reader)
	server, err := NewNetwork(serverKey, app)
	if err != nil {
		return err
	}
	client, err := NewNetwork(clientKey, app)
	if err != nil {
		return err
	}
	ln, err := server.Listen(ctx, "net:127.0.0.1:0~shs;net:127.0.0.1:0~noise~yamux")
	if err != nil {
		return err
	}
	s := Serve(ln)
	defer s.Stop()
	list, err := address.Parse(ln.Address(multiserver.ScopeDevice))
	if err != nil {
		return err
	}
	for _, a := range list {
		key, err := Whoami(ctx, client, a.String())
		if err != nil {
			return fmt.Errorf("%s: %w", a, err)
		}
		fmt.Fprintf(w, "%s: the server saw us as %s (that is us: %t)\n", stack(a), key, key == address.EncodeKey(pub))
	}
	return nil
}

func stack(a address.Addr) string {
	s := a[0].Name
	for _, seg := range a[1:] {
		s += "~" + seg.Name
	}
	return s
}
