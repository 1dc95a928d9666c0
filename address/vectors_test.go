package address_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"strings"
	"testing"

	. "github.com/f7d52a8e/multiserver/address"
)

const vectorsFile = "../spec/vectors/address.json"

var updateVectors = flag.Bool("update-vectors", false, "rewrite "+vectorsFile+" from the parse table")

// vectors is the layout of spec/vectors/address.json.
type vectors struct {
	Comment []string        `json:"comment"`
	Valid   []validVector   `json:"valid"`
	Invalid []invalidVector `json:"invalid"`
}

type validVector struct {
	Name      string       `json:"name"`
	Input     string       `json:"input"`
	Canonical string       `json:"canonical"`
	Addresses [][][]string `json:"addresses"` // [address][segment][name, fields...]
}

type invalidVector struct {
	Name   string `json:"name"`
	Input  string `json:"input"`
	Offset int    `json:"offset"`
	Error  string `json:"error"`
}

// TestVectors checks every entry of spec/vectors/address.json.
func TestVectors(t *testing.T) {
	if *updateVectors {
		writeVectors(t)
	}
	b, err := os.ReadFile(vectorsFile)
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%s: %v", vectorsFile, err)
	}
	if len(v.Valid) < 30 || len(v.Invalid) < 30 {
		t.Fatalf("%s has %d valid and %d invalid entries, want at least 30 of each", vectorsFile, len(v.Valid), len(v.Invalid))
	}
	for _, vv := range v.Valid {
		t.Run("valid/"+vv.Name, func(t *testing.T) {
			l, err := std.Parse(vv.Input)
			if err != nil {
				t.Fatalf("Parse(%q) = %v", vv.Input, err)
			}
			if want := fromVector(vv.Addresses); !l.Equal(want) {
				t.Fatalf("Parse(%q) = %#v, want %#v", vv.Input, l, want)
			}
			if got := l.String(); got != vv.Canonical {
				t.Fatalf("Parse(%q).String() = %q, want %q", vv.Input, got, vv.Canonical)
			}
			if l2, err := std.Parse(vv.Canonical); err != nil || !l2.Equal(l) {
				t.Fatalf("Parse(%q) = %v, %v, want %v", vv.Canonical, l2, err, l)
			}
		})
	}
	for _, iv := range v.Invalid {
		t.Run("invalid/"+iv.Name, func(t *testing.T) {
			_, err := std.Parse(iv.Input)
			checkParseError(t, iv.Input, err, iv.Offset, iv.Error)
		})
	}
}

func fromVector(v [][][]string) List {
	var l List
	for _, a := range v {
		var addr Addr
		for _, s := range a {
			seg := Segment{Name: s[0]}
			if len(s) > 1 {
				seg.Fields = s[1:]
			}
			addr = append(addr, seg)
		}
		l = append(l, addr)
	}
	return l
}

func toVector(l List) [][][]string {
	out := [][][]string{}
	for _, a := range l {
		segs := [][]string{}
		for _, s := range a {
			segs = append(segs, append([]string{s.Name}, s.Fields...))
		}
		out = append(out, segs)
	}
	return out
}

// writeVectors writes the parse table as vectors, one entry a line.
func writeVectors(t *testing.T) {
	var b strings.Builder
	line := func(v any, last bool) {
		var e bytes.Buffer
		enc := json.NewEncoder(&e)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
		b.WriteString("    " + strings.TrimSuffix(e.String(), "\n"))
		if !last {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	var valid, invalid []parseTest
	for _, tt := range parseTests {
		if tt.err == "" {
			valid = append(valid, tt)
		} else {
			invalid = append(invalid, tt)
		}
	}
	b.WriteString("{\n  \"comment\": [\n")
	for i, c := range vectorComment {
		line(c, i == len(vectorComment)-1)
	}
	b.WriteString("  ],\n  \"valid\": [\n")
	for i, tt := range valid {
		canon := tt.canon
		if canon == "" {
			canon = tt.in
		}
		line(validVector{tt.name, tt.in, canon, toVector(tt.want)}, i == len(valid)-1)
	}
	b.WriteString("  ],\n  \"invalid\": [\n")
	for i, tt := range invalid {
		line(invalidVector{tt.name, tt.in, tt.off, tt.err}, i == len(invalid)-1)
	}
	b.WriteString("  ]\n}\n")
	if err := os.MkdirAll("../spec/vectors", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(vectorsFile, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

var vectorComment = []string{
	"Multiserver address test vectors; the grammar is in spec/address.md.",
	"valid: input parses; canonical is what an encoder writes for the parsed value (and parses to the same value);",
	"addresses is the parsed value: a list of addresses, each a list of segments, each [name, field...].",
	"A segment written without ':' is [name]; \"shs:\" is [\"shs\", \"\"]. Fields are unescaped.",
	"invalid: input must be rejected; offset is the byte offset of the problem (0-based, in bytes of the input).",
	"error is a substring of this implementation's message; other implementations need only match the offset.",
	"Keys are base64 of SHA-256(\"key\") and SHA-256(\"seed\").",
}
