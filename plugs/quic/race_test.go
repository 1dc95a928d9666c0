//go:build race

package quic_test

// bigTransfer is the size of TestLargeTransfer. The race detector slows
// the transfer about eightfold (its instrumentation of quic-go's packet
// handling), so under it the test sends 256 MiB rather than 1 GiB; the
// benchmarks and a plain go test cover the full size.
const bigTransfer = 256 << 20
