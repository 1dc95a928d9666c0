package dhtrelay

import "testing"

// BenchmarkParseData parses a frame of stream data, what every chunk a
// peer sends through the relay costs to read.
func BenchmarkParseData(b *testing.B) {
	frame := AppendFrame(nil, 1, Data{Alias: 70000, Chunks: [][]byte{make([]byte, 300), make([]byte, 1000)}})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseFrame(frame); err != nil {
			b.Fatal(err)
		}
	}
}
