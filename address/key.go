package address

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// KeySize is the size of the keys carried in addresses: Ed25519 public keys
// and seeds.
const KeySize = 32

// EncodeKey returns k as it appears in an address: standard base64 with
// padding, as JavaScript multiserver writes it.
func EncodeKey(k []byte) string { return base64.StdEncoding.EncodeToString(k) }

// DecodeKey decodes a key field. Like Node's Buffer.from(s, "base64"), it
// accepts standard and URL-safe base64, with or without padding; the
// result must be exactly [KeySize] bytes. Unlike Node, it refuses any
// other character, line breaks included.
func DecodeKey(s string) ([]byte, error) {
	k, err := decodeKey(s)
	if err != nil {
		return nil, fmt.Errorf("address: %w", err)
	}
	return k, nil
}

func decodeKey(s string) ([]byte, error) { return decodeKeyAs(s, fmt.Sprintf("key %q", s)) }

// decodeKeyAs is decodeKey with errors that call s what, such as "seed"
// for a field whose text must not be shown.
func decodeKeyAs(s, what string) ([]byte, error) {
	// encoding/base64 skips '\r' and '\n'; an address must not hold them.
	if !strings.ContainsAny(s, "\r\n") {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			k, err := enc.DecodeString(s)
			if err != nil {
				continue
			}
			if len(k) != KeySize {
				return nil, fmt.Errorf("%s is %d bytes, want %d", what, len(k), KeySize)
			}
			return k, nil
		}
	}
	return nil, fmt.Errorf("%s is not base64", what)
}
