// Package keys reads and writes Ed25519 identities in the JSON format of
// the ssb-keys JavaScript module, so that Secure Scuttlebutt tools and
// this module read each other's key files:
//
//	{
//	  "curve": "ed25519",
//	  "public": "<base64 public key>.ed25519",
//	  "private": "<base64 seed and public key, 64 bytes>.ed25519",
//	  "id": "@<base64 public key>.ed25519"
//	}
//
// ssb-keys surrounds the JSON with '#' comment lines; [Unmarshal] skips
// them, and [Marshal] writes plain JSON, which ssb-keys also reads.
//
// [NewIdentity] checks a private key and an app key once and returns the
// [Identity] that the shs and noise transforms and the quic plug take.
package keys

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
)

const suffix = ".ed25519"

type file struct {
	Curve   string `json:"curve"`
	Public  string `json:"public"`
	Private string `json:"private"`
	ID      string `json:"id"`
}

// Generate returns a new identity from crypto/rand.
func Generate() ed25519.PrivateKey {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	return priv
}

// ID returns the SSB identifier of pub: "@<base64>.ed25519".
func ID(pub ed25519.PublicKey) string {
	return "@" + base64.StdEncoding.EncodeToString(pub) + suffix
}

// Marshal encodes priv as an ssb-keys JSON document.
func Marshal(priv ed25519.PrivateKey) []byte {
	pub := priv.Public().(ed25519.PublicKey)
	b, _ := json.MarshalIndent(file{
		Curve:   "ed25519",
		Public:  base64.StdEncoding.EncodeToString(pub) + suffix,
		Private: base64.StdEncoding.EncodeToString(priv) + suffix,
		ID:      ID(pub),
	}, "", "  ")
	return append(b, '\n')
}

// Unmarshal decodes an ssb-keys key file. It checks that the private key
// is well formed and that the public key and id belong to it.
func Unmarshal(data []byte) (ed25519.PrivateKey, error) {
	var lines [][]byte
	for _, line := range bytes.Split(data, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(line), []byte("#")) {
			lines = append(lines, line)
		}
	}
	var f file
	if err := json.Unmarshal(bytes.Join(lines, []byte("\n")), &f); err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	if f.Curve != "ed25519" {
		return nil, fmt.Errorf("keys: curve %q is not ed25519", f.Curve)
	}
	raw, err := decode(f.Private)
	if err != nil {
		return nil, fmt.Errorf("keys: private: %w", err)
	}
	if len(raw) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("keys: private key is %d bytes, want %d", len(raw), ed25519.PrivateKeySize)
	}
	priv := ed25519.NewKeyFromSeed(raw[:ed25519.SeedSize])
	if !bytes.Equal(priv, raw) {
		return nil, errors.New("keys: private key does not match its seed")
	}
	pub := priv.Public().(ed25519.PublicKey)
	if f.Public != "" {
		p, err := decode(f.Public)
		if err != nil || !bytes.Equal(p, pub) {
			return nil, errors.New("keys: public key does not match the private key")
		}
	}
	if f.ID != "" && f.ID != ID(pub) {
		return nil, errors.New("keys: id does not match the private key")
	}
	return priv, nil
}

func decode(s string) ([]byte, error) {
	s, ok := strings.CutSuffix(s, suffix)
	if !ok {
		return nil, fmt.Errorf("%q does not end in %q", s, suffix)
	}
	return base64.StdEncoding.DecodeString(s)
}

// Load reads a key file.
func Load(path string) (ed25519.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	priv, err := Unmarshal(data)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return priv, nil
}

// Save writes priv to a new key file at path, readable by its owner only.
// It does not overwrite an existing file.
func Save(path string, priv ed25519.PrivateKey) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	if _, err := f.Write(Marshal(priv)); err != nil {
		f.Close()
		return fmt.Errorf("keys: %w", err)
	}
	return f.Close()
}
