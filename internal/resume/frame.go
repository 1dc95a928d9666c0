package resume

import (
	"encoding/binary"
	"fmt"
)

// Frame types. Every frame starts with its type byte; the fields that
// follow are fixed per type and big-endian (spec/resume.md).
const (
	typeResume = 0x01 // "RSM" + version + 8B conn id + 8B received + 4B window
	typeData   = 0x02 // 8B offset + 2B length + payload
	typeAck    = 0x03 // 8B offset consumed
	typeFin    = 0x04 // 8B final offset
	typeReset  = 0x05 // 1B code + 1B reason length + reason
	typePing   = 0x06 // nothing
	typeSignal = 0x07 // 2B length + payload, for the layer above
)

// Version is the protocol version that RESUME frames carry.
const Version = 1

// MaxPayload is the most data one DATA frame carries: 16 KiB.
const MaxPayload = 16 << 10

// MaxSignal is the most one SIGNAL frame carries: 1200 bytes.
const MaxSignal = 1200

const (
	resumeSize = 1 + 3 + 1 + 8 + 8 + 4
	dataHeader = 1 + 8 + 2
	offsetSize = 1 + 8 // ACK, FIN
	signalHead = 1 + 2
	maxFrame   = dataHeader + MaxPayload
)

// magic follows the type byte of a RESUME frame.
var magic = [3]byte{'R', 'S', 'M'}

// Reset codes.
const (
	codeClosed   = 0 // the application closed its end
	codeProtocol = 1 // the sender saw a protocol error
)

// frame is one decoded frame; which fields count depends on typ.
type frame struct {
	typ     byte
	off     uint64 // DATA, ACK, FIN; RESUME: bytes received
	payload []byte // DATA, SIGNAL; aliases the decoded bytes
	id      [8]byte
	window  uint32 // RESUME
	code    byte   // RESET
	reason  string // RESET
}

func appendResume(b []byte, id [8]byte, received uint64, window uint32) []byte {
	b = append(b, typeResume, magic[0], magic[1], magic[2], Version)
	b = append(b, id[:]...)
	b = binary.BigEndian.AppendUint64(b, received)
	return binary.BigEndian.AppendUint32(b, window)
}

func appendData(b []byte, off uint64, p []byte) []byte {
	b = append(b, typeData)
	b = binary.BigEndian.AppendUint64(b, off)
	b = binary.BigEndian.AppendUint16(b, uint16(len(p)))
	return append(b, p...)
}

func appendOffset(b []byte, typ byte, off uint64) []byte {
	return binary.BigEndian.AppendUint64(append(b, typ), off)
}

func appendSignal(b []byte, p []byte) []byte {
	b = append(b, typeSignal)
	b = binary.BigEndian.AppendUint16(b, uint16(len(p)))
	return append(b, p...)
}

func appendReset(b []byte, code byte, reason string) []byte {
	reason = reason[:min(len(reason), 255)]
	b = append(b, typeReset, code, byte(len(reason)))
	return append(b, reason...)
}

// decode decodes the frame at the start of b. It returns the frame and
// its size, or n == 0 and no error if b holds only the start of a frame.
// It rejects a bad header as soon as the bytes that show it are in, so
// that a DATA frame's length is checked before anything waits for it.
func decode(b []byte) (f frame, n int, err error) {
	if len(b) == 0 {
		return f, 0, nil
	}
	f.typ = b[0]
	switch f.typ {
	case typeResume:
		for i := 1; i < min(len(b), 4); i++ {
			if b[i] != magic[i-1] {
				return f, 0, fmt.Errorf("%w: bad RESUME magic %x", ErrProtocol, b[1:min(len(b), 4)])
			}
		}
		if len(b) > 4 && b[4] != Version {
			return f, 0, fmt.Errorf("%w: version %d, want %d", ErrProtocol, b[4], Version)
		}
		if len(b) < resumeSize {
			return f, 0, nil
		}
		copy(f.id[:], b[5:13])
		f.off = binary.BigEndian.Uint64(b[13:])
		f.window = binary.BigEndian.Uint32(b[21:])
		if f.window == 0 {
			return f, 0, fmt.Errorf("%w: RESUME with a zero window", ErrProtocol)
		}
		return f, resumeSize, nil
	case typeData:
		if len(b) < dataHeader {
			return f, 0, nil
		}
		size := int(binary.BigEndian.Uint16(b[9:]))
		if size == 0 || size > MaxPayload {
			return f, 0, fmt.Errorf("%w: DATA length %d, want 1 to %d", ErrProtocol, size, MaxPayload)
		}
		if len(b) < dataHeader+size {
			return f, 0, nil
		}
		f.off = binary.BigEndian.Uint64(b[1:])
		f.payload = b[dataHeader : dataHeader+size]
		return f, dataHeader + size, nil
	case typeAck, typeFin:
		if len(b) < offsetSize {
			return f, 0, nil
		}
		f.off = binary.BigEndian.Uint64(b[1:])
		return f, offsetSize, nil
	case typeReset:
		if len(b) < 3 || len(b) < 3+int(b[2]) {
			return f, 0, nil
		}
		f.code = b[1]
		f.reason = string(b[3 : 3+int(b[2])])
		return f, 3 + int(b[2]), nil
	case typePing:
		return f, 1, nil
	case typeSignal:
		if len(b) < signalHead {
			return f, 0, nil
		}
		size := int(binary.BigEndian.Uint16(b[1:]))
		if size == 0 || size > MaxSignal {
			return f, 0, fmt.Errorf("%w: SIGNAL length %d, want 1 to %d", ErrProtocol, size, MaxSignal)
		}
		if len(b) < signalHead+size {
			return f, 0, nil
		}
		f.payload = b[signalHead : signalHead+size]
		return f, signalHead + size, nil
	}
	return f, 0, fmt.Errorf("%w: unknown frame type 0x%02x", ErrProtocol, f.typ)
}
