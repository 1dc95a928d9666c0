package bridge

import (
	"encoding/base64"
	"encoding/binary"
	"slices"
	"sync"
)

// The SSE payloads are standard base64 with padding (spec/bridge.md §4),
// the same bytes encoding/base64's StdEncoding writes and, strictly,
// reads. On a relay that serves SSE, encoding and decoding took a fifth
// of the CPU of a stream, a character at a time; these do the bulk of
// it twelve bits at a time, by tables, and leave the tail (and anything
// unusual: padding, line ends, bad characters) to encoding/base64, so
// that what they accept and refuse is its.

const b64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// b64Pairs maps twelve bits to their two characters, the first in the
// low byte.
var b64Pairs = sync.OnceValue(func() *[4096]uint16 {
	var t [4096]uint16
	for i := range t {
		t[i] = uint16(b64Alphabet[i>>6]) | uint16(b64Alphabet[i&63])<<8
	}
	return &t
})

// b64Bad marks, in b64Values, a pair with a character outside the
// alphabet.
const b64Bad = 0x8000

// b64Values maps two characters (the first in the low byte) to their
// twelve bits, or to b64Bad.
var b64Values = sync.OnceValue(func() *[65536]uint16 {
	var v [256]int
	for i := range v {
		v[i] = -1
	}
	for i := range len(b64Alphabet) {
		v[b64Alphabet[i]] = i
	}
	var t [65536]uint16
	for i := range t {
		if a, b := v[i&0xff], v[i>>8]; a >= 0 && b >= 0 {
			t[i] = uint16(a<<6 | b)
		} else {
			t[i] = b64Bad
		}
	}
	return &t
})

// appendBase64 appends the standard base64 of src to dst, as
// base64.StdEncoding.AppendEncode does.
func appendBase64(dst, src []byte) []byte {
	n := base64.StdEncoding.EncodedLen(len(src))
	dst = slices.Grow(dst, n)
	out := dst[len(dst) : len(dst)+n]
	t := b64Pairs()
	si, di := 0, 0
	// Six bytes make eight characters; the load reads eight.
	for ; len(src)-si >= 8; si, di = si+6, di+8 {
		x := binary.BigEndian.Uint64(src[si:])
		binary.LittleEndian.PutUint64(out[di:], uint64(t[x>>52])|
			uint64(t[x>>40&0xfff])<<16|
			uint64(t[x>>28&0xfff])<<32|
			uint64(t[x>>16&0xfff])<<48)
	}
	base64.StdEncoding.Encode(out[di:], src[si:])
	return dst[:len(dst)+n]
}

// appendBase64Decode appends the bytes that the standard base64 src
// decodes to, as base64.StdEncoding.Strict().AppendDecode does: the same
// bytes, and an error for the same inputs.
func appendBase64Decode(dst, src []byte) ([]byte, error) {
	n := base64.StdEncoding.DecodedLen(len(src))
	dst = slices.Grow(dst, n+8)
	out := dst[len(dst):cap(dst)]
	t := b64Values()
	si, di := 0, 0
	// Eight characters make six bytes; the store writes eight. A group
	// that is not eight characters of the alphabet (padding, a line end,
	// anything else) is the standard decoder's, from there on: the
	// groups before it are whole quanta it would have decoded the same.
	for ; len(src)-si >= 8; si, di = si+8, di+6 {
		x := binary.LittleEndian.Uint64(src[si:])
		a, b, c, d := t[uint16(x)], t[uint16(x>>16)], t[uint16(x>>32)], t[x>>48]
		if (a|b|c|d)&b64Bad != 0 {
			break
		}
		binary.BigEndian.PutUint64(out[di:], uint64(a)<<52|uint64(b)<<40|uint64(c)<<28|uint64(d)<<16)
	}
	k, err := base64.StdEncoding.Strict().Decode(out[di:], src[si:])
	if err != nil {
		return dst, err
	}
	return dst[:len(dst)+di+k], nil
}
