package frame

import "errors"

// Format describes a framing: the sizes and errors that differ from one
// protocol to another. A frame is a header, which tells the frame's size,
// then the payload, then the rest of the overhead (a tag, say).
type Format struct {
	// MaxPayload is the most plaintext one frame carries, in bytes.
	MaxPayload int
	// Overhead is the number of bytes a frame adds to its payload.
	Overhead int
	// HeaderSize is the number of bytes at the start of a frame that tell
	// its size; the payload follows them.
	HeaderSize int
	// ErrWriteShut is the error of a Write after the end of stream.
	ErrWriteShut error
	// ErrNoEnd is the error of a Read when the underlying conn ends before
	// the end of stream. It should wrap io.ErrUnexpectedEOF.
	ErrNoEnd error
}

// maxFrame is the size of the largest frame.
func (f *Format) maxFrame() int { return f.MaxPayload + f.Overhead }

// A Sealer seals one direction's frames, in order.
type Sealer interface {
	// Seal appends to dst the frame that carries payload, at most
	// [Format.MaxPayload] bytes, and moves on to the next frame. It fails
	// only when the stream can carry no more frames.
	Seal(dst, payload []byte) ([]byte, error)
	// End appends the end of stream to dst. For Unseal it counts as a
	// frame.
	End(dst []byte) ([]byte, error)
	// Unseal takes back the last frame that Seal or End made, none of
	// which was sent: the next frame reuses its nonce.
	Unseal()
}

// An Opener opens one direction's frames, in order.
type Opener interface {
	// FrameSize returns the size of the frame, header included, that
	// starts with hdr, [Format.HeaderSize] bytes. It is called once per
	// frame, before Open. io.EOF means that hdr is the end of stream; any
	// error ends the stream.
	FrameSize(hdr []byte) (int, error)
	// Open authenticates and decrypts frame, whole, appending its payload
	// to dst, and moves on to the next frame. If dst is nil, Open puts the
	// payload where it likes, in frame (in place) or in a buffer of its
	// own, which must stay valid until the next Open. io.EOF means that
	// the frame is the end of stream; any error ends the stream.
	Open(dst, frame []byte) ([]byte, error)
}

// isTimeout reports whether err is a deadline error, after which the
// conn stays usable.
func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}
