package bridge

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// Request kinds, the "k" parameter (spec/bridge.md §2).
const (
	kindOpen  = "open"  // POST: make the session, bound to the client's key
	kindSSE   = "sse"   // GET: downstream as Server-Sent Events
	kindPoll  = "poll"  // GET: downstream as one long-poll response
	kindSend  = "send"  // POST: upstream bytes from offset o
	kindClose = "close" // POST: end the session; upstream ends at o
)

// Protocol constants (spec/bridge.md).
const (
	domain     = "multiserver-bridge.1" // first bytes of every signed message
	sessionLen = 16                     // bytes of a session id
	maxSkew    = 2 * time.Minute        // how far a request's time may be from the server's clock

	headerOffset = "Bridge-Offset" // send answers and 409: the offset the server expects
	headerFin    = "Bridge-Fin"    // poll answers: the downstream ends here
	ssePadding   = 2048            // octets of the comment that opens an SSE answer
	maxEventData = 48 << 10        // payload bytes per SSE event, before base64
	minEventData = 1 << 10         // the least a server shrinks its events to (§4)
)

// sessionID names a session: 16 random bytes chosen by the client.
type sessionID [sessionLen]byte

// String returns the id in base64url without padding, as in requests.
func (s sessionID) String() string { return b64.EncodeToString(s[:]) }

var b64 = base64.RawURLEncoding

// request is the signed part of a bridge request: its query parameters.
type request struct {
	Kind    string
	Session sessionID
	Offset  uint64 // "o"
	Ack     uint64 // "a"
	Time    int64  // "t", Unix seconds
	Key     ed25519.PublicKey
	Sig     []byte
}

// message returns the bytes a request's signature covers (§3).
func (r *request) message() []byte {
	b := make([]byte, 0, len(domain)+2+len(r.Kind)+sessionLen+24)
	b = append(b, domain...)
	b = append(b, 0)
	b = append(b, r.Kind...)
	b = append(b, 0)
	b = append(b, r.Session[:]...)
	b = binary.BigEndian.AppendUint64(b, r.Offset)
	b = binary.BigEndian.AppendUint64(b, r.Ack)
	b = binary.BigEndian.AppendUint64(b, uint64(r.Time))
	return b
}

// sign signs r with priv; it sets Sig, and Key for an open.
func (r *request) sign(priv ed25519.PrivateKey) {
	if r.Kind == kindOpen {
		r.Key = priv.Public().(ed25519.PublicKey)
	}
	r.Sig = ed25519.Sign(priv, r.message())
}

// verify checks r's signature with key and its time against now.
func (r *request) verify(key ed25519.PublicKey, now time.Time) error {
	if !ed25519.Verify(key, r.message(), r.Sig) {
		return errors.New("bridge: bad signature (wrong key, or made for another request)")
	}
	d := now.Sub(time.Unix(r.Time, 0))
	if d > maxSkew || d < -maxSkew {
		return fmt.Errorf("bridge: request time is %s from the server's clock, more than %s", d.Round(time.Second), maxSkew)
	}
	return nil
}

// query returns r as query parameters.
func (r *request) query() url.Values {
	q := url.Values{
		"k":   {r.Kind},
		"s":   {r.Session.String()},
		"o":   {strconv.FormatUint(r.Offset, 10)},
		"a":   {strconv.FormatUint(r.Ack, 10)},
		"t":   {strconv.FormatInt(r.Time, 10)},
		"sig": {b64.EncodeToString(r.Sig)},
	}
	if r.Kind == kindOpen {
		q.Set("key", b64.EncodeToString(r.Key))
	}
	return q
}

// parseRequest reads a request's parameters from q, strictly: every
// one present once and well formed (it does not check the signature).
func parseRequest(q url.Values) (*request, error) {
	var r request
	var err error
	get := func(name string) string {
		v := q[name]
		if len(v) != 1 && err == nil {
			err = fmt.Errorf("bridge: parameter %q must be given once", name)
			return ""
		}
		if len(v) == 0 {
			return ""
		}
		return v[0]
	}
	r.Kind = get("k")
	s, o, a, t, sig := get("s"), get("o"), get("a"), get("t"), get("sig")
	if err != nil {
		return nil, err
	}
	switch r.Kind {
	case kindOpen, kindSSE, kindPoll, kindSend, kindClose:
	default:
		return nil, fmt.Errorf("bridge: unknown kind %q", r.Kind)
	}
	if err := decodeFixed(s, r.Session[:], "s"); err != nil {
		return nil, err
	}
	if r.Offset, err = parseUint(o, "o"); err != nil {
		return nil, err
	}
	if r.Ack, err = parseUint(a, "a"); err != nil {
		return nil, err
	}
	ut, err := parseUint(t, "t")
	if err != nil || ut > 1<<62 {
		return nil, errors.New("bridge: bad time \"t\"")
	}
	r.Time = int64(ut)
	r.Sig = make([]byte, ed25519.SignatureSize)
	if err := decodeFixed(sig, r.Sig, "sig"); err != nil {
		return nil, err
	}
	if r.Kind == kindOpen {
		r.Key = make([]byte, ed25519.PublicKeySize)
		if err := decodeFixed(get("key"), r.Key, "key"); err != nil {
			return nil, err
		}
	}
	return &r, err
}

func decodeFixed(s string, dst []byte, name string) error {
	if b64.EncodedLen(len(dst)) != len(s) {
		return fmt.Errorf("bridge: parameter %q must be %d bytes in base64url", name, len(dst))
	}
	if _, err := b64.Strict().Decode(dst, []byte(s)); err != nil {
		return fmt.Errorf("bridge: parameter %q is not base64url", name)
	}
	return nil
}

// parseUint parses a decimal offset: digits only, no leading zero.
func parseUint(s, name string) (uint64, error) {
	if s == "" || len(s) > 20 || len(s) > 1 && s[0] == '0' {
		return 0, fmt.Errorf("bridge: parameter %q is not a decimal offset", name)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("bridge: parameter %q is not a decimal offset", name)
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bridge: parameter %q is not a decimal offset", name)
	}
	return n, nil
}

// parseOffset reads a header that holds an offset (Bridge-Offset,
// Bridge-Fin, Last-Event-ID).
func parseOffset(s string) (uint64, error) { return parseUint(s, "offset") }

func (r *request) timeOf() time.Time { return time.Unix(r.Time, 0) }

func formatUint(n uint64) string { return strconv.FormatUint(n, 10) }
