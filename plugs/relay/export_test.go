//go:build !js

package relay

// SetIncomingQueue makes the Registrations c opens hold n dialers, so
// that a test fills the queue without a thousand dialers.
func SetIncomingQueue(c *Client, n int) { c.queue = n }
