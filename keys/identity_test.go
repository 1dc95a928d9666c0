package keys

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestNewIdentity(t *testing.T) {
	priv := Generate()
	app := bytes.Repeat([]byte{7}, AppKeySize)
	id, err := NewIdentity(priv, app)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(id.Public(), priv.Public().(ed25519.PublicKey)) {
		t.Error("Public does not match the private key")
	}
	if !bytes.Equal(id.Private(), priv) || !bytes.Equal(id.AppKey(), app) {
		t.Error("Private or AppKey differs from the input")
	}
	if !ed25519.Verify(id.Public(), []byte("m"), id.Sign([]byte("m"))) {
		t.Error("Sign made a signature that does not verify")
	}
	// The Identity holds copies, and hands out copies.
	clear(priv)
	clear(app)
	clear(id.Private())
	clear(id.AppKey())
	clear(id.Public())
	if bytes.Equal(id.AppKey(), app) || !ed25519.Verify(id.Public(), []byte("m"), id.Sign([]byte("m"))) {
		t.Error("the Identity shares memory with its caller")
	}
}

func TestNewIdentityRefuses(t *testing.T) {
	priv := Generate()
	other := Generate()
	mixed := append(bytes.Clone(priv[:32]), other[32:]...)
	app := make([]byte, AppKeySize)
	for _, tt := range []struct {
		name string
		priv ed25519.PrivateKey
		app  []byte
		want string
	}{
		{"no key", nil, app, "64 bytes"},
		{"seed only", priv[:32], app, "64 bytes"},
		{"mismatched halves", mixed, app, "does not match"},
		{"nil app key", priv, nil, "OpenNetwork"},
		{"empty app key", priv, []byte{}, "32 bytes"},
		{"short app key", priv, app[:31], "32 bytes"},
		{"long app key", priv, append(app, 0), "32 bytes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			id, err := NewIdentity(tt.priv, tt.app)
			if err == nil || id != nil || !strings.HasPrefix(err.Error(), "keys: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewIdentity = %v, %v; want nil and a keys error saying %q", id, err, tt.want)
			}
		})
	}
}

func TestOpenNetwork(t *testing.T) {
	id, err := NewIdentity(Generate(), OpenNetwork())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(id.AppKey(), make([]byte, AppKeySize)) {
		t.Errorf("OpenNetwork = %x, want %d zero bytes", id.AppKey(), AppKeySize)
	}
}

// TestIdentityHidesPrivateKey prints an Identity every way a log line
// might and looks for the private key in any encoding.
func TestIdentityHidesPrivateKey(t *testing.T) {
	priv := Generate()
	id, err := NewIdentity(priv, OpenNetwork())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := id.String(), ID(priv.Public().(ed25519.PublicKey)); got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	j, _ := json.Marshal(id)
	outs := []string{string(j)}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%d", "%q"} {
		outs = append(outs, fmt.Sprintf(verb, id), fmt.Sprintf(verb, *id), fmt.Sprintf(verb, []any{id}))
	}
	seed := priv.Seed()
	secrets := []string{hex.EncodeToString(seed), strings.ToUpper(hex.EncodeToString(seed)),
		base64.StdEncoding.EncodeToString(seed), base64.StdEncoding.EncodeToString(priv), fmt.Sprint([]byte(seed[:8]))[1:20]}
	for _, out := range outs {
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("printed Identity %q contains the private key", out)
			}
		}
	}
	var nilID *Identity
	if s := fmt.Sprint(nilID); s != "<nil>" {
		t.Errorf("nil Identity prints %q", s)
	}
}
