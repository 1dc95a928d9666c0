package wsconn

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/coder/websocket"
	"github.com/f7d52a8e/multiserver/internal/readahead"
)

// IdleRead is the size of the array a reader waits for data in.
const IdleRead = readahead.Idle

// Buffers holds buffers of MaxMessage bytes for readers that take one
// only while data flows and wait in an IdleRead array while idle: a
// Conn's reader, and the ws plug's pumps where a Conn cannot be had.
var Buffers = &readahead.Buffers

// messages reads a WebSocket's binary messages one after the other, as
// one stream of bytes: the source of a Conn's readahead.Reader.
type messages struct {
	c   *Conn
	msg io.Reader // the message being read
}

func (m *messages) Read(p []byte) (int, error) {
	for {
		if m.msg == nil {
			typ, r, err := m.c.ws.Reader(context.Background())
			if err != nil {
				return 0, readEnd(err)
			}
			if typ != websocket.MessageBinary {
				// The reason websocket.NetConn gives, for the same bytes
				// on the wire.
				reason := fmt.Sprintf("unexpected frame type read (expected %v): %v", websocket.MessageBinary, typ)
				m.c.ws.Close(websocket.StatusUnsupportedData, reason)
				return 0, errors.New("websocket: read: " + reason)
			}
			m.msg = r
		}
		n, err := m.msg.Read(p)
		if err == io.EOF {
			m.msg, err = nil, nil
			if n == 0 {
				continue
			}
		}
		if err != nil {
			err = readEnd(err)
		}
		return n, err
	}
}
