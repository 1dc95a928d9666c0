package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Every server in the suite, whatever its stack, serves each stream it
// accepts with the same small protocol, so that every row measures the
// same work. The client's first byte picks the command:
//
//	'e'                         echo every later byte back until EOF
//	's' uint64be(N) N bytes     read and discard N bytes, then write 'k';
//	                            then read the next command
const (
	cmdEcho = 'e'
	cmdSink = 's'
	ack     = 'k'
)

// ioSize is the size of every write and read of bulk data: 64 KiB, the
// largest Noise frame and a common copy buffer size.
const ioSize = 64 << 10

// echoSize is the buffer an echoing server reads into. It is small
// because an idle connection's server holds it for as long as the
// connection lives, and that would count in the memory per connection.
const echoSize = 512

// serve runs the protocol on one accepted stream and closes it.
func serve(s io.ReadWriteCloser) {
	defer s.Close()
	var cmd [9]byte
	for {
		if _, err := io.ReadFull(s, cmd[:1]); err != nil {
			return
		}
		switch cmd[0] {
		case cmdEcho:
			buf := make([]byte, echoSize)
			for {
				n, err := s.Read(buf)
				if n > 0 {
					if _, werr := s.Write(buf[:n]); werr != nil {
						return
					}
				}
				if err != nil {
					return
				}
			}
		case cmdSink:
			if _, err := io.ReadFull(s, cmd[1:9]); err != nil {
				return
			}
			if err := discard(s, binary.BigEndian.Uint64(cmd[1:9])); err != nil {
				return
			}
			if _, err := s.Write([]byte{ack}); err != nil {
				return
			}
		default:
			return
		}
	}
}

// discard reads exactly n bytes from r in ioSize reads.
func discard(r io.Reader, n uint64) error {
	buf := make([]byte, ioSize)
	for n > 0 {
		k, err := r.Read(buf[:min(uint64(len(buf)), n)])
		n -= uint64(k)
		if err != nil && n > 0 {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}

// zeros is the data every sink sends; its content does not matter to any
// stack measured.
var zeros = make([]byte, ioSize)

// sink sends n bytes to s with the sink command and waits for the ack.
func sink(s io.ReadWriter, n uint64) error {
	var hdr [9]byte
	hdr[0] = cmdSink
	binary.BigEndian.PutUint64(hdr[1:], n)
	if _, err := s.Write(hdr[:]); err != nil {
		return err
	}
	for left := n; left > 0; {
		k := min(uint64(len(zeros)), left)
		if _, err := s.Write(zeros[:k]); err != nil {
			return err
		}
		left -= k
	}
	var b [1]byte
	if _, err := io.ReadFull(s, b[:]); err != nil {
		return err
	}
	if b[0] != ack {
		return fmt.Errorf("sink: got %q, want the ack", b[0])
	}
	return nil
}

// startEcho sends the echo command; every later byte comes back.
func startEcho(s io.Writer) error {
	_, err := s.Write([]byte{cmdEcho})
	return err
}

// echoOnce sends the echo command and one byte and reads the byte back:
// the least that proves a connection works end to end.
func echoOnce(s io.ReadWriter) error {
	if _, err := s.Write([]byte{cmdEcho, 'x'}); err != nil {
		return err
	}
	var b [1]byte
	if _, err := io.ReadFull(s, b[:]); err != nil {
		return err
	}
	if b[0] != 'x' {
		return fmt.Errorf("echo: got %q, want 'x'", b[0])
	}
	return nil
}

// A system is a server of one stack and clients of it, in this process.
type system interface {
	// dial opens a new connection from client i (modulo the number of
	// clients) to the server, and its first stream.
	dial(ctx context.Context, i int) (conn, error)
	// close stops the server and the clients.
	close() error
}

// A conn is one connection of a system and its first stream.
type conn interface {
	io.ReadWriter // the first stream
	// open starts another stream on the same connection.
	open(ctx context.Context) (io.ReadWriteCloser, error)
	// close closes the connection, with every stream on it.
	close() error
}

// errOneStream is open's error for stacks with one stream per connection.
var errOneStream = errors.New("one stream per connection")
