package interop_test

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
)

// size is how many bytes go each way in a session.
const size = 1 << 20

// data returns n deterministic pseudo-random bytes, the same as
// session.data in js/session.js: sha256(seed ‖ uint32be(i)) for i = 0, 1, ...
func data(seed string, n int) []byte {
	out := make([]byte, 0, n+sha256.Size)
	for i := uint32(0); len(out) < n; i++ {
		h := sha256.New()
		h.Write([]byte(seed))
		h.Write(binary.BigEndian.AppendUint32(nil, i))
		out = h.Sum(out)
	}
	return out[:n]
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// exchange sends data(seed, n) on c while it reads n bytes, then ends the
// session the way the JavaScript peers need it: nobody sends the box
// stream goodbye before it has read everything it expects (the JS net
// sockets are not half-open, see PROTOCOL-FACTS §3).
//
// If goodbyeFirst, exchange says goodbye as soon as it has read n bytes
// and then waits for the peer's goodbye (for an echo server, which only
// ends when its client does); otherwise it waits for the peer's goodbye
// first (JS peers in send mode end once they have read n bytes).
// It returns the sha256 sums of what it sent and received.
func exchange(c net.Conn, seed string, n int, goodbyeFirst bool) (sent, received string, err error) {
	out := data(seed, n)
	werr := make(chan error, 1)
	go func() {
		_, err := c.Write(out)
		werr <- err
	}()
	in := make([]byte, n)
	if _, err := io.ReadFull(c, in); err != nil {
		c.Close() // unblock the writer
		<-werr
		return "", "", fmt.Errorf("read %d bytes: %w", n, err)
	}
	if err := <-werr; err != nil {
		return "", "", fmt.Errorf("write: %w", err)
	}
	if goodbyeFirst {
		if err := closeWrite(c); err != nil {
			return "", "", err
		}
	}
	if extra, err := io.Copy(io.Discard, c); err != nil || extra > 0 {
		return "", "", fmt.Errorf("after %d bytes: read %d more, then %v (want the peer's goodbye)", n, extra, err)
	}
	if !goodbyeFirst {
		if err := closeWrite(c); err != nil {
			return "", "", err
		}
	}
	return sum(out), sum(in), nil
}

// echo copies c to itself until the peer's goodbye, then says goodbye. It
// returns how many bytes it echoed and their sha256 sum.
func echo(c net.Conn) (int64, string, error) {
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(c, h), c)
	if err != nil {
		return n, "", fmt.Errorf("echo: %w", err)
	}
	return n, hex.EncodeToString(h.Sum(nil)), closeWrite(c)
}

func closeWrite(c net.Conn) error {
	cw, ok := c.(interface{ CloseWrite() error })
	if !ok {
		return errors.New("conn has no CloseWrite to send the box stream goodbye")
	}
	if err := cw.CloseWrite(); err != nil {
		return fmt.Errorf("close write (goodbye): %w", err)
	}
	return nil
}
