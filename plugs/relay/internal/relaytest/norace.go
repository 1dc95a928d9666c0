//go:build !race

package relaytest

// RaceEnabled reports whether the race detector is on.
const RaceEnabled = false
