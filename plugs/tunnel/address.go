package tunnel

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/f7d52a8e/multiserver/address"
)

// Kind returns the grammar of the "tunnel" layer for an [address.Parser]:
// "tunnel:ROOM_ID" to listen through a room, "tunnel:ROOM_ID:TARGET_ID"
// to dial a member, with an optional last field PORT, as JavaScript
// ssb-tunnel writes it (spec/tunnel.md §1). The ids are SSB feed ids,
// "@" + base64 of an Ed25519 key + ".ed25519".
func Kind() address.Kind {
	return address.Kind{Name: "tunnel", Role: address.Plug, Check: checkSegment}
}

// CheckSegment reports what is wrong with s, by the rules of [Kind].
func (p *Plug) CheckSegment(s address.Segment) error { return checkSegment(s) }

func checkSegment(s address.Segment) error {
	_, err := ParseSegment(s)
	return err
}

// A Segment is a parsed "tunnel" layer.
type Segment struct {
	Room   ed25519.PublicKey // the room (portal)
	Target ed25519.PublicKey // the member to reach; nil in a listen address
	Port   string            // the optional port field, as written; "" if none
}

// ParseSegment reads a "tunnel" layer: the room's id, then, when
// dialing, the target's id, then an optional port (decimal, at most
// 65535).
func ParseSegment(s address.Segment) (Segment, error) {
	var t Segment
	if s.Name != "tunnel" {
		return t, fmt.Errorf("tunnel: segment %q is not a tunnel", s.Name)
	}
	f := s.Fields
	if len(f) == 0 || len(f) > 3 {
		return t, errors.New("want tunnel:ROOM_ID[:TARGET_ID[:PORT]]")
	}
	var err error
	if t.Room, err = ParseID(f[0]); err != nil {
		return t, fmt.Errorf("room: %w", err)
	}
	if len(f) >= 2 {
		if t.Target, err = ParseID(f[1]); err != nil {
			return t, fmt.Errorf("target: %w", err)
		}
	}
	if len(f) == 3 {
		n, err := strconv.Atoi(f[2])
		if err != nil || n < 0 || n > 65535 || f[2] != strconv.Itoa(n) {
			return t, fmt.Errorf("port %q is not a number from 0 to 65535", f[2])
		}
		t.Port = f[2]
	}
	return t, nil
}

// Segment returns t as an address layer.
func (t Segment) Segment() address.Segment {
	s := address.Segment{Name: "tunnel", Fields: []string{ID(t.Room)}}
	if t.Target != nil {
		s.Fields = append(s.Fields, ID(t.Target))
		if t.Port != "" {
			s.Fields = append(s.Fields, t.Port)
		}
	}
	return s
}

// ID returns the SSB feed id of key: "@" + standard base64 with padding
// + ".ed25519".
func ID(key ed25519.PublicKey) string {
	return "@" + base64.StdEncoding.EncodeToString(key) + ".ed25519"
}

// ParseID reads an SSB feed id as ssb-ref's isFeed accepts it: "@",
// 44 characters of standard base64 with padding that decode to 32 bytes,
// ".ed25519".
func ParseID(id string) (ed25519.PublicKey, error) {
	b64, ok := strings.CutPrefix(id, "@")
	if ok {
		b64, ok = strings.CutSuffix(b64, ".ed25519")
	}
	if !ok || len(b64) != 44 {
		return nil, fmt.Errorf("%q is not an SSB id (@KEY.ed25519)", id)
	}
	k, err := base64.StdEncoding.Strict().DecodeString(b64)
	if err != nil || len(k) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%q is not an SSB id: its key is not 32 bytes of base64", id)
	}
	return ed25519.PublicKey(k), nil
}
