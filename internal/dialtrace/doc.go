// Package dialtrace carries, in a dial's context, a hook through which
// the layers under the core (plugs, the proxy dialer) report the steps
// of their dial: name resolution, TCP connect, proxy CONNECT, TLS, a
// WebSocket upgrade. The core puts the hook there when the caller asked
// for a trace (multiserver.WithDialTrace); without one every function
// here costs a context lookup and does nothing else.
package dialtrace
