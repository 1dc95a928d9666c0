//go:build !race

package quic_test

// bigTransfer is the size of TestLargeTransfer: 1 GiB.
const bigTransfer = 1 << 30
